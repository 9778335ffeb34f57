package gitlabtest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/internal/testkit"

	"github.com/heraldci/herald/gitlab/gitlabtest"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

func do(t *testing.T, srv *httptest.Server, method, path, body string, header ...string) (int, http.Header, map[string]any) {
	t.Helper()
	code, h, raw := testkit.Do(t, srv.Client(), method, srv.URL+path, body, append([]string{"PRIVATE-TOKEN", "tok"}, header...)...)
	var v map[string]any
	_ = json.Unmarshal(raw, &v)
	return code, h, v
}

const statusPath = "/api/v4/projects/group%2Fapp/statuses/" + sha

func TestChecksAsGitLabDoes(t *testing.T) {
	s := gitlabtest.New(gitlabtest.Options{Token: "tok", Projects: []string{"group/app"}})
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, tc := range []struct {
		name, method, path, body string
		header                   []string
		code                     int
		message, problem         string
	}{
		{name: "running", method: "POST", path: statusPath, body: `{"state":"running","name":"ci"}`, code: 201},
		{name: "running again", method: "POST", path: statusPath, body: `{"state":"running","name":"ci"}`, code: 400, message: `Cannot transition status via :run from :running (Reason(s): Status cannot transition via "run")`},
		{name: "success", method: "POST", path: statusPath, body: `{"state":"success","name":"ci"}`, code: 201},
		{name: "by ID, form", method: "POST", path: "/api/v4/projects/1/statuses/" + sha, body: "state=pending&name=other", header: []string{"Content-Type", "application/x-www-form-urlencoded"}, code: 201},
		{name: "bearer", method: "POST", path: statusPath, body: `{"state":"failed"}`, header: []string{"PRIVATE-TOKEN", "", "Authorization", "Bearer tok"}, code: 201},
		{name: "wrong token", method: "POST", path: statusPath, body: `{"state":"failed"}`, header: []string{"PRIVATE-TOKEN", "nope"}, code: 401, message: "401 Unauthorized"},
		{name: "slash not encoded", method: "POST", path: "/api/v4/projects/group/app/statuses/" + sha, body: `{}`, code: 404},
		{name: "unknown project", method: "POST", path: "/api/v4/projects/group%2Fnope/statuses/" + sha, body: `{"state":"failed"}`, code: 404, message: "404 Project Not Found"},
		{name: "GET", method: "GET", path: statusPath, code: 405},
		{name: "no state", method: "POST", path: statusPath, body: `{"name":"x"}`, code: 400, problem: "without state"},
		{name: "bad state", method: "POST", path: statusPath, body: `{"state":"green"}`, code: 400, problem: `state "green"`},
		{name: "long description", method: "POST", path: statusPath, body: `{"state":"failed","description":"` + strings.Repeat("é", 256) + `"}`, code: 400, problem: "description of 256"},
		{name: "unknown field", method: "POST", path: statusPath, body: `{"state":"failed","colour":"red"}`, code: 201, problem: `unknown field "colour"`},
		{name: "bad commit", method: "POST", path: "/api/v4/projects/group%2Fapp/statuses/trunk", body: `{"state":"failed"}`, code: 404, message: "404 Commit Not Found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testkit.NewProblem(t, s.Problems, tc.problem, func() {
				code, _, body := do(t, srv, tc.method, tc.path, tc.body, tc.header...)
				assert.Equal(t, tc.code, code)
				if tc.message != "" {
					assert.Equal(t, tc.message, body["message"])
				}
			})
		})
	}
	st := s.Statuses("GROUP/app", sha)
	require.Len(t, st, 4)
	assert.Equal(t, []string{"success", "pending", "failed", "failed"}, []string{st[0].State, st[1].State, st[2].State, st[3].State})
	assert.Equal(t, "default", st[2].Name, "a status without a name")
}

func TestRateLimit(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := gitlabtest.New(gitlabtest.Options{RateLimit: 1, RateWindow: time.Minute, Now: func() time.Time { return now }})
	srv := httptest.NewServer(s)
	defer srv.Close()
	code, _, _ := do(t, srv, "POST", statusPath, `{"state":"running"}`)
	require.Equal(t, 201, code)
	now = now.Add(15 * time.Second)
	code, h, _ := do(t, srv, "POST", statusPath, `{"state":"success"}`)
	assert.Equal(t, 429, code)
	assert.Equal(t, "45", h.Get("Retry-After"))
	assert.Equal(t, "1700000060", h.Get("RateLimit-Reset"))
	assert.Equal(t, "0", h.Get("RateLimit-Remaining"))
	now = now.Add(45 * time.Second)
	code, _, _ = do(t, srv, "POST", statusPath, `{"state":"success"}`)
	assert.Equal(t, 201, code)
}

func TestNotes(t *testing.T) {
	s := gitlabtest.New(gitlabtest.Options{Projects: []string{"group/app"}})
	srv := httptest.NewServer(s)
	defer srv.Close()
	code, _, v := do(t, srv, "POST", "/api/v4/projects/group%2Fapp/merge_requests/12/notes", `{"body":"Build failed"}`)
	assert.Equal(t, 201, code)
	assert.Equal(t, "MergeRequest", v["noteable_type"])
	code, _, _ = do(t, srv, "POST", "/api/v4/projects/group%2Fapp/merge_requests/12/notes", `{"body":" "}`)
	assert.Equal(t, 400, code)
	assert.Equal(t, []gitlabtest.Note{{ID: 1, Project: "group/app", MergeRequest: 12, Body: "Build failed"}}, s.Notes())
	assert.Len(t, s.Problems(), 1)
}
