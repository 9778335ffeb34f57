package github

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	gh "github.com/google/go-github/v60/github"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/status"
)

// PullRequestProperty is the build property that may name a build's pull
// request (https://github.com/owner/name/pull/12); a source stamp whose
// branch is refs/pull/12/head or refs/pull/12/merge names it too.
const PullRequestProperty = "pullrequesturl"

// CommentSummary is a ready Options.Comment: the build's one-sentence
// summary and its URL, on every result.
var CommentSummary = status.RenderFunc(func(b *status.Build) string {
	s := fmt.Sprintf("**%s #%d**: %s", b.Builder, b.Number, b.Summary())
	if b.URL != "" {
		s += "\n\n" + b.URL
	}
	return s
})

// maxComment is the longest comment GitHub takes, in characters.
const maxComment = 65536

var (
	pullRef = regexp.MustCompile(`^refs/pull/([1-9][0-9]{0,9})/(head|merge)$`)
	pullURL = regexp.MustCompile(`/pull/([1-9][0-9]{0,9})/?$`)
)

// pullNumber finds the pull request of a build: its source stamp's branch,
// else the PullRequestProperty.
func pullNumber(b *status.Build, s *status.SourceStamp) int {
	if s != nil {
		if m := pullRef.FindStringSubmatch(s.Branch); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
	}
	raw, _ := b.Properties[PullRequestProperty].(string)
	if m := pullURL.FindStringSubmatch(raw); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// comment posts Options.Comment on the pull request of a finished build
// (GitHubCommentPush), once per repository, pull request and build.
func (r *Reporter) comment(ctx context.Context, b *status.Build, t *target, s *status.SourceStamp) error {
	if r.opts.Comment == nil {
		return nil
	}
	n := pullNumber(b, s)
	if n == 0 {
		return nil
	}
	text := forge.Cut(r.opts.Comment.Render(b, forge.Keywords(b, s, t.sent.State)), maxComment)
	if text == "" {
		return nil
	}
	done := fmt.Sprintf("%s/%s#%d %s #%d", t.owner, t.repo, n, b.Builder, b.Number)
	if _, ok := r.commented.Get(done); ok {
		return nil // a retried event: the comment went through before
	}
	_, resp, err := r.client.Load().Issues.CreateComment(ctx, t.owner, t.repo, n, &gh.IssueComment{Body: gh.String(text)})
	if err != nil {
		return r.classify(err, resp, &APIError{Forge: "github", Repo: t.owner + "/" + t.repo,
			Label: "pull request", Context: strconv.Itoa(n), State: "a comment"})
	}
	r.commented.Put(done, struct{}{})
	return nil
}
