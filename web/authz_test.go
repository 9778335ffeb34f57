package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// actionCase says how to trigger an action and what Control must then see
// ("USER" stands for the acting user).
type actionCase struct {
	act    Action
	path   string
	form   url.Values
	method string // Control method expected
	args   string // its arguments, USER replaced
	// subject reports whether a func rule got the right kind of subject.
	subject func(any) bool
}

func actionCases() []actionCase {
	isBuilder := func(v any) bool { b, ok := v.(*status.Builder); return ok && b.Name == "linux" }
	return []actionCase{
		{ForceBuild, "/builders/linux/force", url.Values{"reason": {"try"}, "branch": {"dev"}, "property_name": {"k"}, "property_value": {"v"}},
			"ForceBuild", "{Builder:linux Who:USER Reason:try Branch:dev Revision: Repository: Project: Properties:map[k:v]}", isBuilder},
		{ForceAllBuilds, "/builders/_all/force", url.Values{"builder": {"windows"}, "reason": {"all"}},
			"ForceBuild", "{Builder:windows Who:USER Reason:all Branch: Revision: Repository: Project: Properties:map[]}", func(v any) bool { return v == nil }},
		{PingBuilder, "/builders/linux/ping", nil, "PingBuilder", "linux", isBuilder},
		{GracefulShutdown, "/buildslaves/worker1/shutdown", nil, "ShutdownWorker", "worker1",
			func(v any) bool { w, ok := v.(*status.Worker); return ok && w.Name == "worker1" }},
		{PauseSlave, "/buildslaves/worker1/pause", url.Values{"pause": {"true"}}, "PauseWorker", "worker1 true",
			func(v any) bool { w, ok := v.(*status.Worker); return ok && w.Name == "worker1" }},
		{StopBuild, "/builders/linux/builds/3/stop", url.Values{"reason": {"enough"}}, "StopBuild", "linux 3 USER enough",
			func(v any) bool { b, ok := v.(*status.Build); return ok && b.Number == 3 }},
		{StopAllBuilds, "/builders/_all/stop", url.Values{"reason": {"all"}}, "StopBuild", "linux 3 USER all", func(v any) bool { return v == nil }},
		{CancelPendingBuild, "/builders/linux/cancelbuild", url.Values{"id": {"r1"}}, "CancelRequest", "r1 USER",
			func(v any) bool { r, ok := v.(*status.BuildRequest); return ok && r.ID == "r1" }},
		{CancelAllPendingBuilds, "/builders/_all/cancelbuild", nil, "CancelRequest", "r1 USER", func(v any) bool { return v == nil }},
		{StopChange, "/changes/2/stop", nil, "StopChange", "2 USER",
			func(v any) bool { c, ok := v.(*status.Change); return ok && c.ID == 2 }},
		{CleanShutdown, "/shutdown", nil, "ShutdownMaster", "true", func(v any) bool { return v == nil }},
	}
}

// TestAuthzMatrix runs every action under every kind of rule as an
// anonymous user, an allowed user and (for func rules) a refused one.
func TestAuthzMatrix(t *testing.T) {
	type rule struct {
		name  string
		rule  func(c actionCase, t *testing.T) Rule
		allow map[string]bool // by user ("" anonymous)
	}
	rules := []rule{
		{"default", func(actionCase, *testing.T) Rule { return nil }, map[string]bool{}},
		{"never", func(actionCase, *testing.T) Rule { return Never }, map[string]bool{}},
		{"always", func(actionCase, *testing.T) Rule { return Always }, map[string]bool{"": true, "alice": true, "bob": true}},
		{"authenticated", func(actionCase, *testing.T) Rule { return Authenticated }, map[string]bool{"alice": true, "bob": true}},
		{"func", func(c actionCase, t *testing.T) Rule {
			return func(user string, subject any) bool {
				if !c.subject(subject) {
					t.Errorf("%s: rule got subject %#v", c.act, subject)
				}
				return user == "alice"
			}
		}, map[string]bool{"alice": true}},
	}
	for _, c := range actionCases() {
		for _, r := range rules {
			for _, u := range []string{"", "alice", "bob"} {
				name := string(c.act) + "/" + r.name + "/" + u
				t.Run(name, func(t *testing.T) {
					ctl := &statustest.Control{}
					rules := map[Action]Rule{}
					if rr := r.rule(c, t); rr != nil {
						rules[c.act] = rr
					}
					s, _ := newTestServer(t, Options{Control: ctl, Authz: Authz{Rules: rules, Auth: auth.Users(nil)}})
					var cookies []*http.Cookie
					if u != "" {
						cookies = append(cookies, s.sessions.cookie(u, time.Now(), false, "/"))
					}
					w := post(t, s, c.path, c.form, cookies...)
					calls := ctl.Calls()
					if !r.allow[u] {
						if w.Code != http.StatusForbidden {
							t.Errorf("POST %s = %d, want 403", c.path, w.Code)
						}
						if len(calls) != 0 {
							t.Errorf("refused action reached Control: %v", calls)
						}
						return
					}
					if w.Code != http.StatusSeeOther {
						t.Fatalf("POST %s = %d, want 303: %s", c.path, w.Code, w.Body)
					}
					who := u
					if who == "" {
						who = "anonymous"
					}
					want := statustest.Call{Method: c.method, Args: strings.ReplaceAll(c.args, "USER", who)}
					if len(calls) != 1 || calls[0] != want {
						t.Errorf("Control calls = %v, want [%v]", calls, want)
					}
					if !strings.Contains(w.Header().Get("Set-Cookie"), flashCookie) {
						t.Error("no result message for the next page")
					}
				})
			}
		}
	}
}

// TestShowUsersPage is the one rule guarding pages rather than actions.
func TestShowUsersPage(t *testing.T) {
	for _, tt := range []struct {
		rule Rule
		user string
		code int
	}{
		{nil, "", 403}, {Always, "", 200}, {Authenticated, "", 403}, {Authenticated, "alice", 200},
		{func(u string, _ any) bool { return u == "root" }, "alice", 403},
	} {
		s, _ := newTestServer(t, Options{Authz: Authz{Rules: map[Action]Rule{ShowUsersPage: tt.rule}}})
		var cookies []*http.Cookie
		if tt.user != "" {
			cookies = append(cookies, s.sessions.cookie(tt.user, time.Now(), false, "/"))
		}
		w := serve(s, withCookies(httptest.NewRequest("GET", "/users", nil), cookies))
		if tt.code == 200 && (w.Code != http.StatusFound || w.Header().Get("Location") != "/users/table") {
			t.Errorf("user %q: /users = %d to %q, want a redirect to the table", tt.user, w.Code, w.Header().Get("Location"))
		}
		if tt.code == 403 && w.Code != http.StatusForbidden {
			t.Errorf("user %q: /users = %d, want 403", tt.user, w.Code)
		}
		code, body := get(t, s, "/users/table", cookies...)
		if code != tt.code {
			t.Errorf("user %q: /users/table = %d, want %d", tt.user, code, tt.code)
		}
		if code == 200 {
			if !strings.Contains(body, `href="/users/table/1"`) {
				t.Errorf("users table lacks alice: %s", body)
			}
			code, body = get(t, s, "/users/table/1", cookies...)
			if code != 200 || !strings.Contains(body, "Alice A.") || strings.Contains(body, "qUqP5") || strings.Contains(body, auth.PasswordAttribute) {
				t.Errorf("user page = %d, want alice without her password hash: %s", code, body)
			}
			if code, _ := get(t, s, "/users/table/9", cookies...); code != 404 {
				t.Errorf("unknown user = %d", code)
			}
		}
	}
}

func TestViewRule(t *testing.T) {
	s, _ := newTestServer(t, Options{Authz: Authz{Rules: map[Action]Rule{View: Authenticated}, Auth: auth.Users(map[string]status.Secret{"alice": "pw"})}})
	for _, p := range []string{"/builders", "/json/builders", "/builders/linux/builds/2/steps/test/logs/stdio/text"} {
		if code, _ := get(t, s, p); code != 403 {
			t.Errorf("anonymous GET %s = %d, want 403", p, code)
		}
		if code, _ := get(t, s, p, s.sessions.cookie("alice", time.Now(), false, "/")); code != 200 {
			t.Errorf("alice GET %s = %d, want 200", p, code)
		}
	}
	if code, body := get(t, s, "/login"); code != 200 || !strings.Contains(body, "login-form") {
		t.Errorf("the login page must stay reachable: %d", code)
	}
}

// TestFormsFollowRules checks that pages show action forms exactly when the
// action is allowed.
func TestFormsFollowRules(t *testing.T) {
	ctl := &statustest.Control{}
	s, _ := newTestServer(t, Options{Control: ctl, Authz: Authz{Auth: auth.Users(nil), Rules: map[Action]Rule{
		ForceBuild: Authenticated, StopBuild: Authenticated, CancelPendingBuild: Authenticated, PingBuilder: Always,
		StopChange: Authenticated, PauseSlave: Authenticated, GracefulShutdown: Authenticated, CleanShutdown: Authenticated,
		ForceAllBuilds: Authenticated, StopAllBuilds: Authenticated, CancelAllPendingBuilds: Authenticated,
	}}})
	alice := s.sessions.cookie("alice", time.Now(), false, "/")
	for _, tt := range []struct{ path, form string }{
		{"/builders/linux", `action="/builders/linux/force"`},
		{"/builders/linux", `action="/builders/linux/builds/3/stop"`},
		{"/builders/linux", `action="/builders/linux/cancelbuild"`},
		{"/builders/linux/builds/3", `action="/builders/linux/builds/3/stop"`},
		{"/builders/linux/builds/2", `action="/builders/linux/builds/2/rebuild"`},
		{"/changes/2", `action="/changes/2/stop"`},
		{"/buildslaves", `action="/buildslaves/worker1/pause"`},
		{"/buildslaves", `action="/buildslaves/worker1/shutdown"`},
		{"/", `action="/shutdown"`},
		{"/builders", `action="/builders/_all/force"`},
		{"/builders", `action="/builders/_all/stop"`},
	} {
		_, anon := get(t, s, tt.path)
		_, logged := get(t, s, tt.path, alice)
		if strings.Contains(anon, tt.form) {
			t.Errorf("anonymous %s shows %s", tt.path, tt.form)
		}
		if !strings.Contains(logged, tt.form) {
			t.Errorf("alice's %s lacks %s", tt.path, tt.form)
		}
	}
	if _, anon := get(t, s, "/builders/linux"); !strings.Contains(anon, `action="/builders/linux/ping"`) {
		t.Error("ping (Always) is not offered to anonymous users")
	}
	// Without Control nothing is offered, whatever the rules.
	ro, _ := newTestServer(t, Options{Authz: Authz{Rules: map[Action]Rule{ForceBuild: Always}}})
	if _, body := get(t, ro, "/builders/linux"); strings.Contains(body, "/force") {
		t.Error("a read-only server shows a force form")
	}
	if w := post(t, ro, "/builders/linux/force", nil); w.Code != 403 {
		t.Errorf("read-only force = %d, want 403", w.Code)
	}
}

func TestCrossSiteAndRedirects(t *testing.T) {
	ctl := &statustest.Control{}
	s, _ := newTestServer(t, Options{Control: ctl, Authz: Authz{Rules: map[Action]Rule{PingBuilder: Always}}})
	for _, hdr := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "https://evil.example"},
	} {
		r := httptestPost("/builders/linux/ping", url.Values{})
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := serve(s, r)
		if w.Code != http.StatusForbidden {
			t.Errorf("cross-site POST with %v = %d, want 403", hdr, w.Code)
		}
	}
	if calls := ctl.Calls(); len(calls) != 0 {
		t.Fatalf("cross-site requests reached Control: %v", calls)
	}
	for _, ret := range []string{"//evil.example/", "https://evil.example/", `/\evil.example`, "javascript:alert(1)", "evil", "/%0d%0aSet-Cookie:x", "/\r\nX: y"} {
		w := post(t, s, "/builders/linux/ping", url.Values{"return": {ret}})
		if w.Code != http.StatusSeeOther {
			t.Fatalf("ping = %d", w.Code)
		}
		loc := w.Header().Get("Location")
		if loc != "/builders/linux" && loc != "/%0d%0aSet-Cookie:x" {
			t.Errorf("return=%q redirected to %q", ret, loc)
		}
		if u, err := url.Parse(loc); err != nil || u.Host != "" || u.Scheme != "" {
			t.Errorf("return=%q left the site: %q", ret, loc)
		}
	}
	w := post(t, s, "/builders/linux/ping", url.Values{"return": {"/builders?builder=linux"}})
	if loc := w.Header().Get("Location"); loc != "/builders?builder=linux" {
		t.Errorf("same-site return went to %q", loc)
	}
	if w := serve(s, httptest.NewRequest("GET", "/builders/linux/ping", nil)); w.Code != http.StatusMethodNotAllowed && w.Code != 404 {
		t.Errorf("GET on an action = %d, want 405 or 404", w.Code)
	}
}

func TestActionErrorsShown(t *testing.T) {
	ctl := &statustest.Control{Err: func(m string) error {
		if m == "PingBuilder" {
			return status.ErrUnsupported
		}
		return errString("worker is busy")
	}}
	s, _ := newTestServer(t, Options{Control: ctl, Authz: Authz{Rules: map[Action]Rule{PingBuilder: Always, ForceBuild: Always, StopBuild: Always}}})
	if w := post(t, s, "/builders/linux/ping", nil); w.Code != 501 || !strings.Contains(w.Body.String(), "does not support") {
		t.Errorf("unsupported ping = %d %s", w.Code, w.Body)
	}
	if w := post(t, s, "/builders/linux/force", nil); w.Code != 502 || !strings.Contains(w.Body.String(), "worker is busy") {
		t.Errorf("failed force = %d %s", w.Code, w.Body)
	}
	if w := post(t, s, "/builders/nope/force", nil); w.Code != 404 {
		t.Errorf("force on unknown builder = %d", w.Code)
	}
	if w := post(t, s, "/builders/linux/builds/99/stop", nil); w.Code != 404 {
		t.Errorf("stop of unknown build = %d", w.Code)
	}
	// The result of a successful action is shown on the next page.
	ok := &statustest.Control{}
	s2, _ := newTestServer(t, Options{Control: ok, Authz: Authz{Rules: map[Action]Rule{PingBuilder: Always}}})
	w := post(t, s2, "/builders/linux/ping", nil)
	var flash *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == flashCookie {
			flash = c
		}
	}
	if flash == nil {
		t.Fatal("no flash cookie")
	}
	if _, body := get(t, s2, "/builders/linux", flash); !strings.Contains(body, "Pinged the workers of linux.") {
		t.Error("the result is not shown on the next page")
	}
	forged := &http.Cookie{Name: flashCookie, Value: "SGFja2Vk|bad"}
	if _, body := get(t, s2, "/builders/linux", forged); strings.Contains(body, "Hacked") {
		t.Error("a forged flash cookie is shown")
	}
}

type errString string

func (e errString) Error() string { return string(e) }
