package web

import (
	"context"
	"crypto/tls"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/internal/testkit"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// hostile is a builder name, change comment and log line that would run
// script if any page failed to escape it.
const hostile = `<script>alert("x")</script>`

// fixture returns a history with finished, failed and running builds, a
// builder with a hostile name, changes, workers, a pending request, users
// and logs.
func fixture() *statustest.History {
	alice := status.Change{ID: 1, Author: "Alice <alice@example.org>", Revision: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		Branch: "main", Repository: "https://example.org/repo.git", Project: "repo", When: statustest.Epoch,
		Files: []string{"main.go"}, Comments: "Fix #42: handle empty input"}
	bob := status.Change{ID: 2, Author: "Bob <bob@example.org>", Revision: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		Branch: "main", Repository: "https://example.org/repo.git", Project: "repo", When: statustest.Epoch.Add(time.Hour),
		Files: []string{"web/page.go"}, Comments: "Break things " + hostile}
	h := statustest.NewHistory(
		statustest.NewBuild("linux").Number(1).Tags("ci").Step("compile", status.Success).Step("test", status.Success).
			Change(alice).Succeeded().Build(),
		statustest.NewBuild("linux").Number(2).Tags("ci").Started(statustest.Epoch.Add(time.Hour)).
			Property("owner", "bob").Step("compile", status.Success).Step("test", status.Failure).
			Change(bob).Failed().Build(),
		statustest.NewBuild("linux").Number(3).Tags("ci").Started(statustest.Epoch.Add(2*time.Hour)).
			Branch("release").Step("compile", status.Success).Running().Build(),
		statustest.NewBuild("windows").Number(1).Worker("worker2").Step("compile", status.Warnings).
			Result(status.Warnings).Build(),
		statustest.NewBuild(hostile).Number(1).Reason(hostile).Step("test", status.Failure).Failed().Build(),
	)
	h.AddChange(alice)
	h.AddChange(bob)
	h.AddWorker(status.Worker{Name: "worker1", Host: "host1", Connected: true, Builders: []string{"linux", hostile}})
	h.AddWorker(status.Worker{Name: "worker2", Host: "host2", Paused: true, Builders: []string{"windows"}})
	h.AddPending(status.BuildRequest{ID: "r1", Builder: "linux", Reason: "scheduler", Submitted: statustest.Epoch.Add(3 * time.Hour),
		Properties: map[string]any{"owner": "alice"}})
	h.AddUser(status.User{ID: 1, Name: "alice", FullName: "Alice A.", Email: "alice@example.org",
		Attributes: map[string]string{auth.PasswordAttribute: "{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=", "git": "Alice <alice@example.org>"}})
	h.SetLog(status.LogRef{Builder: "linux", Build: 2, Step: "test", Name: "stdio"},
		"\x1emake test\nok   pkg/a\n\x1b[31mFAIL\x1b[0m pkg/b "+hostile+"\n\x1eexit status 1\n")
	h.SetLog(status.LogRef{Builder: hostile, Build: 1, Step: "test", Name: "stdio"}, hostile+"\n")
	return h
}

// newTestServer returns a Server over the fixture with o's other options.
func newTestServer(t testing.TB, o Options) (*Server, *statustest.History) {
	t.Helper()
	h, _ := o.History.(*statustest.History)
	if o.History == nil {
		h = fixture()
		o.History = h
	}
	if o.Logger == nil {
		o.Logger = discardLogger()
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s, h
}

// get serves a GET through the handler (no network) and returns the
// status and body.
func get(t testing.TB, h http.Handler, path string, cookies ...*http.Cookie) (int, string) {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// post serves a same-origin form POST.
func post(t testing.TB, h http.Handler, path string, form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	testkit.Golden(t, *update, name, []byte(got))
}

var _ = io.Discard

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func httptestGet(h http.Handler, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w
}

func httptestPost(path string, form url.Values) *http.Request {
	r := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var tlsState = tls.ConnectionState{HandshakeComplete: true}

// controlRecorder is statustest.Control with a shorter name for tests that
// only count calls.
type controlRecorder struct{ statustest.Control }

func (c *controlRecorder) calls() []statustest.Call { return c.Calls() }

func parseQuery(raw string) (url.Values, error) { return url.ParseQuery(raw) }

func withCookies(r *http.Request, cs []*http.Cookie) *http.Request {
	for _, c := range cs {
		r.AddCookie(c)
	}
	return r
}
