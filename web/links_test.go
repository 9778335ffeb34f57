package web

import (
	"strings"
	"testing"
)

func TestRevLinks(t *testing.T) {
	f := RevLinkFormat("https://github.com/o/r/commit/%s")
	if got := f("a b/c", ""); got != "https://github.com/o/r/commit/a%20b%2Fc" {
		t.Errorf("format = %q: the revision must be URL-escaped", got)
	}
	m := RevLinkMap(map[string]string{"git://x/repo": "https://x/%s"})
	if got := m("abc", "git://x/repo"); got != "https://x/abc" {
		t.Errorf("map = %q", got)
	}
	if got := m("abc", "other"); got != "" {
		t.Errorf("map for another repository = %q", got)
	}
	if u := URLMap(map[string]string{"p": "https://p"}); u("p") != "https://p" || u("q") != "" {
		t.Error("URLMap")
	}
}

func TestCommentLink(t *testing.T) {
	l, err := CommentLink(`#(\d+)`, `http://buildbot.net/trac/ticket/\1`, `Ticket \g<0>`)
	if err != nil {
		t.Fatal(err)
	}
	got := string(l("Fixes #42 and #7 <b>", "p"))
	want := `Fixes <a href="http://buildbot.net/trac/ticket/42" title="Ticket #42">#42</a> and ` +
		`<a href="http://buildbot.net/trac/ticket/7" title="Ticket #7">#7</a> &lt;b&gt;`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	evil, _ := CommentLink(`go:(\S+)`, `$1`, `x`)
	if got := string(evil(`go:javascript:alert(1)`, "")); !strings.Contains(got, `href="#"`) {
		t.Errorf("javascript: URL made a link: %s", got)
	}
	m := CommentLinkMap(map[string]CommentLinker{"p": l})
	if got := string(m("#1 <i>", "q")); got != "#1 &lt;i&gt;" {
		t.Errorf("other project = %q", got)
	}
	if _, err := CommentLink(`(`, "", ""); err == nil {
		t.Error("a bad pattern is accepted")
	}
	s, _ := newTestServer(t, Options{ChangeCommentLink: l, Projects: URLMap(map[string]string{"repo": "https://proj.example.org/"}),
		Repositories: URLMap(map[string]string{"https://example.org/repo.git": "https://browse.example.org/repo"})})
	_, body := get(t, s, "/changes/1")
	for _, w := range []string{`title="Ticket #42">#42</a>`, `href="https://proj.example.org/"`, `href="https://browse.example.org/repo"`} {
		if !strings.Contains(body, w) {
			t.Errorf("change page lacks %s", w)
		}
	}
}

func FuzzSameSite(f *testing.F) {
	for _, s := range []string{"/", "/builders?x=1", "//evil", "/\\evil", "https://evil", "", "/a\r\nb", "javascript:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got := sameSite(p, "/default")
		if got == "/default" {
			return
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n") {
			t.Fatalf("sameSite(%q) = %q", p, got)
		}
	})
}

func FuzzQuery(f *testing.F) {
	f.Add("numbuilds=5&builder=a&builder=b&property.x=1&no_builders=yes&last_time=1700000000")
	f.Add("numbuilds=-9999999999999999999&last_time=2026-01-02T15:04:05Z")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseQuery(raw)
		if err != nil {
			return
		}
		if n := queryInt(q, "numbuilds", 20, 1, maxNumBuilds); n < 1 || n > maxNumBuilds {
			t.Fatalf("numbuilds %d out of range", n)
		}
		for _, v := range queryList(q, "builder") {
			if v == "" {
				t.Fatal("empty builder")
			}
		}
		queryProperties(q)
		queryTime(q, "last_time")
		queryBool(q, "no_builders", false)
	})
}
