package gitea

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/status"
)

// Reporter sets commit statuses for started and finished builds. It is safe
// for concurrent use.
type Reporter struct {
	opts Options
	base *url.URL
	post *forge.Poster
	d    forge.Delivery
}

var (
	_ status.Reporter  = (*Reporter)(nil)
	_ status.Closer    = (*Reporter)(nil)
	_ status.Named     = (*Reporter)(nil)
	_ status.Selective = (*Reporter)(nil)
)

// maxDescription keeps descriptions to one line of Gitea's status list.
const maxDescription = 255

// New checks o and returns a Reporter. It makes no request.
func New(o Options) (*Reporter, error) {
	base, err := o.validate()
	if err != nil {
		return nil, err
	}
	r := &Reporter{opts: o, base: base, post: forge.NewPoster(o.HTTPClient, "herald-gitea", hint),
		d: forge.Delivery{Forge: "gitea", Log: o.Logger}}
	if !o.Token.IsZero() {
		r.post.Token("token", o.Token.Reveal())
	}
	r.opts.Token = "" // only the Poster keeps it, out of reach of fmt
	return r, nil
}

// Name returns "gitea".
func (r *Reporter) Name() string { return "gitea" }

// String names the instance; never the token.
func (r *Reporter) String() string { return "gitea.Reporter(" + r.base.String() + ")" }

// GoString is String, so %#v cannot dig into the reporter either.
func (r *Reporter) GoString() string { return r.String() }

var kinds = status.KindsOf(status.BuildStarted, status.BuildFinished)

// Handles reports whether the reporter wants events of kind k: builds
// starting and finishing.
func (r *Reporter) Handles(k status.Kind) bool { return kinds.Has(k) }

// Close releases the connections of the reporter's own HTTP client.
// Reports after Close fail.
func (r *Reporter) Close(context.Context) error {
	r.post.Close()
	return nil
}

var errClosed = errors.New("gitea: Report called after Close")

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
	if !kinds.Has(e.Kind) || e.Build == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("gitea: %w", err)
	}
	if r.post.Closed() {
		return errClosed
	}
	b := e.Build
	state := forge.StateOf(e, Pending, r.opts.States)
	var sts []forge.Status[body]
	for i := range b.Sources {
		s := &b.Sources[i]
		kw := forge.Keywords(b, s, string(state))
		repo, ok := r.repo(b, s, kw)
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

// repo is Options.Repo rendered, else owner/name from the stamp's
// repository URL; ok only for a safe owner/name.
func (r *Reporter) repo(b *status.Build, s *status.SourceStamp, kw map[string]string) (string, bool) {
	raw, under := s.Repository, r.base.Path
	if r.opts.Repo != nil {
		raw, under = "https://host/"+strings.Trim(r.opts.Repo.Render(b, kw), "/"), ""
	}
	owner, name, ok := parseRepo(raw, under)
	return owner + "/" + name, ok
}

// parseRepo reads owner and name from a repository URL of an instance
// served under the path under.
func parseRepo(raw, under string) (owner, name string, ok bool) {
	segs, ok := forge.RepoPath(raw, under)
	if !ok || len(segs) != 2 {
		return "", "", false
	}
	return segs[0], segs[1], true
}

// APIError is a status Gitea did not take: its Repo ("owner/name"), SHA,
// Context, State, StatusCode (0 when no response came) and Gitea's Message
// (capped, with anything shaped like a credential removed). Errors from
// Report wrap it; read it with errors.As.
type APIError = forge.Error

func hint(code int) string {
	switch code {
	case http.StatusUnauthorized:
		return "check Options.Token: it is wrong, expired or revoked"
	case http.StatusForbidden:
		return "the token may not set statuses here: it needs the write:repository scope and write access to the repository"
	case http.StatusNotFound:
		return "check the repository (Options.Repo, or the repository URL), the commit, and Options.BaseURL with its sub-path"
	case http.StatusUnprocessableEntity:
		return "Gitea refused the status"
	}
	return ""
}
