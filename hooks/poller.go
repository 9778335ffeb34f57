package hooks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/heraldci/herald/status"
)

// Pollers is what the host's polling change sources offer the poller dialect.
type Pollers interface {
	// PollerNames lists the polling change sources (e.g. repository URLs).
	PollerNames() []string
	// Poll asks the named source to poll now. It should start the poll and
	// return; the changes it finds reach the host by its usual path.
	Poll(ctx context.Context, name string) error
}

// Poller is the poller dialect: GET or POST with poller=NAME (repeatable)
// makes the named sources poll now; without names, every allowed source
// polls. It makes no change itself.
type Poller struct {
	// Pollers are the host's polling change sources. Required.
	Pollers Pollers
	// Allowed, when set, are the only names a request may poll.
	Allowed []string
}

var _ Dialect = (*Poller)(nil)

// Name returns "poller".
func (p *Poller) Name() string { return "poller" }

func (p *Poller) acceptsGET() bool { return true }

func (p *Poller) validate() error {
	if p.Pollers == nil {
		return errors.New("hooks: Poller.Pollers is nil: pass the host's polling change sources")
	}
	return nil
}

// Parse polls the requested sources.
func (p *Poller) Parse(r *Request) ([]status.Change, error) {
	if r.HTTP.Method == http.MethodPost && len(r.Payload) > 0 {
		if _, err := r.RequireMediaType("application/x-www-form-urlencoded", "multipart/form-data"); err != nil {
			return nil, err
		}
	}
	form, err := r.Form()
	if err != nil {
		return nil, err
	}
	var targets []string
	for _, name := range p.Pollers.PollerNames() {
		if p.Allowed == nil || slices.Contains(p.Allowed, name) {
			targets = append(targets, name)
		}
	}
	if asked, ok := form["poller"]; ok {
		var missing []string
		for _, name := range asked {
			if !slices.Contains(targets, name) && !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			return nil, Reject(http.StatusBadRequest, "unknown or not allowed pollers: %s", strings.Join(missing, ", "))
		}
		targets = slices.Compact(slices.Clone(asked))
	}
	var errs []error
	for _, name := range targets {
		if err := p.Pollers.Poll(r.HTTP.Context(), name); err != nil {
			errs = append(errs, fmt.Errorf("poller %q: %w", name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return nil, polled(fmt.Sprintf("polled %d source(s)", len(targets)))
}

// polled is the answer of a successful poll request, which makes no change.
type polled string

func (p polled) Error() string { return string(p) }
