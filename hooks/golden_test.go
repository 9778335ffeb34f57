package hooks

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json from the current output")

// TestGolden renders the changes of every recorded payload as JSON and
// compares them with testdata/golden: a review of any change in what the
// dialects produce. Regenerate with go test -run TestGolden -update.
func TestGolden(t *testing.T) {
	form := func(name string) []byte {
		return []byte("payload=" + url.QueryEscape(string(readTestdata(t, name))))
	}
	for _, tc := range []struct {
		golden string
		d      Dialect
		ctype  string
		header map[string]string
		body   []byte
	}{
		{"github-push", &GitHub{}, "application/json", map[string]string{"X-GitHub-Event": "push"}, readTestdata(t, "github/push.json")},
		{"github-push-25", &GitHub{}, "application/json", map[string]string{"X-GitHub-Event": "push"}, readTestdata(t, "github/push-25.json")},
		{"github-push-tag", &GitHub{}, "application/json", map[string]string{"X-GitHub-Event": "push"}, readTestdata(t, "github/push-tag.json")},
		{"github-push-tag-existing", &GitHub{}, "application/json", map[string]string{"X-GitHub-Event": "push"}, readTestdata(t, "github/push-tag-existing.json")},
		{"github-pull_request", &GitHub{}, "application/json", map[string]string{"X-GitHub-Event": "pull_request"}, readTestdata(t, "github/pull_request.json")},
		{"bitbucket-post-service", &Bitbucket{}, "application/x-www-form-urlencoded", nil, form("bitbucket/post-service.json")},
		{"bitbucket-cloud-push", &Bitbucket{}, "application/json", map[string]string{"X-Event-Key": "repo:push"}, readTestdata(t, "bitbucket/cloud-push.json")},
		{"bitbucket-server-refs-changed", &Bitbucket{}, "application/json", map[string]string{"X-Event-Key": "repo:refs_changed"}, readTestdata(t, "bitbucket/server-refs-changed.json")},
		{"gitlab-push", &GitLab{}, "application/json", nil, readTestdata(t, "gitlab/push.json")},
		{"gitlab-tag_push", &GitLab{}, "application/json", nil, readTestdata(t, "gitlab/tag_push.json")},
		{"gitlab-merge_request", &GitLab{}, "application/json", nil, readTestdata(t, "gitlab/merge_request.json")},
		{"gitorious-push", Gitorious{}, "application/x-www-form-urlencoded", nil, form("gitorious/push.json")},
		{"googlecode-svn", &GoogleCode{}, "application/json", nil, readTestdata(t, "googlecode/svn.json")},
		{"googlecode-git", &GoogleCode{}, "application/json", nil, readTestdata(t, "googlecode/git.json")},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{tc.d}, Now: func() time.Time { return date("2024-05-06T07:08:09Z") }})
			code, msg, _ := do(t, h, req{path: "/change_hook/" + tc.d.Name(), ctype: tc.ctype, header: tc.header, body: tc.body})
			if code != 200 || len(s.all()) != 1 {
				t.Fatalf("%d %q", code, msg)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(s.all()[0].changes); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			path := filepath.Join("testdata", "golden", tc.golden+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("changes differ from %s (go test -run TestGolden -update, then review the diff):\n%s", path, got)
			}
		})
	}
}
