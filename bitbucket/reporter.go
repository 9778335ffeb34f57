package bitbucket

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/status"
)

// Reporter posts build statuses for started and finished builds. It is
// safe for concurrent use.
type Reporter struct {
	forge.Shell
	opts Options
	base *url.URL
	post *forge.Poster
	d    forge.Delivery
}

var _ forge.Target = (*Reporter)(nil)

// Bitbucket Cloud's limits: a key of 40 characters; names and
// descriptions are cut to 255.
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
	log, inherit := hublog.New(o.Logger)
	r := &Reporter{opts: o, base: base, post: forge.NewPoster(o.HTTPClient, "herald-bitbucket", hints),
		d: forge.Delivery{Forge: "bitbucket", Log: log}}
	switch {
	case !o.Token.IsZero():
		r.post.Token("Bearer", o.Token.Reveal())
	case o.Username != "":
		r.post.Basic(o.Username, o.Password.Reveal())
	}
	r.Init("bitbucket", base.String(), r.post.Close, inherit)
	r.opts.Token, r.opts.Password = "", "" // only the Poster keeps them, out of reach of fmt
	return r, nil
}

// body is what POST .../commit/{commit}/statuses/build takes.
type body struct {
	State       State  `json:"state"`
	Key         string `json:"key"`
	Name        string `json:"name,omitempty"`
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
}

// Report posts the status of a started or finished build on each commit
// of its source stamps. It returns a status.Retryable error for rate
// limits, server and network errors, and a plain error otherwise. Other
// kinds are ignored.
func (r *Reporter) Report(ctx context.Context, e status.Event) error {
	if ok, err := r.Begin(ctx, e); !ok {
		return err
	}
	b := e.Build
	state := forge.StateOf(e, InProgress, r.opts.States)
	var sts []forge.Status[body]
	var errs []error
	for i := range b.Sources {
		s := &b.Sources[i]
		kw := forge.Keywords(b, s, string(state))
		repo, ok := forge.RepoOf(r.opts.Repo, b, s, kw, "", 2, 2)
		if !ok || !forge.IsSHA(s.Revision) {
			r.d.Log.Debug("bitbucket: status skipped: no workspace/repository or no commit hash", "builder", b.Builder,
				"build", b.Number, "codebase", s.Codebase, "revision", s.Revision, "repository", s.Repository)
			continue
		}
		p := body{State: state, Key: forge.ShortKey(r.opts.Key.Render(b, kw), maxKey),
			Name: forge.Cut(r.opts.Name.Render(b, kw), maxName), URL: r.opts.URL.Render(b, kw),
			Description: forge.Cut(r.opts.Description.Render(b, kw), maxDescription)}
		if p.Key == "" {
			p.Key = forge.ShortKey(b.Builder, maxKey)
		}
		if p.URL == "" {
			errs = append(errs, fmt.Errorf("bitbucket: %s #%d has no URL and Bitbucket requires one: give builds a URL in the host, or set Options.URL", b.Builder, b.Number))
			continue
		}
		sts = append(sts, forge.Status[body]{Key: forge.Key{Repo: repo, SHA: s.Revision, Name: p.Key}, Body: p,
			Sent: forge.Sent{Build: b.Number, Finished: e.Kind == status.BuildFinished, State: string(state),
				Description: p.Description, URL: p.URL}})
	}
	return forge.Join(append(errs, forge.Deliver(ctx, &r.d, b.Builder, sts, r.send)...)...)
}

func (r *Reporter) send(ctx context.Context, st *forge.Status[body]) error {
	ws, slug, _ := strings.Cut(st.Key.Repo, "/")
	u := r.base.JoinPath("2.0/repositories", ws, slug, "commit", st.Key.SHA, "statuses/build")
	return r.post.Post(ctx, u.String(), st.Body, &APIError{Forge: "bitbucket", Repo: st.Key.Repo, SHA: st.Key.SHA,
		Label: "key", Context: st.Key.Name, State: string(st.Body.State)})
}

// APIError is a build status Bitbucket did not take: its Repo
// ("workspace/slug"), SHA, Context (the key), State, StatusCode (0 when no
// response came) and Bitbucket's Message (capped, with anything shaped
// like a credential removed). Errors from Report wrap it; read it with
// errors.As.
type APIError = forge.Error

var hints = forge.Hints{
	http.StatusUnauthorized: "check Options.Username and Options.Password (an app password), or Options.Token",
	http.StatusForbidden:    "the credentials may not post build statuses: an app password needs the repository:write scope, an access token the repository:write permission",
	http.StatusNotFound:     "check the workspace and repository (Options.Repo, or the repository URL) and the commit",
	http.StatusBadRequest:   "Bitbucket refused the status",
}
