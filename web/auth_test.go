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

	"golang.org/x/crypto/bcrypt"

	"github.com/heraldci/herald/status"
)

func writeHTPasswd(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestHTPasswdAuth(t *testing.T) {
	bc, err := bcrypt.GenerateFromPassword([]byte("hunter2"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// htpasswd -B writes $2y$; Go's bcrypt writes $2a$: both must work.
	bcy := "$2y$" + strings.TrimPrefix(string(bc), "$2a$")
	path := writeHTPasswd(t,
		"# users",
		"bcrypt:"+string(bc),
		"bcrypty:"+bcy,
		"apr:$apr1$xyz12345$bxLmEouUBDFf31KcNvjU70", // openssl passwd -apr1 -salt xyz12345 hunter2
		"sha:{SHA}87u9ZqY9S/F0eUBXjsPQEDUw4h0=",     // htpasswd -s
		"des:abJnggxhB/yWI",                         // crypt(3): refused
	)
	a, err := HTPasswdAuth(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, u := range []string{"bcrypt", "bcrypty", "apr", "sha"} {
		if ok, err := a.Authenticate(ctx, u, "hunter2"); !ok || err != nil {
			t.Errorf("%s with the right password: %v %v", u, ok, err)
		}
		if ok, err := a.Authenticate(ctx, u, "hunter3"); ok || err != nil {
			t.Errorf("%s with a wrong password: %v %v", u, ok, err)
		}
	}
	if ok, _ := a.Authenticate(ctx, "nobody", "hunter2"); ok {
		t.Error("unknown user accepted")
	}
	if ok, err := a.Authenticate(ctx, "des", "hunter2"); ok || err == nil || !strings.Contains(err.Error(), "htpasswd -B") {
		t.Errorf("DES hash: %v %v, want an error naming the fix", ok, err)
	}
	// The file is re-read when it changes.
	later := time.Now().Add(time.Minute)
	os.WriteFile(path, []byte("new:{SHA}87u9ZqY9S/F0eUBXjsPQEDUw4h0=\n"), 0o600)
	os.Chtimes(path, later, later)
	if ok, _ := a.Authenticate(ctx, "new", "hunter2"); !ok {
		t.Error("a user added to the file is not seen")
	}
	if ok, _ := a.Authenticate(ctx, "sha", "hunter2"); ok {
		t.Error("a user removed from the file still logs in")
	}
	if _, err := HTPasswdAuth(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing file is accepted")
	}
	if _, err := HTPasswdAuth(writeHTPasswd(t, "no colon here")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("corrupt file: %v", err)
	}
}

func TestAPR1KnownVectors(t *testing.T) {
	for _, v := range []struct{ pw, salt, want string }{
		{"secret", "r31.....", "$apr1$r31.....$G/cElGhD0cboYkZN5h5Ne/"},
		{"hunter2", "xyz12345", "$apr1$xyz12345$bxLmEouUBDFf31KcNvjU70"},
	} {
		if got := apr1(v.pw, v.salt); got != v.want {
			t.Errorf("apr1(%q, %q) = %q, want %q", v.pw, v.salt, got, v.want)
		}
	}
}

func TestBasicAndUsersAuth(t *testing.T) {
	ctx := context.Background()
	b := BasicAuth(map[string]status.Secret{"bob": "secret-pass", "jill": "super-pass"})
	if ok, _ := b.Authenticate(ctx, "bob", "secret-pass"); !ok {
		t.Error("bob refused")
	}
	for _, c := range [][2]string{{"bob", "super-pass"}, {"eve", ""}, {"", ""}} {
		if ok, _ := b.Authenticate(ctx, c[0], c[1]); ok {
			t.Errorf("%v accepted", c)
		}
	}
	u := UsersAuth(fixture())
	if ok, err := u.Authenticate(ctx, "alice", "test"); !ok || err != nil {
		t.Errorf("alice from History refused: %v", err)
	}
	if ok, _ := u.Authenticate(ctx, "alice", "nope"); ok {
		t.Error("wrong password accepted")
	}
}

// TestLoginFlow logs in through the form, acts, and logs out.
func TestLoginFlow(t *testing.T) {
	ctl := &controlRecorder{}
	s, _ := newTestServer(t, Options{Control: ctl, Authz: Authz{
		Auth:  BasicAuth(map[string]status.Secret{"alice": "pw"}),
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
	other, _ := newTestServer(t, Options{Authz: Authz{Auth: BasicAuth(nil)}})
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
	s, _ := newTestServer(t, Options{Authz: Authz{Auth: BasicAuth(map[string]status.Secret{"alice": "pw"})}})
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
		Authz: Authz{SessionKey: key, Auth: BasicAuth(map[string]status.Secret{"alice": pw}),
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
	s, _ := newTestServer(t, Options{Authz: Authz{Auth: BasicAuth(map[string]status.Secret{"alice": "pw"})}})
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
	now = now.Add(11 * time.Minute)
	if c := try("192.0.2.1", "pw"); c != http.StatusSeeOther {
		t.Errorf("after the window = %d, want a login", c)
	}
}
