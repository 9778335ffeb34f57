package stash

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/status"
)

// Reporter posts build statuses for started and finished builds. It is safe
// for concurrent use.
type Reporter struct {
	opts    Options
	base    *url.URL
	client  *http.Client
	own     *http.Transport // the transport New made, nil when the host gave a client
	auth    string          // the Authorization header, or "" when the client authenticates
	secrets []string        // what the credentials look like on the wire, for scrubbing replies
	log     *slog.Logger
	sent    forge.Memory
	// commented remembers the pull-request comments made, "PRJ/repo#12
	// builder #7", so a retried event does not comment twice.
	commented forge.Recent[string, struct{}]
	closed    atomic.Bool
}

var (
	_ status.Reporter  = (*Reporter)(nil)
	_ status.Closer    = (*Reporter)(nil)
	_ status.Named     = (*Reporter)(nil)
	_ status.Selective = (*Reporter)(nil)
)

// Bitbucket's limits: keys are kept to the 40 bytes old Stash versions
// took; names and descriptions are cut to what Bitbucket Server stores.
const (
	maxKey         = 40
	maxName        = 255
	maxDescription = 255
)

// New checks o and returns a Reporter. It makes no request.
func New(o Options) (*Reporter, error) {
	base, err := o.validate()
	if err != nil {
		return nil, err
	}
	r := &Reporter{opts: o, base: base, client: o.HTTPClient, log: o.Logger}
	if r.client == nil {
		r.own = http.DefaultTransport.(*http.Transport).Clone()
		r.client = &http.Client{Transport: r.own}
	}
	switch {
	case !o.Token.IsZero():
		r.auth = "Bearer " + o.Token.Reveal()
		r.secrets = []string{o.Token.Reveal()}
	case o.Username != "":
		creds := o.Username + ":" + o.Password.Reveal()
		r.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(creds))
		r.secrets = []string{o.Password.Reveal(), base64.StdEncoding.EncodeToString([]byte(creds))}
	}
	// Only r.auth and r.secrets keep the credentials; they never print (see String).
	r.opts.Token, r.opts.Password = "", ""
	return r, nil
}

// Name returns "stash".
func (r *Reporter) Name() string { return "stash" }

// String names the server; never the credentials.
func (r *Reporter) String() string { return "stash.Reporter(" + r.base.String() + ")" }

// GoString is String, so %#v cannot dig into the reporter either.
func (r *Reporter) GoString() string { return r.String() }

var kinds = status.KindsOf(status.BuildStarted, status.BuildFinished)

// Handles reports whether the reporter wants events of kind k: builds
// starting and finishing.
func (r *Reporter) Handles(k status.Kind) bool { return kinds.Has(k) }

// Close releases the connections of the reporter's own HTTP client. Reports
// after Close fail.
func (r *Reporter) Close(context.Context) error {
	r.closed.Store(true)
	if r.own != nil {
		r.own.CloseIdleConnections()
	}
	return nil
}

var errClosed = errors.New("stash: Report called after Close")

// Report posts the status of a started or finished build on each commit
// of its source stamps. A status older than the one last posted for the
// same commit and key, or identical to it, is skipped. It returns a
// status.Retryable error for rate limits, server and network errors, and a
// plain error otherwise. Other kinds are ignored.
func (r *Reporter) Report(ctx context.Context, e status.Event) error {
	if !kinds.Has(e.Kind) || e.Build == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stash: %w", err)
	}
	if r.closed.Load() {
		return errClosed
	}
	b := e.Build
	finished := e.Kind == status.BuildFinished
	state := forge.StateOf(e, InProgress, r.opts.States)
	var errs []error
	seen := map[forge.Key]bool{}
	for i := range b.Sources {
		s := &b.Sources[i]
		if !forge.IsSHA(s.Revision) {
			r.log.Debug("stash: status skipped: the source stamp has no commit hash", "builder", b.Builder,
				"build", b.Number, "codebase", s.Codebase, "revision", s.Revision)
			continue
		}
		kw := forge.Keywords(b, s, string(state))
		p := payload{
			State:       state,
			Key:         forge.ShortKey(r.opts.Key.Render(b, kw), maxKey),
			Name:        forge.Cut(r.opts.Name.Render(b, kw), maxName),
			URL:         r.opts.URL.Render(b, kw),
			Description: forge.Cut(r.opts.Description.Render(b, kw), maxDescription),
		}
		if p.Key == "" {
			p.Key = forge.ShortKey(b.Builder, maxKey)
		}
		k := forge.Key{SHA: s.Revision, Name: p.Key}
		if seen[k] {
			continue
		}
		seen[k] = true
		if p.URL == "" {
			errs = append(errs, fmt.Errorf("stash: %s #%d has no URL and Bitbucket requires one: give builds a URL in the host, or set Options.URL", b.Builder, b.Number))
			continue
		}
		sent := forge.Sent{Build: b.Number, Finished: finished, State: string(p.State), Description: p.Description, URL: p.URL}
		switch v, last := r.sent.Check(k, sent); v {
		case forge.Stale:
			r.log.Debug("stash: status skipped: a newer build was reported on this commit", "builder", b.Builder,
				"build", b.Number, "sha", s.Revision, "key", p.Key, "reported_build", last.Build, "reported_finished", last.Finished)
			continue
		case forge.Repeat:
			r.log.Debug("stash: status unchanged, not sent again", "builder", b.Builder, "build", b.Number, "sha", s.Revision, "key", p.Key)
			continue
		}
		if err := r.post(ctx, s.Revision, &p); err != nil {
			errs = append(errs, err)
			continue
		}
		r.sent.Record(k, sent)
	}
	if finished {
		if err := r.comment(ctx, b); err != nil {
			errs = append(errs, err)
		}
	}
	if len(seen) == 0 && len(errs) == 0 {
		r.log.Debug("stash: build has no source stamp with a commit hash, no status set", "builder", b.Builder, "build", b.Number)
	}
	return forge.Join(errs...)
}

// payload is the body of POST rest/build-status/1.0/commits/<sha>.
type payload struct {
	State       State  `json:"state"`
	Key         string `json:"key"`
	Name        string `json:"name,omitempty"`
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
}

func (r *Reporter) post(ctx context.Context, sha string, p *payload) error {
	e := &APIError{Forge: "stash", SHA: sha, Label: "key", Context: p.Key, State: string(p.State)}
	return r.send(ctx, r.base.JoinPath("rest/build-status/1.0/commits", sha), p, e)
}

// send POSTs v as JSON to u; a failure fills in e and returns it,
// classified.
func (r *Reporter) send(ctx context.Context, u *url.URL, v any, e *APIError) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("stash: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("stash: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "herald-stash")
	if r.auth != "" {
		req.Header.Set("Authorization", r.auth)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		msg, cls := forge.Unreachable(err)
		e.Err, e.Message = err, status.ReplyText([]byte(msg), r.secrets...)
		return forge.Classified(e, cls)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096)) // keep the connection
		return nil
	}
	msg, cls := forge.Refused(resp, r.secrets...)
	e.StatusCode, e.Message, e.Hint, e.Err = resp.StatusCode, msg, hint(resp.StatusCode), cls
	return forge.Classified(e, cls)
}
