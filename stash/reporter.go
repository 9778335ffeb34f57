package stash

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/heraldci/herald/status"
)

// State is a build state as Bitbucket Server names it.
type State string

// The build states.
const (
	InProgress State = "INPROGRESS"
	Successful State = "SUCCESSFUL"
	Failed     State = "FAILED"
)

// Reporter posts build statuses for started and finished builds. It is safe
// for concurrent use; other event kinds are ignored.
type Reporter struct {
	opts   Options
	base   *url.URL
	client *http.Client
	own    *http.Transport // the transport New made, nil when the host gave a client
	auth   string          // the Authorization header, or "" when the client authenticates
	log    *slog.Logger
	last   tracker
	closed atomic.Bool
}

var (
	_ status.Reporter = (*Reporter)(nil)
	_ status.Closer   = (*Reporter)(nil)
	_ status.Named    = (*Reporter)(nil)
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
	case o.Username != "":
		req := http.Request{Header: http.Header{}}
		req.SetBasicAuth(o.Username, o.Password.Reveal())
		r.auth = req.Header.Get("Authorization")
	}
	// Only r.auth keeps the secrets; it never prints (see String).
	r.opts.Token, r.opts.Password = "", ""
	return r, nil
}

// Name returns "stash".
func (r *Reporter) Name() string { return "stash" }

// String names the server; never the credentials.
func (r *Reporter) String() string { return "stash.Reporter(" + r.base.String() + ")" }

// GoString is String, so %#v cannot dig into the reporter either.
func (r *Reporter) GoString() string { return r.String() }

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
// same commit and key is skipped. It returns a status.Retryable error for
// rate limits, server and network errors, and a plain error otherwise.
func (r *Reporter) Report(ctx context.Context, e status.Event) error {
	if (e.Kind != status.BuildStarted && e.Kind != status.BuildFinished) || e.Build == nil {
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
	state := InProgress
	if finished {
		state = stateOf(b.Result)
	}
	var errs []error
	var wait time.Duration
	retry := false
	seen := map[string]bool{}
	for i := range b.Sources {
		s := &b.Sources[i]
		if !validSHA(s.Revision) {
			r.log.Debug("stash: status skipped: the source stamp has no commit hash", "builder", b.Builder,
				"build", b.Number, "codebase", s.Codebase, "revision", s.Revision)
			continue
		}
		kw := keywords(b, s, state)
		p := payload{
			State:       state,
			Key:         shortKey(r.opts.Key.Render(b, kw)),
			Name:        r.opts.Name.Render(b, kw),
			URL:         r.opts.URL.Render(b, kw),
			Description: r.opts.Description.Render(b, kw),
		}
		if p.Key == "" {
			p.Key = shortKey(b.Builder)
		}
		if seen[s.Revision+"\x00"+p.Key] {
			continue
		}
		seen[s.Revision+"\x00"+p.Key] = true
		if p.URL == "" {
			errs = append(errs, fmt.Errorf("stash: %s #%d has no URL and Bitbucket requires one: give builds a URL in the host, or set Options.URL", b.Builder, b.Number))
			continue
		}
		if ok, last := r.last.admit(trackKey{s.Revision, p.Key}, b.Number, finished); !ok {
			r.log.Debug("stash: status skipped: a newer build was reported on this commit", "builder", b.Builder,
				"build", b.Number, "sha", s.Revision, "key", p.Key, "reported_build", last.build, "reported_finished", last.finished)
			continue
		}
		if err := r.post(ctx, s.Revision, &p); err != nil {
			errs = append(errs, err)
			if after, ok := status.RetryAfter(err); ok {
				retry, wait = true, max(wait, after)
			}
		}
	}
	if len(seen) == 0 && len(errs) == 0 {
		r.log.Debug("stash: build has no source stamp with a commit hash, no status set", "builder", b.Builder, "build", b.Number)
	}
	err := errors.Join(errs...)
	if retry {
		return status.Retryable(err, wait)
	}
	return err
}

func stateOf(r status.Result) State {
	switch r {
	case status.Success, status.Warnings, status.Skipped:
		return Successful
	case status.Retry:
		return InProgress // another build of the same request follows
	}
	return Failed // failure, exception, cancelled
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
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("stash: %w", err)
	}
	u := r.base.JoinPath("rest/build-status/1.0/commits", sha)
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
	e := &APIError{SHA: sha, Key: p.Key, State: p.State}
	resp, err := r.client.Do(req)
	if err != nil {
		e.Err = err
		e.Message = err.Error()
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			e.Message = ue.Err.Error() // the URL is in the message already, by commit
		}
		if after, ok := status.RetryAfter(status.NetError(err)); ok {
			return status.Retryable(e, after)
		}
		return e
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody)) // keep the connection
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e.StatusCode = resp.StatusCode
	e.Message = errorMessage(msg)
	// HTTPError classifies by code and headers (429, 5xx, Retry-After).
	resp.Body = io.NopCloser(bytes.NewReader(msg))
	herr := status.HTTPError(resp)
	e.Err = herr
	if after, ok := status.RetryAfter(herr); ok {
		return status.Retryable(e, after)
	}
	return e
}

// keywords are the %(kw:...)s values of the options' templates.
func keywords(b *status.Build, s *status.SourceStamp, state State) map[string]string {
	kw := map[string]string{
		"state": string(state), "number": strconv.Itoa(b.Number),
		"codebase": s.Codebase, "repository": s.Repository, "branch": s.Branch,
		"revision": s.Revision, "project": s.Project,
	}
	if b.Done() {
		kw["result"] = b.Result.String()
	}
	return kw
}

// validSHA accepts a full or abbreviated commit hash. Other revisions
// (Subversion numbers, branch names) are no commit Bitbucket knows, and a
// hash is safe in the URL path.
func validSHA(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
