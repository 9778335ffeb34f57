package gitea

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/gitea/giteatest"
	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	testToken = "gitea-test-0SECRET0-token"
	repoURL   = "https://git.example.com/git/octo/hello.git"
	sha       = "0123456789abcdef0123456789abcdef01234567"
)

// newFakeGitea serves the double under /git, as an instance on a sub-path.
func newFakeGitea(t testing.TB, o giteatest.Options) *giteatest.Server {
	if o.Token == "" {
		o.Token = testToken
	}
	o.Prefix = "/git"
	return giteatest.NewServer(t, o)
}

func newReporter(t testing.TB, f *giteatest.Server, o Options) *Reporter {
	t.Helper()
	if o.Token == "" && o.HTTPClient == nil {
		o.Token = testToken
	}
	if o.BaseURL == "" {
		o.BaseURL = f.URL()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r, err := New(o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

func wait(t testing.TB, f *giteatest.Server, n int) []giteatest.Request {
	return testkit.WaitFor(t, f.Wait, n)
}

func build(number int) *statustest.FakeBuild {
	return statustest.NewBuild("linux").Number(number).Repository(repoURL).
		URL(fmt.Sprintf("https://ci.example.org/builders/linux/builds/%d", number))
}

func report(t testing.TB, r *Reporter, kind status.Kind, b *status.Build) error {
	return testkit.Report(t, r, kind, b)
}

// A build starts, finishes with warnings, a newer build starts while Gitea
// answers 502 and a proxy throttles, a late repeat of the first build's end
// comes, and the newer build fails: through a Hub, every request in order.
func TestSequenceThroughHub(t *testing.T) {
	f := newFakeGitea(t, giteatest.Options{Repos: []string{"octo/hello"}})
	r := newReporter(t, f, Options{})
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler),
		Retry: status.RetryPolicy{Initial: time.Millisecond, Max: 5 * time.Millisecond, Jitter: -1}})
	hub.Add(r)
	hub.Publish(status.Event{Kind: status.BuildStarted, Build: build(1).Build()})
	hub.Publish(status.Event{Kind: status.BuildFinished, Build: build(1).Result(status.Warnings).Build()})
	wait(t, f, 2)
	f.Fail(giteatest.Reply(http.StatusBadGateway, "<html>502 Bad Gateway</html>"), giteatest.RateLimited(0))
	hub.Publish(status.Event{Kind: status.BuildStarted, Build: build(2).Build()})
	hub.Publish(status.Event{Kind: status.BuildFinished, Build: build(1).Result(status.Warnings).Build()})
	hub.Publish(status.Event{Kind: status.BuildFinished, Build: build(2).Step("test", status.Failure).Failed().Build()})
	require.NoError(t, hub.Shutdown(context.Background()))
	var sb strings.Builder
	for _, q := range f.Requests() {
		fmt.Fprintf(&sb, "%s %s %s -> %d\n", q.Method, q.Path, q.Body, q.Code)
	}
	testkit.Golden(t, *update, "sequence.golden", []byte(sb.String()))
	st := f.Statuses("octo/hello", sha)
	require.Len(t, st, 4)
	assert.Equal(t, []string{"pending", "warning", "pending", "failure"}, []string{st[0].State, st[1].State, st[2].State, st[3].State})
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answer    giteatest.Answer
		retryable bool
		after     time.Duration
		msg       string
	}{
		{"429", giteatest.RateLimited(9), true, 9 * time.Second, "HTTP 429 Too Many Requests: Too Many Requests"},
		{"500", giteatest.Reply(500, `{"message":"database is locked","url":"/api/swagger"}`), true, 0, "database is locked"},
		{"401", giteatest.Reply(401, `{"message":"token is required","url":"/api/swagger"}`), false, 0, "token is required: check Options.Token"},
		{"403", giteatest.Reply(403, `{"message":"user should have a permission to write to a repo","url":"/api/swagger"}`), false, 0, "write:repository"},
		{"404", giteatest.NotFound, false, 0, `gitea: setting pending on octo/hello@0123456789ab (context "herald/linux"): HTTP 404 Not Found: The target couldn't be found.: check the repository`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGitea(t, giteatest.Options{})
			r := newReporter(t, f, Options{})
			f.Fail(tc.answer)
			err := report(t, r, status.BuildStarted, build(1).Build())
			require.Error(t, err)
			after, retry := status.RetryAfter(err)
			assert.Equal(t, tc.retryable, retry, "%v", err)
			assert.Equal(t, tc.after, after)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
	t.Run("network", func(t *testing.T) {
		f := newFakeGitea(t, giteatest.Options{})
		r := newReporter(t, f, Options{})
		f.Close()
		assert.True(t, status.IsRetryable(report(t, r, status.BuildStarted, build(1).Build())))
	})
}

func TestRepoAndTemplates(t *testing.T) {
	f := newFakeGitea(t, giteatest.Options{Repos: []string{"octo/hello", "ops/deploy"}})
	var logs bytes.Buffer
	r := newReporter(t, f, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Context:     status.MustInterpolate("ci/%(prop:buildername)s/%(kw:codebase)s"),
		Description: status.RenderFunc(func(*status.Build) string { return strings.Repeat("ü", 400) }),
	})
	lib := "1111111111111111111111111111111111111111"
	b := build(3).Source(status.SourceStamp{Codebase: "lib", Repository: "git@git.example.com:ops/deploy.git", Revision: lib}).
		Source(status.SourceStamp{Codebase: "svn", Repository: repoURL, Revision: "1234"}).
		Source(status.SourceStamp{Codebase: "elsewhere", Repository: "https://example.org/one-segment", Revision: lib}).Build()
	b.Sources[0].Codebase = "app"
	require.NoError(t, report(t, r, status.BuildStarted, b))
	reqs := f.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/git/api/v1/repos/octo/hello/statuses/"+sha, reqs[0].Path)
	assert.Equal(t, "ci/linux/app", reqs[0].Context)
	assert.Equal(t, "/git/api/v1/repos/ops/deploy/statuses/"+lib, reqs[1].Path)
	assert.Equal(t, 255, len([]rune(reqs[0].Description)))
	assert.Contains(t, logs.String(), "status skipped")

	named := newReporter(t, f, Options{Repo: status.MustInterpolate("%(prop:gitea_repo)s")})
	require.NoError(t, report(t, named, status.BuildStarted, build(4).Property("gitea_repo", "ops/deploy").Build()))
	require.Error(t, report(t, named, status.BuildStarted, build(5).Property("gitea_repo", "ops/nope").Build()))
	assert.Len(t, f.Statuses("ops/deploy", sha), 1)
}

func TestStates(t *testing.T) {
	want := map[status.Result]State{status.Success: Success, status.Warnings: Warning, status.Skipped: Success,
		status.Failure: Failure, status.Exception: Error, status.Cancelled: Failure, status.Retry: Pending}
	f := newFakeGitea(t, giteatest.Options{})
	r := newReporter(t, f, Options{States: States{status.Cancelled: Failure}})
	for i, res := range status.AllResults() {
		require.NoError(t, report(t, r, status.BuildFinished, build(2+i).Result(res).Build()))
		reqs := f.Requests()
		assert.Equal(t, string(want[res]), reqs[len(reqs)-1].State, "result %v", res)
	}
}

func TestNewReportsAllProblems(t *testing.T) {
	_, err := New(Options{BaseURL: "ftp://x", States: States{status.Retry: "later"}})
	require.Error(t, err)
	assert.Equal(t, `gitea: Options.BaseURL "ftp://x" is not an http(s) URL: want e.g. https://gitea.example.com`+"\n"+
		"gitea: Options.Token is empty: set an access token with the write:repository scope, or pass an authenticating Options.HTTPClient\n"+
		`gitea: Options.States maps retry → "later": the states are pending, success, warning, failure, error`, err.Error())
	_, err = New(Options{Token: "t"})
	assert.ErrorContains(t, err, "Options.BaseURL is empty")
	_, err = New(Options{BaseURL: "https://g.example.com", Token: "t\n"})
	assert.ErrorContains(t, err, "white space")
	var logs bytes.Buffer
	_, err = New(Options{BaseURL: "http://g.example.com", Token: "t", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	assert.Contains(t, logs.String(), "plain http")
}

func TestIgnoresOtherKindsAndClosed(t *testing.T) {
	f := newFakeGitea(t, giteatest.Options{})
	r := newReporter(t, f, Options{})
	for _, e := range statustest.EveryKind(build(1).Build()) {
		assert.Equal(t, e.Kind == status.BuildStarted || e.Kind == status.BuildFinished, r.Handles(e.Kind))
		if !r.Handles(e.Kind) {
			require.NoError(t, r.Report(context.Background(), e))
		}
	}
	assert.Empty(t, f.Requests())
	require.NoError(t, r.Close(context.Background()))
	assert.True(t, errors.Is(report(t, r, status.BuildStarted, build(1).Build()), forge.ErrClosed))
}

func TestConformance(t *testing.T) {
	f := newFakeGitea(t, giteatest.Options{})
	statustest.Conformance(t, func() status.Reporter {
		r, err := New(Options{BaseURL: f.URL(), Token: testToken, Logger: slog.New(slog.DiscardHandler),
			Repo: status.MustInterpolate("octo/%(prop:buildername)s")})
		require.NoError(t, err)
		return r
	})
	assert.NotEmpty(t, f.Requests(), "conformance sent no status: the check proved nothing")
}

func TestHTTPConformance(t *testing.T) {
	statustest.HTTPConformance(t, statustest.HTTPTarget{
		New: func(baseURL string, log *slog.Logger) status.Reporter {
			r, err := New(Options{BaseURL: baseURL, Token: testToken, Logger: log, Repo: status.MustInterpolate("octo/hello")})
			require.NoError(t, err)
			return r
		},
		Secrets: []string{testToken},
	})
}

// The token never shows in logs, errors, Stats or any printing of the
// reporter and its options, even when the server echoes the request's
// Authorization header back.
func TestSecretsAbsent(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFakeGitea(t, giteatest.Options{})
	o := Options{Token: testToken, BaseURL: f.URL(), Logger: logger}
	r, err := New(o)
	require.NoError(t, err)
	hub := status.NewHub(status.HubOptions{Logger: logger, Retry: status.RetryPolicy{Initial: time.Millisecond, MaxElapsed: 50 * time.Millisecond}})
	hub.Add(r)
	f.Fail(giteatest.Reply(500, `{"message":"boom: Authorization: token `+testToken+`"}`),
		giteatest.Reply(401, "bad credentials "+testToken), giteatest.Reply(503, `{"message":"down"}`))
	var texts []string
	for i := range 2 {
		texts = append(texts, fmt.Sprint(report(t, r, status.BuildStarted, build(i+1).Build())))
	}
	hub.Publish(status.Event{Kind: status.BuildStarted, Build: build(3).Build()})
	wait(t, f, 4)
	f.Close()
	texts = append(texts, fmt.Sprint(report(t, r, status.BuildFinished, build(4).Failed().Build())))
	require.NoError(t, hub.Shutdown(context.Background()))
	for _, st := range hub.Stats() {
		texts = append(texts, st.LastError, fmt.Sprintf("%+v", st))
	}
	texts = append(texts, logs.String(), r.String(), fmt.Sprintf("%v %+v %#v", r, r, r), fmt.Sprintf("%v %+v %#v", o, o, o))
	all := strings.Join(texts, "\n")
	assert.NotContains(t, all, testToken)
	assert.Contains(t, all, "Authorization: token <redacted>")
	assert.Contains(t, all, "bad credentials <redacted>")
}
