package stashtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/stash/stashtest"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

func do(t *testing.T, srv *httptest.Server, method, path, body string, header ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
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
	return resp.StatusCode, resp.Header, v
}

func message(v map[string]any) string {
	errs, _ := v["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	m, _ := errs[0].(map[string]any)
	s, _ := m["message"].(string)
	return s
}

const statusPath = "/bitbucket/rest/build-status/1.0/commits/" + sha

func TestChecksAsBitbucketDoes(t *testing.T) {
	s := stashtest.New(stashtest.Options{ContextPath: "/bitbucket", Token: "tok", Username: "ci", Password: "pw"})
	srv := httptest.NewServer(s)
	defer srv.Close()
	ok := `{"state":"INPROGRESS","key":"linux","url":"https://ci/1"}`
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
		{name: "bearer", method: "POST", path: statusPath, body: ok, code: 204},
		{name: "basic", method: "POST", path: statusPath, body: ok, header: []string{"Authorization", "Basic Y2k6cHc="}, code: 204},
		{name: "wrong password", method: "POST", path: statusPath, body: ok, header: []string{"Authorization", "Basic Y2k6bm8="}, code: 401, message: "Authentication failed. Please check your credentials and try again."},
		{name: "no context path", method: "POST", path: strings.TrimPrefix(statusPath, "/bitbucket"), body: ok, code: 404},
		{name: "GET", method: "GET", path: statusPath, code: 405},
		{name: "missing url", method: "POST", path: statusPath, body: `{"state":"FAILED","key":"k"}`, code: 400, message: "The url field is required.", problem: `required field "url"`},
		{name: "bad state", method: "POST", path: statusPath, body: `{"state":"GREEN","key":"k","url":"u"}`, code: 400, problem: `state "GREEN"`},
		{name: "long key", method: "POST", path: statusPath, body: `{"state":"FAILED","key":"` + strings.Repeat("k", 256) + `","url":"u"}`, code: 400, message: "The key must be 255 characters or less.", problem: "key of 256"},
		{name: "long name", method: "POST", path: statusPath, body: `{"state":"FAILED","key":"k","name":"` + strings.Repeat("n", 256) + `","url":"u"}`, code: 400, problem: "name of 256"},
		{name: "unknown field", method: "POST", path: statusPath, body: `{"state":"FAILED","key":"k","url":"u","colour":"red"}`, code: 204, problem: `unknown field "colour"`},
		{name: "short sha", method: "POST", path: "/bitbucket/rest/build-status/1.0/commits/0123456", body: ok, code: 204, problem: "not a full commit id"},
		{name: "form", method: "POST", path: statusPath, body: "state=FAILED", header: []string{"Content-Type", "application/x-www-form-urlencoded"}, code: 415, problem: "Content-Type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.Problems())
			code, _, body := do(t, srv, tc.method, tc.path, tc.body, tc.header...)
			assert.Equal(t, tc.code, code)
			if tc.message != "" {
				assert.Equal(t, tc.message, message(body))
			}
			if tc.problem == "" {
				assert.Len(t, s.Problems(), before)
			} else {
				require.Len(t, s.Problems(), before+1)
				assert.Contains(t, s.Problems()[before], tc.problem)
			}
		})
	}
	st, found := s.Status(strings.ToUpper(sha), "linux")
	require.True(t, found)
	assert.Equal(t, "INPROGRESS", st.State)
}

func TestRateLimit(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := stashtest.New(stashtest.Options{RateLimit: 1, RateWindow: 30 * time.Second, Now: func() time.Time { return now }})
	srv := httptest.NewServer(s)
	defer srv.Close()
	body := `{"state":"INPROGRESS","key":"linux","url":"https://ci/1"}`
	code, _, _ := do(t, srv, "POST", "/rest/build-status/1.0/commits/"+sha, body)
	require.Equal(t, 204, code)
	now = now.Add(10 * time.Second)
	code, h, v := do(t, srv, "POST", "/rest/build-status/1.0/commits/"+sha, body)
	assert.Equal(t, 429, code)
	assert.Equal(t, "20", h.Get("Retry-After"))
	assert.Contains(t, message(v), "rate limited")
	now = now.Add(20 * time.Second)
	code, _, _ = do(t, srv, "POST", "/rest/build-status/1.0/commits/"+sha, body)
	assert.Equal(t, 204, code)
}

func TestComments(t *testing.T) {
	s := stashtest.New(stashtest.Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	code, _, v := do(t, srv, "POST", "/rest/api/1.0/projects/PRJ/repos/app/pull-requests/12/comments", `{"text":"Build failed"}`)
	assert.Equal(t, 201, code)
	assert.Equal(t, float64(1), v["id"])
	code, _, _ = do(t, srv, "POST", "/rest/api/1.0/projects/PRJ/repos/app/pull-requests/12/comments", `{"text":"  "}`)
	assert.Equal(t, 400, code)
	assert.Equal(t, []stashtest.Comment{{ID: 1, Project: "PRJ", Repo: "app", PullRequest: 12, Text: "Build failed"}}, s.Comments())
	assert.Len(t, s.Problems(), 1)
}
