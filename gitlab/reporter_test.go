package gitlab

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/heraldci/herald/gitlab/gitlabtest"
	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	testToken = "glpat-test0SECRET0token0value"
	repoURL   = "https://gitlab.example.com/group/sub/app.git"
	project   = "group/sub/app"
	sha       = "0123456789abcdef0123456789abcdef01234567"
)

func newFakeGitLab(t testing.TB) *gitlabtest.Server {
	return gitlabtest.NewServer(t, gitlabtest.Options{Token: testToken, Projects: []string{project}})
}

func newReporter(t testing.TB, f *gitlabtest.Server, o Options) *Reporter {
	t.Helper()
	if o.Token == "" && o.TokenSource == nil {
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

func wait(t testing.TB, f *gitlabtest.Server, n int) []gitlabtest.Request {
	return testkit.WaitFor(t, f.Wait, n)
}

func build(number int) *statustest.FakeBuild {
	return statustest.NewBuild("linux").Number(number).Repository(repoURL).
		URL(fmt.Sprintf("https://ci.example.org/builders/linux/builds/%d", number))
}

func report(t testing.TB, r *Reporter, kind status.Kind, b *status.Build) error {
	return testkit.Report(t, r, kind, b)
}

// lines prints the requests one a line, the way the golden files hold them.
func lines(reqs []gitlabtest.Request) string {
	var sb strings.Builder
	for _, r := range reqs {
		fmt.Fprintf(&sb, "%s %s %s -> %d\n", r.Method, r.Path, r.Body, r.Code)
	}
	return sb.String()
}

// A build starts, finishes with Retry (pending, which GitLab cannot move a
// running status to: skipped), is built again while GitLab answers 503
// and then throttles, and fails: through a Hub, every request in order.
func TestSequenceThroughHub(t *testing.T) {
	f := newFakeGitLab(t)
	var logs bytes.Buffer
	r := newReporter(t, f, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler),
		Retry: status.RetryPolicy{Initial: time.Millisecond, Max: 5 * time.Millisecond, Jitter: -1}})
	hub.Add(r)
	hub.Publish(status.Event{Kind: status.BuildStarted, Build: build(1).Build()})
	hub.Publish(status.Event{Kind: status.BuildFinished, Build: build(1).Result(status.Retry).Build()})
	wait(t, f, 2)
	f.Fail(gitlabtest.Reply(http.StatusServiceUnavailable, `{"message":"503 Service Unavailable"}`),
		gitlabtest.Reply(http.StatusTooManyRequests, "Retry later\n", "RateLimit-Reset", "1"))
	for _, e := range build(2).Step("test", status.Failure).Failed().Events() {
		hub.Publish(e)
	}
	require.NoError(t, hub.Shutdown(context.Background()))
	testkit.Golden(t, *update, "sequence.golden", []byte(lines(f.Requests())))
	// GitLab moved build 1's running status to build 2's end: pending and
	// running again were refused, and skipped.
	st := f.Statuses(project, sha)
	require.Len(t, st, 1)
	assert.Equal(t, "failed", st[0].State)
	assert.Equal(t, "Build #2 failed: failed test", st[0].Description)
	assert.Equal(t, "main", st[0].Ref)
	assert.Contains(t, logs.String(), "GitLab cannot move the status there")
}

func TestRateLimitWaitsAsAsked(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name   string
		answer gitlabtest.Answer
		min    time.Duration
	}{
		{"Retry-After", gitlabtest.RateLimited(600, now.Add(40*time.Second), now), 40 * time.Second},
		{"RateLimit-Reset alone", gitlabtest.Reply(429, "Retry later\n", "RateLimit-Reset", strconv.FormatInt(now.Add(90*time.Second).Unix(), 10)), 85 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGitLab(t)
			r := newReporter(t, f, Options{})
			f.Fail(tc.answer)
			err := report(t, r, status.BuildStarted, build(1).Build())
			after, ok := status.RetryAfter(err)
			require.True(t, ok, "%v", err)
			assert.GreaterOrEqual(t, after, tc.min)
			assert.Less(t, after, tc.min+10*time.Second)
			assert.Contains(t, err.Error(), "HTTP 429 Too Many Requests: Retry later")
			require.NoError(t, report(t, r, status.BuildStarted, build(1).Build()), "the next attempt goes through")
		})
	}
	t.Run("double's own limit", func(t *testing.T) {
		f := gitlabtest.NewServer(t, gitlabtest.Options{RateLimit: 1})
		r := newReporter(t, f, Options{})
		require.NoError(t, report(t, r, status.BuildStarted, build(1).Build()))
		err := report(t, r, status.BuildFinished, build(1).Succeeded().Build())
		after, ok := status.RetryAfter(err)
		require.True(t, ok, "%v", err)
		assert.Greater(t, after, 50*time.Second)
	})
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answer    gitlabtest.Answer
		retryable bool
		msg       string
	}{
		{"500", gitlabtest.Reply(500, `{"message":"500 Internal Server Error"}`), true, "HTTP 500 Internal Server Error: 500 Internal Server Error"},
		{"401", gitlabtest.Reply(401, `{"message":"401 Unauthorized"}`), false, "401 Unauthorized: check Options.Token"},
		{"403", gitlabtest.Reply(403, `{"message":"403 Forbidden"}`), false, "needs the api scope"},
		{"404", gitlabtest.Reply(404, `{"message":"404 Project Not Found"}`), false, `gitlab: setting running on group/sub/app@0123456789ab (name "herald/linux"): HTTP 404 Not Found: Not Found: check the project`},
		{"400 field", gitlabtest.Reply(400, `{"message":{"target_url":["is blocked: Requests to localhost are not allowed"]}}`), false, "target_url is blocked: Requests to localhost are not allowed: GitLab refused the status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGitLab(t)
			r := newReporter(t, f, Options{})
			f.Fail(tc.answer)
			err := report(t, r, status.BuildStarted, build(1).Build())
			require.Error(t, err)
			assert.Equal(t, tc.retryable, status.IsRetryable(err), "%v", err)
			assert.Contains(t, err.Error(), tc.msg)
			var api *APIError
			require.ErrorAs(t, err, &api)
			assert.Equal(t, project, api.Repo)
		})
	}
	t.Run("network", func(t *testing.T) {
		f := newFakeGitLab(t)
		r := newReporter(t, f, Options{})
		f.Close()
		assert.True(t, status.IsRetryable(report(t, r, status.BuildStarted, build(1).Build())))
	})
}

// Projects by path (subgroups, an instance under a sub-path), by ID, and
// none; refs from the branch and from a merge request's source branch.
func TestProjectAndRef(t *testing.T) {
	f := gitlabtest.NewServer(t, gitlabtest.Options{Token: testToken, Projects: []string{project, "ops/deploy"}, Prefix: "/gitlab"})
	r := newReporter(t, f, Options{})
	err := report(t, r, status.BuildStarted, build(1).Repository("git@example.com:gitlab/group/sub/app.git").Branch("refs/heads/dev").Build())
	require.Error(t, err)
	assert.False(t, status.IsRetryable(err))
	require.NoError(t, report(t, r, status.BuildStarted, build(2).Repository(f.URL()+"/group/sub/app").Property("source_branch", "feature").Build()))
	require.NoError(t, report(t, r, status.BuildStarted, build(3).Repository("https://example.org/app.git").Build()), "no project: skipped")
	byID := newReporter(t, f, Options{Project: status.MustInterpolate("%(prop:gitlab_project_id)s"), Ref: status.RenderFunc(func(*status.Build) string { return "" })})
	require.NoError(t, report(t, byID, status.BuildStarted, build(4).Property("gitlab_project_id", "2").Build()))
	reqs := f.Requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, "/gitlab/api/v4/projects/gitlab%2Fgroup%2Fsub%2Fapp/statuses/"+sha, reqs[0].Path, "scp-like URLs carry no sub-path to remove")
	assert.Equal(t, 404, reqs[0].Code)
	assert.Equal(t, "/gitlab/api/v4/projects/group%2Fsub%2Fapp/statuses/"+sha, reqs[1].Path)
	assert.Equal(t, "feature", reqs[1].Ref)
	assert.Equal(t, "/gitlab/api/v4/projects/2/statuses/"+sha, reqs[2].Path)
	assert.NotContains(t, string(reqs[2].Body), `"ref"`)
	assert.Len(t, f.Statuses("ops/deploy", sha), 1)
	assert.Equal(t, "dev", reqs[0].Ref)
}

func TestLimitsAndTemplates(t *testing.T) {
	f := newFakeGitLab(t)
	r := newReporter(t, f, Options{
		Name:        status.MustInterpolate("ci/%(prop:buildername)s/%(kw:codebase)s"),
		Description: status.RenderFunc(func(*status.Build) string { return strings.Repeat("é", 300) }),
		TargetURL:   status.MustInterpolate("https://ci.example.org/#%(kw:number)s/%(kw:state)s"),
	})
	lib := "1111111111111111111111111111111111111111"
	b := build(4).Source(status.SourceStamp{Codebase: "lib", Repository: repoURL, Revision: lib}).
		Source(status.SourceStamp{Codebase: "svn", Revision: "1234"}).Build()
	b.Sources[0].Codebase = "app"
	require.NoError(t, report(t, r, status.BuildStarted, b))
	reqs := f.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "ci/linux/app", reqs[0].Name)
	assert.Equal(t, "ci/linux/lib", reqs[1].Name)
	assert.Equal(t, lib, reqs[1].SHA)
	assert.Equal(t, "https://ci.example.org/#4/running", reqs[0].TargetURL)
	assert.Equal(t, 255, len([]rune(reqs[0].Description)))
}

func TestStates(t *testing.T) {
	want := map[status.Result]State{status.Success: Success, status.Warnings: Success, status.Skipped: Success,
		status.Failure: Failed, status.Exception: Failed, status.Cancelled: Canceled, status.Retry: Pending}
	f := newFakeGitLab(t)
	r := newReporter(t, f, Options{States: States{status.Warnings: Failed}})
	want[status.Warnings] = Failed
	for i, res := range status.AllResults() {
		require.NoError(t, report(t, r, status.BuildFinished, build(2+i).Revision(fmt.Sprintf("%040x", i+1)).Result(res).Build()))
		reqs := f.Requests()
		assert.Equal(t, string(want[res]), reqs[len(reqs)-1].State, "result %v", res)
	}
}

func TestTokenSourceBearer(t *testing.T) {
	f := newFakeGitLab(t)
	r := newReporter(t, f, Options{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: testToken})})
	require.NoError(t, report(t, r, status.BuildStarted, build(1).Build()))
	other := newReporter(t, f, Options{Token: "glpat-wrong"})
	err := report(t, other, status.BuildStarted, build(2).Build())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")
}

func TestNewReportsAllProblems(t *testing.T) {
	_, err := New(Options{BaseURL: "gitlab.example.com", Token: "a b", States: States{status.Retry: "later"}})
	require.Error(t, err)
	assert.Equal(t, `gitlab: Options.BaseURL "gitlab.example.com" is not an http(s) URL: want e.g. https://gitlab.example.com`+"\n"+
		"gitlab: Options.Token contains white space: check how it was read (a trailing newline from a file?)\n"+
		`gitlab: Options.States maps retry → "later": the states are pending, running, success, failed, canceled, skipped`, err.Error())
	_, err = New(Options{})
	assert.ErrorContains(t, err, "Options.Token and Options.TokenSource are both unset")
	_, err = New(Options{Token: "t", TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})})
	assert.ErrorContains(t, err, "use one")
	_, err = New(Options{BaseURL: "https://u:p@gitlab.example.com", Token: "t"})
	assert.ErrorContains(t, err, "without user")
}

func TestIgnoresOtherKindsAndClosed(t *testing.T) {
	f := newFakeGitLab(t)
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
	f := gitlabtest.NewServer(t, gitlabtest.Options{Token: testToken})
	statustest.Conformance(t, func() status.Reporter {
		r, err := New(Options{BaseURL: f.URL(), Token: testToken, Logger: slog.New(slog.DiscardHandler),
			Project: status.MustInterpolate("group/%(prop:buildername)s")})
		require.NoError(t, err)
		return r
	})
	assert.NotEmpty(t, f.Requests(), "conformance sent no status: the check proved nothing")
}

func TestHTTPConformance(t *testing.T) {
	statustest.HTTPConformance(t, statustest.HTTPTarget{
		New: func(baseURL string, log *slog.Logger) status.Reporter {
			r, err := New(Options{BaseURL: baseURL, Token: testToken, Logger: log, Note: NoteOnFailure,
				Project: status.MustInterpolate("group/app")})
			require.NoError(t, err)
			return r
		},
		Secrets: []string{testToken},
	})
}

// The token never shows in logs, errors, Stats or any printing of the
// reporter and its options, whatever goes wrong, even when GitLab (or a
// proxy before it) echoes the request's headers.
func TestSecretsAbsent(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFakeGitLab(t)
	o := Options{Token: testToken, BaseURL: f.URL(), Logger: logger, Note: NoteOnFailure}
	r, err := New(o)
	require.NoError(t, err)
	hub := status.NewHub(status.HubOptions{Logger: logger, Retry: status.RetryPolicy{Initial: time.Millisecond, MaxElapsed: 50 * time.Millisecond}})
	hub.Add(r)
	var texts []string
	f.Fail(gitlabtest.Reply(http.StatusInternalServerError, `{"message":"boom, PRIVATE-TOKEN: `+testToken+`"}`),
		gitlabtest.Reply(http.StatusBadRequest, "<pre>POST /api/v4\nPRIVATE-TOKEN: "+testToken+"\n</pre>"),
		gitlabtest.Reply(http.StatusUnauthorized, `{"message":"401 Unauthorized"}`))
	for i := range 3 {
		texts = append(texts, fmt.Sprint(report(t, r, status.BuildStarted, build(i+1).Build())))
	}
	hub.Publish(status.Event{Kind: status.BuildFinished, Build: build(4).Failed().Property(MergeRequestProperty, 3).Build()})
	wait(t, f, 5)
	f.Close()
	texts = append(texts, fmt.Sprint(report(t, r, status.BuildFinished, build(5).Failed().Build())))
	require.NoError(t, hub.Shutdown(context.Background()))
	for _, st := range hub.Stats() {
		texts = append(texts, st.LastError, fmt.Sprintf("%+v", st))
	}
	texts = append(texts, logs.String(), r.String(), fmt.Sprintf("%v %+v %#v", r, r, r),
		fmt.Sprintf("%v %+v %#v", o, o, o), fmt.Sprint(o.Token))
	all := strings.Join(texts, "\n")
	assert.NotContains(t, all, testToken)
	assert.Contains(t, all, "HTTP 500")
	assert.Contains(t, all, "PRIVATE-TOKEN: <redacted>")
	assert.Contains(t, all, "401 Unauthorized")
}
