package stash

import (
	"context"
	"fmt"
	"net/url"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/status"
)

// Reporter posts build statuses for started and finished builds. It is safe
// for concurrent use.
type Reporter struct {
	forge.Shell
	opts Options
	base *url.URL
	post *forge.Poster
	d    forge.Delivery
	// commented remembers the pull-request comments made, "PRJ/repo#12
	// builder #7", so a retried event does not comment twice.
	commented forge.Recent[string, struct{}]
}

var _ forge.Target = (*Reporter)(nil)

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
	log, inherit := hublog.New(o.Logger)
	r := &Reporter{opts: o, base: base, post: forge.NewPoster(o.HTTPClient, "herald-stash", hints),
		d: forge.Delivery{Forge: "stash", Log: log}}
	switch {
	case !o.Token.IsZero():
		r.post.Token("Bearer", o.Token.Reveal())
	case o.Username != "":
		r.post.Basic(o.Username, o.Password.Reveal())
	}
	r.Init("stash", base.String(), r.post.Close, inherit)
	r.opts.Token, r.opts.Password = "", "" // only the Poster keeps them, out of reach of fmt
	return r, nil
}

// Report posts the status of a started or finished build on each commit
// of its source stamps. A status older than the one last posted for the
// same commit and key, or identical to it, is skipped. It returns a
// status.Retryable error for rate limits, server and network errors, and a
// plain error otherwise. Other kinds are ignored.
func (r *Reporter) Report(ctx context.Context, e status.Event) error {
	if ok, err := r.Begin(ctx, e); !ok {
		return err
	}
	b := e.Build
	finished := e.Kind == status.BuildFinished
	state := forge.StateOf(e, InProgress, r.opts.States)
	var sts []forge.Status[payload]
	var errs []error
	seen := map[forge.Key]bool{}
	for i := range b.Sources {
		s := &b.Sources[i]
		if !forge.IsSHA(s.Revision) {
			r.d.Log.Debug("stash: status skipped: the source stamp has no commit hash", "builder", b.Builder,
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
		sts = append(sts, forge.Status[payload]{Key: k, Body: p,
			Sent: forge.Sent{Build: b.Number, Finished: finished, State: string(p.State), Description: p.Description, URL: p.URL}})
	}
	errs = append(errs, forge.Deliver(ctx, &r.d, b.Builder, sts, r.send)...)
	if finished {
		if err := r.comment(ctx, b); err != nil {
			errs = append(errs, err)
		}
	}
	if len(seen) == 0 && len(errs) == 0 {
		r.d.Log.Debug("stash: build has no source stamp with a commit hash, no status set", "builder", b.Builder, "build", b.Number)
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

func (r *Reporter) send(ctx context.Context, st *forge.Status[payload]) error {
	u := r.base.JoinPath("rest/build-status/1.0/commits", st.Key.SHA)
	return r.post.Post(ctx, u.String(), st.Body, &APIError{Forge: "stash", SHA: st.Key.SHA, Label: "key",
		Context: st.Key.Name, State: string(st.Body.State)})
}
