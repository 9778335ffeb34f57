package github

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/heraldci/herald/github/githubtest"
	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/internal/testkit"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	testToken = "ghp_test0SECRET0token0value0000000000000"
	repoURL   = "https://github.com/octo/hello.git"
	sha       = "0123456789abcdef0123456789abcdef01234567"
)

// newFakeGitHub serves GitHub Enterprise's API double for the test.
func newFakeGitHub(t testing.TB, token string, repos ...string) *githubtest.Server {
	return githubtest.NewServer(t, githubtest.Options{Token: token, Repos: repos})
}

// wait returns the requests once n have reached the double.
func wait(t testing.TB, f *githubtest.Server, n int) []githubtest.Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reqs, err := f.Wait(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return reqs
}

func newReporter(t testing.TB, f *githubtest.Server, o Options) *Reporter {
	t.Helper()
	if o.Token == "" && o.TokenSource == nil && o.HTTPClient == nil {
		o.Token = testToken
	}
	if o.BaseURL == "" {
		o.BaseURL = f.URL()
	}
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

func build(number int) *statustest.FakeBuild {
	return statustest.NewBuild("linux").Number(number).Repository(repoURL).
		URL(fmt.Sprintf("https://ci.example.org/builders/linux/builds/%d", number))
}

func report(t testing.TB, r *Reporter, kind status.Kind, b *status.Build) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.Report(ctx, status.Event{Kind: kind, Build: b})
}

// lines prints the requests one a line, the way the golden files hold them.
func lines(reqs []githubtest.Request) string {
	var sb strings.Builder
	for _, r := range reqs {
		if r.Endpoint != "status" {
			fmt.Fprintf(&sb, "%s %s %s-> %d\n", r.Method, r.Path, bodyText(r.Body), r.Code)
			continue
		}
		fmt.Fprintf(&sb, "POST %s/%s@%s state=%s context=%q description=%q target_url=%q -> %d\n",
			r.Owner, r.Repo, r.SHA, r.State, r.Context, r.Description, r.TargetURL, r.Code)
	}
	return sb.String()
}

func bodyText(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return strings.TrimSpace(string(b)) + " "
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	testkit.Golden(t, *update, name, []byte(got))
}

// A build starts, finishes with Retry, is built again and GitHub fails
// twice with 502 before taking the final status: through a Hub, every
// request in order.
func TestSequenceStartRetryFinish(t *testing.T) {
	f := newFakeGitHub(t, testToken, "octo/hello")
	r := newReporter(t, f, Options{})
	hub := status.NewHub(status.HubOptions{
		Logger: slog.New(slog.DiscardHandler),
		Retry:  status.RetryPolicy{Initial: time.Millisecond, Max: 5 * time.Millisecond, Jitter: -1},
	})
	hub.Add(r)

	for _, e := range build(7).Result(status.Retry).Events() {
		hub.Publish(e)
	}
	wait(t, f, 2)
	f.Fail(reply(http.StatusBadGateway, "", "", `{"message":"Server Error"}`),
		reply(http.StatusServiceUnavailable, "", "", `{"message":"Service Unavailable"}`))
	for _, e := range build(8).Step("compile", status.Success).Step("test", status.Failure).Failed().Events() {
		hub.Publish(e)
	}
	got := wait(t, f, 6)
	if err := hub.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(f.Requests()); n != 6 {
		t.Errorf("%d requests, want 6", n)
	}
	st := hub.Stats()[0]
	if st.Retried != 2 || st.Failed != 0 {
		t.Errorf("hub stats %+v: want 2 retries, no failure", st)
	}
	golden(t, "sequence.golden", lines(got))
}

func TestEnterpriseBaseURL(t *testing.T) {
	f := newFakeGitHub(t, testToken, "octo/hello")
	for _, base := range []string{f.ServerURL(), f.ServerURL() + "/", f.ServerURL() + "/api/v3", f.ServerURL() + "/api/v3/"} {
		r := newReporter(t, f, Options{BaseURL: base, Context: status.MustInterpolate("ci/" + base)})
		if err := report(t, r, status.BuildStarted, build(1).Build()); err != nil {
			t.Errorf("BaseURL %q: %v", base, err)
		}
		if !strings.Contains(r.String(), f.ServerURL()+"/api/v3/") {
			t.Errorf("BaseURL %q: String() = %q", base, r.String())
		}
	}
	if got := len(f.Requests()); got != 4 {
		t.Errorf("%d requests reached /api/v3, want 4", got)
	}

	r, err := New(Options{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.String(); got != "github.Reporter(https://api.github.com/)" {
		t.Errorf("default String() = %q", got)
	}
}

// Every result through the default table, Buildbot's, and a table that
// changes one entry (the rest stay the default's).
func TestStates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		states States
		want   map[status.Result]State
	}{
		{"default", nil, map[status.Result]State{status.Success: Success, status.Warnings: Success, status.Failure: Failure,
			status.Skipped: Success, status.Exception: Error, status.Retry: Pending, status.Cancelled: Error}},
		{"buildbot", BuildbotStates(), map[status.Result]State{status.Success: Success, status.Warnings: Error, status.Failure: Failure,
			status.Skipped: Error, status.Exception: Error, status.Retry: Error, status.Cancelled: Error}},
		{"warnings fail", States{status.Warnings: Failure}, map[status.Result]State{status.Success: Success, status.Warnings: Failure,
			status.Failure: Failure, status.Skipped: Success, status.Exception: Error, status.Retry: Pending, status.Cancelled: Error}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGitHub(t, testToken, "octo/hello")
			r := newReporter(t, f, Options{States: tc.states})
			for i, res := range status.AllResults() {
				require.NoError(t, report(t, r, status.BuildFinished, build(3+i).Result(res).Build()))
				reqs := f.Requests()
				assert.Equal(t, string(tc.want[res]), reqs[len(reqs)-1].State, "result %v", res)
			}
			assert.Len(t, f.Requests(), len(status.AllResults()))
		})
	}
}

// Buildbot's context: GitHub shows "default" for statuses Buildbot set.
func TestBuildbotContext(t *testing.T) {
	f := newFakeGitHub(t, testToken, "octo/hello")
	r := newReporter(t, f, Options{Context: status.MustInterpolate(BuildbotContext), States: BuildbotStates()})
	require.NoError(t, report(t, r, status.BuildFinished, build(1).Result(status.Warnings).Build()))
	st := f.Statuses("octo", "hello", sha)
	require.Len(t, st, 1)
	assert.Equal(t, "default", st[0].Context)
	assert.Equal(t, "error", st[0].State)
}

func TestTemplatesAndSkipRules(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFakeGitHub(t, testToken, "acme/tool")
	r := newReporter(t, f, Options{
		RepoOwner:        status.MustInterpolate("%(prop:github_repo_owner)s"),
		RepoName:         status.MustInterpolate("%(prop:github_repo_name)s"),
		SHA:              status.MustInterpolate("%(prop:got_revision:-%(src::revision)s)s"),
		Context:          status.MustInterpolate("ci/%(prop:buildername)s/%(kw:branch)s"),
		StartDescription: status.MustInterpolate("started on %(prop:workername)s"),
		EndDescription:   status.RenderFunc(func(b *status.Build) string { return "done: " + b.Result.String() }),
		TargetURL:        status.MustInterpolate("https://ci.example.org/#/%(prop:buildername)s/%(kw:number)s"),
		Logger:           logger,
	})
	full := build(5).Property("github_repo_owner", "acme").Property("github_repo_name", "tool")

	// Everything set: one status.
	if err := report(t, r, status.BuildStarted, full.Build()); err != nil {
		t.Fatal(err)
	}
	// got_revision wins over the source stamp.
	other := "fedcba9876543210fedcba9876543210fedcba98"
	if err := report(t, r, status.BuildFinished, full.Property("got_revision", other).Succeeded().Build()); err != nil {
		t.Fatal(err)
	}
	// Each of owner, name, SHA empty: skipped, no request.
	skips := map[string]*status.Build{
		"RepoOwner rendered empty": build(6).Property("github_repo_name", "tool").Build(),
		"RepoName rendered empty":  build(6).Property("github_repo_owner", "acme").Build(),
		"SHA rendered empty":       build(6).Property("github_repo_owner", "acme").Property("github_repo_name", "tool").Revision("").Build(),
		"SHA is not a commit hash": build(6).Property("github_repo_owner", "acme").Property("github_repo_name", "tool").Revision("trunk").Build(),
	}
	for why, b := range skips {
		if err := report(t, r, status.BuildStarted, b); err != nil {
			t.Errorf("%s: %v", why, err)
		}
		if !strings.Contains(logs.String(), why) {
			t.Errorf("no debug log %q in:\n%s", why, logs.String())
		}
	}
	want := "" +
		`POST acme/tool@` + sha + ` state=pending context="ci/linux/main" description="started on worker1" target_url="https://ci.example.org/#/linux/5" -> 201` + "\n" +
		`POST acme/tool@` + other + ` state=success context="ci/linux/main" description="done: success" target_url="https://ci.example.org/#/linux/5" -> 201` + "\n"
	if got := lines(f.Requests()); got != want {
		t.Errorf("requests:\n%s\nwant:\n%s", got, want)
	}
}

func TestBadRenderedRepoIsPermanent(t *testing.T) {
	f := newFakeGitHub(t, testToken, "octo/hello")
	r := newReporter(t, f, Options{RepoOwner: status.MustInterpolate("octo/../../admin")})
	err := report(t, r, status.BuildStarted, build(1).Build())
	if err == nil || status.IsRetryable(err) || !strings.Contains(err.Error(), "Options.RepoOwner") {
		t.Errorf("err = %v, want a permanent error naming Options.RepoOwner", err)
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d requests sent for a bad owner", n)
	}
}

func TestMultiCodebase(t *testing.T) {
	f := newFakeGitHub(t, testToken, "octo/hello", "octo/lib")
	r := newReporter(t, f, Options{})
	lib := "1111111111111111111111111111111111111111"
	b := build(2).
		Source(status.SourceStamp{Codebase: "lib", Repository: "git@github.com:octo/lib.git", Revision: lib}).
		Source(status.SourceStamp{Codebase: "docs", Repository: "https://github.com/octo/docs"}). // no revision: nothing to mark
		Build()
	b.Sources[0].Codebase = "app"
	if err := report(t, r, status.BuildStarted, b); err != nil {
		t.Fatal(err)
	}
	got := lines(f.Requests())
	want := "" +
		`POST octo/hello@` + sha + ` state=pending context="herald/linux" description="Build #2 started." target_url="https://ci.example.org/builders/linux/builds/2" -> 201` + "\n" +
		`POST octo/lib@` + lib + ` state=pending context="herald/linux" description="Build #2 started." target_url="https://ci.example.org/builders/linux/builds/2" -> 201` + "\n"
	if got != want {
		t.Errorf("requests:\n%s\nwant:\n%s", got, want)
	}
}

func TestDescriptionTruncatedOnTheWire(t *testing.T) {
	f := newFakeGitHub(t, testToken, "octo/hello")
	r := newReporter(t, f, Options{})
	b := build(4).Text(strings.Repeat("ünïcødé ", 40)).Failed().Build()
	if err := report(t, r, status.BuildFinished, b); err != nil {
		t.Fatal(err)
	}
	d := f.Requests()[0].Description
	if n := len([]rune(d)); n != 140 || !strings.HasSuffix(d, "…") || !strings.HasPrefix(d, "Build #4 failed: ünïcødé") {
		t.Errorf("description (%d characters) %q", n, d)
	}
}

func TestIdenticalRepeatsAndCap(t *testing.T) {
	f := newFakeGitHub(t, testToken, "octo/hello")
	var logs bytes.Buffer
	r := newReporter(t, f, Options{
		StartDescription: status.MustInterpolate("attempt %(prop:attempt)s"),
		Logger:           slog.New(slog.NewTextHandler(&logs, nil)),
	})
	b := build(1).Property("attempt", 0).Build()
	for range 3 {
		if err := report(t, r, status.BuildStarted, b); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.Requests()); n != 1 {
		t.Fatalf("identical statuses sent %d times, want once", n)
	}
	for i := 1; i <= maxPerContext+5; i++ {
		if err := report(t, r, status.BuildStarted, build(1).Property("attempt", i).Build()); err != nil {
			t.Fatalf("status %d: %v", i, err)
		}
	}
	if n := len(f.Requests()); n != maxPerContext {
		t.Errorf("%d statuses sent for one commit and context, want the cap %d", n, maxPerContext)
	}
	if !strings.Contains(logs.String(), "most statuses GitHub keeps") {
		t.Errorf("no warning about the cap in:\n%.500s", logs.String())
	}
	// Another context on the same commit is not capped.
	r2 := newReporter(t, f, Options{Context: status.MustInterpolate("other")})
	if err := report(t, r2, status.BuildStarted, b); err != nil {
		t.Fatal(err)
	}
	if n := len(f.Requests()); n != maxPerContext+1 {
		t.Errorf("%d requests, want %d", n, maxPerContext+1)
	}
}

func TestErrorClassification(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name      string
		answer    githubtest.Answer
		repo      string // default octo/hello
		token     string
		retryable bool
		after     time.Duration // expected wait, ±2s
		msg       string
	}{
		{name: "primary rate limit", answer: githubtest.PrimaryLimit(now.Add(30 * time.Second)), retryable: true, after: 31 * time.Second, msg: "primary rate limit"},
		{name: "429 Retry-After", answer: reply(http.StatusTooManyRequests, "Retry-After", "7", `{"message":"Too Many Requests"}`), retryable: true, after: 7 * time.Second},
		{name: "secondary with Retry-After", answer: githubtest.SecondaryLimit("45"), retryable: true, after: 45 * time.Second, msg: "secondary rate limit"},
		{name: "secondary without Retry-After", answer: githubtest.SecondaryLimit(""), retryable: true, after: time.Minute},
		{name: "unlabelled 403 with Retry-After", answer: reply(http.StatusForbidden, "Retry-After", "5", `{"message":"slow down"}`), retryable: true, after: 5 * time.Second},
		{name: "500", answer: reply(http.StatusInternalServerError, "", "", `{"message":"Server Error"}`), retryable: true},
		{name: "502 HTML", answer: reply(http.StatusBadGateway, "Content-Type", "text/html", `<html>bad gateway</html>`), retryable: true},
		{name: "403 no permission", answer: reply(http.StatusForbidden, "", "", `{"message":"Resource not accessible by integration"}`), msg: "statuses:write"},
		{name: "401", token: "wrong", msg: "HTTP 401 Unauthorized: Bad credentials: check Options.Token"},
		{name: "404", repo: "octo/nope", msg: `setting pending on octo/nope@0123456789ab (context "herald/linux"): HTTP 404 Not Found: Not Found: check the owner and name`},
		{name: "422", answer: reply(http.StatusUnprocessableEntity, "", "", `{"message":"No commit found for SHA: 0123"}`), msg: "HTTP 422 Unprocessable Entity: No commit found for SHA: 0123: GitHub refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGitHub(t, testToken, "octo/hello")
			if tc.answer != nil {
				f.Fail(tc.answer)
			}
			o := Options{}
			if tc.token != "" {
				o.Token = status.Secret(tc.token)
			}
			repo := "https://github.com/octo/hello"
			if tc.repo != "" {
				repo = "https://github.com/" + tc.repo
			}
			r := newReporter(t, f, o)
			err := report(t, r, status.BuildStarted, build(1).Repository(repo).Build())
			if err == nil {
				t.Fatal("no error")
			}
			after, retry := status.RetryAfter(err)
			if retry != tc.retryable {
				t.Errorf("retryable = %v, want %v: %v", retry, tc.retryable, err)
			}
			if d := after - tc.after; d < -2*time.Second || d > 2*time.Second {
				t.Errorf("wait %v, want about %v", after, tc.after)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
			var api *APIError
			if !errors.As(err, &api) || api.Repo != "octo/hello" && api.Repo != "octo/nope" || api.SHA != sha || api.Context != "herald/linux" {
				t.Errorf("error %v does not carry an *APIError naming the target", err)
			}
		})
	}
}

func TestNetworkErrorRetryable(t *testing.T) {
	f := newFakeGitHub(t, testToken, "octo/hello")
	r := newReporter(t, f, Options{})
	f.Close()
	err := report(t, r, status.BuildStarted, build(1).Build())
	if !status.IsRetryable(err) {
		t.Errorf("connection refused: %v, want retryable", err)
	}
}

// GitHub's waits hold through a Hub: the retry reaches GitHub no earlier
// than Retry-After or X-RateLimit-Reset say.
func TestRateLimitWaitsHonouredThroughHub(t *testing.T) {
	afterFirst := func(first time.Time) time.Time { return first.Add(time.Second) }
	for _, tc := range []struct {
		name string
		// answer returns GitHub's answer and when GitHub allows the retry.
		answer func() (githubtest.Answer, func(first time.Time) time.Time)
	}{
		{"429 Retry-After", func() (githubtest.Answer, func(time.Time) time.Time) {
			return reply(http.StatusTooManyRequests, "Retry-After", "1", `{"message":"Too Many Requests"}`), afterFirst
		}},
		{"secondary Retry-After", func() (githubtest.Answer, func(time.Time) time.Time) {
			return githubtest.SecondaryLimit("1"), afterFirst
		}},
		{"primary reset", func() (githubtest.Answer, func(time.Time) time.Time) {
			reset := time.Unix(time.Now().Add(2*time.Second).Unix(), 0) // whole seconds, as GitHub sends it
			return githubtest.PrimaryLimit(reset), func(time.Time) time.Time { return reset }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGitHub(t, testToken, "octo/hello")
			r := newReporter(t, f, Options{})
			hub := status.NewHub(status.HubOptions{
				Logger: slog.New(slog.DiscardHandler),
				Retry:  status.RetryPolicy{Initial: time.Millisecond, Jitter: -1},
			})
			hub.Add(r)
			answer, earliest := tc.answer()
			f.Fail(answer)
			hub.Publish(status.Event{Kind: status.BuildStarted, Build: build(1).Build()})
			got := wait(t, f, 2)
			if err := hub.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got[0].Code == 201 || got[1].Code != 201 {
				t.Fatalf("answers %d, %d: want a limit, then 201", got[0].Code, got[1].Code)
			}
			if earliest := earliest(got[0].At); got[1].At.Before(earliest) {
				t.Errorf("retried at %v, %v before GitHub allowed it", got[1].At, earliest.Sub(got[1].At))
			}
			if st := hub.Stats()[0]; st.Retried != 1 || st.Delivered != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestInjectedHTTPClient(t *testing.T) {
	f := newFakeGitHub(t, testToken, "octo/hello")
	// A host's own authenticating transport, as an App installation client is.
	hc := &http.Client{Transport: roundTripper(func(req *http.Request) (*http.Response, error) {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "token "+testToken)
		return http.DefaultTransport.RoundTrip(req)
	})}
	r := newReporter(t, f, Options{HTTPClient: hc})
	if err := report(t, r, status.BuildStarted, build(1).Build()); err != nil {
		t.Fatal(err)
	}
	if got := f.Requests()[0].Code; got != 201 {
		t.Errorf("answer %d", got)
	}
}

func reply(code int, header, value, body string) githubtest.Answer {
	if header == "" {
		return githubtest.Reply(code, body)
	}
	return githubtest.Reply(code, body, header, value)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNewValidation(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{}, "Options.Token, Options.TokenSource and Options.HTTPClient are all unset"},
		{Options{Token: "x", TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "y"})}, "both set"},
		{Options{Token: "abc\n"}, "white space"},
		{Options{Token: "x", BaseURL: "github.example.com"}, "Options.BaseURL \"github.example.com\" is not an http(s) URL"},
		{Options{Token: "x", BaseURL: "https://u:p@github.example.com"}, "must not carry credentials"},
		{Options{Token: "x", UploadURL: "ftp://x"}, "Options.UploadURL"},
		{Options{Token: "x", States: States{status.Warnings: "green"}}, `github: Options.States maps warnings → "green": the states are pending, success, failure, error`},
	} {
		_, err := New(tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", tc.o, err, tc.want)
		}
	}
}

// Every problem of the options is reported at once.
func TestNewReportsAllProblems(t *testing.T) {
	_, err := New(Options{Token: "a b", BaseURL: "github.example.com", States: States{status.Retry: "later"}})
	require.Error(t, err)
	assert.Equal(t, "github: Options.Token contains white space: check how it was read (a trailing newline from a file?)\n"+
		"github: Options.BaseURL \"github.example.com\" is not an http(s) URL: want e.g. https://github.example.com/api/v3/\n"+
		"github: Options.States maps retry → \"later\": the states are pending, success, failure, error", err.Error())
}

func TestIgnoresOtherKindsAndClosed(t *testing.T) {
	f := newFakeGitHub(t, testToken, "octo/hello")
	r := newReporter(t, f, Options{})
	for _, e := range statustest.EveryKind(build(1).Build()) {
		if e.Kind == status.BuildStarted || e.Kind == status.BuildFinished {
			continue
		}
		if err := r.Report(context.Background(), e); err != nil {
			t.Errorf("%v: %v", e.Kind, err)
		}
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d requests for kinds other than build started/finished", n)
	}
	_ = r.Close(context.Background())
	if err := report(t, r, status.BuildStarted, build(1).Build()); !errors.Is(err, forge.ErrClosed) {
		t.Errorf("Report after Close = %v", err)
	}
}

func TestConformance(t *testing.T) {
	f := newFakeGitHub(t, testToken, "example/repo")
	statustest.Conformance(t, func() status.Reporter {
		r, err := New(Options{Token: testToken, BaseURL: f.URL(),
			RepoOwner: status.MustInterpolate("example"), RepoName: status.MustInterpolate("repo")})
		if err != nil {
			t.Fatal(err)
		}
		return r
	})
	if len(f.Requests()) == 0 {
		t.Error("conformance sent no status: the check proved nothing")
	}
}

// After a primary limit the reporter does not call GitHub again before
// the reset: it answers Retryable with the time left, sending nothing.
func TestPrimaryLimitRemembered(t *testing.T) {
	f := newFakeGitHub(t, testToken, "octo/hello")
	r := newReporter(t, f, Options{})
	f.Fail(githubtest.PrimaryLimit(time.Now().Add(30 * time.Second)))
	if err := report(t, r, status.BuildStarted, build(1).Build()); !status.IsRetryable(err) {
		t.Fatalf("first: %v", err)
	}
	err := report(t, r, status.BuildStarted, build(2).Build())
	after, ok := status.RetryAfter(err)
	if !ok || after < 25*time.Second || after > 32*time.Second {
		t.Errorf("second: retryable %v after %v, want about 30s: %v", ok, after, err)
	}
	if n := len(f.Requests()); n != 1 {
		t.Errorf("%d requests reached GitHub during the limit, want 1", n)
	}
}

// A GitHub that never answers: Report returns when its context ends, a
// cancellation as such (not retryable), a deadline as retryable.
func TestContextEndsHangingRequest(t *testing.T) {
	release, arrived := make(chan struct{}), make(chan struct{}, 2)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hang.Close()
	defer close(release)
	r, err := New(Options{Token: testToken, BaseURL: hang.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Report(ctx, status.Event{Kind: status.BuildStarted, Build: build(1).Build()}) }()
	<-arrived // the request is on the wire
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || status.IsRetryable(err) {
			t.Errorf("cancelled: %v, want context.Canceled, not retryable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Report did not return after cancel")
	}

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.Report(ctx, status.Event{Kind: status.BuildStarted, Build: build(2).Build()}); !errors.Is(err, context.DeadlineExceeded) || !status.IsRetryable(err) {
		t.Errorf("deadline: %v, want a retryable deadline error", err)
	}
}

// A secondary limit without Retry-After while requests are left means a
// minute's wait (GitHub's advice), not go-github's wait until the primary
// reset: after it the reporter calls GitHub again.
func TestSecondaryLimitWithoutRetryAfter(t *testing.T) {
	f := newFakeGitHub(t, testToken, "octo/hello") // its X-RateLimit-Reset is an hour away
	r := newReporter(t, f, Options{})
	f.Fail(githubtest.SecondaryLimit(""))
	err := report(t, r, status.BuildStarted, build(1).Build())
	if after, ok := status.RetryAfter(err); !ok || after != time.Minute {
		t.Fatalf("first: retryable %v after %v, want a minute: %v", ok, after, err)
	}
	if err := report(t, r, status.BuildStarted, build(1).Build()); err != nil {
		t.Fatalf("second: %v", err)
	}
	if n := len(f.Requests()); n != 2 {
		t.Errorf("%d requests reached GitHub, want 2", n)
	}
}
