package stash

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/status"
)

// PullRequestProperty is the build property that names a build's pull
// request, as Buildbot's Bitbucket Server hook sets it:
// https://bitbucket.example.com/projects/PRJ/repos/app/pull-requests/12.
const PullRequestProperty = "pullrequesturl"

// CommentSummary is a ready Options.Comment: the build's one-sentence
// summary and its URL, on every result.
var CommentSummary = status.RenderFunc(func(b *status.Build) string {
	s := fmt.Sprintf("%s #%d: %s", b.Builder, b.Number, b.Summary())
	if b.URL != "" {
		s += "\n" + b.URL
	}
	return s
})

// maxComment bounds a comment's text; Bitbucket Server takes far more, but
// a status comment need not be longer.
const maxComment = 32 << 10

// pullRequest is a pull request on the server.
type pullRequest struct {
	project, repo string
	id            int
}

var prPath = regexp.MustCompile(`/projects/([A-Za-z0-9._~-]+)/repos/([A-Za-z0-9._~-]+)/pull-requests/([1-9][0-9]{0,9})(?:/[a-z]*)?/?$`)

// parsePullRequest reads a pull-request URL of Bitbucket Server's web UI,
// under any context path.
func parsePullRequest(raw string) (pullRequest, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return pullRequest{}, false
	}
	m := prPath.FindStringSubmatch(u.Path)
	if m == nil {
		return pullRequest{}, false
	}
	id, err := strconv.Atoi(m[3])
	if err != nil || m[1] == "." || m[1] == ".." || m[2] == "." || m[2] == ".." {
		return pullRequest{}, false
	}
	return pullRequest{project: m[1], repo: m[2], id: id}, true
}

// comment posts Options.Comment on the pull request of a finished build,
// once per pull request and build.
func (r *Reporter) comment(ctx context.Context, b *status.Build) error {
	if r.opts.Comment == nil {
		return nil
	}
	raw, _ := b.Properties[PullRequestProperty].(string)
	if raw == "" {
		return nil
	}
	pr, ok := parsePullRequest(raw)
	if !ok {
		r.d.Log.Warn("stash: build property "+PullRequestProperty+" is not a Bitbucket Server pull-request URL, no comment",
			"builder", b.Builder, "build", b.Number, "value", forge.Cut(raw, 200))
		return nil
	}
	kw := forge.Keywords(b, b.Source(""), string(r.opts.States[b.Result]))
	text := forge.Cut(r.opts.Comment.Render(b, kw), maxComment)
	if text == "" {
		return nil
	}
	done := fmt.Sprintf("%s/%s#%d %s #%d", pr.project, pr.repo, pr.id, b.Builder, b.Number)
	if _, ok := r.commented.Get(done); ok {
		return nil // a retried event: the comment went through before
	}
	u := r.base.JoinPath("rest/api/1.0/projects", pr.project, "repos", pr.repo, "pull-requests", strconv.Itoa(pr.id), "comments")
	e := &APIError{Forge: "stash", Repo: pr.project + "/" + pr.repo, SHA: "", Label: "pull request",
		Context: strconv.Itoa(pr.id), State: "a comment"}
	if err := r.post.Post(ctx, u.String(), map[string]string{"text": text}, e); err != nil {
		return err
	}
	r.commented.Put(done, struct{}{})
	return nil
}
