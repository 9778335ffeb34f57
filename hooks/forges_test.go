package hooks

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
)

// These tests send the forges' documented payloads (testdata/SOURCES.md)
// and assert every field of every change.

var received = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// deliver sends one request to a Handler serving d (clock: received) and
// returns the status, the reply and the changes OnChanges got.
func deliver(t *testing.T, d Dialect, r req) (int, string, []status.Change) {
	t.Helper()
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{d}, Now: func() time.Time { return received }})
	if r.path == "" {
		r.path = "/change_hook/" + d.Name()
	}
	code, msg, _ := do(t, h, r)
	var changes []status.Change
	for _, c := range s.all() {
		changes = append(changes, c.changes...)
	}
	for i := range changes { // compare instants, not locations
		changes[i].When = changes[i].When.UTC()
	}
	return code, strings.TrimSpace(msg), changes
}

func utc(s string) time.Time { return date(s).UTC() }

// edit rewrites a JSON payload through a map.
func edit(t *testing.T, body []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m))
	f(m)
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return out
}

func obj(m map[string]any, path ...string) map[string]any {
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

func TestGitHubDistinctFalseIsAChange(t *testing.T) {
	// main fast-forwarded to a commit pushed to a feature branch before.
	body := edit(t, readTestdata(t, "github/push.json"), func(m map[string]any) {
		c := m["commits"].([]any)[0].(map[string]any)
		c["distinct"] = false
		m["head_commit"].(map[string]any)["distinct"] = false
	})
	hdr := map[string]string{"X-GitHub-Event": "push"}
	code, msg, changes := deliver(t, &GitHub{}, req{ctype: "application/json", header: hdr, body: body})
	require.Equal(t, 200, code, msg)
	require.Equal(t, []status.Change{{
		Author:     "Codertocat <21031067+Codertocat@users.noreply.github.com>",
		Committer:  "GitHub <noreply@github.com>",
		Revision:   "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
		Branch:     "main",
		Repository: "https://github.com/Codertocat/Hello-World",
		Project:    "Codertocat/Hello-World",
		RevLink:    "https://github.com/Codertocat/Hello-World/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
		When:       utc("2019-05-15T15:20:30-04:00"),
		Files:      []string{"docs/release.md", "README.md", "docs/old.md"},
		Comments:   "Update README.md\n\nExplain the build — and the \"release\" steps.",
		Properties: map[string]any{"event": "push", "github_distinct": false},
	}}, changes)

	code, msg, changes = deliver(t, &GitHub{OnlyDistinct: true}, req{ctype: "application/json", header: hdr, body: body})
	assert.Equal(t, 200, code)
	assert.Equal(t, "ignored: no distinct commit in the push to refs/heads/main (OnlyDistinct)", msg)
	assert.Empty(t, changes)
}

func TestGitHubSkipPatterns(t *testing.T) {
	hdr := map[string]string{"X-GitHub-Event": "push"}
	skip := func(msg string) []byte {
		return edit(t, readTestdata(t, "github/push.json"), func(m map[string]any) {
			m["head_commit"].(map[string]any)["message"] = msg
		})
	}
	for _, tc := range []struct {
		name    string
		gh      *GitHub
		message string
		reply   string
	}{
		{"ci skip", &GitHub{}, "Docs only [ci skip]", `ignored: head commit message matches skip pattern \[ *ci *skip *\]`},
		{"skip ci with spaces", &GitHub{}, "Docs [ skip  ci ]", `ignored: head commit message matches skip pattern \[ *skip *ci *\]`},
		{"off switch", &GitHub{NoSkip: true}, "Docs only [ci skip]", "1 change(s) accepted"},
		{"own pattern", &GitHub{SkipPatterns: []string{`(?i)\bwip\b`}}, "WIP: half done", `ignored: head commit message matches skip pattern (?i)\bwip\b`},
		{"own pattern replaces the defaults", &GitHub{SkipPatterns: []string{`nobuild`}}, "[ci skip]", "1 change(s) accepted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg, _ := deliver(t, tc.gh, req{ctype: "application/json", header: hdr, body: skip(tc.message)})
			assert.Equal(t, 200, code)
			assert.Equal(t, tc.reply, msg)
		})
	}
	_, err := New(Options{OnChanges: (&sink{}).onChanges, Dialects: []Dialect{&GitHub{SkipPatterns: []string{"("}, RepositoryURL: "ssh", PullRequestRef: "pr"}}})
	require.Error(t, err)
	for _, want := range []string{"GitHub.SkipPatterns", `GitHub.RepositoryURL is "ssh"`, `GitHub.PullRequestRef is "pr"`} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestGitHubNewBranchBuildsItsHead(t *testing.T) {
	// A new branch at a commit already on main lists no commit.
	body := edit(t, readTestdata(t, "github/push.json"), func(m map[string]any) {
		m["ref"], m["created"], m["commits"] = "refs/heads/release", true, []any{}
		m["head_commit"].(map[string]any)["distinct"] = false
	})
	code, msg, changes := deliver(t, &GitHub{RepositoryURL: "clone"}, req{ctype: "application/json", header: map[string]string{"X-GitHub-Event": "push"}, body: body})
	require.Equal(t, 200, code, msg)
	require.Len(t, changes, 1)
	assert.Equal(t, "release", changes[0].Branch)
	assert.Equal(t, "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", changes[0].Revision)
	assert.Equal(t, "https://github.com/Codertocat/Hello-World.git", changes[0].Repository)
	assert.Equal(t, false, changes[0].Properties["github_distinct"])

	// Neither commits nor a head commit: the push cannot be built.
	body = edit(t, body, func(m map[string]any) { m["head_commit"] = nil })
	code, msg, _ = deliver(t, &GitHub{}, req{ctype: "application/json", header: map[string]string{"X-GitHub-Event": "push"}, body: body})
	assert.Equal(t, 400, code)
	assert.Equal(t, "bad payload: push to refs/heads/release lists no commit and no head_commit", msg)
}

func TestGitHubPullRequestOptionsAndFiles(t *testing.T) {
	var gotAuth, gotPath string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotPath = r.Header.Get("Authorization"), r.URL.Path
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("page") == "" {
			w.Header().Set("Link", `<`+"http://"+r.Host+r.URL.Path+`?page=2>; rel="next"`)
			_, _ = w.Write([]byte(`[{"filename":"README.md"},{"filename":"docs/a.md"}]`))
			return
		}
		_, _ = w.Write([]byte(`[{"filename":"src/b.go"}]`))
	}))
	t.Cleanup(api.Close)
	gh := &GitHub{PullRequestRef: "head", RepositoryURL: "clone", Token: "ghp_token", APIURL: api.URL + "/api/v3"}
	code, msg, changes := deliver(t, gh, req{ctype: "application/json", header: map[string]string{"X-GitHub-Event": "pull_request"}, body: readTestdata(t, "github/pull_request.json")})
	require.Equal(t, 200, code, msg)
	assert.Equal(t, "Bearer ghp_token", gotAuth)
	assert.Equal(t, "/api/v3/repos/Codertocat/Hello-World/pulls/2/files", gotPath)
	require.Len(t, changes, 1)
	c := changes[0]
	assert.Equal(t, "refs/pull/2/head", c.Branch)
	assert.Equal(t, "https://github.com/Codertocat/Hello-World.git", c.Repository)
	assert.Equal(t, []string{"README.md", "docs/a.md", "src/b.go"}, c.Files)

	// The API failing is the host's problem, not the forge's: 500, so the
	// delivery can be repeated; the token is not in the reply.
	api.Close()
	code, msg, _ = deliver(t, gh, req{ctype: "application/json", header: map[string]string{"X-GitHub-Event": "pull_request"}, body: readTestdata(t, "github/pull_request.json")})
	assert.Equal(t, 500, code)
	assert.NotContains(t, msg, "ghp_token")
}

func TestGitHubPullRequestClosedAndMerged(t *testing.T) {
	body := edit(t, readTestdata(t, "github/pull_request.json"), func(m map[string]any) {
		m["action"] = "closed"
		pr := obj(m, "pull_request")
		pr["state"], pr["merged"], pr["merged_at"], pr["closed_at"] = "closed", true, "2019-05-16T10:00:00Z", "2019-05-16T10:00:00Z"
	})
	hdr := map[string]string{"X-GitHub-Event": "pull_request"}
	code, msg, _ := deliver(t, &GitHub{}, req{ctype: "application/json", header: hdr, body: body})
	assert.Equal(t, 200, code)
	assert.Equal(t, "ignored: pull request #2 closed", msg)

	code, msg, changes := deliver(t, &GitHub{PullRequestActions: []string{"closed"}}, req{ctype: "application/json", header: hdr, body: body})
	require.Equal(t, 200, code, msg)
	require.Len(t, changes, 1)
	p := changes[0].Properties
	assert.Equal(t, "closed", p["github.action"])
	assert.Equal(t, "closed", p["github.state"])
	assert.Equal(t, true, p["github.merged"])
	assert.Equal(t, "2019-05-16T10:00:00Z", p["github.merged_at"])
	assert.Equal(t, "2019-05-16T10:00:00Z", p["github.closed_at"])
}

func TestGitLabDocumentedEvents(t *testing.T) {
	gl := func() *GitLab {
		return &GitLab{NotePattern: `needs work`, MergeRequestActions: []string{"open", "update", "merge"}}
	}
	mr := readTestdata(t, "gitlab/merge_request.json")
	mrProps := func(action, state string) map[string]any {
		return map[string]any{
			"event": "merge_request", "merge_request.iid": 1, "merge_request.title": "MS-Viewport",
			"merge_request.url": "http://example.com/diaspora/merge_requests/1", "merge_request.state": state, "merge_request.action": action,
			"source_branch": "ms-viewport", "source_project_id": 14, "source_repository": "http://example.com/awesome_space/awesome_project.git",
			"source_git_ssh_url": "git@example.com:awesome_space/awesome_project.git",
			"target_branch":      "master", "target_project_id": 14, "target_repository": "http://example.com/awesome_space/awesome_project.git",
			"target_git_ssh_url": "git@example.com:awesome_space/awesome_project.git",
		}
	}
	mrChange := status.Change{
		Author:     "GitLab dev user <gitlabdev@dv6700.(none)>",
		Revision:   "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
		Branch:     "master",
		Repository: "http://example.com/awesome_space/awesome_project.git",
		Project:    "awesome_space/awesome_project",
		Category:   "merge_request",
		RevLink:    "http://example.com/diaspora/merge_requests/1",
		When:       utc("2012-01-03T23:36:29+02:00"),
		Comments:   "MR!1: MS-Viewport\n\nMake the viewport fit on small screens",
	}

	t.Run("merge request updated with new commits", func(t *testing.T) {
		body := edit(t, mr, func(m map[string]any) {
			a := obj(m, "object_attributes")
			a["action"], a["oldrev"] = "update", "0123456789abcdef0123456789abcdef01234567"
		})
		code, msg, changes := deliver(t, gl(), req{ctype: "application/json", body: body})
		require.Equal(t, 200, code, msg)
		want := mrChange
		want.Properties = mrProps("update", "opened")
		require.Equal(t, []status.Change{want}, changes)
	})
	t.Run("merge request updated without commits", func(t *testing.T) {
		body := edit(t, mr, func(m map[string]any) { obj(m, "object_attributes")["action"] = "update" })
		code, msg, changes := deliver(t, gl(), req{ctype: "application/json", body: body})
		assert.Equal(t, 200, code)
		assert.Equal(t, "ignored: merge request !1 updated without new commits", msg)
		assert.Empty(t, changes)
	})
	t.Run("merge request merged", func(t *testing.T) {
		body := edit(t, mr, func(m map[string]any) {
			a := obj(m, "object_attributes")
			a["action"], a["state"], a["merge_commit_sha"] = "merge", "merged", "fedcba9876543210fedcba9876543210fedcba98"
			obj(m, "user")["email"] = "admin@example.com"
		})
		code, msg, changes := deliver(t, gl(), req{ctype: "application/json", body: body})
		require.Equal(t, 200, code, msg)
		want := mrChange
		want.Revision = "fedcba9876543210fedcba9876543210fedcba98"
		want.Author = "Administrator <admin@example.com>"
		want.Properties = mrProps("merge", "merged")
		require.Equal(t, []status.Change{want}, changes)
	})
	t.Run("note on a merge request", func(t *testing.T) {
		code, msg, changes := deliver(t, gl(), req{ctype: "application/json", body: readTestdata(t, "gitlab/note-merge_request.json")})
		require.Equal(t, 200, code, msg)
		require.Equal(t, []status.Change{{
			Author:     "Administrator",
			Revision:   "562e173be03b8ff2efb05345d12df18815438a4b",
			Branch:     "markdown",
			Repository: "http://example.com/gitlab-org/gitlab-test.git",
			Project:    "gitlab-org/gitlab-test",
			Category:   "note",
			RevLink:    "http://example.com/gitlab-org/gitlab-test/merge_requests/1#note_1244",
			When:       utc("2015-04-08T21:00:25-07:00"),
			Comments:   "This MR needs work.",
			Properties: map[string]any{
				"event": "note", "note": "This MR needs work.", "note.url": "http://example.com/gitlab-org/gitlab-test/merge_requests/1#note_1244",
				"merge_request.iid": 1, "merge_request.title": "Tempora et eos debitis quae laborum et.", "merge_request.url": "",
				"merge_request.state": "opened", "merge_request.action": "",
				"source_branch": "master", "source_project_id": 5, "source_repository": "http://example.com/gitlab-org/gitlab-test.git",
				"source_git_ssh_url": "git@example.com:gitlab-org/gitlab-test.git",
				"target_branch":      "markdown", "target_project_id": 5, "target_repository": "http://example.com/gitlab-org/gitlab-test.git",
				"target_git_ssh_url": "git@example.com:gitlab-org/gitlab-test.git",
			},
		}}, changes)
		code, msg, _ = deliver(t, &GitLab{}, req{ctype: "application/json", body: readTestdata(t, "gitlab/note-merge_request.json")})
		assert.Equal(t, 200, code)
		assert.Equal(t, "ignored: note: set GitLab.NotePattern to build on merge request comments", msg)
	})
	t.Run("X-Gitlab-Event when object_kind is absent", func(t *testing.T) {
		body := edit(t, readTestdata(t, "gitlab/tag_push.json"), func(m map[string]any) { delete(m, "object_kind") })
		code, msg, changes := deliver(t, &GitLab{}, req{ctype: "application/json", body: body, header: map[string]string{"X-Gitlab-Event": "Tag Push Hook"}})
		require.Equal(t, 200, code, msg)
		require.Equal(t, []status.Change{{
			Author:     "John Smith <john@example.com>",
			Revision:   "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7",
			Branch:     "v1.0.0",
			Category:   "tag",
			Repository: "http://example.com/jsmith/example.git",
			Project:    "jsmith/example",
			When:       received, // the payload has no commit time
			Comments:   "tag v1.0.0",
			Properties: map[string]any{"event": "tag_push"},
		}}, changes)

		code, msg, _ = deliver(t, &GitLab{}, req{ctype: "application/json", body: body})
		assert.Equal(t, 400, code)
		assert.Equal(t, "bad payload: no object_kind and no X-Gitlab-Event header: is this a GitLab webhook?", msg)
		code, msg, _ = deliver(t, &GitLab{}, req{ctype: "application/json", body: body, header: map[string]string{"X-Gitlab-Event": "Pipeline Hook"}})
		assert.Equal(t, 200, code)
		assert.Equal(t, `ignored: event "Pipeline Hook" is not handled`, msg)
	})
}

func TestBitbucketServerNativeEvents(t *testing.T) {
	bb := func() *Bitbucket { return &Bitbucket{Codebase: "web"} }
	send := func(key, file string) (int, string, []status.Change) {
		return deliver(t, bb(), req{ctype: "application/json", body: readTestdata(t, file), header: map[string]string{"X-Event-Key": key}})
	}
	const (
		repo = "https://server.bitbucket.local/scm/~gopher/webhook-test.git"
		url  = "https://server.bitbucket.local/users/gopher/repos/webhook-test/pull-requests/5"
	)
	props := func(key, state, from, previous string) map[string]any {
		return map[string]any{
			"event": key, "pullrequesturl": url, "bitbucket.pr.id": 5, "bitbucket.pr.title": "Update README",
			"bitbucket.pr.state": state, "bitbucket.pr.author": "Foo Bar <gopher@foo.bar>",
			"bitbucket.source.branch": "feature/wip", "bitbucket.source.commit": from, "bitbucket.source.repository": repo,
			"bitbucket.target.branch": "master", "bitbucket.target.commit": "cde6c45a4210afe81638aa1f3aa960d633c66a90", "bitbucket.target.repository": repo,
			"bitbucket.previous_from_hash": previous,
		}
	}
	t.Run("pr:opened", func(t *testing.T) {
		code, msg, changes := send("pr:opened", "bitbucket/server-pr-opened.json")
		require.Equal(t, 200, code, msg)
		require.Equal(t, []status.Change{{
			Author:     "Foo Bar <gopher@foo.bar>",
			Revision:   "32a0b8a740c2963c6f56bd8baf3dc05683d299e0",
			Branch:     "refs/pull-requests/5/merge",
			Repository: repo,
			Project:    "~gopher",
			Codebase:   "web",
			Category:   "pull",
			RevLink:    url,
			When:       utc("2019-03-01T09:31:15Z"),
			Comments:   "pull-request #5: Update README\n" + url,
			Properties: props("pr:opened", "OPEN", "32a0b8a740c2963c6f56bd8baf3dc05683d299e0", ""),
		}}, changes)
	})
	t.Run("pr:from_ref_updated", func(t *testing.T) {
		code, msg, changes := send("pr:from_ref_updated", "bitbucket/server-pr-from_ref_updated.json")
		require.Equal(t, 200, code, msg)
		require.Equal(t, []status.Change{{
			Author:     "Foo Bar <gopher@foo.bar>",
			Revision:   "a1d8e5b1c5fbd2e5f9a0b7a0a0c8e4d6e3f1b2c4",
			Branch:     "refs/pull-requests/5/merge",
			Repository: repo,
			Project:    "~gopher",
			Codebase:   "web",
			Category:   "pull",
			RevLink:    url,
			When:       utc("2019-03-01T09:35:02Z"),
			Comments:   "pull-request #5: Update README\n" + url,
			Properties: props("pr:from_ref_updated", "OPEN", "a1d8e5b1c5fbd2e5f9a0b7a0a0c8e4d6e3f1b2c4", "32a0b8a740c2963c6f56bd8baf3dc05683d299e0"),
		}}, changes)
	})
	t.Run("pr:merged", func(t *testing.T) {
		code, msg, changes := send("pr:merged", "bitbucket/server-pr-merged.json")
		require.Equal(t, 200, code, msg)
		require.Equal(t, []status.Change{{
			Author:     "Foo Bar <gopher@foo.bar>",
			Revision:   "cbf26be7bfc8394906abbd571498fb8d28888b58",
			Branch:     "master",
			Repository: repo,
			Project:    "~gopher",
			Codebase:   "web",
			Category:   "pull-fulfilled",
			RevLink:    url,
			When:       utc("2019-03-01T09:37:14Z"),
			Comments:   "pull-request #5: Update README\n" + url,
			Properties: props("pr:merged", "MERGED", "32a0b8a740c2963c6f56bd8baf3dc05683d299e0", ""),
		}}, changes)
	})
	t.Run("repo:refs_changed deleting a branch", func(t *testing.T) {
		code, msg, changes := send("repo:refs_changed", "bitbucket/server-refs-deleted.json")
		assert.Equal(t, 200, code)
		assert.Equal(t, "ignored: repo:refs_changed only deletes refs", msg)
		assert.Empty(t, changes)
	})
	t.Run("repo:refs_changed without a branch or tag is a 400", func(t *testing.T) {
		for _, tc := range []struct{ name, body, reply string }{
			{"no changes", `{"date":"2019-03-01T10:37:14+0100","changes":[]}`, "bad payload: repo:refs_changed lists no changed ref"},
			{"notes ref", `{"changes":[{"ref":{"id":"refs/notes/commits"},"toHash":"ab","type":"UPDATE"}]}`, `bad payload: repo:refs_changed names no branch or tag (refs "refs/notes/commits")`},
		} {
			code, msg, changes := deliver(t, bb(), req{ctype: "application/json", body: []byte(tc.body), header: map[string]string{"X-Event-Key": "repo:refs_changed"}})
			assert.Equal(t, 400, code, tc.name)
			assert.Equal(t, tc.reply, msg, tc.name)
			assert.Empty(t, changes, tc.name)
		}
	})
}

func TestBitbucketCloudPullRequests(t *testing.T) {
	props := func(key string) map[string]any {
		return map[string]any{
			"event": key, "pullrequesturl": "https://api.bitbucket.org/pullrequest_id", "bitbucket.pr.id": 1,
			"bitbucket.pr.title": "Title of pull request", "bitbucket.pr.state": "OPEN|MERGED|DECLINED",
			"bitbucket.source.branch": "branch2", "bitbucket.source.commit": "d3022fc0ca3d",
			"bitbucket.source.repository": "https://api.bitbucket.org/bitbucket/bitbucket",
			"bitbucket.target.branch":     "master", "bitbucket.target.commit": "ce5965ddd289",
			"bitbucket.target.repository": "https://api.bitbucket.org/bitbucket/bitbucket",
		}
	}
	change := status.Change{
		Author:     "Emma",
		Revision:   "d3022fc0ca3d",
		Branch:     "branch2",
		Repository: "https://api.bitbucket.org/bitbucket/bitbucket",
		Project:    "team_name/repo_name",
		Codebase:   "app",
		Category:   "pull",
		RevLink:    "https://api.bitbucket.org/pullrequest_id",
		When:       utc("2015-04-06T15:23:38.205705Z"),
		Comments:   "pull-request #1: Title of pull request\nhttps://api.bitbucket.org/pullrequest_id",
	}
	for _, key := range []string{"pullrequest:created", "pullrequest:updated"} {
		code, msg, changes := deliver(t, &Bitbucket{Codebase: "app"}, req{ctype: "application/json", body: readTestdata(t, "bitbucket/cloud-pullrequest-created.json"), header: map[string]string{"X-Event-Key": key}})
		require.Equal(t, 200, code, msg)
		want := change
		want.Properties = props(key)
		require.Equal(t, []status.Change{want}, changes, key)
	}
	code, msg, changes := deliver(t, &Bitbucket{Codebase: "app"}, req{ctype: "application/json", body: readTestdata(t, "bitbucket/cloud-pullrequest-fulfilled.json"), header: map[string]string{"X-Event-Key": "pullrequest:fulfilled"}})
	require.Equal(t, 200, code, msg)
	want := change
	want.Revision, want.Branch, want.Category = "764413d85e29", "master", "pull-fulfilled"
	want.Properties = props("pullrequest:fulfilled")
	require.Equal(t, []status.Change{want}, changes)
}

func TestBitbucketRoutesByContentTypeFirst(t *testing.T) {
	// A POST-service form with an X-Event-Key header (a proxy, or a
	// migrated hook) is still the POST service.
	body := []byte("payload=" + url.QueryEscape(string(readTestdata(t, "bitbucket/post-service.json"))))
	code, msg, changes := deliver(t, &Bitbucket{}, req{ctype: "application/x-www-form-urlencoded", body: body, header: map[string]string{"X-Event-Key": "repo:push"}})
	require.Equal(t, 200, code, msg)
	require.NotEmpty(t, changes)
	assert.Equal(t, "git", changes[0].Properties["scm"])
	code, msg, _ = deliver(t, &Bitbucket{}, req{ctype: "application/json", body: []byte(`{}`)})
	assert.Equal(t, 400, code)
	assert.Equal(t, "JSON payload without X-Event-Key header: is this a Bitbucket webhook?", msg)
}
