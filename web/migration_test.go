package web

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/hooks"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// The WebStatus examples of Buildbot 0.8.12's manual
// (spec/buildbot-0.8.12-status-targets.txt), transcribed to Go with their
// strings, served on loopback, and checked over HTTP against what the
// manual says they do. Only the port differs: a free loopback port stands
// in for http_port=8080 (the manual's own "tcp:8080:interface=127.0.0.1").

// migrationHistory has builders linux and smoketest and one change.
func migrationHistory() *statustest.History {
	c := status.Change{ID: 1, Author: "Alice <alice@example.org>", Revision: "1001 rc", Repository: "svn://svn.example.org/repo",
		Project: "example", Branch: "trunk", Comments: "Fixes #42", Files: []string{"frob.c"}, When: statustest.Epoch}
	linux := statustest.NewBuild("linux").Number(1).Change(c).Step("compile", status.Success).Succeeded().Build()
	h := statustest.NewHistory(linux,
		statustest.NewBuild("smoketest").Number(1).Change(c).Step("test", status.Failure).Failed().Build())
	h.SetLog(linux.Steps[0].Logs[0], "gcc -c frob.c\n")
	h.AddChange(c)
	return h
}

// webStatus is a Server listening on loopback, as WebStatus(http_port=...).
type webStatus struct {
	t    *testing.T
	base string
	ctl  *statustest.Control
}

func startWebStatus(t *testing.T, o Options) *webStatus {
	t.Helper()
	if o.History == nil {
		o.History = migrationHistory()
	}
	ctl := &statustest.Control{}
	if o.Control == nil {
		o.Control = ctl
	}
	o.Logger = discardLogger()
	s, err := New(o)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		require.NoError(t, s.Close(context.Background()))
		assert.ErrorIs(t, <-served, http.ErrServerClosed)
	})
	return &webStatus{t: t, base: "http://" + ln.Addr().String(), ctl: ctl}
}

// do sends a request (a form POST when form is not nil) without following
// redirects, and returns the status and body.
func (w *webStatus) do(method, path string, form url.Values, set ...func(*http.Request)) (int, string) {
	w.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, w.base+path, body)
	require.NoError(w.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, f := range set {
		f(req)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(w.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(w.t, err)
	return resp.StatusCode, string(b)
}

func (w *webStatus) get(path string, set ...func(*http.Request)) string {
	w.t.Helper()
	code, body := w.do("GET", path, nil, set...)
	require.Equal(w.t, http.StatusOK, code, "GET %s: %s", path, body)
	return body
}

// force and ping POST the builder page's forms, answering 303 (back to the
// page) when allowed and 403 when not.
func (w *webStatus) force(builder string, set ...func(*http.Request)) int {
	w.t.Helper()
	code, _ := w.do("POST", "/builders/"+builder+"/force", url.Values{"reason": {"migration"}}, set...)
	return code
}

func (w *webStatus) ping(builder string, set ...func(*http.Request)) int {
	w.t.Helper()
	code, _ := w.do("POST", "/builders/"+builder+"/ping", url.Values{}, set...)
	return code
}

func (w *webStatus) methods() []string {
	var out []string
	for _, c := range w.ctl.Calls() {
		out = append(out, c.Method+" "+strings.Fields(c.Args + " ")[0])
	}
	return out
}

func basic(user, password string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, password) }
}

func TestMigrationWebStatusExamples(t *testing.T) {
	t.Run("WebStatus(http_port=8010) is read-only", func(t *testing.T) {
		// c['status'].append(status.WebStatus(http_port=8010))
		w := startWebStatus(t, Options{})
		// "The first page you will see is the Welcome Page, which contains
		// links to all the other useful pages."
		root := w.get("/")
		for _, page := range []string{"/waterfall", "/grid", "/tgrid", "/console", "/rss", "/atom", "/json/help",
			"/one_line_per_build", "/builders", "/buildslaves", "/changes", "/about"} {
			assert.Contains(t, root, `href="`+page, "the welcome page links %s", page)
			w.get(page)
		}
		// "The buildbot web status is, by default, read-only ... users are
		// not allowed to affect the operation of the buildmaster."
		assert.NotContains(t, w.get("/builders/linux"), "force-form")
		assert.Equal(t, http.StatusForbidden, w.force("linux"))
		assert.Equal(t, http.StatusForbidden, w.ping("linux"))
		assert.Empty(t, w.ctl.Calls())
		// "a page that describes Build #7 of the i386 builder would live
		// at /builders/i386/builds/7"
		w.get("/builders/linux/builds/1")
		assert.Equal(t, "gcc -c frob.c\n", w.get("/builders/linux/builds/1/steps/compile/logs/stdio/text"))
	})

	t.Run("Authz(forceBuild=True, stopBuild=True)", func(t *testing.T) {
		// authz = util.Authz(forceBuild=True, stopBuild=True)
		// c['status'].append(status.WebStatus(http_port=8080, authz=authz))
		w := startWebStatus(t, Options{Authz: Authz{Rules: map[Action]Rule{ForceBuild: Always, StopBuild: Always}}})
		assert.Contains(t, w.get("/builders/linux"), "force-form")
		assert.Equal(t, http.StatusSeeOther, w.force("linux"), "True: anyone may force")
		assert.Equal(t, http.StatusForbidden, w.ping("linux"), "False (the default) for the actions not named")
		assert.Equal(t, []string{"ForceBuild {Builder:linux"}, w.methods())
	})

	// users = [('bob', 'secret-pass'), ('jill', 'super-pass')]
	users := auth.Users(map[string]status.Secret{"bob": "secret-pass", "jill": "super-pass"})

	t.Run("Authz(auth=BasicAuth(users), forceBuild='auth', pingBuilder=True)", func(t *testing.T) {
		w := startWebStatus(t, Options{Authz: Authz{Auth: users,
			Rules: map[Action]Rule{ForceBuild: Authenticated, PingBuilder: Always}}})
		assert.Equal(t, http.StatusForbidden, w.force("linux"), "only authenticated users")
		assert.Equal(t, http.StatusForbidden, w.force("linux", basic("bob", "super-pass")), "a wrong password")
		assert.Equal(t, http.StatusSeeOther, w.ping("linux"), "but anyone can do this")
		assert.Equal(t, http.StatusSeeOther, w.force("linux", basic("bob", "secret-pass")))

		// jill logs in through the form, and her session may force.
		req, err := http.NewRequest("POST", w.base+"/login", strings.NewReader(url.Values{"username": {"jill"}, "passwd": {"super-pass"}}.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		session := resp.Cookies()
		require.NotEmpty(t, session)
		withSession := func(r *http.Request) {
			for _, c := range session {
				r.AddCookie(c)
			}
		}
		assert.Contains(t, w.get("/builders/linux", withSession), "force-form")
		assert.Equal(t, http.StatusSeeOther, w.force("linux", withSession))
		assert.Equal(t, []string{"PingBuilder linux", "ForceBuild {Builder:linux", "ForceBuild {Builder:linux"}, w.methods())
	})

	t.Run("HTPasswdAuth('/path/to/htpasswd')", func(t *testing.T) {
		// auth = util.HTPasswdAuth('/path/to/htpasswd'), with bob's
		// password as htpasswd -s writes it.
		sum := sha1.Sum([]byte("secret-pass"))
		path := filepath.Join(t.TempDir(), "htpasswd")
		require.NoError(t, os.WriteFile(path, []byte("bob:{SHA}"+base64.StdEncoding.EncodeToString(sum[:])+"\n"), 0o600))
		ht, err := auth.OpenHtpasswd(path)
		require.NoError(t, err)
		w := startWebStatus(t, Options{Authz: Authz{Auth: ht, Rules: map[Action]Rule{ForceBuild: Authenticated}}})
		assert.Equal(t, http.StatusForbidden, w.force("linux", basic("bob", "wrong")))
		assert.Equal(t, http.StatusForbidden, w.force("linux", basic("jill", "super-pass")), "not in the file")
		assert.Equal(t, http.StatusSeeOther, w.force("linux", basic("bob", "secret-pass")))
	})

	t.Run("forceBuild=canForceBuild", func(t *testing.T) {
		// def canForceBuild(username, builder_status):
		//     if builder_status.getName() == 'smoketest':
		//         return True # any authenticated user can run smoketest
		//     elif username == 'releng':
		//         return True # releng can force whatever they want
		//     else:
		//         return False # otherwise, no way.
		// Buildbot calls the function only for an authenticated user; a
		// Rule is also asked about anonymous users ("").
		canForceBuild := func(username string, subject any) bool {
			if username == "" {
				return false
			}
			if b, ok := subject.(*status.Builder); ok && b.Name == "smoketest" {
				return true
			}
			return username == "releng"
		}
		users := auth.Users(map[string]status.Secret{"bob": "secret-pass", "releng": "rel-pass"})
		w := startWebStatus(t, Options{Authz: Authz{Auth: users, Rules: map[Action]Rule{ForceBuild: canForceBuild}}})
		assert.Equal(t, http.StatusSeeOther, w.force("smoketest", basic("bob", "secret-pass")), "any authenticated user can run smoketest")
		assert.Equal(t, http.StatusForbidden, w.force("smoketest"), "but not an anonymous one")
		assert.Equal(t, http.StatusForbidden, w.force("linux", basic("bob", "secret-pass")), "otherwise, no way")
		assert.Equal(t, http.StatusSeeOther, w.force("linux", basic("releng", "rel-pass")), "releng can force whatever they want")
		assert.Equal(t, []string{"ForceBuild {Builder:smoketest", "ForceBuild {Builder:linux"}, w.methods())
	})

	t.Run("Authz(useHttpHeader=True, httpLoginUrl=...)", func(t *testing.T) {
		// authz = util.Authz(useHttpHeader=True,
		//                    httpLoginUrl='https://buildbot.example.org/login',
		//                    auth=util.HTPasswdAprAuth('/var/www/htpasswd'),
		//                    forceBuild='auth')
		// The front end (Apache here, loopback in the test) checked the
		// password; the user is taken from its HTTP Basic header.
		w := startWebStatus(t, Options{Authz: Authz{UseHTTPHeader: true, HTTPLoginURL: "https://buildbot.example.org/login",
			Rules: map[Action]Rule{ForceBuild: Authenticated}}})
		assert.Contains(t, w.get("/builders/linux"), `href="https://buildbot.example.org/login">Login</a>`,
			"rendered for unauthenticated users as a link named Login")
		assert.Equal(t, http.StatusForbidden, w.force("linux"))
		assert.Equal(t, http.StatusSeeOther, w.force("linux", basic("carol", "checked-by-apache")))
		require.Len(t, w.ctl.Calls(), 1)
		assert.Contains(t, w.ctl.Calls()[0].Args, "carol", "the username appears in the build's request")
	})

	t.Run("revlink and changecommentlink", func(t *testing.T) {
		// revlink='http://github.com/buildbot/buildbot/tree/%s'
		// changecommentlink=(r"#(\d+)", r"http://buildbot.net/trac/ticket/\1", r"Ticket \g<0>")
		link, err := CommentLink(`#(\d+)`, `http://buildbot.net/trac/ticket/\1`, `Ticket \g<0>`)
		require.NoError(t, err)
		w := startWebStatus(t, Options{RevLink: RevLinkFormat("http://github.com/buildbot/buildbot/tree/%s"), ChangeCommentLink: link,
			// projects and repositories: dicts from names to URLs
			Projects:     URLMap(map[string]string{"example": "https://example.org/"}),
			Repositories: URLMap(map[string]string{"svn://svn.example.org/repo": "https://svn.example.org/viewvc/"})})
		page := w.get("/changes/1")
		// "The revision ID will be URL encoded before inserted"
		assert.Contains(t, page, `href="http://github.com/buildbot/buildbot/tree/1001%20rc"`)
		assert.Contains(t, page, `<a href="http://buildbot.net/trac/ticket/42" title="Ticket #42">#42</a>`)
		assert.Contains(t, page, `href="https://example.org/"`)
		assert.Contains(t, page, `href="https://svn.example.org/viewvc/"`)

		// The dict forms: a format per repository, a tuple per project.
		w = startWebStatus(t, Options{
			RevLink:           RevLinkMap(map[string]string{"svn://other": "https://other/%s"}),
			ChangeCommentLink: CommentLinkMap(map[string]CommentLinker{"other": link}),
		})
		page = w.get("/changes/1")
		assert.NotContains(t, page, "https://other/", "no format for this repository")
		assert.NotContains(t, page, "trac/ticket", "no link tuple for this project")
		assert.Contains(t, page, "Fixes #42")
	})

	t.Run("order_console_by_time=True", func(t *testing.T) {
		// w = status.WebStatus(http_port=8080, order_console_by_time=True)
		// Revision 1000 was committed after 1001.
		h := consoleHistory([]string{"998", "999", "1001", "1000"})
		revs := func(o Options) []string {
			o.History = h
			var out []string
			for _, row := range consoleRows(startWebStatus(t, o).get("/console")) {
				rev, _, _ := strings.Cut(row, ":")
				out = append(out, rev)
			}
			return out
		}
		assert.Equal(t, []string{"1001", "1000", "999", "998"}, revs(Options{}), "revisions sorted as numbers by default")
		assert.Equal(t, []string{"1000", "1001", "999", "998"}, revs(Options{OrderConsoleByTime: true}))
	})

	t.Run("WebStatus(8080, public_html='/var/www/buildbot')", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>Our project</h1>"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "buildbot.css"), []byte("body { color: teal }"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "results.txt"), []byte("even build results"), 0o644))
		w := startWebStatus(t, Options{PublicHTML: dir})
		assert.Equal(t, "<h1>Our project</h1>", w.get("/"), "a top-level navigational file (/index.html)")
		assert.Equal(t, "body { color: teal }", w.get("/buildbot.css"))
		assert.Equal(t, "even build results", w.get("/results.txt"))
		assert.Contains(t, w.get("/robots.txt"), "Disallow: /waterfall", "robots.txt disallows the generated pages")
		w.get("/waterfall") // the built-in URLs alongside

		// "Templates in templates/ take precedence over static files in
		// public_html/."
		tmpl := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(tmpl, "root.html"),
			[]byte(`{{template "top" .}}<p id="own-root">from templates</p>{{template "bottom" .}}`), 0o644))
		w = startWebStatus(t, Options{PublicHTML: dir, Templates: os.DirFS(tmpl)})
		assert.Contains(t, w.get("/"), `<p id="own-root">from templates</p>`)
	})

	t.Run("numbuilds, num_events, num_events_max", func(t *testing.T) {
		h := statustest.NewHistory()
		for n := 1; n <= 8; n++ {
			h.AddBuild(statustest.NewBuild("linux").Number(n).Started(statustest.Epoch.Add(time.Duration(n) * time.Hour)).Succeeded().Build())
		}
		rows := func(page string) int { return strings.Count(page, `<li class="box `) }
		w := startWebStatus(t, Options{History: h, NumBuilds: 3, NumEvents: 2, NumEventsMax: 4})
		assert.Equal(t, 3, rows(w.get("/one_line_per_build")), "numbuilds is the default")
		assert.Equal(t, 5, rows(w.get("/one_line_per_build?numbuilds=5")), "overridden in the URL")
		timeRows := func(q string) int { return strings.Count(w.get("/waterfall"+q), `<td class="time">`) }
		assert.Equal(t, 2, timeRows(""), "num_events is the default")
		assert.Equal(t, 4, timeRows("?num_events=100"), "num_events_max caps what the browser asks")
	})

	t.Run("rotateLength and maxRotatedFiles", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "http.log")
		w := startWebStatus(t, Options{HTTPLog: &HTTPLog{Path: path, RotateLength: 300, MaxRotatedFiles: 2}})
		for range 12 {
			w.get("/builders")
		}
		names, err := filepath.Glob(path + "*")
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{path, path + ".1", path + ".2"}, names, "http.log and at most 2 rotated files")
		rotated, err := os.ReadFile(path + ".1")
		require.NoError(t, err)
		assert.Contains(t, string(rotated), `"GET /builders HTTP/1.1" 200`)
	})

	t.Run("change_hook_dialects={'base': True}, change_hook_auth", func(t *testing.T) {
		// c['status'].append(status.WebStatus(http_port=8010, allowForce=True,
		//     change_hook_dialects={'base': True},
		//     change_hook_auth=["file:changehook.passwd"]))
		passwd := filepath.Join(t.TempDir(), "changehook.passwd")
		require.NoError(t, os.WriteFile(passwd, []byte("user:password\n"), 0o600))
		clear, err := auth.OpenCleartext(passwd)
		require.NoError(t, err)
		var mu sync.Mutex
		var got []status.Change
		hook, err := hooks.New(hooks.Options{Dialects: []hooks.Dialect{hooks.Base{}}, Auth: clear,
			OnChanges: func(_ context.Context, dialect string, cs []status.Change) error {
				if dialect != "base" {
					return errors.New("wrong dialect " + dialect)
				}
				mu.Lock()
				defer mu.Unlock()
				got = append(got, cs...)
				return nil
			}})
		require.NoError(t, err)
		w := startWebStatus(t, Options{ChangeHook: hook, Authz: Authz{Rules: map[Action]Rule{ForceBuild: Always}}})
		change := url.Values{"author": {"alice"}, "revision": {"1002"}, "comments": {"post_build_request"}, "branch": {"trunk"}}
		code, _ := w.do("POST", "/change_hook/base", change)
		assert.Equal(t, http.StatusUnauthorized, code, "change_hook_auth: no credentials, no change")
		code, _ = w.do("POST", "/change_hook/base", change, basic("user", "wrong"))
		assert.Equal(t, http.StatusUnauthorized, code)
		code, body := w.do("POST", "/change_hook/base", change, basic("user", "password"))
		require.Equal(t, http.StatusOK, code, body)
		code, _ = w.do("POST", "/change_hook/github", change, basic("user", "password"))
		assert.Equal(t, http.StatusNotFound, code, "each dialect is enabled separately")
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, got, 1)
		assert.Equal(t, "alice", got[0].Author)
		assert.Equal(t, "1002", got[0].Revision)
		assert.Equal(t, "trunk", got[0].Branch)
		assert.Equal(t, "post_build_request", got[0].Comments)
		// allowForce=True
		assert.Equal(t, http.StatusSeeOther, w.force("linux"))
	})
}
