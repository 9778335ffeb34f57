package gitea

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/status"
)

// Reporter sets commit statuses for started and finished builds. It is safe
// for concurrent use.
type Reporter struct {
	forge.Shell
	opts Options
	base *url.URL
	post *forge.Poster
	d    forge.Delivery
}

var _ forge.Target = (*Reporter)(nil)

// maxDescription keeps descriptions to one line of Gitea's status list.
const maxDescription = 255

// New checks o and returns a Reporter. It makes no request.
func New(o Options) (*Reporter, error) {
	base, err := o.validate()
	if err != nil {
		return nil, err
	}
	log, inherit := hublog.New(o.Logger)
	r := &Reporter{opts: o, base: base, post: forge.NewPoster(o.HTTPClient, "herald-gitea", hints),
		d: forge.Delivery{Forge: "gitea", Log: log}}
	if !o.Token.IsZero() {
		r.post.Token("token", o.Token.Reveal())
	}
	r.Init("gitea", base.String(), r.post.Close, inherit)
	r.opts.Token = "" // only the Poster keeps it, out of reach of fmt
	return r, nil
}

// body is what POST /repos/{owner}/{repo}/statuses/{sha} takes.
type body struct {
	State       State  `json:"state"`
	Context     string `json:"context"`
	TargetURL   string `json:"target_url,omitempty"`
	Description string `json:"description,omitempty"`
}

// Report sets the status of a started or finished build on each commit of
// its source stamps. It returns a status.Retryable error for rate limits,
// server and network errors, and a plain error for what retrying cannot
// fix. Other kinds are ignored.
func (r *Reporter) Report(ctx context.Context, e status.Event) error {
	if ok, err := r.Begin(ctx, e); !ok {
		return err
	}
	b := e.Build
	state := forge.StateOf(e, Pending, r.opts.States)
	var sts []forge.Status[body]
	for i := range b.Sources {
		s := &b.Sources[i]
		kw := forge.Keywords(b, s, string(state))
		repo, ok := forge.RepoOf(r.opts.Repo, b, s, kw, r.base.Path, 2, 2)
		if !ok || !forge.IsSHA(s.Revision) {
			r.d.Log.Debug("gitea: status skipped: no owner/name or no commit hash", "builder", b.Builder, "build", b.Number,
				"codebase", s.Codebase, "revision", s.Revision, "repository", s.Repository, "repo", repo)
			continue
		}
		p := body{State: state, Context: r.opts.Context.Render(b, kw), TargetURL: r.opts.TargetURL.Render(b, kw),
			Description: forge.Cut(r.opts.Description.Render(b, kw), maxDescription)}
		if p.Context == "" {
			p.Context = "herald/" + b.Builder
		}
		sts = append(sts, forge.Status[body]{Key: forge.Key{Repo: repo, SHA: s.Revision, Name: p.Context}, Body: p,
			Sent: forge.Sent{Build: b.Number, Finished: e.Kind == status.BuildFinished, State: string(state),
				Description: p.Description, URL: p.TargetURL}})
	}
	return forge.Join(forge.Deliver(ctx, &r.d, b.Builder, sts, r.send)...)
}

func (r *Reporter) send(ctx context.Context, st *forge.Status[body]) error {
	owner, name, _ := strings.Cut(st.Key.Repo, "/")
	u := r.base.JoinPath("api/v1/repos", owner, name, "statuses", st.Key.SHA)
	return r.post.Post(ctx, u.String(), st.Body, &APIError{Forge: "gitea", Repo: st.Key.Repo, SHA: st.Key.SHA,
		Label: "context", Context: st.Key.Name, State: string(st.Body.State)})
}

// APIError is a status Gitea did not take: its Repo ("owner/name"), SHA,
// Context, State, StatusCode (0 when no response came) and Gitea's Message
// (capped, with anything shaped like a credential removed). Errors from
// Report wrap it; read it with errors.As.
type APIError = forge.Error

var hints = forge.Hints{
	http.StatusUnauthorized:        "check Options.Token: it is wrong, expired or revoked",
	http.StatusForbidden:           "the token may not set statuses here: it needs the write:repository scope and write access to the repository",
	http.StatusNotFound:            "check the repository (Options.Repo, or the repository URL), the commit, and Options.BaseURL with its sub-path",
	http.StatusUnprocessableEntity: "Gitea refused the status",
}
