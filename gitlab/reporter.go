package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/status"
)

// Reporter sets commit statuses for started and finished builds. It is safe
// for concurrent use.
type Reporter struct {
	forge.Shell
	opts    Options
	client  *gl.Client
	base    *url.URL
	own     *http.Transport // the transport New made, nil when the host gave a client
	secrets []string        // the static token, for scrubbing replies
	d       forge.Delivery
	// noted remembers the notes left, "project!12 builder #7", so a
	// retried event does not leave two.
	noted forge.Recent[string, struct{}]
}

var _ forge.Target = (*Reporter)(nil)

// GitLab's limits on a commit status, in characters.
const (
	maxDescription = 255
	maxName        = 255
	maxRef         = 255
)

// New checks o and returns a Reporter. It makes no request.
func New(o Options) (*Reporter, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	log, inherit := hublog.New(o.Logger)
	r := &Reporter{opts: o, d: forge.Delivery{Forge: "gitlab", Log: log}}
	r.base, _ = url.Parse(o.BaseURL) // validate parsed it
	hc := o.HTTPClient
	if hc == nil {
		r.own = http.DefaultTransport.(*http.Transport).Clone()
		hc = &http.Client{Transport: r.own}
	}
	var auth gl.AuthSource = gl.OAuthTokenSource{TokenSource: o.TokenSource}
	if !o.Token.IsZero() {
		auth = gl.AccessTokenAuthSource{Token: o.Token.Reveal()}
		r.secrets = []string{o.Token.Reveal()}
	}
	c, err := gl.NewAuthSourceClient(auth,
		gl.WithBaseURL(o.BaseURL),
		gl.WithHTTPClient(hc),
		// The Hub retries, waiting as GitLab asks; the client must not
		// retry nor pace requests on its own.
		gl.WithoutRetries(),
		gl.WithCustomLimiter(noLimit{}),
		gl.WithUserAgent("herald-gitlab"),
		gl.WithURLWarningLogger(log),
	)
	if err != nil {
		return nil, fmt.Errorf("gitlab: %w", err)
	}
	r.client = c
	r.Init("gitlab", r.base.String(), func() {
		if r.own != nil {
			r.own.CloseIdleConnections()
		}
	}, inherit)
	r.opts.Token, r.opts.TokenSource = "", nil // only the client keeps them, out of reach of fmt
	return r, nil
}

// noLimit is a client-side rate limiter that never waits.
type noLimit struct{}

func (noLimit) Wait(ctx context.Context) error { return ctx.Err() }

// Report sets the status of a started or finished build on each commit of
// its source stamps, and leaves the merge-request note of Options.Note. It
// returns a status.Retryable error for rate limits, server and network
// errors, and a plain error for what retrying cannot fix. Other kinds are
// ignored.
func (r *Reporter) Report(ctx context.Context, e status.Event) error {
	if ok, err := r.Begin(ctx, e); !ok {
		return err
	}
	b := e.Build
	sts, stamps := r.statuses(b, forge.StateOf(e, Running, r.opts.States), e.Kind == status.BuildFinished)
	errs := forge.Deliver(ctx, &r.d, b.Builder, sts, r.send)
	if e.Kind == status.BuildFinished {
		for i := range sts {
			errs = append(errs, r.note(ctx, b, stamps[i], &sts[i]))
		}
	}
	return forge.Join(errs...)
}

// statuses renders the options for each source stamp of b that names a
// commit, and returns the stamps beside them.
func (r *Reporter) statuses(b *status.Build, state State, finished bool) ([]forge.Status[*gl.SetCommitStatusOptions], []*status.SourceStamp) {
	var sts []forge.Status[*gl.SetCommitStatusOptions]
	var stamps []*status.SourceStamp
	for i := range b.Sources {
		s := &b.Sources[i]
		kw := forge.Keywords(b, s, string(state))
		// A project from a URL lives in a namespace; subgroups nest 20 deep.
		project, ok := forge.RepoOf(r.opts.Project, b, s, kw, r.base.Path, 2, 21)
		if !ok || !forge.IsSHA(s.Revision) {
			r.d.Log.Debug("gitlab: status skipped: no project (set Options.Project) or no commit hash", "builder", b.Builder,
				"build", b.Number, "codebase", s.Codebase, "revision", s.Revision, "repository", s.Repository, "project", project)
			continue
		}
		name := forge.Cut(r.opts.Name.Render(b, kw), maxName)
		if name == "" {
			name = "herald/" + b.Builder
		}
		desc := forge.Cut(r.opts.Description.Render(b, kw), maxDescription)
		opt := &gl.SetCommitStatusOptions{State: gl.BuildStateValue(state), Name: gl.Ptr(name)}
		if ref := forge.Cut(r.opts.Ref.Render(b, kw), maxRef); ref != "" {
			opt.Ref = gl.Ptr(ref)
		}
		if desc != "" {
			opt.Description = gl.Ptr(desc)
		}
		target := r.opts.TargetURL.Render(b, kw)
		if target != "" {
			opt.TargetURL = gl.Ptr(target)
		}
		sts = append(sts, forge.Status[*gl.SetCommitStatusOptions]{
			Key:  forge.Key{Repo: project, SHA: s.Revision, Name: name},
			Sent: forge.Sent{Build: b.Number, Finished: finished, State: string(state), Description: desc, URL: target},
			Body: opt,
		})
		stamps = append(stamps, s)
	}
	if len(b.Sources) == 0 {
		r.d.Log.Debug("gitlab: build has no source stamp, no status set", "builder", b.Builder, "build", b.Number)
	}
	return sts, stamps
}

// cannotTransition is GitLab's refusal to move a status to a state it
// cannot reach from its current one (running again, pending after
// running): the status already says as much or more.
var cannotTransition = regexp.MustCompile(`(?i)cannot transition status`)

// send sets one status.
func (r *Reporter) send(ctx context.Context, st *forge.Status[*gl.SetCommitStatusOptions]) error {
	_, resp, err := r.client.Commits.SetCommitStatus(st.Key.Repo, st.Key.SHA, st.Body, gl.WithContext(ctx))
	if err == nil {
		return nil
	}
	e := &APIError{Forge: "gitlab", Repo: st.Key.Repo, SHA: st.Key.SHA, Label: "name", Context: st.Key.Name, State: st.Sent.State}
	err = r.failed(err, resp, e)
	if (e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusConflict) && cannotTransition.MatchString(e.Message) {
		r.d.Log.Debug("gitlab: status skipped: GitLab cannot move the status there", "repo", st.Key.Repo,
			"sha", st.Key.SHA, "name", st.Key.Name, "state", st.Sent.State, "build", st.Sent.Build, "reply", e.Message)
		return nil
	}
	return err
}
