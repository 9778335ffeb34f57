package hooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/require"
)

// Run one with: go test -run '^$' -fuzz '^FuzzGitHubPush$' -fuzztime 30s ./hooks/

// FuzzGitHubPush holds the JSON decoder (decodeJSON, the JSON v2 engine)
// to encoding/json: both accept the same inputs, and decode them to the same
// push, field by field, unless a member name is duplicated (decodeJSON
// merges a duplicated object into the first, encoding/json's map keeps the
// last). The reference decodes into map[string]any (exact keys, as a forge
// sends them) and picks fields.
func FuzzGitHubPush(f *testing.F) {
	for _, name := range []string{"github/push.json", "github/push-25.json", "github/push-tag.json", "github/push-tag-existing.json", "github/push-delete.json", "github/ping.json"} {
		f.Add(readTestdata(f, name))
	}
	for _, s := range []string{
		`null`, `{}`, `[]`, `{"ref":"refs/heads/a","ref":"refs/tags/b"}`,
		`{"r\u0065f":"x\ud83d\ude00\ud800z\u00e9\"\\\/\b\f\n\r\t"}`,
		`{"commits":[null,{"distinct":null,"added":[null,"a"]},{"id":"\xff\xfe"}]}`,
		`{"repository":{"full_name":"a"},"repository":{"url":"b"}}`,
		`{"Ref":"refs/heads/x","head_commit":{"ID":"y"}}`,
		`{"deleted":true,"x":[1,-0.5e+3,1E9,{"a":[true,false,null]}]}`,
		`{"ref":"a"} x`, `{"ref":01}`, `{"x":-}`, `{"x":1.}`, `{"x":"\u12"}`, "{\"x\":\"\x01\"}", `{"x":tru}`,
		`{"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
	} {
		f.Add([]byte(s))
	}
	g := &GitHub{}
	g.setup()
	f.Fuzz(func(t *testing.T, data []byte) {
		var got githubPushEvent
		err := decodeJSON(data, &got)
		want, refErr := referencePush(data)
		require.Equal(t, refErr == nil, err == nil, "decodeJSON: %v, encoding/json: %v", err, refErr)
		if err != nil {
			return
		}
		normalizePush(&got)
		normalizePush(&want)
		if jsontext.Value(data).IsValid(jsontext.AllowInvalidUTF8(true)) { // no duplicate names
			require.Equal(t, want, got)
		}
		changes, err := g.pushChanges(&got)
		if err != nil {
			var e *Error
			require.True(t, errors.As(err, &e) || errors.Is(err, ErrIgnored), "unclassified error %v", err)
			return
		}
		require.NotEmpty(t, changes)
	})
}

func normalizePush(e *githubPushEvent) {
	if len(e.Commits) == 0 {
		e.Commits = nil
	}
	for i := range e.Commits {
		normalizeCommit(&e.Commits[i])
	}
	if e.HeadCommit != nil {
		normalizeCommit(e.HeadCommit)
	}
}

func normalizeCommit(c *githubCommit) {
	for _, s := range []*[]string{&c.Added, &c.Removed, &c.Modified} {
		if len(*s) == 0 {
			*s = nil
		}
	}
}

// referencePush decodes a push with encoding/json.
func referencePush(data []byte) (githubPushEvent, error) {
	var e githubPushEvent
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return e, err
	}
	var p picker
	top := p.object(v)
	e.Ref = p.str(top["ref"])
	e.Created = p.bool(top["created"])
	e.Deleted = p.bool(top["deleted"])
	repo := p.object(top["repository"])
	e.Repository = githubRepo{FullName: p.str(repo["full_name"]), URL: p.str(repo["url"]), HTMLURL: p.str(repo["html_url"]), CloneURL: p.str(repo["clone_url"])}
	commit := func(cv any) githubCommit {
		m := p.object(cv)
		c := githubCommit{
			ID: p.str(m["id"]), Message: p.str(m["message"]), Timestamp: p.str(m["timestamp"]), URL: p.str(m["url"]),
			Added: p.strList(m["added"]), Removed: p.strList(m["removed"]), Modified: p.strList(m["modified"]),
		}
		if d := m["distinct"]; d != nil {
			b := p.bool(d)
			c.Distinct = &b
		}
		a, cm := p.object(m["author"]), p.object(m["committer"])
		c.Author = githubPerson{Name: p.str(a["name"]), Email: p.str(a["email"])}
		c.Committer = githubPerson{Name: p.str(cm["name"]), Email: p.str(cm["email"])}
		return c
	}
	for _, cv := range p.array(top["commits"]) {
		e.Commits = append(e.Commits, commit(cv))
	}
	if h := top["head_commit"]; h != nil {
		hc := commit(h)
		e.HeadCommit = &hc
	}
	return e, p.err
}

// picker converts generic JSON values, null as the zero value, recording
// the first type mismatch.
type picker struct{ err error }

func (p *picker) mismatch(want string, v any) {
	if p.err == nil {
		p.err = fmt.Errorf("expected %s, got %T", want, v)
	}
}

func (p *picker) object(v any) map[string]any {
	if m, ok := v.(map[string]any); ok || v == nil {
		return m
	}
	p.mismatch("object", v)
	return nil
}

func (p *picker) array(v any) []any {
	if a, ok := v.([]any); ok || v == nil {
		return a
	}
	p.mismatch("array", v)
	return nil
}

func (p *picker) str(v any) string {
	if s, ok := v.(string); ok || v == nil {
		return s
	}
	p.mismatch("string", v)
	return ""
}

func (p *picker) bool(v any) bool {
	if b, ok := v.(bool); ok || v == nil {
		return b
	}
	p.mismatch("bool", v)
	return false
}

func (p *picker) strList(v any) []string {
	var out []string
	for _, s := range p.array(v) {
		out = append(out, p.str(s))
	}
	return out
}

// fuzzHandler sends data to one dialect through the Handler: whatever the
// body, the answer is a 2xx or a 4xx with a reason, never a 500 or a panic.
func fuzzHandler(f *testing.F, d Dialect, path, ctype string, header map[string]string, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add([]byte("{"))
	f.Add([]byte(`{"commits":[{"timestamp":"x"}]}`))
	h, err := New(Options{Dialects: []Dialect{d}, OnChanges: (&sink{}).onChanges, Logger: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := httptest.NewRequest("POST", path, bytes.NewReader(data))
		r.Header.Set("Content-Type", ctype)
		for k, v := range header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 || w.Code < 200 || w.Body.Len() == 0 {
			t.Fatalf("status %d %q", w.Code, w.Body)
		}
	})
}

func formSeed(f *testing.F, name string) []byte {
	return []byte("payload=" + url.QueryEscape(string(readTestdata(f, name))))
}

func FuzzGitHubPullRequest(f *testing.F) {
	fuzzHandler(f, &GitHub{PullRequestActions: []string{"opened", "edited", "closed"}}, "/change_hook/github", "application/json", map[string]string{"X-GitHub-Event": "pull_request"},
		readTestdata(f, "github/pull_request.json"))
}

func FuzzGitHubForm(f *testing.F) {
	fuzzHandler(f, &GitHub{}, "/change_hook/github", "application/x-www-form-urlencoded", map[string]string{"X-GitHub-Event": "push"},
		formSeed(f, "github/push.json"))
}

func FuzzBitbucketPOSTService(f *testing.F) {
	fuzzHandler(f, &Bitbucket{}, "/change_hook/bitbucket", "application/x-www-form-urlencoded", nil, formSeed(f, "bitbucket/post-service.json"))
}

func FuzzBitbucketCloud(f *testing.F) {
	fuzzHandler(f, &Bitbucket{}, "/change_hook/bitbucket", "application/json", map[string]string{"X-Event-Key": "repo:push"},
		readTestdata(f, "bitbucket/cloud-push.json"))
}

func FuzzBitbucketServer(f *testing.F) {
	fuzzHandler(f, &Bitbucket{}, "/change_hook/bitbucket", "application/json", map[string]string{"X-Event-Key": "repo:refs_changed"},
		readTestdata(f, "bitbucket/server-refs-changed.json"))
}

func FuzzGitLab(f *testing.F) {
	fuzzHandler(f, &GitLab{NotePattern: "work", MergeRequestActions: []string{"open", "update", "merge"}}, "/change_hook/gitlab", "application/json",
		map[string]string{"X-Gitlab-Event": "Note Hook"},
		readTestdata(f, "gitlab/push.json"), readTestdata(f, "gitlab/tag_push.json"), readTestdata(f, "gitlab/merge_request.json"),
		readTestdata(f, "gitlab/note-merge_request.json"))
}

func FuzzBitbucketServerPullRequest(f *testing.F) {
	fuzzHandler(f, &Bitbucket{}, "/change_hook/bitbucket", "application/json", map[string]string{"X-Event-Key": "pr:merged"},
		readTestdata(f, "bitbucket/server-pr-opened.json"), readTestdata(f, "bitbucket/server-pr-merged.json"),
		readTestdata(f, "bitbucket/server-pr-from_ref_updated.json"))
}

func FuzzBitbucketCloudPullRequest(f *testing.F) {
	fuzzHandler(f, &Bitbucket{}, "/change_hook/bitbucket", "application/json", map[string]string{"X-Event-Key": "pullrequest:fulfilled"},
		readTestdata(f, "bitbucket/cloud-pullrequest-created.json"), readTestdata(f, "bitbucket/cloud-pullrequest-fulfilled.json"))
}

func FuzzGitorious(f *testing.F) {
	fuzzHandler(f, Gitorious{}, "/change_hook/gitorious", "application/x-www-form-urlencoded", nil, formSeed(f, "gitorious/push.json"))
}

func FuzzGoogleCode(f *testing.F) {
	fuzzHandler(f, &GoogleCode{}, "/change_hook/googlecode", "application/json", nil,
		readTestdata(f, "googlecode/svn.json"), readTestdata(f, "googlecode/git.json"))
}

func FuzzBase(f *testing.F) {
	fuzzHandler(f, Base{}, "/change_hook/base", "application/x-www-form-urlencoded", nil,
		[]byte(`author=a&files=["x"]&properties={"a":1}&when=1.5`))
}
