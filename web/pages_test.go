package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestPages(t *testing.T) {
	s, _ := newTestServer(t, Options{Title: "Proj", TitleURL: "https://proj.example.org/"})
	hostileURL := "/builders/" + url.PathEscape(hostile)
	tests := []struct {
		path    string
		code    int
		want    []string // substrings that must be there
		notWant []string
	}{
		{"/", 200, []string{"Welcome to Proj", `href="https://proj.example.org/"`, "3 builders", `href="/builders"`, `href="/json/help"`}, nil},
		{"/builders", 200, []string{`href="/builders/linux"`, `href="/builders/windows"`, `href="/builders/linux/builds/2"`, "building", `/builders/linux/builds/3`}, nil},
		{"/builders/", 301, nil, nil},
		{"/builders?builder=windows", 200, []string{`href="/builders/windows"`}, []string{`href="/builders/linux"`}},
		{"/builders?builder=windows&builder=linux", 200, []string{`href="/builders/windows"`, `href="/builders/linux"`}, []string{"%3Cscript"}},
		{"/builders?branch=release", 200, []string{"Branches: release", "no builds", `/builders/linux/builds/3`}, []string{`/builders/linux/builds/2"`}},
		{"/builders/linux", 200, []string{"Builder linux", "/builders/linux/builds/1", "/builders/linux/builds/2", "/builders/linux/builds/3", "Pending build requests", "scheduler (submitted"}, []string{"force-form", "/force"}},
		{"/builders/linux?numbuilds=1", 200, []string{"/builders/linux/builds/2"}, []string{`/builders/linux/builds/1"`}},
		{"/builders/linux?property.owner=bob", 200, []string{"/builders/linux/builds/2", "owner=bob"}, []string{`/builders/linux/builds/1"`, "submitted"}},
		{"/builders/linux?property.owner=alice", 200, []string{"submitted"}, []string{`/builders/linux/builds/2"`}},
		{"/builders/linux/builds/2", 200, []string{"build #2", "failed test", `href="/builders/linux/builds/2/steps/test/logs/stdio"`, "/changes/2", "Bob &lt;bob@example.org&gt;", "owner", "Previous", "/builders/linux/builds/1"}, nil},
		{"/builders/linux/builds/-1", 200, []string{"build #3", "running"}, nil},
		{"/builders/linux/builds/2/steps/test", 200, []string{"step test", "logs/stdio/text"}, nil},
		{"/builders/linux/builds/2/steps/test/logs/stdio", 200, []string{`<span class="fg1">FAIL</span>`, `<span class="header">make test`}, nil},
		{"/one_line_per_build", 200, []string{"Last 20 finished builds", "/builders/windows/builds/1", "/builders/linux/builds/1"}, []string{"/builders/linux/builds/3"}},
		{"/one_line_per_build?numbuilds=1", 200, []string{"Last 1 finished builds"}, nil},
		{"/one_line_per_build?builder=windows", 200, []string{"/builders/windows/builds/1"}, []string{"/builders/linux/"}},
		{"/one_line_per_build?branch=nope", 200, []string{"No builds."}, nil},
		{"/changes", 200, []string{`href="/changes/1"`, `href="/changes/2"`, "Fix #42"}, nil},
		{"/changes?name=alice@example.org", 200, []string{`href="/changes/1"`}, []string{`href="/changes/2"`}},
		{"/changes/1", 200, []string{"Change 1", "main.go", "Alice &lt;alice@example.org&gt;"}, nil},
		{"/buildslaves", 200, []string{"worker1", "worker2", "connected", "paused", `href="/builders/windows"`}, nil},
		{"/buildslaves?no_builders=1", 200, []string{"worker1"}, []string{`href="/builders/windows"`}},
		{"/workers", 200, []string{"worker1"}, nil},
		{"/about", 200, []string{"Herald", "go1."}, nil},
		{"/json/help", 200, []string{"select=PATH", "as_text=1"}, nil},
		{"/robots.txt", 200, []string{"Disallow: /builders\n", "Disallow: /json\n", "Disallow: /changes\n", "Disallow: /one_line_per_build\n"}, []string{"Disallow: /about", "Disallow: /default.css"}},
		{"/default.css", 200, []string{".failure"}, nil},
		{hostileURL, 200, []string{"Builder &lt;script&gt;"}, nil},
		{hostileURL + "/builds/1", 200, []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"}, nil},
		{hostileURL + "/builds/1/steps/test/logs/stdio", 200, []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"}, nil},
		// 404s
		{"/builders/nope", 404, []string{"No builder named"}, nil},
		{"/builders/linux/builds/99", 404, []string{"No build 99"}, nil},
		{"/builders/linux/builds/x", 404, nil, nil},
		{"/builders/linux/builds/2/steps/nope", 404, nil, nil},
		{"/builders/linux/builds/2/steps/test/logs/nope", 404, nil, nil},
		{"/builders/linux/builds/1/steps/test/logs/stdio", 404, []string{"not available"}, nil},
		{"/changes/99", 404, nil, nil},
		{"/changes/x", 404, nil, nil},
		{"/nope.html", 404, nil, nil},
		{"/users", 403, nil, nil},
		{"/users/table", 403, nil, nil},
		{"/login", 404, nil, nil},
	}
	for _, tt := range tests {
		code, body := get(t, s, tt.path)
		if code != tt.code {
			t.Errorf("GET %s = %d, want %d\n%s", tt.path, code, tt.code, body)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: body lacks %q", tt.path, w)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(body, w) {
				t.Errorf("GET %s: body has %q", tt.path, w)
			}
		}
		if strings.Contains(body, "<script") {
			t.Errorf("GET %s: unescaped <script in the page", tt.path)
		}
	}
}

// TestEscaping walks every page that shows hostile data and checks that
// the script tag only ever appears escaped.
func TestEscaping(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	pages := []string{"/builders", "/one_line_per_build", "/changes", "/changes/2", "/buildslaves",
		"/builders/linux/builds/2", "/builders/linux/builds/2/steps/test/logs/stdio"}
	for _, p := range pages {
		code, body := get(t, s, p)
		if code != 200 {
			t.Fatalf("GET %s = %d", p, code)
		}
		if strings.Contains(strings.ToLower(body), "<script") {
			t.Errorf("GET %s: raw <script> in the page", p)
		}
		if !strings.Contains(body, "&lt;script&gt;") && !strings.Contains(body, "%3Cscript%3E") {
			t.Errorf("GET %s: the hostile text is not on the page at all; the test proves nothing", p)
		}
	}
}

func TestPageHeaders(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	w := httptestGet(s, "/builders")
	if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	w = httptestGet(s, "/builders/linux/builds/2/steps/test/logs/stdio/text")
	if ct := w.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("text log Content-Type %q", ct)
	}
	if got, want := w.Body.String(), "ok   pkg/a\n\x1b[31mFAIL\x1b[0m pkg/b "+hostile+"\n"; got != want {
		t.Errorf("text log = %q, want %q (header lines removed)", got, want)
	}
}

func TestGoldenPages(t *testing.T) {
	s, _ := newTestServer(t, Options{Title: "Proj", RevLink: RevLinkFormat("https://example.org/commit/%s")})
	for _, p := range []struct{ path, file string }{
		{"/builders/linux", "builder.golden.html"},
		{"/builders/linux/builds/2", "build.golden.html"},
		{"/builders", "builders.golden.html"},
	} {
		code, body := get(t, s, p.path)
		if code != http.StatusOK {
			t.Fatalf("GET %s = %d", p.path, code)
		}
		golden(t, p.file, body)
	}
}
