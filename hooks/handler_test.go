package hooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/status"
)

// sink records what OnChanges received.
type sink struct {
	mu    sync.Mutex
	calls []call
	err   error // returned by OnChanges
}

type call struct {
	dialect string
	changes []status.Change
}

func (s *sink) onChanges(_ context.Context, dialect string, changes []status.Change) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.calls = append(s.calls, call{dialect, changes})
	return nil
}

func (s *sink) all() []call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]call(nil), s.calls...)
}

// newTestHandler builds a Handler whose log goes to logBuf.
func newTestHandler(t *testing.T, o Options) (*Handler, *sink, *bytes.Buffer) {
	t.Helper()
	s := &sink{}
	logBuf := &bytes.Buffer{}
	if o.OnChanges == nil {
		o.OnChanges = s.onChanges
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(logBuf, nil))
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h, s, logBuf
}

// req is one request to the handler.
type req struct {
	method string // default POST
	path   string
	ctype  string
	header map[string]string
	body   []byte
}

func do(t *testing.T, h http.Handler, r req) (int, string, http.Header) {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	hr := httptest.NewRequest(r.method, r.path, bytes.NewReader(r.body))
	if r.ctype != "" {
		hr.Header.Set("Content-Type", r.ctype)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, hr)
	body, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(body), w.Result().Header
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sign(newHash func() hash.Hash, key string, body []byte) string {
	m := hmac.New(newHash, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func sig256(key string, body []byte) string { return "sha256=" + sign(sha256.New, key, body) }

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// checkChanges compares changes field by field; When by instant.
func checkChanges(t *testing.T, got, want []status.Change) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d changes, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.When.Equal(w.When) {
			t.Errorf("change %d: When = %v, want %v", i, g.When, w.When)
		}
		g.When, w.When = time.Time{}, time.Time{}
		if len(g.Files) == 0 && len(w.Files) == 0 {
			g.Files, w.Files = nil, nil
		}
		gv, wv := reflect.ValueOf(g), reflect.ValueOf(w)
		for f := range gv.NumField() {
			if !reflect.DeepEqual(gv.Field(f).Interface(), wv.Field(f).Interface()) {
				t.Errorf("change %d: %s = %#v, want %#v", i, gv.Type().Field(f).Name, gv.Field(f).Interface(), wv.Field(f).Interface())
			}
		}
	}
}

func TestNewValidates(t *testing.T) {
	ok := func(context.Context, string, []status.Change) error { return nil }
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"no OnChanges", Options{Dialects: []Dialect{Base{}}}, "OnChanges is nil"},
		{"no dialect", Options{OnChanges: ok}, "Dialects is empty"},
		{"nil dialect", Options{OnChanges: ok, Dialects: []Dialect{nil}}, "Dialects[0] is nil"},
		{"twice", Options{OnChanges: ok, Dialects: []Dialect{Base{}, Base{}}}, `"base" is enabled twice`},
		{"strict without secret", Options{OnChanges: ok, Dialects: []Dialect{&GitHub{Strict: true}}}, "GitHub.Secret is empty"},
		{"bitbucket strict", Options{OnChanges: ok, Dialects: []Dialect{&Bitbucket{Strict: true}}}, "Bitbucket.Secret is empty"},
		{"poller without pollers", Options{OnChanges: ok, Dialects: []Dialect{&Poller{}}}, "Poller.Pollers is nil"},
		{"negative body", Options{OnChanges: ok, Dialects: []Dialect{Base{}}, MaxBodyBytes: -1}, "MaxBodyBytes is -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want error containing %q", err, tc.want)
			}
		})
	}
}

// TestErrorPaths covers every status the Handler answers itself.
func TestErrorPaths(t *testing.T) {
	push := readTestdata(t, "github/push.json")
	users, err := auth.ParseCleartext(strings.NewReader("ci:hunter2\n"))
	if err != nil {
		t.Fatal(err)
	}
	h, s, _ := newTestHandler(t, Options{
		Dialects:     []Dialect{&GitHub{Secret: "topsecret"}, Base{}, &Poller{Pollers: &fakePollers{names: []string{"svn"}}}},
		Auth:         users,
		MaxBodyBytes: 16 << 10,
	})
	auth := "Basic " + b64("ci:hunter2")
	gh := func(body []byte, extra map[string]string) map[string]string {
		m := map[string]string{"Authorization": auth, "X-GitHub-Event": "push", "X-Hub-Signature-256": sig256("topsecret", body)}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		r      req
		status int
		reason string
	}{
		{"unknown dialect", req{path: "/change_hook/svn", header: map[string]string{"Authorization": auth}}, 404, `unknown or disabled dialect "svn"`},
		{"no dialect", req{path: "/change_hook/", header: map[string]string{"Authorization": auth}}, 404, "dialect"},
		{"unknown dialect, no credentials", req{path: "/change_hook/svn"}, 401, "credentials"},
		{"no credentials", req{path: "/change_hook/github", ctype: "application/json", body: push}, 401, "credentials"},
		{"wrong password", req{path: "/change_hook/github", ctype: "application/json", body: push, header: map[string]string{"Authorization": "Basic " + b64("ci:hunter3")}}, 401, "credentials"},
		{"GET", req{method: "GET", path: "/change_hook/github", header: map[string]string{"Authorization": auth}}, 405, "use POST"},
		{"PUT on poller", req{method: "PUT", path: "/change_hook/poller", header: map[string]string{"Authorization": auth}}, 405, "use GET, POST"},
		{"too large", req{path: "/change_hook/github", ctype: "application/json", body: bytes.Repeat([]byte(" "), 17<<10), header: gh(nil, nil)}, 413, "larger than 16384"},
		{"content type", req{path: "/change_hook/github", ctype: "text/xml", body: push, header: gh(push, nil)}, 415, `content type "text/xml" not supported`},
		{"bad signature", req{path: "/change_hook/github", ctype: "application/json", body: push, header: gh(push, map[string]string{"X-Hub-Signature-256": sig256("wrong", push)})}, 403, "does not match"},
		{"bad JSON", req{path: "/change_hook/github", ctype: "application/json", body: []byte(`{"ref": "refs/heads/main", "commits": [}`), header: gh([]byte(`{"ref": "refs/heads/main", "commits": [}`), nil)}, 400, "bad payload: push: at /commits/0: invalid character '}' at start of value"},
		{"wrong type", req{path: "/change_hook/github", ctype: "application/json", body: []byte(`{"ref": 7}`), header: gh([]byte(`{"ref": 7}`), nil)}, 400, "at /ref: JSON number where a string is expected"},
		{"bad date", req{path: "/change_hook/github", ctype: "application/json", body: []byte(`{"ref":"refs/heads/x","commits":[{"id":"a","timestamp":"yesterday"}]}`), header: gh([]byte(`{"ref":"refs/heads/x","commits":[{"id":"a","timestamp":"yesterday"}]}`), nil)}, 400, `"yesterday" is not a date`},
		{"no event", req{path: "/change_hook/github", ctype: "application/json", body: push, header: gh(push, map[string]string{"X-GitHub-Event": ""})}, 400, "missing X-GitHub-Event"},
		{"bad base files", req{path: "/change_hook/base", ctype: "application/x-www-form-urlencoded", body: []byte("files=[1"), header: map[string]string{"Authorization": auth}}, 400, "files must be a JSON array"},
		{"unknown poller", req{path: "/change_hook/poller?poller=git&poller=hg", header: map[string]string{"Authorization": auth}}, 400, "unknown or not allowed pollers: git, hg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, hdr := do(t, h, tc.r)
			if code != tc.status || !strings.Contains(body, tc.reason) {
				t.Fatalf("got %d %q, want %d containing %q", code, body, tc.status, tc.reason)
			}
			if code == 401 && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), `Basic realm="herald change hooks"`) {
				t.Errorf("WWW-Authenticate = %q", hdr.Get("WWW-Authenticate"))
			}
			if strings.Contains(body, "goroutine") || strings.Contains(body, ".go:") {
				t.Errorf("body leaks internals: %q", body)
			}
		})
	}
	if n := len(s.all()); n != 0 {
		t.Fatalf("rejected requests reached OnChanges %d times", n)
	}
}

func TestMountedUnderPrefix(t *testing.T) {
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{Base{}}})
	mux := http.NewServeMux()
	mux.Handle("/ci/change_hook/", h)
	code, body, _ := do(t, mux, req{path: "/ci/change_hook/base/", ctype: "application/x-www-form-urlencoded", body: []byte("author=me&revision=1")})
	if code != 200 || len(s.all()) != 1 {
		t.Fatalf("got %d %q, %d calls", code, body, len(s.all()))
	}
}

func TestOnChangesFailureIs500AndRetryable(t *testing.T) {
	h, s, logBuf := newTestHandler(t, Options{Dialects: []Dialect{&GitHub{}}})
	body := readTestdata(t, "github/push.json")
	r := req{path: "/change_hook/github", ctype: "application/json", body: body,
		header: map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}}
	s.err = fmt.Errorf("database is locked")
	if code, msg, _ := do(t, h, r); code != 500 || !strings.Contains(msg, "deliver again later") {
		t.Fatalf("got %d %q, want 500", code, msg)
	}
	if !strings.Contains(logBuf.String(), "database is locked") {
		t.Errorf("the host's error is not logged: %s", logBuf)
	}
	// The redelivery after a failure is processed, not taken for a duplicate.
	s.err = nil
	if code, msg, _ := do(t, h, r); code != 200 || len(s.all()) != 1 {
		t.Fatalf("redelivery: got %d %q, %d calls", code, msg, len(s.all()))
	}
}

func TestDuplicateDeliveries(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{&GitHub{}, &GitLab{}, &Bitbucket{}}, DedupWindow: time.Minute, Now: clock})
	gh := req{path: "/change_hook/github", ctype: "application/json", body: readTestdata(t, "github/push.json"),
		header: map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "d1"}}
	gl := req{path: "/change_hook/gitlab", ctype: "application/json", body: readTestdata(t, "gitlab/push.json"),
		header: map[string]string{"X-Gitlab-Event-UUID": "d1"}}
	bb := req{path: "/change_hook/bitbucket", ctype: "application/json", body: readTestdata(t, "bitbucket/cloud-push.json"),
		header: map[string]string{"X-Event-Key": "repo:push", "X-Request-UUID": "d1"}}
	for _, r := range []req{gh, gl, bb} {
		if code, msg, _ := do(t, h, r); code != 200 || !strings.Contains(msg, "accepted") {
			t.Fatalf("%s first delivery: %d %q", r.path, code, msg)
		}
		if code, msg, _ := do(t, h, r); code != 200 || !strings.Contains(msg, "duplicate delivery") {
			t.Fatalf("%s second delivery: %d %q", r.path, code, msg)
		}
	}
	if n := len(s.all()); n != 3 {
		t.Fatalf("OnChanges called %d times, want 3 (one per dialect)", n)
	}
	now = now.Add(time.Minute)
	if code, msg, _ := do(t, h, gh); code != 200 || !strings.Contains(msg, "accepted") {
		t.Fatalf("after the window: %d %q", code, msg)
	}
	if n := len(s.all()); n != 4 {
		t.Fatalf("OnChanges called %d times after the window, want 4", n)
	}
}

func TestDeliveriesBoundedAndInFlight(t *testing.T) {
	d := newDeliveries(time.Hour, 2, time.Now)
	if d.claim("a") != seenNew || d.claim("a") != seenInFlight {
		t.Fatal("an in-flight delivery is not reported")
	}
	d.done("a")
	if d.claim("a") != seenDone {
		t.Fatal("a processed delivery is not reported")
	}
	d.claim("b")
	d.claim("c") // evicts a, the oldest
	if d.claim("a") != seenNew {
		t.Fatal("the oldest delivery was not forgotten at the size bound")
	}
	if got := d.order.Len(); got != 2 {
		t.Fatalf("%d remembered, bound is 2", got)
	}
}

// TestSecretsNeverLogged sends bad and good requests with every secret and
// password in play and checks that none reaches the log or a response.
func TestSecretsNeverLogged(t *testing.T) {
	const ghSecret, glSecret, bbSecret, gcKey, password = "gh-s3cr3t-value", "gl-t0ken-value", "bb-s3cr3t-value", "gc-k3y-value", "p4ssw0rd-value"
	users, err := auth.ParseCleartext(strings.NewReader("ci:" + password + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	gh := &GitHub{Secret: ghSecret, Strict: true}
	h, _, logBuf := newTestHandler(t, Options{
		Dialects: []Dialect{gh, &GitLab{Secret: glSecret}, &Bitbucket{Secret: bbSecret}, &GoogleCode{SecretKey: gcKey}},
		Auth:     users,
	})
	auth := map[string]string{"Authorization": "Basic " + b64("ci:"+password)}
	var bodies []string
	for _, r := range []req{
		{path: "/change_hook/github", header: map[string]string{"Authorization": "Basic " + b64("ci:"+password+"x")}},
		{path: "/change_hook/github", ctype: "application/json", body: []byte("{}"), header: merge(auth, map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=00"})},
		{path: "/change_hook/gitlab", ctype: "application/json", body: []byte("{}"), header: merge(auth, map[string]string{"X-Gitlab-Token": glSecret + "x"})},
		{path: "/change_hook/bitbucket", ctype: "application/json", body: []byte("{}"), header: merge(auth, map[string]string{"X-Hub-Signature": "sha256=00"})},
		{path: "/change_hook/googlecode", ctype: "application/json", body: []byte("{}"), header: merge(auth, map[string]string{"Google-Code-Project-Hosting-Hook-Hmac": "00"})},
	} {
		_, body, _ := do(t, h, r)
		bodies = append(bodies, body)
	}
	out := logBuf.String() + strings.Join(bodies, "") + fmt.Sprintf("%v %+v %#v", gh, gh, gh) + users.String()
	for _, secret := range []string{ghSecret, glSecret, bbSecret, gcKey, password} {
		if strings.Contains(out, secret) {
			t.Errorf("secret %q leaked:\n%s", secret, out)
		}
	}
	if !strings.Contains(logBuf.String(), "request rejected") {
		t.Fatal("nothing was logged: the test proves nothing")
	}
}

// TestOverTheWire posts a signed push through a real HTTP server and client,
// with credentials in the URL as forges send them.
func TestOverTheWire(t *testing.T) {
	users, err := auth.ParseCleartext(strings.NewReader("forge:w1re\n"))
	if err != nil {
		t.Fatal(err)
	}
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{&GitHub{Secret: "wire", Strict: true}}, Auth: users})
	mux := http.NewServeMux()
	mux.Handle("/change_hook/", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	body := readTestdata(t, "github/push-25.json")
	hr, _ := http.NewRequest("POST", strings.Replace(srv.URL, "http://", "http://forge:w1re@", 1)+"/change_hook/github?project=hello", bytes.NewReader(body))
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("X-GitHub-Event", "push")
	hr.Header.Set("X-Hub-Signature-256", sig256("wire", body))
	resp, err := srv.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(msg) != "25 change(s) accepted\n" {
		t.Fatalf("got %d %q", resp.StatusCode, msg)
	}
	calls := s.all()
	if len(calls) != 1 || len(calls[0].changes) != 25 || calls[0].changes[24].Project != "hello" {
		t.Fatalf("OnChanges got %+v", calls)
	}
}

func merge(a, b map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestConcurrentRequests posts pushes from many goroutines. Bodies and
// decoders are pooled: if a change kept a reference into a pooled buffer,
// later requests would overwrite it and the final check would fail.
func TestConcurrentRequests(t *testing.T) {
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{&GitHub{Secret: "k"}}})
	bodies := [][]byte{readTestdata(t, "github/push.json"), readTestdata(t, "github/push-25.json"), readTestdata(t, "github/push-tag.json")}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 15 {
				body := bodies[(g+i)%len(bodies)]
				code, msg, _ := do(t, h, req{path: "/change_hook/github", ctype: "application/json", body: body,
					header: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sig256("k", body), "X-GitHub-Delivery": fmt.Sprint(g, "-", i)}})
				if code != 200 {
					t.Errorf("%d %q", code, msg)
				}
			}
		})
	}
	wg.Wait()
	want := map[string][]status.Change{} // by the branch and revision of the first change
	for _, b := range bodies {
		cs, err := (&GitHub{}).push(b)
		if err != nil {
			t.Fatal(err)
		}
		want[cs[0].Branch+cs[0].Revision] = cs
	}
	calls := s.all()
	if len(calls) != 8*15 {
		t.Fatalf("%d calls, want %d", len(calls), 8*15)
	}
	for _, c := range calls {
		if !reflect.DeepEqual(c.changes, want[c.changes[0].Branch+c.changes[0].Revision]) {
			t.Fatalf("a change was altered after it was handed over:\n%+v", c.changes)
		}
	}
}

// TestDuplicateWhileInFlight: a redelivery that arrives while the first
// delivery is still in OnChanges answers 409, so the forge tries later.
func TestDuplicateWhileInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h, _, _ := newTestHandler(t, Options{
		Dialects: []Dialect{&GitHub{}},
		OnChanges: func(ctx context.Context, _ string, _ []status.Change) error {
			close(entered)
			<-release
			return nil
		},
	})
	r := req{path: "/change_hook/github", ctype: "application/json", body: readTestdata(t, "github/push.json"),
		header: map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "same"}}
	first := make(chan int)
	go func() {
		code, _, _ := do(t, h, r)
		first <- code
	}()
	<-entered
	if code, msg, _ := do(t, h, r); code != http.StatusConflict || !strings.Contains(msg, "still being processed") {
		t.Errorf("in-flight duplicate: %d %q, want 409", code, msg)
	}
	close(release)
	if code := <-first; code != 200 {
		t.Fatalf("first delivery: %d", code)
	}
	if code, msg, _ := do(t, h, r); code != 200 || !strings.Contains(msg, "already processed") {
		t.Fatalf("after: %d %q", code, msg)
	}
}
