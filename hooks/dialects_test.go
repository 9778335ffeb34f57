package hooks

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"mime/multipart"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
)

func TestBase(t *testing.T) {
	form := url.Values{
		"who":        {"Jane Doe <jane@example.org>"},
		"comments":   {"Fix the build"},
		"revision":   {"abc123"},
		"when":       {"1700000000.5"},
		"branch":     {"main"},
		"category":   {"hotfix"},
		"revlink":    {"https://git.example.org/c/abc123"},
		"repository": {"https://git.example.org/app.git"},
		"project":    {"app"},
		"codebase":   {"app"},
		"files":      {`["a.go", "b/c.go"]`},
		"properties": {`{"urgent": true, "ticket": 42}`},
	}
	want := []status.Change{{
		Author: "Jane Doe <jane@example.org>", Comments: "Fix the build", Revision: "abc123",
		When: time.Unix(1700000000, 5e8), Branch: "main", Category: "hotfix",
		RevLink: "https://git.example.org/c/abc123", Repository: "https://git.example.org/app.git",
		Project: "app", Codebase: "app", Files: []string{"a.go", "b/c.go"},
		Properties: map[string]any{"urgent": true, "ticket": float64(42)},
	}}
	t.Run("urlencoded", func(t *testing.T) {
		h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{Base{}}})
		code, msg, _ := do(t, h, req{path: "/change_hook/base", ctype: "application/x-www-form-urlencoded", body: []byte(form.Encode())})
		if code != 200 {
			t.Fatalf("%d %q", code, msg)
		}
		checkChanges(t, s.all()[0].changes, want)
	})
	t.Run("multipart and author wins over who", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, vs := range form {
			_ = mw.WriteField(k, vs[0])
		}
		_ = mw.WriteField("author", "Jane Doe <jane@example.org>")
		mw.Close()
		h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{Base{}}})
		code, msg, _ := do(t, h, req{path: "/change_hook/base", ctype: mw.FormDataContentType(), body: buf.Bytes()})
		if code != 200 {
			t.Fatalf("%d %q", code, msg)
		}
		checkChanges(t, s.all()[0].changes, want)
	})
	for _, tc := range []struct{ name, body, reason string }{
		{"bad when", "when=noon", `when "noon" is not a Unix time`},
		{"bad properties", "properties=[1]", "properties must be a JSON object"},
		{"bad form", "a=%zz", "malformed form body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _, _ := newTestHandler(t, Options{Dialects: []Dialect{Base{}}})
			code, msg, _ := do(t, h, req{path: "/change_hook/base", ctype: "application/x-www-form-urlencoded", body: []byte(tc.body)})
			if code != 400 || !strings.Contains(msg, tc.reason) {
				t.Fatalf("%d %q, want 400 %q", code, msg, tc.reason)
			}
		})
	}
}

func TestBitbucketPOSTService(t *testing.T) {
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{&Bitbucket{}}})
	body := "payload=" + url.QueryEscape(string(readTestdata(t, "bitbucket/post-service.json")))
	code, msg, _ := do(t, h, req{path: "/change_hook/bitbucket?project=px", ctype: "application/x-www-form-urlencoded", body: []byte(body)})
	if code != 200 {
		t.Fatalf("%d %q", code, msg)
	}
	checkChanges(t, s.all()[0].changes, []status.Change{{
		Author:     "Marcus Bertrand <marcus@somedomain.com>",
		Revision:   "620ade18607ac42d872b568bb92acaa9a28620e9",
		Branch:     "master",
		Repository: "https://bitbucket.org/marcus/project-x/",
		Project:    "px",
		RevLink:    "https://bitbucket.org/marcus/project-x/commits/620ade18607ac42d872b568bb92acaa9a28620e9",
		When:       date("2012-05-30T03:58:56Z"),
		Files:      []string{"somefile.py", "docs/new.rst"},
		Comments:   "Added some more things to somefile.py\n",
		Properties: map[string]any{"scm": "git"},
	}})
}

func TestBitbucketCloudPush(t *testing.T) {
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{&Bitbucket{}}})
	code, msg, _ := do(t, h, req{path: "/change_hook/bitbucket", ctype: "application/json", body: readTestdata(t, "bitbucket/cloud-push.json"),
		header: map[string]string{"X-Event-Key": "repo:push"}})
	if code != 200 {
		t.Fatalf("%d %q", code, msg)
	}
	base := status.Change{
		Author:     "Emma Example <emma@example.com>",
		Revision:   "709d658dc5b6d6afcd46049c2f332ee3f515a67d",
		Branch:     "main",
		Repository: "https://bitbucket.org/team/project-x",
		Project:    "team/project-x",
		RevLink:    "https://bitbucket.org/team/project-x/commits/709d658dc5b6d6afcd46049c2f332ee3f515a67d",
		When:       date("2024-03-12T10:41:16Z"),
		Comments:   "Fix the release notes\n",
		Properties: map[string]any{"event": "repo:push", "scm": "git"},
	}
	tag := base.Clone()
	tag.Branch, tag.Category = "v2.0", "tag"
	// The deleted branch in between makes no change.
	checkChanges(t, s.all()[0].changes, []status.Change{base, tag})
}

func TestBitbucketServerRefsChanged(t *testing.T) {
	body := readTestdata(t, "bitbucket/server-refs-changed.json")
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{&Bitbucket{Secret: "srv", Strict: true}}})
	hdr := map[string]string{"X-Event-Key": "repo:refs_changed", "X-Hub-Signature": sig256("srv", body)}
	code, msg, _ := do(t, h, req{path: "/change_hook/bitbucket", ctype: "application/json; charset=UTF-8", body: body, header: hdr})
	if code != 200 {
		t.Fatalf("%d %q", code, msg)
	}
	checkChanges(t, s.all()[0].changes, []status.Change{{
		Author:     "Administrator <admin@example.com>",
		Revision:   "178864a7d521b6f5e720b386b2c2b0ef8563e0dc",
		Branch:     "master",
		Repository: "https://bitbucket.example.com/scm/proj/repository.git",
		Project:    "PROJ",
		RevLink:    "https://bitbucket.example.com/projects/PROJ/repos/repository/commits/178864a7d521b6f5e720b386b2c2b0ef8563e0dc",
		When:       date("2017-09-19T09:45:32+10:00"),
		Comments:   "Bitbucket Server update of refs/heads/master",
		Properties: map[string]any{"event": "repo:refs_changed"},
	}})

	for _, tc := range []struct {
		name   string
		header map[string]string
		status int
	}{
		{"bad signature", map[string]string{"X-Event-Key": "repo:refs_changed", "X-Hub-Signature": sig256("nope", body)}, 403},
		{"unsigned, strict", map[string]string{"X-Event-Key": "repo:refs_changed"}, 403},
		{"ping", map[string]string{"X-Event-Key": "diagnostics:ping", "X-Hub-Signature": sig256("srv", body)}, 200},
	} {
		code, msg, _ := do(t, h, req{path: "/change_hook/bitbucket", ctype: "application/json", body: body, header: tc.header})
		if code != tc.status {
			t.Errorf("%s: %d %q, want %d", tc.name, code, msg, tc.status)
		}
	}
	if len(s.all()) != 1 {
		t.Fatalf("OnChanges called %d times, want 1", len(s.all()))
	}
}

func TestGitLab(t *testing.T) {
	gl := &GitLab{Secret: "glpat"}
	received := date("2024-05-06T07:08:09Z")
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{gl}, Now: func() time.Time { return received }})
	send := func(file, query string) (int, string) {
		code, msg, _ := do(t, h, req{path: "/change_hook/gitlab" + query, ctype: "application/json", body: readTestdata(t, file),
			header: map[string]string{"X-Gitlab-Token": "glpat"}})
		return code, msg
	}
	if code, msg := send("gitlab/push.json", "?project=dia&codebase=web"); code != 200 {
		t.Fatalf("push: %d %q", code, msg)
	}
	checkChanges(t, s.all()[0].changes, []status.Change{{
		Author:     "Jordi Mallach <jordi@softcatala.org>",
		Revision:   "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
		Branch:     "master",
		Repository: "http://example.com/mike/diaspora.git",
		Project:    "dia",
		Codebase:   "web",
		RevLink:    "http://example.com/mike/diaspora/commit/b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
		When:       date("2011-12-12T14:27:31+02:00"),
		Files:      []string{"CHANGELOG", "app/controller/application.rb"},
		Comments:   "Update Catalan translation to e38cb41.\n\nSee https://gitlab.com/gitlab-org/gitlab for more information",
		Properties: map[string]any{"event": "push"},
	}, {
		Author:     "GitLab dev user <gitlabdev@dv6700.(none)>",
		Revision:   "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
		Branch:     "master",
		Repository: "http://example.com/mike/diaspora.git",
		Project:    "dia",
		Codebase:   "web",
		RevLink:    "http://example.com/mike/diaspora/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
		When:       date("2012-01-03T23:36:29+02:00"),
		Files:      []string{"CHANGELOG", "app/controller/application.rb"},
		Comments:   "fixed readme",
		Properties: map[string]any{"event": "push"},
	}})

	if code, msg := send("gitlab/tag_push.json", ""); code != 200 {
		t.Fatalf("tag_push: %d %q", code, msg)
	}
	checkChanges(t, s.all()[1].changes, []status.Change{{
		Author:     "John Smith <john@example.com>",
		Revision:   "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7",
		Branch:     "v1.0.0",
		Category:   "tag",
		Repository: "http://example.com/jsmith/example.git",
		Project:    "jsmith/example",
		When:       received,
		Comments:   "tag v1.0.0",
		Properties: map[string]any{"event": "tag_push"},
	}})

	if code, msg := send("gitlab/merge_request.json", ""); code != 200 {
		t.Fatalf("merge_request: %d %q", code, msg)
	}
	checkChanges(t, s.all()[2].changes, []status.Change{{
		Author:     "GitLab dev user <gitlabdev@dv6700.(none)>",
		Revision:   "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
		Branch:     "master",
		Repository: "http://example.com/awesome_space/awesome_project.git",
		Project:    "awesome_space/awesome_project",
		Category:   "merge_request",
		RevLink:    "http://example.com/diaspora/merge_requests/1",
		When:       date("2012-01-03T23:36:29+02:00"),
		Comments:   "MR!1: MS-Viewport\n\nMake the viewport fit on small screens",
		Properties: map[string]any{
			"event": "merge_request", "merge_request.iid": 1, "merge_request.title": "MS-Viewport",
			"merge_request.url": "http://example.com/diaspora/merge_requests/1", "merge_request.state": "opened", "merge_request.action": "open",
			"source_project_id": 14, "target_project_id": 14,
			"source_branch": "ms-viewport", "source_repository": "http://example.com/awesome_space/awesome_project.git",
			"source_git_ssh_url": "git@example.com:awesome_space/awesome_project.git",
			"target_branch":      "master", "target_repository": "http://example.com/awesome_space/awesome_project.git",
			"target_git_ssh_url": "git@example.com:awesome_space/awesome_project.git",
		},
	}})

	for _, tc := range []struct {
		name, token string
		status      int
	}{
		{"wrong token", "glpat-x", 403},
		{"missing token", "", 403},
	} {
		code, msg, _ := do(t, h, req{path: "/change_hook/gitlab", ctype: "application/json", body: readTestdata(t, "gitlab/push.json"),
			header: map[string]string{"X-Gitlab-Token": tc.token}})
		if code != tc.status {
			t.Errorf("%s: %d %q, want %d", tc.name, code, msg, tc.status)
		}
	}
	mrClosed := strings.Replace(string(readTestdata(t, "gitlab/merge_request.json")), `"action": "open"`, `"action": "close"`, 1)
	code, msg, _ := do(t, h, req{path: "/change_hook/gitlab", ctype: "application/json", body: []byte(mrClosed), header: map[string]string{"X-Gitlab-Token": "glpat"}})
	if code != 200 || !strings.Contains(msg, "ignored: merge request !1 close") {
		t.Errorf("closed MR: %d %q", code, msg)
	}
	if len(s.all()) != 3 {
		t.Fatalf("OnChanges called %d times, want 3", len(s.all()))
	}
}

func TestGitorious(t *testing.T) {
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{Gitorious{}}})
	body := "payload=" + url.QueryEscape(string(readTestdata(t, "gitorious/push.json")))
	code, msg, _ := do(t, h, req{path: "/change_hook/gitorious", ctype: "application/x-www-form-urlencoded", body: []byte(body)})
	if code != 200 {
		t.Fatalf("%d %q", code, msg)
	}
	checkChanges(t, s.all()[0].changes, []status.Change{{
		Author:     "jason <jason@nospam.org>",
		Revision:   "df5744f7bc8663b39717f87742dc94f52ccbf4dd",
		Branch:     "new_look",
		Repository: "http://gitorious.org/q/mainline",
		Project:    "q",
		RevLink:    "http://gitorious.org/q/mainline/commit/df5744f7bc8663b39717f87742dc94f52ccbf4dd",
		When:       date("2012-01-10T11:02:27-07:00"),
		Comments:   "added a place to put the docstring for Book",
	}})
	deleted := strings.Replace(string(readTestdata(t, "gitorious/push.json")), `"after": "df5744f7bc8663b39717f87742dc94f52ccbf4dd"`, `"after": "0000000000000000000000000000000000000000"`, 1)
	code, msg, _ = do(t, h, req{path: "/change_hook/gitorious", ctype: "application/x-www-form-urlencoded", body: []byte("payload=" + url.QueryEscape(deleted))})
	if code != 200 || !strings.Contains(msg, "deleted") || len(s.all()) != 1 {
		t.Fatalf("deletion: %d %q", code, msg)
	}
}

func TestGoogleCode(t *testing.T) {
	gc := &GoogleCode{SecretKey: "FSP3p-Ghdn4T0oqX", Branch: "trunk"}
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{gc}})
	svn := readTestdata(t, "googlecode/svn.json")
	mac := func(b []byte) map[string]string {
		return map[string]string{"Google-Code-Project-Hosting-Hook-Hmac": sign(md5.New, "FSP3p-Ghdn4T0oqX", b)}
	}
	code, msg, _ := do(t, h, req{path: "/change_hook/googlecode", ctype: "application/json; charset=UTF-8", body: svn, header: mac(svn)})
	if code != 200 {
		t.Fatalf("%d %q", code, msg)
	}
	checkChanges(t, s.all()[0].changes, []status.Change{{
		Author:     "mparent61",
		Revision:   "33",
		Branch:     "trunk",
		Repository: "http://atom-pub.googlecode.com/svn/",
		Project:    "atom-pub",
		RevLink:    "http://atom-pub.googlecode.com/svn-history/r33/",
		When:       time.Unix(1229470699, 0),
		Files:      []string{"/trunk/atom_pub/__init__.py", "/trunk/atom_pub/old.py", "/trunk/setup.py"},
		Comments:   "working on easy_install",
	}})
	git := readTestdata(t, "googlecode/git.json")
	if code, msg, _ := do(t, h, req{path: "/change_hook/googlecode", ctype: "application/json", body: git, header: mac(git)}); code != 200 {
		t.Fatalf("git: %d %q", code, msg)
	}
	if got := s.all()[1].changes; len(got) != 2 || got[0].Revision != "68e5df283a8e751cdbf95516b20357b2c46f93d4" || got[1].Files[0] != "/hello.c" {
		t.Fatalf("git changes: %+v", got)
	}
	for name, hdr := range map[string]map[string]string{"bad hmac": mac(git), "no hmac": nil} {
		if code, msg, _ := do(t, h, req{path: "/change_hook/googlecode", ctype: "application/json", body: svn, header: hdr}); code != 403 {
			t.Errorf("%s: %d %q, want 403", name, code, msg)
		}
	}
	// Without a key, the default branch.
	h2, s2, _ := newTestHandler(t, Options{Dialects: []Dialect{&GoogleCode{}}})
	if code, msg, _ := do(t, h2, req{path: "/change_hook/googlecode", body: svn}); code != 200 || s2.all()[0].changes[0].Branch != "default" {
		t.Fatalf("no key: %d %q", code, msg)
	}
}

type fakePollers struct {
	names []string
	fail  string // Poll of this name fails

	mu     sync.Mutex
	polled []string
}

func (f *fakePollers) PollerNames() []string { return f.names }

func (f *fakePollers) Poll(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == f.fail {
		return errors.New("svn: connection refused")
	}
	f.polled = append(f.polled, name)
	return nil
}

func TestPoller(t *testing.T) {
	const svn, git, hg = "https://svn.example.org/repo", "https://git.example.org/app.git", "https://hg.example.org/tool"
	// curl -F poller=... as in Buildbot's documentation: multipart.
	var multi bytes.Buffer
	mw := multipart.NewWriter(&multi)
	_ = mw.WriteField("poller", svn)
	mw.Close()
	for _, tc := range []struct {
		name    string
		allowed []string
		r       req
		status  int
		polled  []string
		reason  string
	}{
		{"GET all", nil, req{method: "GET", path: "/change_hook/poller"}, 200, []string{svn, git, hg}, "polled 3 source(s)"},
		{"GET one", nil, req{method: "GET", path: "/change_hook/poller?poller=" + url.QueryEscape(git)}, 200, []string{git}, "polled 1"},
		{"POST form", nil, req{path: "/change_hook/poller", ctype: "application/x-www-form-urlencoded", body: []byte("poller=" + url.QueryEscape(svn) + "&poller=" + url.QueryEscape(hg))}, 200, []string{svn, hg}, "polled 2"},
		{"curl -F", nil, req{path: "/change_hook/poller", ctype: mw.FormDataContentType(), body: multi.Bytes()}, 200, []string{svn}, "polled 1"},
		{"POST JSON", nil, req{path: "/change_hook/poller", ctype: "application/json", body: []byte(`{"poller":"x"}`)}, 415, nil, "not supported"},
		{"all allowed only", []string{git}, req{method: "GET", path: "/change_hook/poller"}, 200, []string{git}, "polled 1"},
		{"disallowed", []string{git}, req{method: "GET", path: "/change_hook/poller?poller=" + url.QueryEscape(svn)}, 400, nil, "not allowed pollers: " + svn},
		{"unknown", nil, req{method: "GET", path: "/change_hook/poller?poller=cvs"}, 400, nil, "pollers: cvs"},
		{"poll fails", nil, req{method: "GET", path: "/change_hook/poller?poller=" + url.QueryEscape(hg)}, 500, nil, "internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fp := &fakePollers{names: []string{svn, git, hg}, fail: hg}
			if tc.name != "poll fails" {
				fp.fail = ""
			}
			h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{&Poller{Pollers: fp, Allowed: tc.allowed}}})
			code, msg, _ := do(t, h, tc.r)
			if code != tc.status || !strings.Contains(msg, tc.reason) {
				t.Fatalf("got %d %q, want %d containing %q", code, msg, tc.status, tc.reason)
			}
			if !slices.Equal(fp.polled, tc.polled) {
				t.Fatalf("polled %q, want %q", fp.polled, tc.polled)
			}
			if len(s.all()) != 0 {
				t.Fatal("the poller made changes")
			}
		})
	}
}
