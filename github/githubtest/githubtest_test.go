package githubtest_test

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/github/githubtest"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

// do sends one request the way a client would, and returns the answer.
func do(t *testing.T, srv *httptest.Server, method, path, body string, header ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("User-Agent", "test")
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v map[string]any
	_ = json.Unmarshal(raw, &v)
	if v == nil {
		v = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, resp.Header, v
}

func start(t *testing.T, o githubtest.Options) (*githubtest.Server, *httptest.Server) {
	s := githubtest.New(o)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

const statusPath = "/api/v3/repos/octo/hello/statuses/" + sha

func TestChecksAsGitHubDoes(t *testing.T) {
	s, srv := start(t, githubtest.Options{Token: "tok", Repos: []string{"Octo/Hello"}})
	for _, tc := range []struct {
		name    string
		method  string
		path    string
		body    string
		header  []string
		code    int
		message string
		problem string
	}{
		{name: "created", method: "POST", path: statusPath, body: `{"state":"pending","context":"ci"}`, code: 201},
		{name: "no token", method: "POST", path: statusPath, body: `{}`, header: []string{"Authorization", ""}, code: 401, message: "Requires authentication"},
		{name: "bad token", method: "POST", path: statusPath, body: `{}`, header: []string{"Authorization", "token nope"}, code: 401, message: "Bad credentials"},
		{name: "no user agent", method: "POST", path: statusPath, body: `{}`, header: []string{"User-Agent", ""}, code: 403, problem: "without User-Agent"},
		{name: "wrong method", method: "PUT", path: statusPath, body: `{}`, code: 404, message: "Not Found"},
		{name: "unknown repo", method: "POST", path: "/api/v3/repos/octo/nope/statuses/" + sha, body: `{"state":"pending"}`, code: 404},
		{name: "unknown commit", method: "POST", path: "/api/v3/repos/octo/hello/statuses/zz" + sha[2:], body: `{"state":"pending"}`, code: 422, message: "No commit found for SHA: zz" + sha[2:], problem: "not a full commit SHA"},
		{name: "bad state", method: "POST", path: statusPath, body: `{"state":"green"}`, code: 422, message: "Validation Failed", problem: `state "green"`},
		{name: "long description", method: "POST", path: statusPath, body: `{"state":"success","description":"` + strings.Repeat("é", 141) + `"}`, code: 422, problem: "description of 141 characters"},
		{name: "unknown field", method: "POST", path: statusPath, body: `{"state":"success","colour":"green"}`, code: 400, message: "Problems parsing JSON", problem: "unknown field"},
		{name: "media type", method: "POST", path: statusPath, body: `state=success`, header: []string{"Content-Type", "application/x-www-form-urlencoded"}, code: 415, problem: "Content-Type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.Problems())
			code, h, body := do(t, srv, tc.method, tc.path, tc.body, tc.header...)
			assert.Equal(t, tc.code, code)
			if tc.message != "" {
				assert.Equal(t, tc.message, body["message"])
			}
			assert.NotEmpty(t, h.Get("X-RateLimit-Remaining"))
			if tc.problem == "" {
				assert.Len(t, s.Problems(), before)
			} else {
				require.Len(t, s.Problems(), before+1)
				assert.Contains(t, s.Problems()[before], tc.problem)
			}
		})
	}
	st := s.Statuses("octo", "hello", sha)
	require.Len(t, st, 1)
	assert.Equal(t, githubtest.Status{ID: 1, State: "pending", Context: "ci", CreatedAt: st[0].CreatedAt}, st[0])
}

func TestDefaultContextAndCap(t *testing.T) {
	s, srv := start(t, githubtest.Options{})
	for range githubtest.MaxPerContext {
		code, _, _ := do(t, srv, "POST", statusPath, `{"state":"pending"}`)
		require.Equal(t, 201, code)
	}
	code, _, body := do(t, srv, "POST", statusPath, `{"state":"pending"}`)
	assert.Equal(t, 422, code)
	assert.Contains(t, body["errors"], any(map[string]any{"resource": "Status", "code": "custom",
		"message": "This SHA and context has reached the maximum number of statuses."}))
	assert.Equal(t, "default", s.Statuses("octo", "hello", sha)[0].Context)
	code, _, _ = do(t, srv, "POST", statusPath, `{"state":"pending","context":"other"}`)
	assert.Equal(t, 201, code, "another context is not capped")
}

func TestPrimaryRateLimit(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	_, srv := start(t, githubtest.Options{RateLimit: 2, Now: func() time.Time { return now }})
	for range 2 {
		code, _, _ := do(t, srv, "POST", statusPath, `{"state":"pending"}`)
		require.Equal(t, 201, code)
	}
	code, h, body := do(t, srv, "POST", statusPath, `{"state":"pending"}`)
	assert.Equal(t, 403, code)
	assert.Equal(t, "0", h.Get("X-RateLimit-Remaining"))
	assert.Equal(t, "1700003600", h.Get("X-RateLimit-Reset"))
	assert.Contains(t, body["message"], "API rate limit exceeded")
	now = now.Add(time.Hour)
	code, _, _ = do(t, srv, "POST", statusPath, `{"state":"pending"}`)
	assert.Equal(t, 201, code, "a new window")
}

func TestResolveCommit(t *testing.T) {
	other := "0123456fffffffffffffffffffffffffffffffff"
	_, srv := start(t, githubtest.Options{Commits: []string{sha, other}})
	code, h, body := do(t, srv, "GET", "/api/v3/repos/octo/hello/commits/01234567", "", "Accept", "application/vnd.github.sha")
	assert.Equal(t, 200, code)
	assert.Equal(t, sha, body["raw"])
	assert.Contains(t, h.Get("Content-Type"), "application/vnd.github.sha")
	code, _, body = do(t, srv, "GET", "/api/v3/repos/octo/hello/commits/0123456", "")
	assert.Equal(t, 422, code, "ambiguous")
	assert.Equal(t, "No commit found for SHA: 0123456", body["message"])
	code, _, body = do(t, srv, "GET", "/api/v3/repos/octo/hello/commits/"+other[:9], "")
	assert.Equal(t, 200, code)
	assert.Equal(t, other, body["sha"])
}

func TestFailQueuesAnswers(t *testing.T) {
	s, srv := start(t, githubtest.Options{})
	s.Fail(githubtest.SecondaryLimit("30"), githubtest.Reply(502, `{"message":"Server Error"}`, "X-Test", "1"))
	code, h, _ := do(t, srv, "POST", statusPath, `{"state":"pending"}`)
	assert.Equal(t, 403, code)
	assert.Equal(t, "30", h.Get("Retry-After"))
	code, h, _ = do(t, srv, "POST", statusPath, `{"state":"pending"}`)
	assert.Equal(t, 502, code)
	assert.Equal(t, "1", h.Get("X-Test"))
	code, _, _ = do(t, srv, "POST", statusPath, `{"state":"pending"}`)
	assert.Equal(t, 201, code)
	reqs := s.Requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, []int{403, 502, 201}, []int{reqs[0].Code, reqs[1].Code, reqs[2].Code})
	assert.JSONEq(t, `{"state":"pending"}`, string(reqs[2].Body))
}

func TestComments(t *testing.T) {
	s, srv := start(t, githubtest.Options{Repos: []string{"octo/hello"}})
	code, _, _ := do(t, srv, "POST", "/api/v3/repos/octo/hello/issues/12/comments", `{"body":"Build failed"}`)
	assert.Equal(t, 201, code)
	code, _, body := do(t, srv, "POST", "/api/v3/repos/octo/hello/issues/12/comments", `{"body":" "}`)
	assert.Equal(t, 422, code)
	assert.Equal(t, "Validation Failed", body["message"])
	code, _, _ = do(t, srv, "POST", "/api/v3/repos/octo/nope/issues/12/comments", `{"body":"x"}`)
	assert.Equal(t, 404, code)
	assert.Equal(t, []githubtest.Comment{{ID: 1, Owner: "octo", Repo: "hello", Number: 12, Body: "Build failed"}}, s.Comments())
	assert.Len(t, s.Problems(), 1)
}

const appAuth = "Bearer ghs_installation"

func TestCheckRunsAsGitHubDoes(t *testing.T) {
	s, srv := start(t, githubtest.Options{Repos: []string{"octo/hello"}})
	const runs = "/api/v3/repos/octo/hello/check-runs"
	ann := func(n int) string {
		a := make([]string, n)
		for i := range a {
			a[i] = `{"path":"a.go","start_line":1,"end_line":1,"annotation_level":"failure","message":"m"}`
		}
		return "[" + strings.Join(a, ",") + "]"
	}
	long := strings.Repeat("é", githubtest.MaxOutputText+1)
	for _, tc := range []struct {
		name, method, path, body, auth string
		code                           int
		message, problem               string
	}{
		{name: "created", method: "POST", path: runs, body: `{"name":"ci","head_sha":"` + sha + `","status":"in_progress","started_at":"2026-01-02T15:04:05Z","output":{"title":"t","summary":"s"}}`, code: 201},
		{name: "personal token", method: "POST", path: runs, auth: "Bearer ghp_personal", body: `{"name":"ci","head_sha":"` + sha + `"}`, code: 403, message: "You must authenticate via a GitHub App."},
		{name: "no name", method: "POST", path: runs, body: `{"head_sha":"` + sha + `"}`, code: 422, problem: `"name" wasn't supplied`},
		{name: "short sha", method: "POST", path: runs, body: `{"name":"ci","head_sha":"0123456"}`, code: 422, problem: "not a full commit SHA"},
		{name: "bad status", method: "POST", path: runs, body: `{"name":"ci","head_sha":"` + sha + `","status":"running"}`, code: 422, problem: `"running" is not one of`},
		{name: "completed without conclusion", method: "POST", path: runs, body: `{"name":"ci","head_sha":"` + sha + `","status":"completed"}`, code: 422, problem: `"conclusion" wasn't supplied`},
		{name: "bad conclusion", method: "POST", path: runs, body: `{"name":"ci","head_sha":"` + sha + `","conclusion":"stale"}`, code: 422, problem: "conclusion"},
		{name: "output without summary", method: "POST", path: runs, body: `{"name":"ci","head_sha":"` + sha + `","output":{"title":"t"}}`, code: 422, problem: `"summary" wasn't supplied`},
		{name: "text too long", method: "POST", path: runs, body: `{"name":"ci","head_sha":"` + sha + `","output":{"title":"t","summary":"s","text":"` + long + `"}}`, code: 422, problem: "65535 characters"},
		{name: "51 annotations", method: "POST", path: runs, body: `{"name":"ci","head_sha":"` + sha + `","output":{"title":"t","summary":"s","annotations":` + ann(51) + `}}`, code: 422, problem: "Only 50 annotations"},
		{name: "bad level", method: "POST", path: runs, body: `{"name":"ci","head_sha":"` + sha + `","output":{"title":"t","summary":"s","annotations":[{"path":"a","start_line":1,"end_line":1,"annotation_level":"error","message":"m"}]}}`, code: 422, problem: "annotation_level"},
		{name: "columns over lines", method: "POST", path: runs, body: `{"name":"ci","head_sha":"` + sha + `","output":{"title":"t","summary":"s","annotations":[{"path":"a","start_line":1,"end_line":2,"start_column":1,"annotation_level":"failure","message":"m"}]}}`, code: 422, problem: "start_column"},
		{name: "absolute path", method: "POST", path: runs, body: `{"name":"ci","head_sha":"` + sha + `","output":{"title":"t","summary":"s","annotations":[{"path":"/etc/a","start_line":1,"end_line":1,"annotation_level":"failure","message":"m"}]}}`, code: 422, problem: "not relative"},
		{name: "50 annotations", method: "PATCH", path: runs + "/1", body: `{"conclusion":"failure","completed_at":"2026-01-02T15:05:05Z","output":{"title":"t","summary":"s","annotations":` + ann(50) + `}}`, code: 200},
		{name: "20 more", method: "PATCH", path: runs + "/1", body: `{"output":{"title":"t","summary":"s2","annotations":` + ann(20) + `}}`, code: 200},
		{name: "unknown run", method: "PATCH", path: runs + "/99", body: `{"status":"completed","conclusion":"success"}`, code: 404},
		{name: "unknown field", method: "PATCH", path: runs + "/1", body: `{"colour":"green"}`, code: 400, problem: "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.Problems())
			code, _, body := do(t, srv, tc.method, tc.path, tc.body, "Authorization", cmp.Or(tc.auth, appAuth))
			assert.Equal(t, tc.code, code, "%v", body)
			if tc.message != "" {
				assert.Equal(t, tc.message, body["message"])
			}
			if tc.problem == "" {
				assert.Len(t, s.Problems(), before)
			} else if assert.Len(t, s.Problems(), before+1) {
				assert.Contains(t, s.Problems()[before], tc.problem)
			}
		})
	}
	got := s.CheckRuns("octo", "hello", strings.ToUpper(sha))
	require.Len(t, got, 1)
	c := got[0]
	assert.Equal(t, "completed", c.Status)
	assert.Equal(t, "failure", c.Conclusion)
	assert.Equal(t, "s2", c.Summary)
	assert.Len(t, c.Annotations, 70, "updates append annotations")
	assert.Equal(t, 3, c.Requests)
	assert.Equal(t, time.Date(2026, 1, 2, 15, 5, 5, 0, time.UTC), c.CompletedAt)
}
