package stash

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/stash/stashtest"
	"github.com/heraldci/herald/status"
)

const prURL = "https://bitbucket.example.com/bitbucket/projects/PRJ/repos/app/pull-requests/12/overview"

// A finished build of a pull request gets one comment, through a Hub, even
// when the comment fails once and the event is retried; the request bodies
// are golden.
func TestPullRequestComment(t *testing.T) {
	f := newFakeBitbucket(t, "/bitbucket")
	r := newReporter(t, f, Options{Comment: CommentSummary})
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler),
		Retry: status.RetryPolicy{Initial: time.Millisecond, Max: 5 * time.Millisecond, Jitter: -1}})
	hub.Add(r)
	b := build("linux", 7).Property(PullRequestProperty, prURL).Step("test", status.Failure).Failed()
	hub.Publish(b.Events()[0])
	wait(t, f, 1)
	f.Fail(stashtest.Reply(http.StatusServiceUnavailable, `{"errors":[{"message":"busy"}]}`))
	for _, e := range b.Events()[1:] {
		hub.Publish(e)
	}
	require.NoError(t, hub.Shutdown(context.Background()))
	assert.Equal(t, []stashtest.Comment{{ID: 1, Project: "PRJ", Repo: "app", PullRequest: 12,
		Text: "linux #7: Build #7 failed: failed test\nhttps://ci.example.org/builders/linux/builds/7"}}, f.Comments())
	golden(t, "comment.golden", lines(f.Requests()))
}

func TestCommentSkips(t *testing.T) {
	var logs bytes.Buffer
	f := newFakeBitbucket(t, "")
	onlyFailures := status.RenderFunc(func(b *status.Build) string {
		if b.Result == status.Success {
			return ""
		}
		return "failed"
	})
	r := newReporter(t, f, Options{Comment: onlyFailures, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, report(t, r, status.BuildFinished, build("linux", 1).Succeeded().Property(PullRequestProperty, prURL).Build()))
	require.NoError(t, report(t, r, status.BuildFinished, build("linux", 2).Failed().Build()))
	require.NoError(t, report(t, r, status.BuildFinished, build("linux", 3).Failed().Property(PullRequestProperty, "https://evil.example.com/../rest/admin").Build()))
	require.NoError(t, report(t, r, status.BuildStarted, build("linux", 4).Property(PullRequestProperty, prURL).Build()))
	assert.Empty(t, f.Comments())
	assert.Contains(t, logs.String(), "is not a Bitbucket Server pull-request URL")

	plain := newReporter(t, f, Options{})
	require.NoError(t, report(t, plain, status.BuildFinished, build("linux", 5).Failed().Property(PullRequestProperty, prURL).Build()))
	assert.Empty(t, f.Comments(), "no comments unless Options.Comment is set")
}

func TestCommentRefused(t *testing.T) {
	f := newFakeBitbucket(t, "")
	r := newReporter(t, f, Options{Comment: CommentSummary})
	b := build("linux", 1).Failed().Property(PullRequestProperty, prURL).Build()
	f.Fail(stashtest.Reply(http.StatusNoContent, ""), stashtest.Reply(http.StatusNotFound, `{"errors":[{"message":"Pull request 12 does not exist in PRJ/app."}]}`))
	err := report(t, r, status.BuildFinished, b)
	require.Error(t, err)
	assert.False(t, status.IsRetryable(err))
	assert.Equal(t, `stash: setting a comment on PRJ/app (pull request "12"): HTTP 404 Not Found: Pull request 12 does not exist in PRJ/app.: check Options.BaseURL, including the server's context path (such as /bitbucket)`, err.Error())
}

func TestParsePullRequest(t *testing.T) {
	for raw, want := range map[string]pullRequest{
		prURL: {"PRJ", "app", 12},
		"https://b.example.com/projects/~USER/repos/my.repo/pull-requests/3": {"~USER", "my.repo", 3},
		"http://b.example.com/projects/P/repos/r/pull-requests/9/":           {"P", "r", 9},
		"https://b.example.com/projects/P/repos/r/pull-requests/0":           {},
		"https://b.example.com/projects/P/repos/r/pull-requests/12/../../x":  {},
		"https://b.example.com/projects/P/repos/r%2F..%2Fx/pull-requests/1":  {},
		"ftp://b.example.com/projects/P/repos/r/pull-requests/1":             {},
		"/projects/P/repos/r/pull-requests/1":                                {},
		"https://b.example.com/projects/P/repos/r/pull-requests/99999999999": {},
	} {
		got, ok := parsePullRequest(raw)
		assert.Equal(t, want, got, raw)
		assert.Equal(t, want != pullRequest{}, ok, raw)
	}
}

// FuzzParsePullRequest: the URL comes from webhooks; whatever parses must
// be safe in an API path.
func FuzzParsePullRequest(f *testing.F) {
	f.Add(prURL)
	f.Add("https://h/projects/a/repos/b/pull-requests/1")
	f.Add("https://h/projects/../repos/b/pull-requests/1")
	f.Fuzz(func(t *testing.T, raw string) {
		pr, ok := parsePullRequest(raw)
		if !ok {
			return
		}
		for _, part := range []string{pr.project, pr.repo} {
			if part == "" || part == "." || part == ".." || strings.ContainsAny(part, "/?#%: \\") {
				t.Fatalf("parsePullRequest(%q) = %+v: unsafe in an API path", raw, pr)
			}
		}
		if pr.id <= 0 {
			t.Fatalf("id %d", pr.id)
		}
	})
}
