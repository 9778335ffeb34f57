package github

import (
	"strings"
	"testing"
)

func TestParseRepo(t *testing.T) {
	for _, tc := range []struct {
		in          string
		owner, name string
	}{
		{"https://github.com/octo/hello.git", "octo", "hello"},
		{"https://github.com/octo/hello", "octo", "hello"},
		{"https://github.com/octo/hello/", "octo", "hello"},
		{"http://github.example.com/Octo-Org/my.repo.git", "Octo-Org", "my.repo"},
		{"https://user@github.com/octo/hello.git", "octo", "hello"},
		{"ssh://git@github.com/octo/hello.git", "octo", "hello"},
		{"ssh://git@github.example.com:2222/octo/hello", "octo", "hello"},
		{"git://github.com/octo/hello.git", "octo", "hello"},
		{"git+ssh://git@github.com/octo/hello.git", "octo", "hello"},
		{"git@github.com:octo/hello.git", "octo", "hello"},
		{"git@github.com:/octo/hello.git", "octo", "hello"},
		{"github.com:octo/hello", "octo", "hello"},
		{"  git@github.com:octo/under_score.git\n", "octo", "under_score"},
		// Not a GitHub owner/name.
		{"", "", ""},
		{"hello", "", ""},
		{"/srv/git/hello.git", "", ""},
		{"./octo/hello", "", ""},
		{"C:/octo/hello", "", ""},
		{"https://github.com/octo", "", ""},
		{"https://github.com/octo/hello/tree/main", "", ""},
		{"https://github.com/octo/..", "", ""},
		{"https://github.com/octo/hel%20lo", "", ""},
		{"https:///octo/hello", "", ""},
		{"git@github.com:octo", "", ""},
		{"git@github.com:octo/hello?x=1", "", ""},
	} {
		owner, name, ok := parseRepo(tc.in)
		if owner != tc.owner || name != tc.name || ok != (tc.owner != "") {
			t.Errorf("parseRepo(%q) = %q, %q, %v; want %q, %q", tc.in, owner, name, ok, tc.owner, tc.name)
		}
	}
}

// FuzzParseRepo: repository URLs come from webhooks and hosts; whatever
// parses must be safe to put into the API path.
func FuzzParseRepo(f *testing.F) {
	for _, s := range []string{"https://github.com/octo/hello.git", "git@github.com:octo/hello.git",
		"ssh://git@h:22/o/n", "C:/x/y", "https://h/o/n/x", "", ":", "a:b/c", "https://h/%2e%2e/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		owner, name, ok := parseRepo(s)
		if !ok {
			if owner != "" || name != "" {
				t.Fatalf("parseRepo(%q) failed but returned %q, %q", s, owner, name)
			}
			return
		}
		for _, part := range []string{owner, name} {
			if part == "" || part == "." || part == ".." || strings.ContainsAny(part, "/?#%: \\") {
				t.Fatalf("parseRepo(%q) = %q, %q: unsafe in an API path", s, owner, name)
			}
		}
	})
}
