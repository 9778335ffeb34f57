package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	gh "github.com/google/go-github/v60/github"
	"golang.org/x/oauth2"

	"github.com/heraldci/herald/status"
)

// Reporter sets commit statuses for started and finished builds. It is safe
// for concurrent use; other event kinds are ignored.
type Reporter struct {
	opts   Options
	client atomic.Pointer[gh.Client]
	fresh  func() *gh.Client // a client with no rate-limit memory
	base   string
	own    *http.Transport // the transport New made, nil when the host gave a client
	log    *slog.Logger
	sent   ledger
	closed atomic.Bool
}

var (
	_ status.Reporter = (*Reporter)(nil)
	_ status.Closer   = (*Reporter)(nil)
	_ status.Named    = (*Reporter)(nil)
)

// New checks o and returns a Reporter. It makes no request.
func New(o Options) (*Reporter, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	r := &Reporter{opts: o, log: o.Logger}
	base := o.HTTPClient
	if base == nil {
		r.own = http.DefaultTransport.(*http.Transport).Clone()
		base = &http.Client{Transport: r.own}
	}
	hc := base
	if !o.Token.IsZero() {
		// oauth2 puts the token on each request, over base's transport.
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, base)
		hc = oauth2.NewClient(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: o.Token.Reveal(), TokenType: "Bearer"}))
	}
	r.opts.Token = "" // only the transport keeps it, out of reach of fmt
	baseURL, upload := o.BaseURL, o.UploadURL
	if upload == "" {
		upload = baseURL
	}
	r.fresh = func() *gh.Client {
		c := gh.NewClient(hc)
		c.UserAgent = "herald-github"
		if baseURL != "" {
			c, _ = c.WithEnterpriseURLs(baseURL, upload) // validate parsed both URLs
		}
		return c
	}
	c := r.fresh()
	r.client.Store(c)
	r.base = c.BaseURL.String()
	return r, nil
}

// Name returns "github".
func (r *Reporter) Name() string { return "github" }

// String names the API the reporter talks to; never the token.
func (r *Reporter) String() string { return "github.Reporter(" + r.base + ")" }

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

// errClosed is returned by Report after Close.
var errClosed = errors.New("github: Report called after Close")

// Report sets the statuses of a started or finished build: one per source
// stamp that names a commit (or one, when Options.SHA is set). It returns
// a status.Retryable error for rate limits and server errors, waiting as
// long as GitHub asked, and a plain error for what retrying cannot fix.
func (r *Reporter) Report(ctx context.Context, e status.Event) error {
	if (e.Kind != status.BuildStarted && e.Kind != status.BuildFinished) || e.Build == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("github: %w", err)
	}
	if r.closed.Load() {
		return errClosed
	}
	targets, err := r.targets(e.Build, r.state(e))
	if err != nil {
		return err
	}
	var errs []error
	var wait time.Duration
	retry := false
	for i := range targets {
		err := r.send(ctx, &targets[i])
		if err == nil {
			continue
		}
		errs = append(errs, err)
		if after, ok := status.RetryAfter(err); ok {
			retry, wait = true, max(wait, after)
		}
	}
	err = errors.Join(errs...)
	if retry {
		// The Hub retries the whole event: statuses already set are
		// identical repeats then, and not sent again.
		return status.Retryable(err, wait)
	}
	return err
}

// state maps the event to a commit status state.
func (r *Reporter) state(e status.Event) State {
	if e.Kind == status.BuildStarted {
		return Pending
	}
	switch e.Build.Result {
	case status.Success, status.Skipped:
		return Success
	case status.Warnings:
		return r.opts.Warnings
	case status.Failure:
		return Failure
	case status.Retry:
		return Pending // another build of the same request follows
	}
	return Error // exception, cancelled
}

// send sets one status, unless it repeats the last one or the commit and
// context are full.
func (r *Reporter) send(ctx context.Context, t *target) error {
	k := newStatusKey(t)
	switch r.sent.check(k, t) {
	case repeat:
		r.log.Debug("github: status unchanged, not sent again", t.logAttrs()...)
		return nil
	case capped:
		r.log.Warn("github: commit has the most statuses GitHub keeps for this context, not sent",
			append(t.logAttrs(), "limit", maxPerContext)...)
		return nil
	}
	st := &gh.RepoStatus{
		State:   gh.String(string(t.state)),
		Context: gh.String(t.context),
	}
	if t.description != "" {
		st.Description = gh.String(t.description)
	}
	if t.targetURL != "" {
		st.TargetURL = gh.String(t.targetURL)
	}
	_, resp, err := r.client.Load().Repositories.CreateStatus(ctx, t.owner, t.repo, t.sha, st)
	if err != nil {
		err = classify(err, resp, t)
		if forgetsLimit(err) {
			// go-github would refuse to call GitHub for longer than GitHub
			// asked: a fresh client forgets, and the Hub waits as asked.
			r.client.Store(r.fresh())
		}
		return err
	}
	r.sent.record(k, t)
	return nil
}

// target is one status to set.
type target struct {
	owner, repo, sha string
	state            State
	context          string
	description      string
	targetURL        string
	builder          string
	number           int
}

func (t *target) logAttrs() []any {
	return []any{"repo", t.owner + "/" + t.repo, "sha", t.sha, "context", t.context, "state", string(t.state),
		"builder", t.builder, "build", t.number}
}

// targets renders the options for each source stamp of b.
func (r *Reporter) targets(b *status.Build, state State) ([]target, error) {
	var stamps []*status.SourceStamp
	if r.opts.SHA == nil {
		for i := range b.Sources {
			if b.Sources[i].Revision != "" {
				stamps = append(stamps, &b.Sources[i])
			}
		}
		if len(stamps) == 0 {
			r.log.Debug("github: build has no source stamp with a revision, no status set",
				"builder", b.Builder, "build", b.Number)
			return nil, nil
		}
	} else {
		stamps = []*status.SourceStamp{b.Source("")} // may be nil
	}

	var ts []target
	seen := map[statusKey]bool{}
	for _, s := range stamps {
		kw := keywords(b, s, state)
		t := target{state: state, builder: b.Builder, number: b.Number}
		if r.opts.SHA == nil {
			t.sha = s.Revision
		} else {
			t.sha = r.opts.SHA.Render(b, kw)
			// The repository of the stamp that has this commit, if any.
			for i := range b.Sources {
				if b.Sources[i].Revision == t.sha {
					s = &b.Sources[i]
					kw = keywords(b, s, state)
					break
				}
			}
		}
		t.owner, t.repo = r.repo(b, s, kw)
		skip := ""
		switch {
		case t.owner == "":
			skip = "RepoOwner rendered empty"
		case t.repo == "":
			skip = "RepoName rendered empty"
		case t.sha == "":
			skip = "SHA rendered empty"
		case !validSHA(t.sha):
			skip = "SHA is not a commit hash"
		}
		if skip != "" {
			r.log.Debug("github: status skipped: "+skip, "builder", b.Builder, "build", b.Number,
				"repo", t.owner+"/"+t.repo, "sha", t.sha)
			continue
		}
		if !validOwner(t.owner) || !validName(t.repo) {
			return nil, fmt.Errorf("github: repository %q/%q of %s #%d is not a GitHub owner/name: check Options.RepoOwner and Options.RepoName",
				t.owner, t.repo, b.Builder, b.Number)
		}
		t.context = r.opts.Context.Render(b, kw)
		if t.context == "" {
			t.context = "herald/" + b.Builder
		}
		desc := r.opts.StartDescription
		if state != Pending || b.Done() {
			desc = r.opts.EndDescription
		}
		t.description = truncate(desc.Render(b, kw), maxDescription)
		t.targetURL = r.opts.TargetURL.Render(b, kw)

		k := newStatusKey(&t)
		if seen[k] {
			continue // two codebases of one repository at one commit
		}
		seen[k] = true
		ts = append(ts, t)
	}
	return ts, nil
}

// repo returns owner and name from the options, else from the stamp's
// repository URL.
func (r *Reporter) repo(b *status.Build, s *status.SourceStamp, kw map[string]string) (owner, name string) {
	var po, pn string
	if (r.opts.RepoOwner == nil || r.opts.RepoName == nil) && s != nil {
		po, pn, _ = parseRepo(s.Repository)
	}
	owner, name = po, pn
	if r.opts.RepoOwner != nil {
		owner = r.opts.RepoOwner.Render(b, kw)
	}
	if r.opts.RepoName != nil {
		name = r.opts.RepoName.Render(b, kw)
	}
	return owner, name
}

// keywords are the %(kw:...)s values of the options' templates.
func keywords(b *status.Build, s *status.SourceStamp, state State) map[string]string {
	kw := map[string]string{"state": string(state), "number": strconv.Itoa(b.Number)}
	if b.Done() {
		kw["result"] = b.Result.String()
	}
	if s != nil {
		kw["codebase"], kw["repository"], kw["branch"] = s.Codebase, s.Repository, s.Branch
		kw["revision"], kw["project"] = s.Revision, s.Project
	}
	return kw
}
