package gitlab

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseProject(t *testing.T) {
	for raw, want := range map[string]string{
		"https://gitlab.com/group/sub/app.git":            "group/sub/app",
		"git@gitlab.com:group/app.git":                    "group/app",
		"https://example.com/gitlab/group/app":            "group/app",
		"https://gitlab.com/app.git":                      "",
		"https://gitlab.com/group/../app":                 "",
		"https://gitlab.com/group/app%2F..%2Fadmin/x":     "",
		"https://oauth2:token@gitlab.com/group/app.git":   "group/app",
		"ssh://git@gitlab.example.com:2222/a/b/c/d/e.git": "a/b/c/d/e",
	} {
		segs, ok := parseProject(raw, "/gitlab")
		assert.Equal(t, want != "", ok, raw)
		assert.Equal(t, want, strings.Join(segs, "/"), raw)
	}
}

// FuzzParseProject: repository URLs come from webhooks; a parsed project
// path is safe to escape into the API path.
func FuzzParseProject(f *testing.F) {
	f.Add("https://gitlab.com/group/sub/app.git", "")
	f.Add("git@gitlab.com:group/app.git", "/gitlab")
	f.Add("https://h/gitlab/../../a/b", "gitlab")
	f.Fuzz(func(t *testing.T, raw, under string) {
		segs, ok := parseProject(raw, under)
		if !ok {
			return
		}
		if len(segs) < 2 {
			t.Fatalf("parseProject(%q) = %q: no namespace", raw, segs)
		}
		for _, s := range segs {
			if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/?#%: \\@") {
				t.Fatalf("parseProject(%q) = %q: unsafe", raw, segs)
			}
		}
	})
}
