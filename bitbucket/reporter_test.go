package bitbucket

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/bitbucket/bitbuckettest"
	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	testUser  = "ci-bot"
	testPass  = "ATBBapp0password0SECRET"
	testToken = "ATCTT3xFfGN0access0token0SECRET"
	repoURL   = "git@bitbucket.org:team/app.git"
	sha       = "0123456789abcdef0123456789abcdef01234567"
)

func newFakeBitbucket(t testing.TB) *bitbuckettest.Server {
	return bitbuckettest.NewServer(t, bitbuckettest.Options{Username: testUser, Password: testPass, Token: testToken, Repos: []string{"team/app"}})
}

func newReporter(t testing.TB, f *bitbuckettest.Server, o Options) *Reporter {
	t.Helper()
	if o.Token == "" && o.Username == "" && o.HTTPClient == nil {
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

func wait(t testing.TB, f *bitbuckettest.Server, n int) []bitbuckettest.Request {
	return testkit.WaitFor(t, f.Wait, n)
}

func build(number int) *statustest.FakeBuild {
	return statustest.NewBuild("linux").Number(number).Repository(repoURL).
		URL(fmt.Sprintf("https://ci.example.org/builders/linux/builds/%d", number))
}

func report(t testing.TB, r *Reporter, kind status.Kind, b *status.Build) error {
	return testkit.Report(t, r, kind, b)
}

// A build with app-password credentials starts, is cancelled (STOPPED),
// its rebuild meets a 500 and the rate limit, and succeeds: through a Hub,
// every request in order, and the status Bitbucket shows in the end.
func TestSequenceThroughHub(t *testing.T) {
	f := newFakeBitbucket(t)
	r := newReporter(t, f, Options{Username: testUser, Password: testPass})
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler),
		Retry: status.RetryPolicy{Initial: time.Millisecond, Max: 5 * time.Millisecond, Jitter: -1}})
	hub.Add(r)
	hub.Publish(status.Event{Kind: status.BuildStarted, Build: build(1).Build()})
	hub.Publish(status.Event{Kind: status.BuildFinished, Build: build(1).Result(status.Cancelled).Build()})
	wait(t, f, 2)
	f.Fail(bitbuckettest.Reply(500, `{"type":"error","error":{"message":"Something went wrong"}}`), bitbuckettest.RateLimited(1000))
	for _, e := range build(2).Succeeded().Events() {
		hub.Publish(e)
	}
	require.NoError(t, hub.Shutdown(context.Background()))
	var sb strings.Builder
	for _, q := range f.Requests() {
		fmt.Fprintf(&sb, "%s %s %s -> %d\n", q.Method, q.Path, q.Body, q.Code)
	}
	testkit.Golden(t, *update, "sequence.golden", []byte(sb.String()))
	st, ok := f.Status("team/app", sha, "linux")
	require.True(t, ok)
	assert.Equal(t, bitbuckettest.BuildStatus{State: "SUCCESSFUL", Key: "linux", Name: "linux #2",
		URL: "https://ci.example.org/builders/linux/builds/2", Description: "Build #2 succeeded.", UpdatedOn: st.UpdatedOn}, st)
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answer    bitbuckettest.Answer
		retryable bool
		msg       string
	}{
		{"429", bitbuckettest.RateLimited(1000), true, "HTTP 429 Too Many Requests: Rate limit for this resource has been exceeded"},
		{"503", bitbuckettest.Reply(503, "<html>Service Unavailable</html>"), true, "HTTP 503"},
		{"400", bitbuckettest.Reply(400, `{"type":"error","error":{"message":"Bad request","fields":{"url":["Enter a valid URL."]}}}`), false, "Bad request: Bitbucket refused the status"},
		{"401", bitbuckettest.Reply(401, `{"type":"error","error":{"message":"Invalid credentials"}}`), false, "Invalid credentials: check Options.Username"},
		{"403", bitbuckettest.Reply(403, `{"type":"error","error":{"message":"Access denied"}}`), false, "repository:write"},
		{"404", bitbuckettest.Reply(404, `{"type":"error","error":{"message":"Repository team/app not found"}}`), false,
			`bitbucket: setting INPROGRESS on team/app@0123456789ab (key "linux"): HTTP 404 Not Found: Repository team/app not found: check the workspace`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeBitbucket(t)
			r := newReporter(t, f, Options{})
			f.Fail(tc.answer)
			err := report(t, r, status.BuildStarted, build(1).Build())
			require.Error(t, err)
			assert.Equal(t, tc.retryable, status.IsRetryable(err), "%v", err)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
	t.Run("network", func(t *testing.T) {
		f := newFakeBitbucket(t)
		r := newReporter(t, f, Options{})
		f.Close()
		assert.True(t, status.IsRetryable(report(t, r, status.BuildStarted, build(1).Build())))
	})
	t.Run("no URL", func(t *testing.T) {
		f := newFakeBitbucket(t)
		r := newReporter(t, f, Options{})
		err := report(t, r, status.BuildStarted, statustest.NewBuild("linux").Repository(repoURL).Build())
		require.Error(t, err)
		assert.False(t, status.IsRetryable(err))
		assert.Contains(t, err.Error(), "Options.URL")
		assert.Empty(t, f.Requests())
	})
}

// Long keys are cut with a hash, so the result replaces the running status
// under the very same key; templates and repositories by option.
func TestKeysAndTemplates(t *testing.T) {
	f := newFakeBitbucket(t)
	long := strings.Repeat("builder-with-a-long-name-", 3)
	r := newReporter(t, f, Options{Key: status.MustInterpolate("%(prop:buildername)s/%(kw:codebase)s"),
		Repo: status.MustInterpolate("%(prop:bb_repo)s")})
	b := statustest.NewBuild(long).Number(3).URL("https://ci.example.org/3").Property("bb_repo", "team/app")
	require.NoError(t, report(t, r, status.BuildStarted, b.Build()))
	require.NoError(t, report(t, r, status.BuildFinished, b.Failed().Build()))
	reqs := f.Requests()
	require.Len(t, reqs, 2)
	assert.Len(t, reqs[0].Key, 40)
	assert.Equal(t, reqs[0].Key, reqs[1].Key)
	st, ok := f.Status("team/app", sha, reqs[0].Key)
	require.True(t, ok)
	assert.Equal(t, "FAILED", st.State)
	require.Error(t, report(t, r, status.BuildStarted, b.Number(4).Property("bb_repo", "team/nope").Build()))
	require.NoError(t, report(t, r, status.BuildStarted, b.Number(5).Property("bb_repo", "../x").Build()), "not a repository: skipped")
	assert.Len(t, f.Requests(), 3)
}

func TestStates(t *testing.T) {
	want := map[status.Result]State{status.Success: Successful, status.Warnings: Failed, status.Skipped: Successful,
		status.Failure: Failed, status.Exception: Failed, status.Cancelled: Stopped, status.Retry: InProgress}
	f := newFakeBitbucket(t)
	r := newReporter(t, f, Options{States: States{status.Warnings: Failed}})
	for i, res := range status.AllResults() {
		require.NoError(t, report(t, r, status.BuildFinished, build(2+i).Result(res).Build()))
		reqs := f.Requests()
		assert.Equal(t, string(want[res]), reqs[len(reqs)-1].State, "result %v", res)
	}
}

func TestNewReportsAllProblems(t *testing.T) {
	_, err := New(Options{BaseURL: "api.bitbucket.org", Password: "p w", States: States{status.Retry: "LATER"}})
	require.Error(t, err)
	assert.Equal(t, `bitbucket: Options.BaseURL "api.bitbucket.org" is not an http(s) URL: want e.g. https://api.bitbucket.org`+"\n"+
		"bitbucket: Options.Username is empty: set the user the app password belongs to\n"+
		"bitbucket: Options.Password contains white space: check how it was read (a trailing newline from a file?)\n"+
		`bitbucket: Options.States maps retry → "LATER": the states are INPROGRESS, SUCCESSFUL, FAILED, STOPPED`, err.Error())
	for o, want := range map[*Options]string{
		{}:              "no credentials",
		{Username: "u"}: "Options.Password is empty",
		{Username: "u", Password: "p", Token: "t"}: "use one",
	} {
		_, err := New(*o)
		assert.ErrorContains(t, err, want)
	}
}

func TestIgnoresOtherKindsAndClosed(t *testing.T) {
	f := newFakeBitbucket(t)
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
	f := bitbuckettest.NewServer(t, bitbuckettest.Options{Token: testToken})
	statustest.Conformance(t, func() status.Reporter {
		r, err := New(Options{BaseURL: f.URL(), Token: testToken, Logger: slog.New(slog.DiscardHandler),
			Repo: status.MustInterpolate("team/%(prop:buildername)s"),
			URL:  status.MustInterpolate("https://ci.example.org/%(prop:buildername)s/%(prop:buildnumber)s")})
		require.NoError(t, err)
		return r
	})
	assert.NotEmpty(t, f.Requests(), "conformance sent no status: the check proved nothing")
}

func TestHTTPConformance(t *testing.T) {
	for _, o := range []Options{{Token: testToken}, {Username: testUser, Password: testPass}} {
		statustest.HTTPConformance(t, statustest.HTTPTarget{
			New: func(baseURL string, log *slog.Logger) status.Reporter {
				o.BaseURL, o.Logger, o.Repo = baseURL, log, status.MustInterpolate("team/app")
				o.URL = status.MustInterpolate("https://ci.example.org/%(prop:buildnumber)s")
				r, err := New(o)
				require.NoError(t, err)
				return r
			},
			Secrets: []string{testToken, testPass, base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPass))},
		})
	}
}

// Neither app password nor token shows in logs, errors, Stats or any
// printing, even when the server echoes the Authorization header.
func TestSecretsAbsent(t *testing.T) {
	f := newFakeBitbucket(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	encoded := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPass))
	var texts []string
	for _, o := range []Options{{Username: testUser, Password: testPass}, {Token: testToken}} {
		o.BaseURL, o.Logger = f.URL(), logger
		// The server echoes what this reporter sent: a reporter can only
		// scrub the credentials it has.
		echo, secret := "Authorization: Basic "+encoded, testPass
		if o.Token != "" {
			echo, secret = "Authorization: Bearer "+testToken, testToken
		}
		r, err := New(o)
		require.NoError(t, err)
		hub := status.NewHub(status.HubOptions{Logger: logger, Retry: status.RetryPolicy{Initial: time.Millisecond, MaxElapsed: 50 * time.Millisecond}})
		hub.Add(r)
		f.Fail(bitbuckettest.Reply(400, "<pre>"+echo+"\nHost: api.bitbucket.org</pre>"),
			bitbuckettest.Reply(401, `{"type":"error","error":{"message":"Invalid credentials `+secret+`"}}`))
		texts = append(texts, fmt.Sprint(report(t, r, status.BuildStarted, build(1).Build())),
			fmt.Sprint(report(t, r, status.BuildStarted, build(2).Build())))
		hub.Publish(status.Event{Kind: status.BuildStarted, Build: build(3).Build()})
		require.NoError(t, hub.Shutdown(context.Background()))
		for _, st := range hub.Stats() {
			texts = append(texts, fmt.Sprintf("%+v", st))
		}
		texts = append(texts, fmt.Sprintf("%v %+v %#v", r, r, r), fmt.Sprintf("%v %+v %#v", o, o, o))
	}
	all := strings.Join(append(texts, logs.String()), "\n")
	for _, secret := range []string{testPass, testToken, encoded} {
		assert.NotContains(t, all, secret)
	}
	assert.Contains(t, all, "Authorization: Basic <redacted>")
	assert.Contains(t, all, "Authorization: Bearer <redacted>")
	assert.Contains(t, all, "HTTP 401")
}
