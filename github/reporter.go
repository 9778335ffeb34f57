package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	gh "github.com/google/go-github/v60/github"
	"golang.org/x/oauth2"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/status"
)

// Reporter sets commit statuses for started and finished builds. It is safe
// for concurrent use.
type Reporter struct {
	forge.Shell
	opts     Options
	client   atomic.Pointer[gh.Client]
	fresh    func() *gh.Client // a client with no rate-limit memory
	secret   string            // the static token, for scrubbing replies
	log      *slog.Logger
	sent     forge.Memory
	resolved forge.Recent[string, string] // "owner/name@short" (lower case) → full SHA
	// commented remembers the pull-request comments made, "owner/name#12
	// builder #7", so a retried event does not comment twice.
	commented forge.Recent[string, struct{}]
	// runs remembers the check runs created (Options.Checks), so a
	// build's end completes the run its start created.
	runs forge.Recent[runKey, run]
}

var _ forge.Target = (*Reporter)(nil)

// GitHub keeps this many statuses per commit and context; it refuses more
// with 422.
const maxPerContext = 1000

// maxDescription is the longest description GitHub accepts, in characters.
const maxDescription = 140

// New checks o and returns a Reporter. It makes no request.
func New(o Options) (*Reporter, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	log, inherit := hublog.New(o.Logger)
	r := &Reporter{opts: o, log: log, secret: o.Token.Reveal(), sent: forge.Memory{Cap: maxPerContext}}
	if o.Checks {
		r.sent.Cap = 0 // each build has a run of its own
	}
	base := o.HTTPClient
	var release func() // what Close releases: the connections of New's own client
	if base == nil {
		own := http.DefaultTransport.(*http.Transport).Clone()
		base, release = &http.Client{Transport: own}, own.CloseIdleConnections
	}
	hc := base
	ts := o.TokenSource
	if !o.Token.IsZero() {
		ts = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: o.Token.Reveal(), TokenType: "Bearer"})
	}
	if ts != nil {
		// oauth2 puts the token on each request, over base's transport.
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, base)
		hc = oauth2.NewClient(ctx, ts)
	}
	r.opts.Token, r.opts.TokenSource = "", nil // only the transport keeps them, out of reach of fmt
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
	r.Init("github", c.BaseURL.String(), release, inherit)
	return r, nil
}

// Report sets the statuses of a started or finished build: one per source
// stamp that names a commit (or one, when Options.SHA is set). It returns
// a status.Retryable error for rate limits and server errors, waiting as
// long as GitHub asked, and a plain error for what retrying cannot fix.
// Other kinds are ignored.
func (r *Reporter) Report(ctx context.Context, e status.Event) error {
	if ok, err := r.Begin(ctx, e); !ok {
		return err
	}
	state := string(forge.StateOf(e, Pending, r.opts.States))
	if r.opts.Checks {
		state = string(forge.StateOf(e, checkInProgress, r.opts.Conclusions))
	}
	targets, err := r.targets(e.Build, state, e.Kind == status.BuildFinished)
	if err != nil {
		return err
	}
	var out *checkOutput
	if r.opts.Checks && len(targets) > 0 {
		out = r.output(ctx, e.Build, e.Kind == status.BuildFinished)
	}
	errs := make([]error, 0, len(targets))
	for i := range targets {
		if r.opts.Checks {
			errs = append(errs, r.check(ctx, e.Build, &targets[i], out))
		} else {
			errs = append(errs, r.send(ctx, &targets[i]))
		}
		if e.Kind == status.BuildFinished {
			errs = append(errs, r.comment(ctx, e.Build, &targets[i], targets[i].stamp))
		}
	}
	return forge.Join(errs...)
}

// send sets one status, unless it repeats the last one, is older than it,
// or the commit and context are full.
func (r *Reporter) send(ctx context.Context, t *target) error {
	if err := r.resolve(ctx, t); err != nil {
		return err
	}
	k := forge.Key{Repo: t.owner + "/" + t.repo, SHA: t.sha, Name: t.context}
	switch v, last := r.sent.Check(k, t.sent); v {
	case forge.Repeat:
		r.log.Debug("github: status unchanged, not sent again", t.logAttrs()...)
		return nil
	case forge.Stale:
		r.log.Debug("github: status skipped: a newer build was reported on this commit",
			append(t.logAttrs(), "reported_build", last.Build, "reported_finished", last.Finished)...)
		return nil
	case forge.Capped:
		r.log.Warn("github: commit has the most statuses GitHub keeps for this context, not sent",
			append(t.logAttrs(), "limit", maxPerContext)...)
		return nil
	}
	st := &gh.RepoStatus{
		State:   gh.String(t.sent.State),
		Context: gh.String(t.context),
	}
	if t.sent.Description != "" {
		st.Description = gh.String(t.sent.Description)
	}
	if t.sent.URL != "" {
		st.TargetURL = gh.String(t.sent.URL)
	}
	_, resp, err := r.client.Load().Repositories.CreateStatus(ctx, t.owner, t.repo, t.sha, st)
	if err != nil {
		return r.failed(err, resp, t)
	}
	r.sent.Record(k, t.sent)
	return nil
}

// failed classifies an error of a request made for t.
func (r *Reporter) failed(err error, resp *gh.Response, t *target) error {
	label := "context"
	if r.opts.Checks {
		label = fmt.Sprintf("builder %s #%d, check run", t.builder, t.sent.Build)
	}
	err = r.classify(err, resp, &APIError{Forge: "github", Repo: t.owner + "/" + t.repo, SHA: t.sha,
		Label: label, Context: t.context, State: t.sent.State})
	if forgetsLimit(err) {
		// go-github would refuse to call GitHub for longer than GitHub
		// asked: a fresh client forgets, and the Hub waits as asked.
		r.client.Store(r.fresh())
	}
	return err
}

// resolve replaces an abbreviated SHA of t by the full one: GitHub keeps
// statuses and check runs by full SHA, so a status on a prefix would never
// show on the commit.
func (r *Reporter) resolve(ctx context.Context, t *target) error {
	if forge.IsFullSHA(t.sha) {
		return nil
	}
	key := strings.ToLower(t.owner + "/" + t.repo + "@" + t.sha)
	if full, ok := r.resolved.Get(key); ok {
		t.sha = full
		return nil
	}
	full, resp, err := r.client.Load().Repositories.GetCommitSHA1(ctx, t.owner, t.repo, t.sha, "")
	if err == nil && !forge.IsFullSHA(full) {
		err = fmt.Errorf("GitHub resolved it to %q, not a commit SHA", forge.Cut(full, 80))
	}
	if err != nil {
		err = r.failed(err, resp, t)
		var api *APIError
		if errors.As(err, &api) {
			api.Message = "abbreviated revision " + t.sha + " could not be resolved to a full commit SHA: " + api.Message
			if api.StatusCode == http.StatusUnprocessableEntity || api.StatusCode == http.StatusNotFound {
				api.Hint = "GitHub does not know the commit (or the prefix is ambiguous): give builds full revisions, or check Options.SHA"
			}
		}
		return err
	}
	r.resolved.Put(key, full)
	t.sha = full
	return nil
}

// target is one status to set.
type target struct {
	owner, repo, sha string
	context          string
	sent             forge.Sent // state, description, URL and the build
	builder          string
	stamp            *status.SourceStamp // the source stamp it came from, or nil
}

func (t *target) logAttrs() []any {
	return []any{"repo", t.owner + "/" + t.repo, "sha", t.sha, "context", t.context, "state", t.sent.State,
		"builder", t.builder, "build", t.sent.Build}
}

// targets renders the options for each source stamp of b.
func (r *Reporter) targets(b *status.Build, state string, finished bool) ([]target, error) {
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
	seen := map[forge.Key]bool{}
	for _, s := range stamps {
		kw := forge.Keywords(b, s, state)
		t := target{builder: b.Builder, sent: forge.Sent{Build: b.Number, Finished: finished, State: state}}
		if r.opts.SHA == nil {
			t.sha = s.Revision
		} else {
			t.sha = r.opts.SHA.Render(b, kw)
			// The repository of the stamp that has this commit, if any.
			for i := range b.Sources {
				if b.Sources[i].Revision == t.sha {
					s = &b.Sources[i]
					kw = forge.Keywords(b, s, state)
					break
				}
			}
		}
		t.owner, t.repo = r.repo(b, s, kw)
		t.stamp = s
		skip := ""
		switch {
		case t.owner == "":
			skip = "RepoOwner rendered empty"
		case t.repo == "":
			skip = "RepoName rendered empty"
		case t.sha == "":
			skip = "SHA rendered empty"
		case !forge.IsSHA(t.sha):
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
		if finished {
			desc = r.opts.EndDescription
		}
		limit := maxDescription
		if r.opts.Checks {
			limit = maxOutput // the run's title, which GitHub does not cut
		}
		t.sent.Description = forge.Cut(desc.Render(b, kw), limit)
		t.sent.URL = r.opts.TargetURL.Render(b, kw)

		k := forge.Key{Repo: t.owner + "/" + t.repo, SHA: t.sha, Name: t.context}
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
