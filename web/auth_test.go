package web

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/status"
)

// The login form takes any auth.Authenticator: the Buildbot users
// database (bb_password) here.
func TestLoginWithUsersDB(t *testing.T) {
	s, _ := newTestServer(t, Options{Authz: Authz{Auth: auth.UsersDB(fixture())}})
	for pw, want := range map[string]int{"test": http.StatusSeeOther, "nope": http.StatusUnauthorized} {
		r := httptestPost("/login", url.Values{"username": {"alice"}, "passwd": {pw}})
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		assert.Equal(t, want, serve(s, r).Code, pw)
	}
}

// TestLoginFlow logs in through the form, acts, and logs out.
func TestLoginFlow(t *testing.T) {
	ctl := &controlRecorder{}
	s, _ := newTestServer(t, Options{Control: ctl, Authz: Authz{
		Auth:  auth.Users(map[string]status.Secret{"alice": "pw"}),
		Rules: map[Action]Rule{ForceBuild: Authenticated},
	}})
	w := post(t, s, "/login", url.Values{"username": {"alice"}, "passwd": {"wrong"}, "next": {"/builders/linux"}})
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "Wrong user name or password") {
		t.Fatalf("bad login = %d", w.Code)
	}
	w = post(t, s, "/login", url.Values{"username": {"alice"}, "passwd": {"pw"}, "next": {"/builders/linux"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/builders/linux" {
		t.Fatalf("login = %d to %q", w.Code, w.Header().Get("Location"))
	}
	var session *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite, not Secure over plain HTTP", session)
	}
	_, body := get(t, s, "/builders/linux", session)
	if !strings.Contains(body, `<span class="user">alice</span>`) || !strings.Contains(body, "force-form") {
		t.Error("logged-in page lacks the user or the force form")
	}
	// A tampered cookie is anonymous.
	bad := *session
	bad.Value = strings.Replace(bad.Value, "|", "x|", 1)
	if _, body := get(t, s, "/builders/linux", &bad); strings.Contains(body, "force-form") {
		t.Error("a tampered session cookie is accepted")
	}
	forged := s.sessions.cookie("mallory", time.Now(), false, "/")
	other, _ := newTestServer(t, Options{Authz: Authz{Auth: auth.Users(nil)}})
	if u := other.sessions.user(requestWith(forged), time.Now()); u != "" {
		t.Errorf("a cookie signed by another server's key is accepted as %q", u)
	}
	if u := s.sessions.user(requestWith(session), time.Now().Add(13*time.Hour)); u != "" {
		t.Error("an expired session is accepted")
	}
	// Logout clears the cookie.
	w = post(t, s, "/logout", url.Values{"next": {"/builders"}}, session)
	if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("logout = %d %q", w.Code, w.Header().Get("Set-Cookie"))
	}
	// Scripts may send HTTP Basic credentials instead of a session.
	r := httptestPost("/builders/linux/force", url.Values{})
	r.SetBasicAuth("alice", "pw")
	if w := serve(s, r); w.Code != http.StatusSeeOther {
		t.Errorf("force with Basic credentials = %d", w.Code)
	}
	r = httptestPost("/builders/linux/force", url.Values{})
	r.SetBasicAuth("alice", "nope")
	if w := serve(s, r); w.Code != http.StatusForbidden {
		t.Errorf("force with wrong Basic credentials = %d", w.Code)
	}
}

func TestSecureCookieOverTLS(t *testing.T) {
	s, _ := newTestServer(t, Options{Authz: Authz{Auth: auth.Users(map[string]status.Secret{"alice": "pw"})}})
	r := httptestPost("/login", url.Values{"username": {"alice"}, "passwd": {"pw"}})
	r.TLS = &tlsState
	w := serve(s, r)
	if c := w.Result().Cookies(); len(c) == 0 || !c[0].Secure {
		t.Errorf("cookie over TLS not Secure: %v", c)
	}
}

func TestUseHTTPHeader(t *testing.T) {
	ctl := &controlRecorder{}
	s, _ := newTestServer(t, Options{Control: ctl, Authz: Authz{
		UseHTTPHeader: true, HTTPLoginURL: "https://sso.example.org/login",
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")},
		Rules:          map[Action]Rule{PingBuilder: Authenticated},
	}})
	try := func(remote string, set func(*http.Request)) int {
		r := httptestPost("/builders/linux/ping", url.Values{})
		r.RemoteAddr = remote
		set(r)
		return serve(s, r).Code
	}
	header := func(r *http.Request) { r.Header.Set("X-Forwarded-User", "carol") }
	basic := func(r *http.Request) { r.SetBasicAuth("dave", "unchecked") }
	if c := try("10.0.0.1:5555", header); c != http.StatusSeeOther {
		t.Errorf("trusted proxy header = %d", c)
	}
	if c := try("10.0.0.1:5555", basic); c != http.StatusSeeOther {
		t.Errorf("trusted proxy Basic user = %d", c)
	}
	if c := try("10.0.0.2:5555", header); c != http.StatusForbidden {
		t.Errorf("header from an untrusted address = %d, want 403", c)
	}
	if got := ctl.calls(); len(got) != 2 {
		t.Errorf("calls = %v", got)
	}
	_, body := get(t, s, "/builders")
	if !strings.Contains(body, `href="https://sso.example.org/login">Login</a>`) {
		t.Error("HTTPLoginURL is not shown as a Login link")
	}
}

// TestSecretsStayHidden: passwords and the session key never reach logs,
// errors, pages or String output.
func TestSecretsStayHidden(t *testing.T) {
	var logs bytes.Buffer
	key := status.Secret("0123456789abcdef-session-key-XYZ")
	pw := status.Secret("pw-VERY-SECRET")
	s, err := New(Options{History: fixture(), Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Control: &controlRecorder{}, HTTPLog: &HTTPLog{Path: filepath.Join(t.TempDir(), "http.log")},
		Authz: Authz{SessionKey: key, Auth: auth.Users(map[string]status.Secret{"alice": pw}),
			Rules: map[Action]Rule{ForceBuild: Authenticated}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	var out bytes.Buffer
	w := post(t, s, "/login", url.Values{"username": {"alice"}, "passwd": {pw.Reveal()}})
	out.WriteString(w.Body.String() + fmt.Sprint(w.Header()))
	for _, p := range []string{"/", "/builders/linux", "/json", "/about"} {
		_, body := get(t, s, p, w.Result().Cookies()...)
		out.WriteString(body)
	}
	out.WriteString(fmt.Sprintf("%v %+v %#v", s.opts, s.opts.Authz, s.opts.Authz))
	logFile, _ := os.ReadFile(s.opts.HTTPLog.Path)
	for _, secret := range []string{key.Reveal(), pw.Reveal()} {
		for name, text := range map[string]string{"pages": out.String(), "logs": logs.String(), "http.log": string(logFile)} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contain a secret", name)
			}
		}
	}
}

func requestWith(c *http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(c)
	return r
}

// TestLoginThrottle: ten failures from one address lock it out for the
// window, even with the right password; other addresses still log in.
func TestLoginThrottle(t *testing.T) {
	s, _ := newTestServer(t, Options{Authz: Authz{Auth: auth.Users(map[string]status.Secret{"alice": "pw"})}})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	try := func(addr, pw string) int {
		r := httptestPost("/login", url.Values{"username": {"alice"}, "passwd": {pw}})
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.RemoteAddr = addr + ":1234"
		return serve(s, r).Code
	}
	for i := range 10 {
		if c := try("192.0.2.1", "guess"); c != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d", i+1, c)
		}
	}
	if c := try("192.0.2.1", "pw"); c != http.StatusTooManyRequests {
		t.Errorf("11th attempt = %d, want 429", c)
	}
	if c := try("192.0.2.2", "pw"); c != http.StatusSeeOther {
		t.Errorf("another address = %d, want a login", c)
	}
}
