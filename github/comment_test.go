package github

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/github/githubtest"
	"github.com/heraldci/herald/status"
)

// A finished build of a pull request (its branch refs/pull/12/merge) gets
// one comment, through a Hub, even when the comment fails once and the
// event is retried; the requests are golden.
func TestPullRequestComment(t *testing.T) {
	f := newFakeGitHub(t, testToken, "octo/hello")
	r := newReporter(t, f, Options{Comment: CommentSummary})
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler),
		Retry: status.RetryPolicy{Initial: time.Millisecond, Max: 5 * time.Millisecond, Jitter: -1}})
	hub.Add(r)
	b := build(7).Branch("refs/pull/12/merge").Step("test", status.Failure).Failed()
	hub.Publish(b.Events()[0])
	wait(t, f, 1)
	f.Fail(githubtest.Reply(http.StatusCreated, `{}`), githubtest.Reply(http.StatusBadGateway, `{"message":"Server Error"}`))
	for _, e := range b.Events()[1:] {
		hub.Publish(e)
	}
	require.NoError(t, hub.Shutdown(context.Background()))
	require.Len(t, f.Comments(), 1)
	assert.Equal(t, githubtest.Comment{ID: f.Comments()[0].ID, Owner: "octo", Repo: "hello", Number: 12,
		Body: "**linux #7**: Build #7 failed: failed test\n\nhttps://ci.example.org/builders/linux/builds/7"}, f.Comments()[0])
	golden(t, "comment.golden", lines(f.Requests()))
}

func TestPullNumber(t *testing.T) {
	for _, tc := range []struct {
		branch, prop string
		want         int
	}{
		{"refs/pull/12/head", "", 12},
		{"refs/pull/12/merge", "https://github.com/o/r/pull/3", 12},
		{"main", "https://github.com/o/r/pull/3", 3},
		{"main", "", 0},
		{"refs/pull/0/head", "", 0},
		{"refs/pull/12/other", "https://github.com/o/r/pull/x", 0},
	} {
		b := build(1).Branch(tc.branch)
		if tc.prop != "" {
			b = b.Property(PullRequestProperty, tc.prop)
		}
		bb := b.Build()
		assert.Equal(t, tc.want, pullNumber(bb, &bb.Sources[0]), "%+v", tc)
	}
}

func TestNoCommentWithoutOption(t *testing.T) {
	f := newFakeGitHub(t, testToken, "octo/hello")
	r := newReporter(t, f, Options{})
	require.NoError(t, report(t, r, status.BuildFinished, build(1).Branch("refs/pull/12/head").Failed().Build()))
	assert.Empty(t, f.Comments())
}
