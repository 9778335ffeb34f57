package hooks

import (
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/heraldci/herald/status"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestGitHubPush(t *testing.T) {
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{&GitHub{Secret: "s", Codebase: "app"}}})
	body := readTestdata(t, "github/push.json")
	code, msg, _ := do(t, h, req{path: "/change_hook/github", ctype: "application/json", body: body,
		header: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sig256("s", body)}})
	if code != 200 {
		t.Fatalf("%d %q", code, msg)
	}
	calls := s.all()
	if len(calls) != 1 || calls[0].dialect != "github" {
		t.Fatalf("calls = %+v", calls)
	}
	checkChanges(t, calls[0].changes, []status.Change{{
		Author:     "Codertocat <21031067+Codertocat@users.noreply.github.com>",
		Committer:  "GitHub <noreply@github.com>",
		Revision:   "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
		Branch:     "main",
		Repository: "https://github.com/Codertocat/Hello-World",
		Project:    "Codertocat/Hello-World",
		Codebase:   "app",
		RevLink:    "https://github.com/Codertocat/Hello-World/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
		When:       date("2019-05-15T15:20:30-04:00"),
		Files:      []string{"docs/release.md", "README.md", "docs/old.md"},
		Comments:   "Update README.md\n\nExplain the build — and the \"release\" steps.",
		Properties: map[string]any{"event": "push", "github_distinct": true},
	}})
}

func TestGitHubPushForm(t *testing.T) {
	// The form encoding Buildbot 0.8.12 documented; signed over the form body.
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{&GitHub{Secret: "s",
		CodebaseFunc: func(event string, payload []byte) string {
			if event == "push" && strings.Contains(string(payload), `"full_name": "Codertocat/Hello-World"`) {
				return "hello"
			}
			return "?"
		}}}})
	body := []byte("payload=" + url.QueryEscape(string(readTestdata(t, "github/push-tag.json"))))
	code, msg, _ := do(t, h, req{path: "/change_hook/github?project=override", ctype: "application/x-www-form-urlencoded", body: body,
		header: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature": "sha1=" + sign(sha1.New, "s", body)}})
	if code != 200 {
		t.Fatalf("%d %q", code, msg)
	}
	// The second commit is not distinct (already on main): a change too,
	// with github_distinct false.
	checkChanges(t, s.all()[0].changes, []status.Change{{
		Author:     "Codertocat <21031067+Codertocat@users.noreply.github.com>",
		Committer:  "Codertocat <21031067+Codertocat@users.noreply.github.com>",
		Revision:   "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
		Branch:     "v1.2.0",
		Category:   "tag",
		Repository: "https://github.com/Codertocat/Hello-World",
		Project:    "override",
		Codebase:   "hello",
		RevLink:    "https://github.com/Codertocat/Hello-World/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
		When:       date("2019-05-15T15:20:30Z"),
		Files:      []string{"VERSION"},
		Comments:   "Release 1.2.0",
		Properties: map[string]any{"event": "push", "github_distinct": true},
	}, {
		Author:     "Codertocat <21031067+Codertocat@users.noreply.github.com>",
		Committer:  "Codertocat <21031067+Codertocat@users.noreply.github.com>",
		Revision:   "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
		Branch:     "v1.2.0",
		Category:   "tag",
		Repository: "https://github.com/Codertocat/Hello-World",
		Project:    "override",
		Codebase:   "hello",
		RevLink:    "https://github.com/Codertocat/Hello-World/commit/6113728f27ae82c7b1a177c8d03f9e96e0adf246",
		When:       date("2019-05-15T15:10:30Z"),
		Files:      []string{"main.go"},
		Comments:   "Already on main",
		Properties: map[string]any{"event": "push", "github_distinct": false},
	}})
}

func TestGitHubPullRequest(t *testing.T) {
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{&GitHub{}}})
	body := readTestdata(t, "github/pull_request.json")
	code, msg, _ := do(t, h, req{path: "/change_hook/github", ctype: "application/json", body: body,
		header: map[string]string{"X-GitHub-Event": "pull_request"}})
	if code != 200 {
		t.Fatalf("%d %q", code, msg)
	}
	checkChanges(t, s.all()[0].changes, []status.Change{{
		Author:     "Octocat",
		Revision:   "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
		Branch:     "refs/pull/2/merge",
		Repository: "https://github.com/Codertocat/Hello-World",
		Project:    "Codertocat/Hello-World",
		Category:   "pull",
		RevLink:    "https://github.com/Codertocat/Hello-World/pull/2",
		When:       date("2019-05-15T15:20:34Z"),
		Comments:   "GitHub Pull Request #2 (1 commit)\nUpdate the README with new information.\n\nThis is a pretty simple change that we need to pull into master.",
		Properties: map[string]any{
			"event": "pull_request", "basename": "master", "github.action": "opened", "github.number": 2,
			"github.title": "Update the README with new information.", "github.html_url": "https://github.com/Codertocat/Hello-World/pull/2",
			"github.state": "open", "github.draft": false, "github.merged": false, "github.merged_at": "", "github.closed_at": "",
			"github.user":     "Octocat",
			"github.head.ref": "changes", "github.head.sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
			"github.head.repo.full_name": "Octocat/Hello-World", "github.head.repo.clone_url": "https://github.com/Octocat/Hello-World.git", "github.head.repo.html_url": "",
			"github.base.ref": "master", "github.base.sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
			"github.base.repo.full_name": "Codertocat/Hello-World", "github.base.repo.clone_url": "https://github.com/Codertocat/Hello-World.git", "github.base.repo.html_url": "",
		},
	}})
}

func TestGitHubPullRequestActions(t *testing.T) {
	edited := strings.Replace(string(readTestdata(t, "github/pull_request.json")), `"action": "opened"`, `"action": "edited"`, 1)
	rebased := strings.Replace(edited, `"number": 2,`, `"number": 2, "changes": {"base": {"ref": {"from": "develop"}}},`, 1)
	for _, tc := range []struct {
		name    string
		body    string
		actions []string
		changes int
		reply   string
	}{
		{"title edited", edited, nil, 0, "ignored: pull request #2 edited without a new base"},
		{"base edited", rebased, nil, 1, "1 change(s) accepted"},
		{"edited not enabled", rebased, []string{"opened"}, 0, "ignored: pull request #2 edited"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{&GitHub{PullRequestActions: tc.actions}}})
			code, msg, _ := do(t, h, req{path: "/change_hook/github", ctype: "application/json", body: []byte(tc.body),
				header: map[string]string{"X-GitHub-Event": "pull_request"}})
			if code != 200 || strings.TrimSpace(msg) != tc.reply {
				t.Fatalf("%d %q, want 200 %q", code, msg, tc.reply)
			}
			if got := len(s.all()); got != tc.changes {
				t.Fatalf("OnChanges called %d times, want %d", got, tc.changes)
			}
		})
	}
}

func TestGitHubIgnored(t *testing.T) {
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{&GitHub{}}})
	for _, tc := range []struct {
		event, file, reply string
	}{
		{"ping", "github/ping.json", "ignored: ping"},
		{"issues", "github/ping.json", `ignored: event "issues" is not handled`},
		{"push", "github/push-delete.json", "ignored: refs/heads/feature deleted"},
	} {
		code, msg, _ := do(t, h, req{path: "/change_hook/github", ctype: "application/json", body: readTestdata(t, tc.file),
			header: map[string]string{"X-GitHub-Event": tc.event}})
		if code != 200 || strings.TrimSpace(msg) != tc.reply {
			t.Errorf("%s: %d %q, want 200 %q", tc.event, code, msg, tc.reply)
		}
	}
	if len(s.all()) != 0 {
		t.Fatal("ignored events reached OnChanges")
	}
}

func TestGitHubCustomEvent(t *testing.T) {
	gh := &GitHub{Events: map[string]func(*Request, []byte) ([]status.Change, error){
		"release": func(r *Request, payload []byte) ([]status.Change, error) {
			return []status.Change{{Revision: "v1", Comments: string(payload), Category: "release"}}, nil
		},
	}}
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{gh}})
	code, _, _ := do(t, h, req{path: "/change_hook/github", ctype: "application/json", body: []byte(`{"action":"published"}`),
		header: map[string]string{"X-GitHub-Event": "release"}})
	if code != 200 || len(s.all()) != 1 || s.all()[0].changes[0].Comments != `{"action":"published"}` {
		t.Fatalf("%d %+v", code, s.all())
	}
}

// TestGitHubSignatures: valid, invalid, missing with and without Strict,
// sha1-only, wrong algorithm prefix, malformed.
func TestGitHubSignatures(t *testing.T) {
	body := readTestdata(t, "github/push.json")
	good256 := sig256("key", body)
	good1 := "sha1=" + sign(sha1.New, "key", body)
	for _, tc := range []struct {
		name   string
		gh     *GitHub
		header map[string]string
		status int
		reason string
	}{
		{"valid sha256", &GitHub{Secret: "key"}, map[string]string{"X-Hub-Signature-256": good256}, 200, "accepted"},
		{"valid sha1 only", &GitHub{Secret: "key", Strict: true}, map[string]string{"X-Hub-Signature": good1}, 200, "accepted"},
		{"sha256 wins over a bad sha1", &GitHub{Secret: "key"}, map[string]string{"X-Hub-Signature-256": good256, "X-Hub-Signature": "sha1=00"}, 200, "accepted"},
		{"invalid sha256", &GitHub{Secret: "key"}, map[string]string{"X-Hub-Signature-256": sig256("other", body)}, 403, "X-Hub-Signature-256 does not match"},
		{"invalid sha1", &GitHub{Secret: "key"}, map[string]string{"X-Hub-Signature": "sha1=" + sign(sha1.New, "other", body)}, 403, "X-Hub-Signature does not match"},
		{"missing, strict", &GitHub{Secret: "key", Strict: true}, nil, 403, "unsigned request"},
		{"missing, not strict", &GitHub{Secret: "key"}, nil, 200, "accepted"},
		{"no secret ignores signature", &GitHub{}, map[string]string{"X-Hub-Signature-256": "sha256=00"}, 200, "accepted"},
		{"wrong prefix", &GitHub{Secret: "key"}, map[string]string{"X-Hub-Signature-256": "sha1=" + sign(sha1.New, "key", body)}, 403, `algorithm "sha1": expected sha256`},
		{"md5 prefix on legacy header", &GitHub{Secret: "key"}, map[string]string{"X-Hub-Signature": "md5=abcd"}, 403, `algorithm "md5": expected sha1`},
		{"no prefix", &GitHub{Secret: "key"}, map[string]string{"X-Hub-Signature-256": strings.TrimPrefix(good256, "sha256=")}, 403, "malformed X-Hub-Signature-256"},
		{"not hex", &GitHub{Secret: "key"}, map[string]string{"X-Hub-Signature-256": "sha256=" + strings.Repeat("zz", 32)}, 403, "does not match"},
		{"truncated", &GitHub{Secret: "key"}, map[string]string{"X-Hub-Signature-256": good256[:len(good256)-2]}, 403, "does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{tc.gh}})
			hdr := merge(map[string]string{"X-GitHub-Event": "push"}, tc.header)
			code, msg, _ := do(t, h, req{path: "/change_hook/github", ctype: "application/json", body: body, header: hdr})
			if code != tc.status || !strings.Contains(msg, tc.reason) {
				t.Fatalf("got %d %q, want %d containing %q", code, msg, tc.status, tc.reason)
			}
			if want := tc.status == 200; want != (len(s.all()) == 1) {
				t.Fatalf("OnChanges calls: %d", len(s.all()))
			}
		})
	}
}

// TestSignatureBeforeDecoding: a bad signature on a payload that would not
// decode is a 403, not a 400: nothing is decoded before verification.
func TestSignatureBeforeDecoding(t *testing.T) {
	h, _, _ := newTestHandler(t, Options{Dialects: []Dialect{&GitHub{Secret: "k"}}})
	code, _, _ := do(t, h, req{path: "/change_hook/github", ctype: "application/json", body: []byte("{not json"),
		header: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + strings.Repeat("0", 64)}})
	if code != 403 {
		t.Fatalf("got %d, want 403", code)
	}
}

// TestGitHubDocumentedSignature checks against the example GitHub documents
// for validating webhook deliveries, not against our own signing helper.
func TestGitHubDocumentedSignature(t *testing.T) {
	h, _, _ := newTestHandler(t, Options{Dialects: []Dialect{&GitHub{Secret: "It's a Secret to Everybody", Strict: true}}})
	for sig, want := range map[string]int{
		"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17": 200,
		"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18": 403,
	} {
		code, msg, _ := do(t, h, req{path: "/change_hook/github", ctype: "application/json", body: []byte("Hello, World!"),
			header: map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": sig}})
		if code != want {
			t.Errorf("%s: %d %q, want %d", sig, code, msg, want)
		}
	}
}

// TestGitHubTagOfExistingCommit: GitHub lists no commit when a tag points
// to a commit pushed before; the head commit makes the change.
func TestGitHubTagOfExistingCommit(t *testing.T) {
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{&GitHub{}}})
	code, msg, _ := do(t, h, req{path: "/change_hook/github", ctype: "application/json", body: readTestdata(t, "github/push-tag-existing.json"),
		header: map[string]string{"X-GitHub-Event": "push"}})
	if code != 200 {
		t.Fatalf("%d %q", code, msg)
	}
	checkChanges(t, s.all()[0].changes, []status.Change{{
		Author:     "Codertocat <21031067+Codertocat@users.noreply.github.com>",
		Committer:  "GitHub <noreply@github.com>",
		Revision:   "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
		Branch:     "v1.2.1",
		Category:   "tag",
		Repository: "https://github.com/Codertocat/Hello-World",
		Project:    "Codertocat/Hello-World",
		RevLink:    "https://github.com/Codertocat/Hello-World/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
		When:       date("2019-05-15T15:20:30Z"),
		Files:      []string{"VERSION"},
		Comments:   "Release 1.2.0",
		Properties: map[string]any{"event": "push", "github_distinct": true},
	}})
}
