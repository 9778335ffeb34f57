package web

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// wireClient talks to a Server on a loopback port: it does not follow
// redirects, so tests see the 303 after an action.
type wireClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newWireClient(t *testing.T, s *Server) *wireClient {
	return &wireClient{t: t, base: "http://" + listenLoopback(t, s), c: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (w *wireClient) do(method, path string, form url.Values) (*http.Response, string) {
	w.t.Helper()
	req, err := http.NewRequest(method, w.base+path, strings.NewReader(form.Encode()))
	require.NoError(w.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := w.c.Do(req)
	require.NoError(w.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(w.t, err)
	return resp, string(b)
}

func (w *wireClient) get(path string) string {
	w.t.Helper()
	resp, body := w.do("GET", path, nil)
	require.Equal(w.t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, body)
	return body
}

var (
	hrefs  = regexp.MustCompile(`href="([^"]*)"`)
	titles = regexp.MustCompile(`<title>[^<]*</title>`)
)

// The welcome page links every view a visitor can open without arguments,
// and each link works.
func TestWelcomeLinksEveryView(t *testing.T) {
	s, _ := newTestServer(t, Options{Authz: Authz{Rules: map[Action]Rule{ShowUsersPage: Always}}})
	w := newWireClient(t, s)
	linked := map[string]bool{}
	for _, m := range hrefs.FindAllStringSubmatch(w.get("/"), -1) {
		linked[m[1]] = true
	}
	want := []string{"/rss", "/atom", "/users"}
	for _, p := range s.pageTable() {
		switch {
		case strings.Contains(p.pattern, "{"):
		case p.pattern == "/buildstatus": // needs builder= and number=
		case p.pattern == "/login", p.pattern == "/workers", p.pattern == "/users/table": // login form; aliases
		default:
			want = append(want, p.pattern)
		}
	}
	for _, p := range want {
		assert.True(t, linked[p], "the welcome page does not link %s", p)
	}
	for p := range linked {
		if !strings.HasPrefix(p, "/") {
			continue
		}
		resp, _ := w.do("GET", p, nil)
		if p == "/users" {
			assert.Equal(t, http.StatusFound, resp.StatusCode, p)
			continue
		}
		assert.Equal(t, http.StatusOK, resp.StatusCode, "GET %s from the welcome page", p)
	}
}

// failures_only=false turns the feeds into every finished build, as in
// Buildbot; without it (or =true) they list Options.FeedResults.
func TestFeedsFailuresOnly(t *testing.T) {
	s := newServer(t, viewsFixture(), Options{})
	w := newWireClient(t, s)
	for _, feed := range []string{"/rss", "/atom"} {
		def := w.get(feed)
		assert.Contains(t, def, "failure", feed)
		assert.NotContains(t, def, " success", feed)
		assert.Equal(t, titles.FindAllString(def, -1), titles.FindAllString(w.get(feed+"?failures_only=true"), -1), feed)
		all := w.get(feed + "?failures_only=false")
		assert.Contains(t, all, "failure", feed)
		assert.Contains(t, all, "mac build #1 success", feed)
		assert.NotContains(t, all, "running", feed)
	}
}

// Without Options.RevLink, pages link a revision to the RevLink its change
// came with; with it, the option's link wins; unsafe links never appear.
func TestPagesFallBackToChangeRevLink(t *testing.T) {
	c := status.Change{ID: 7, Author: "Ann <ann@example.org>", Revision: "cafe0123456789", Branch: "main",
		Repository: "https://git.example.org/r.git", When: t0, Comments: "fix", RevLink: "https://git.example.org/r/commit/cafe0123456789"}
	evil := status.Change{ID: 8, Author: "Eve", Revision: "bad0123456789", When: t0, RevLink: "javascript:alert(1)"}
	history := func() *statustest.History {
		h := statustest.NewHistory(
			statustest.NewBuild("linux").Number(1).Started(t0).Change(c).Revision(c.Revision).Succeeded().Build(),
			statustest.NewBuild("linux").Number(2).Started(t0.Add(time.Minute)).Change(evil).Revision(evil.Revision).Succeeded().Build(),
		)
		h.AddChange(c)
		h.AddChange(evil)
		return h
	}
	pages := []string{"/changes", "/changes/7", "/builders/linux/builds/1", "/console", "/grid", "/tgrid"}

	w := newWireClient(t, newServer(t, history(), Options{}))
	for _, p := range pages {
		body := w.get(p)
		assert.Contains(t, body, `href="https://git.example.org/r/commit/cafe0123456789"`, p)
		assert.NotContains(t, body, "javascript:", p)
	}
	w = newWireClient(t, newServer(t, history(), Options{RevLink: RevLinkFormat("https://mirror.example.org/%s")}))
	for _, p := range pages {
		body := w.get(p)
		assert.Contains(t, body, `href="https://mirror.example.org/cafe0123456789"`, p)
		assert.NotContains(t, body, "git.example.org/r/commit", p)
	}
}

// A GET on an action's URL is 405 with Allow: POST, not 404, and does not
// perform the action.
func TestGETOnActionIs405(t *testing.T) {
	ctl := &statustest.Control{}
	rules := map[Action]Rule{}
	for _, a := range Actions() {
		rules[a] = Always
	}
	s, _ := newTestServer(t, Options{Control: ctl, Authz: Authz{Rules: rules}})
	w := newWireClient(t, s)
	fill := strings.NewReplacer("{builder}", "linux", "{number}", "1", "{worker}", "worker1", "{id}", "1")
	paths := []string{"/logout"}
	for _, a := range s.actionTable() {
		paths = append(paths, fill.Replace(a.pattern))
	}
	for _, p := range paths {
		for _, m := range []string{"GET", "HEAD"} {
			resp, _ := w.do(m, p, nil)
			assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "%s %s", m, p)
			assert.Equal(t, "POST", resp.Header.Get("Allow"), "%s %s", m, p)
		}
	}
	assert.Empty(t, ctl.Calls())
}

// pingless is a Control that declares it cannot ping builders.
type pingless struct{ statustest.Control }

func (*pingless) SupportsAction(a Action) bool { return a != PingBuilder }

// noShutdown is a Control whose host cannot shut down.
type noShutdown struct{ statustest.Control }

func (*noShutdown) ShutdownState(context.Context) (bool, error) { return false, status.ErrUnsupported }

// An action the host does not support is not offered: declared with
// ActionSupporter, or learnt from status.ErrUnsupported (ShutdownState's
// answer hides the shutdown form before anyone tries it).
func TestUnsupportedActionNotOffered(t *testing.T) {
	rules := map[Action]Rule{}
	for _, a := range Actions() {
		rules[a] = Always
	}
	ctl := &noShutdown{statustest.Control{Err: func(method string) error {
		if method == "StopChange" {
			return status.ErrUnsupported
		}
		return nil
	}}}
	s, _ := newTestServer(t, Options{Control: ctl, Authz: Authz{Rules: rules}})
	w := newWireClient(t, s)

	assert.NotContains(t, w.get("/"), "/shutdown", "shutdown offered by a host without it")
	const stopForm = `action="/changes/1/stop"`
	require.Contains(t, w.get("/changes/1"), stopForm, "offered until the host says otherwise")
	resp, body := w.do("POST", "/changes/1/stop", url.Values{})
	assert.Equal(t, http.StatusNotImplemented, resp.StatusCode, body)
	assert.NotContains(t, w.get("/changes/1"), stopForm)
	assert.Contains(t, w.get("/builders/linux"), `/builders/linux/ping"`, "other actions stay")

	s2, _ := newTestServer(t, Options{Control: &pingless{}, Authz: Authz{Rules: rules}})
	page := newWireClient(t, s2).get("/builders/linux")
	assert.NotContains(t, page, `/builders/linux/ping"`)
	assert.Contains(t, page, `/builders/linux/force"`)
}
