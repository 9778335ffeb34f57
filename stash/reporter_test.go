package stash

import (
	"bytes"
	"context"
	"encoding/base64"
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

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/stash/stashtest"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const sha = "0123456789abcdef0123456789abcdef01234567"

// The credentials the doubles accept.
const (
	testUser  = "ci"
	testPass  = "s3cret-pass"
	testToken = "BBDC-test-token"
)

func newFakeBitbucket(t testing.TB, contextPath string) *stashtest.Server {
	return stashtest.NewServer(t, stashtest.Options{ContextPath: contextPath, Username: testUser, Password: testPass, Token: testToken})
}

// current is the status Bitbucket shows for sha and key.
func current(f *stashtest.Server, sha, key string) stashtest.BuildStatus {
	st, _ := f.Status(sha, key)
	return st
}

// wait returns the requests once n have reached the double.
func wait(t testing.TB, f *stashtest.Server, n int) []stashtest.Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reqs, err := f.Wait(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return reqs
}

func answer(code int, header, value, body string) stashtest.Answer {
	if header == "" {
		return stashtest.Reply(code, body)
	}
	return stashtest.Reply(code, body, header, value)
}

func newReporter(t testing.TB, f *stashtest.Server, o Options) *Reporter {
	t.Helper()
	if o.BaseURL == "" {
		o.BaseURL = f.URL()
	}
	if o.Token == "" && o.Username == "" && o.HTTPClient == nil {
		o.Token = testToken
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

func build(builder string, number int) *statustest.FakeBuild {
	return statustest.NewBuild(builder).Number(number).
		URL(fmt.Sprintf("https://ci.example.org/builders/%s/builds/%d", builder, number))
}

func report(t testing.TB, r *Reporter, kind status.Kind, b *status.Build) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.Report(ctx, status.Event{Kind: kind, Build: b})
}

// lines prints the requests one a line, the way the golden files hold them.
func lines(reqs []stashtest.Request) string {
	var sb strings.Builder
	for _, r := range reqs {
		if r.Endpoint != "build-status" {
			fmt.Fprintf(&sb, "%s %s %s -> %d\n", r.Method, r.Path, r.Body, r.Code)
			continue
		}
		fmt.Fprintf(&sb, "POST %s state=%s key=%q name=%q url=%q description=%q -> %d\n",
			r.SHA, r.State, r.Key, r.Name, r.URL, r.Description, r.Code)
	}
	return sb.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	testkit.Golden(t, *update, name, []byte(got))
}

// A build starts, finishes with Retry, is built again while Bitbucket
// answers 503 twice, and fails: through a Hub, every request in order.
func TestSequenceStartRetryFinish(t *testing.T) {
	f := newFakeBitbucket(t, "/bitbucket")
	r := newReporter(t, f, Options{})
	hub := status.NewHub(status.HubOptions{
		Logger: slog.New(slog.DiscardHandler),
		Retry:  status.RetryPolicy{Initial: time.Millisecond, Max: 5 * time.Millisecond, Jitter: -1},
	})
	hub.Add(r)
	for _, e := range build("linux", 7).Result(status.Retry).Events() {
		hub.Publish(e)
	}
	wait(t, f, 2)
	f.Fail(answer(http.StatusServiceUnavailable, "", "", `<html>maintenance</html>`),
		answer(http.StatusServiceUnavailable, "Retry-After", "0", `{"errors":[{"message":"busy"}]}`))
	for _, e := range build("linux", 8).Step("test", status.Failure).Failed().Events() {
		hub.Publish(e)
	}
	got := wait(t, f, 6)
	if err := hub.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := hub.Stats()[0]; st.Retried != 2 || st.Failed != 0 || st.Delivered != st.Published {
		t.Errorf("hub stats %+v: want 2 retries, everything delivered", st)
	}
	if n := len(f.Requests()); n != 6 {
		t.Errorf("%d requests, want 6", n)
	}
	if c := current(f, sha, "linux"); c.State != "FAILED" || c.Name != "linux #8" {
		t.Errorf("Bitbucket shows %v", c)
	}
	golden(t, "sequence.golden", lines(got))
}

// Late events of an older build never overwrite a newer build's status.
func TestOutOfOrderEvents(t *testing.T) {
	f := newFakeBitbucket(t, "")
	var logs bytes.Buffer
	r := newReporter(t, f, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	other := "fedcba9876543210fedcba9876543210fedcba98"
	steps := []struct {
		kind status.Kind
		b    *status.Build
		sent bool
	}{
		{status.BuildStarted, build("linux", 7).Build(), true},
		{status.BuildStarted, build("linux", 8).Build(), true},
		{status.BuildFinished, build("linux", 7).Succeeded().Build(), false},             // late: 8 runs
		{status.BuildStarted, build("linux", 7).Build(), false},                          // later still
		{status.BuildStarted, build("mac", 3).Build(), true},                             // another key
		{status.BuildFinished, build("linux", 7).Revision(other).Failed().Build(), true}, // another commit
		{status.BuildFinished, build("linux", 8).Failed().Build(), true},
		{status.BuildStarted, build("linux", 8).Build(), false},           // a late start after the end
		{status.BuildFinished, build("linux", 8).Failed().Build(), false}, // an identical repeat is not sent again
		{status.BuildStarted, build("linux", 9).Build(), true},
	}
	for i, s := range steps {
		before := len(f.Requests())
		if err := report(t, r, s.kind, s.b); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if sent := len(f.Requests()) > before; sent != s.sent {
			t.Errorf("step %d (%v %s #%d): sent = %v, want %v", i, s.kind, s.b.Builder, s.b.Number, sent, s.sent)
		}
	}
	for _, c := range []struct{ sha, key, state, name string }{
		{sha, "linux", "INPROGRESS", "linux #9"},
		{sha, "mac", "INPROGRESS", "mac #3"},
		{other, "linux", "FAILED", "linux #7"},
	} {
		if got := current(f, c.sha, c.key); got.State != c.state || got.Name != c.name {
			t.Errorf("%s/%s shows %s %q, want %s %q", c.sha[:7], c.key, got.State, got.Name, c.state, c.name)
		}
	}
	if !strings.Contains(logs.String(), "a newer build was reported") {
		t.Errorf("skips not logged:\n%s", logs.String())
	}
}

func TestBaseURLForms(t *testing.T) {
	for _, ctxPath := range []string{"", "/bitbucket"} {
		f := newFakeBitbucket(t, ctxPath)
		for _, base := range []string{f.URL(), f.URL() + "/"} {
			r := newReporter(t, f, Options{BaseURL: base, Key: status.MustInterpolate(base)})
			if err := report(t, r, status.BuildStarted, build("linux", 1).Build()); err != nil {
				t.Errorf("BaseURL %q: %v", base, err)
			}
		}
		for _, req := range f.Requests() {
			if req.Code != http.StatusNoContent {
				t.Errorf("context %q: %v", ctxPath, req)
			}
		}
		if n := len(f.Requests()); n != 2 {
			t.Errorf("context %q: %d requests, want 2", ctxPath, n)
		}
	}
}

func TestAuthentication(t *testing.T) {
	f := newFakeBitbucket(t, "")
	basic := newReporter(t, f, Options{Username: testUser, Password: testPass})
	bearer := newReporter(t, f, Options{Token: testToken})
	own := newReporter(t, f, Options{HTTPClient: &http.Client{Transport: roundTripper(func(req *http.Request) (*http.Response, error) {
		req = req.Clone(req.Context())
		req.SetBasicAuth(testUser, testPass)
		return http.DefaultTransport.RoundTrip(req)
	})}})
	for i, r := range []*Reporter{basic, bearer, own} {
		if err := report(t, r, status.BuildStarted, build(fmt.Sprint("b", i), 1).Build()); err != nil {
			t.Errorf("reporter %d: %v", i, err)
		}
	}
	wrong := newReporter(t, f, Options{Username: testUser, Password: "nope"})
	err := report(t, wrong, status.BuildStarted, build("linux", 1).Build())
	var api *APIError
	if !errors.As(err, &api) || api.StatusCode != 401 || status.IsRetryable(err) ||
		!strings.Contains(err.Error(), "Authentication failed. Please check your credentials and try again.: check Options.Username") {
		t.Errorf("wrong password: %v", err)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestKeyShortening(t *testing.T) {
	f := newFakeBitbucket(t, "")
	r := newReporter(t, f, Options{})
	long1 := "a-very-long-builder-name-for-the-integration-tests-on-linux"
	long2 := "a-very-long-builder-name-for-the-integration-tests-on-macos"
	for _, name := range []string{long1, long2} {
		if err := report(t, r, status.BuildStarted, build(name, 1).Build()); err != nil {
			t.Fatal(err)
		}
		if err := report(t, r, status.BuildFinished, build(name, 1).Succeeded().Build()); err != nil {
			t.Fatal(err)
		}
	}
	reqs := f.Requests()
	if reqs[0].Key != reqs[1].Key || reqs[2].Key != reqs[3].Key {
		t.Errorf("a build's start and end use different keys: %q %q / %q %q", reqs[0].Key, reqs[1].Key, reqs[2].Key, reqs[3].Key)
	}
	if reqs[0].Key == reqs[2].Key {
		t.Errorf("two long builders share the key %q", reqs[0].Key)
	}
	for _, k := range []string{reqs[0].Key, reqs[2].Key} {
		if len(k) != 40 || !strings.HasPrefix(k, long1[:31]) {
			t.Errorf("short key %q (%d bytes)", k, len(k))
		}
		if got := current(f, sha, k); got.State != "SUCCESSFUL" {
			t.Errorf("key %q shows %q, want the end to replace the start", k, got.State)
		}
	}
}

func TestErrorClassification(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answer    stashtest.Answer
		retryable bool
		after     time.Duration
		msg       string
	}{
		{"429 Retry-After", answer(http.StatusTooManyRequests, "Retry-After", "7", `{"errors":[{"message":"Rate limit exceeded"}]}`), true, 7 * time.Second, "HTTP 429 Too Many Requests: Rate limit exceeded"},
		{"503", answer(http.StatusServiceUnavailable, "", "", `<html><body>Bitbucket is starting</body></html>`), true, 0, "HTTP 503 Service Unavailable: <html><body>Bitbucket is starting</body></html>"},
		{"500", answer(http.StatusInternalServerError, "", "", `{"errors":[{"message":"NullPointerException"}]}`), true, 0, "NullPointerException"},
		{"400", answer(http.StatusBadRequest, "", "", `{"errors":[{"context":"url","message":"The url is not valid.","exceptionName":null},{"message":"and more"}]}`), false, 0, `setting INPROGRESS on commit 0123456789ab (key "linux"): HTTP 400 Bad Request: The url is not valid.; and more: Bitbucket refused the status`},
		{"403", answer(http.StatusForbidden, "", "", `{"errors":[{"message":"You are not permitted to access this resource"}]}`), false, 0, "not permitted to access this resource: the user may not post"},
		{"404", answer(http.StatusNotFound, "", "", `{"errors":[{"message":"Not found"}]}`), false, 0, "check Options.BaseURL, including the server's context path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeBitbucket(t, "")
			r := newReporter(t, f, Options{})
			f.Fail(tc.answer)
			err := report(t, r, status.BuildStarted, build("linux", 1).Build())
			after, retry := status.RetryAfter(err)
			if retry != tc.retryable || after != tc.after {
				t.Errorf("retryable %v after %v, want %v after %v: %v", retry, after, tc.retryable, tc.after, err)
			}
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %v does not contain %q", err, tc.msg)
			}
		})
	}
	t.Run("network", func(t *testing.T) {
		f := newFakeBitbucket(t, "")
		r := newReporter(t, f, Options{})
		f.Close()
		if err := report(t, r, status.BuildStarted, build("linux", 1).Build()); !status.IsRetryable(err) {
			t.Errorf("connection refused: %v, want retryable", err)
		}
	})
}

func TestRateLimitHonouredThroughHub(t *testing.T) {
	f := newFakeBitbucket(t, "")
	r := newReporter(t, f, Options{})
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler), Retry: status.RetryPolicy{Initial: time.Millisecond, Jitter: -1}})
	hub.Add(r)
	f.Fail(answer(http.StatusTooManyRequests, "Retry-After", "1", `{"errors":[{"message":"Rate limit exceeded"}]}`))
	hub.Publish(status.Event{Kind: status.BuildStarted, Build: build("linux", 1).Build()})
	got := wait(t, f, 2)
	if err := hub.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got[0].Code != 429 || got[1].Code != 204 {
		t.Fatalf("answers %d, %d", got[0].Code, got[1].Code)
	}
	if gap := got[1].At.Sub(got[0].At); gap < time.Second {
		t.Errorf("retried after %v, Bitbucket asked for 1s", gap)
	}
}

func TestTemplatesAndSkips(t *testing.T) {
	f := newFakeBitbucket(t, "")
	r := newReporter(t, f, Options{
		Key:         status.MustInterpolate("%(prop:buildername)s-%(kw:codebase)s"),
		Name:        status.MustInterpolate("%(prop:buildername)s on %(kw:branch)s"),
		Description: status.RenderFunc(func(b *status.Build) string { return "by " + b.Worker }),
		URL:         status.MustInterpolate("https://ci.example.org/#%(kw:number)s/%(kw:state)s"),
	})
	lib := "1111111111111111111111111111111111111111"
	b := build("linux", 4).
		Source(status.SourceStamp{Codebase: "lib", Branch: "dev", Revision: lib}).
		Source(status.SourceStamp{Codebase: "svn", Revision: "1234"}). // not a git commit
		Source(status.SourceStamp{Codebase: "none"}).
		Build()
	b.Sources[0].Codebase = "app"
	if err := report(t, r, status.BuildStarted, b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		`POST ` + sha + ` state=INPROGRESS key="linux-app" name="linux on main" url="https://ci.example.org/#4/INPROGRESS" description="by worker1" -> 204` + "\n" +
		`POST ` + lib + ` state=INPROGRESS key="linux-lib" name="linux on dev" url="https://ci.example.org/#4/INPROGRESS" description="by worker1" -> 204` + "\n"
	if got := lines(f.Requests()); got != want {
		t.Errorf("requests:\n%s\nwant:\n%s", got, want)
	}
}

// Every result through the default table, Buildbot's, and a table that
// changes one entry (the rest stay the default's).
func TestStates(t *testing.T) {
	all := func(m map[status.Result]State) map[status.Result]State { return m }
	for _, tc := range []struct {
		name   string
		states States
		want   map[status.Result]State
	}{
		{"default", nil, all(map[status.Result]State{status.Success: Successful, status.Warnings: Successful, status.Skipped: Successful,
			status.Failure: Failed, status.Exception: Failed, status.Cancelled: Failed, status.Retry: InProgress})},
		{"buildbot", BuildbotStates(), all(map[status.Result]State{status.Success: Successful, status.Warnings: Failed, status.Skipped: Failed,
			status.Failure: Failed, status.Exception: Failed, status.Cancelled: Failed, status.Retry: Failed})},
		{"warnings fail", States{status.Warnings: Failed}, all(map[status.Result]State{status.Success: Successful, status.Warnings: Failed,
			status.Skipped: Successful, status.Failure: Failed, status.Exception: Failed, status.Cancelled: Failed, status.Retry: InProgress})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeBitbucket(t, "")
			r := newReporter(t, f, Options{States: tc.states})
			for i, res := range status.AllResults() {
				require.NoError(t, report(t, r, status.BuildFinished, build("linux", 2+i).Result(res).Build()))
				reqs := f.Requests()
				assert.Equal(t, string(tc.want[res]), reqs[len(reqs)-1].State, "result %v", res)
			}
		})
	}
}

// A server that echoes the request's Authorization header in its error
// body (a proxy's debug page, say): no credential reaches the error, the
// log or Stats; the reply is cut short.
func TestEchoedCredentialsScrubbed(t *testing.T) {
	f := newFakeBitbucket(t, "")
	encoded := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPass))
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	r := newReporter(t, f, Options{Username: testUser, Password: testPass, Logger: logger})
	f.Fail(answer(http.StatusBadRequest, "", "", "<html><pre>POST /rest/build-status\nAuthorization: Basic "+encoded+
		"\nX-Debug: "+testPass+"\n"+strings.Repeat("padding ", 200)+"</pre></html>"))
	hub := status.NewHub(status.HubOptions{Logger: logger})
	hub.Add(r)
	hub.Publish(status.Event{Kind: status.BuildStarted, Build: build("linux", 1).Build()})
	require.NoError(t, hub.Shutdown(context.Background()))
	last := hub.Stats()[0].LastError
	assert.Contains(t, last, "Authorization: Basic <redacted> X-Debug: <redacted>")
	assert.Less(t, len(last), 600, "the reply is capped")
	for _, secret := range []string{testPass, encoded} {
		assert.NotContains(t, last+logs.String(), secret)
	}
}

func TestBuildWithoutURL(t *testing.T) {
	f := newFakeBitbucket(t, "")
	r := newReporter(t, f, Options{})
	err := report(t, r, status.BuildStarted, statustest.NewBuild("linux").Build())
	if err == nil || status.IsRetryable(err) || !strings.Contains(err.Error(), "Options.URL") {
		t.Errorf("err = %v, want a permanent error pointing at Options.URL", err)
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d requests without a url", n)
	}
}

func TestPlainHTTPWarning(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		warn bool
	}{
		{Options{BaseURL: "http://bitbucket.example.com", Token: "t"}, true},
		{Options{BaseURL: "http://bitbucket.example.com", Username: "u", Password: "p"}, true},
		{Options{BaseURL: "https://bitbucket.example.com", Token: "t"}, false},
		{Options{BaseURL: "http://bitbucket.example.com", HTTPClient: http.DefaultClient}, false},
		{Options{BaseURL: "http://127.0.0.1:7990", Token: "t"}, false},
		{Options{BaseURL: "http://localhost:7990/bitbucket", Token: "t"}, false},
	} {
		var logs bytes.Buffer
		tc.o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		if _, err := New(tc.o); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(logs.String(), "plain http"); got != tc.warn {
			t.Errorf("%s: warned %v, want %v: %s", tc.o.BaseURL, got, tc.warn, logs.String())
		}
	}
}

func TestNewValidation(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Token: "t"}, "Options.BaseURL is empty"},
		{Options{BaseURL: "bitbucket.example.com", Token: "t"}, "not an http(s) URL"},
		{Options{BaseURL: "https://u:p@bitbucket.example.com", Token: "t"}, "without user"},
		{Options{BaseURL: "https://b.example.com"}, "no credentials"},
		{Options{BaseURL: "https://b.example.com", Token: "t", Username: "u", Password: "p"}, "use one"},
		{Options{BaseURL: "https://b.example.com", Username: "u"}, "Options.Password is empty"},
		{Options{BaseURL: "https://b.example.com", Password: "p"}, "Options.Username is empty"},
		{Options{BaseURL: "https://b.example.com", Token: "t\n"}, "white space"},
		{Options{BaseURL: "https://b.example.com", Token: "t", States: States{status.Success: "GREEN"}}, `stash: Options.States maps success → "GREEN": the states are INPROGRESS, SUCCESSFUL, FAILED`},
		{Options{BaseURL: "https://b.example.com", Token: "t", States: States{status.Success: "GREEN"}}, `stash: Options.States maps success → "GREEN": the states are INPROGRESS, SUCCESSFUL, FAILED`},
	} {
		_, err := New(tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", tc.o, err, tc.want)
		}
	}
}

// Every problem of the options is reported at once.
func TestNewReportsAllProblems(t *testing.T) {
	_, err := New(Options{BaseURL: "ftp://x", Password: "p", States: States{status.Retry: "LATER"}})
	require.Error(t, err)
	assert.Equal(t, "stash: Options.BaseURL \"ftp://x\" is not an http(s) URL: want e.g. https://bitbucket.example.com/\n"+
		"stash: Options.Username is empty: set the user the password belongs to\n"+
		"stash: Options.States maps retry → \"LATER\": the states are INPROGRESS, SUCCESSFUL, FAILED", err.Error())
}

func TestIgnoresOtherKindsAndClosed(t *testing.T) {
	f := newFakeBitbucket(t, "")
	r := newReporter(t, f, Options{})
	for _, e := range statustest.EveryKind(build("linux", 1).Build()) {
		if e.Kind == status.BuildStarted || e.Kind == status.BuildFinished {
			continue
		}
		if err := r.Report(context.Background(), e); err != nil {
			t.Errorf("%v: %v", e.Kind, err)
		}
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d requests for other kinds", n)
	}
	_ = r.Close(context.Background())
	if err := report(t, r, status.BuildStarted, build("linux", 1).Build()); !errors.Is(err, forge.ErrClosed) {
		t.Errorf("Report after Close = %v", err)
	}
}

func TestConformance(t *testing.T) {
	f := newFakeBitbucket(t, "/bitbucket")
	statustest.Conformance(t, func() status.Reporter {
		r, err := New(Options{BaseURL: f.URL(), Token: testToken, Logger: slog.New(slog.DiscardHandler),
			URL: status.MustInterpolate("https://ci.example.org/%(prop:buildername)s/%(prop:buildnumber)s")})
		if err != nil {
			t.Fatal(err)
		}
		return r
	})
	if len(f.Requests()) == 0 {
		t.Error("conformance sent no status: the check proved nothing")
	}
}

// A Bitbucket that never answers: Report returns when its context ends, a
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
	r, err := New(Options{Token: "t", BaseURL: hang.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- r.Report(ctx, status.Event{Kind: status.BuildStarted, Build: build("linux", 1).Build()})
	}()
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
	if err := r.Report(ctx, status.Event{Kind: status.BuildStarted, Build: build("linux", 2).Build()}); !errors.Is(err, context.DeadlineExceeded) || !status.IsRetryable(err) {
		t.Errorf("deadline: %v, want a retryable deadline error", err)
	}
}
