package giteatest_test

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

	"github.com/heraldci/herald/gitea/giteatest"
)

const (
	sha        = "0123456789abcdef0123456789abcdef01234567"
	statusPath = "/git/api/v1/repos/octo/hello/statuses/" + sha
)

func do(t *testing.T, srv *httptest.Server, method, path, body string, header ...string) (int, http.Header, map[string]any) {
	t.Helper()
	code, h, raw := testkit.Do(t, srv.Client(), method, srv.URL+path, body, append([]string{"Authorization", "token tok"}, header...)...)
	var v map[string]any
	_ = json.Unmarshal(raw, &v)
	return code, h, v
}

func TestChecksAsGiteaDoes(t *testing.T) {
	s := giteatest.New(giteatest.Options{Token: "tok", Repos: []string{"octo/hello"}, Prefix: "/git/"})
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, tc := range []struct {
		name, method, path, body string
		header                   []string
		code                     int
		message, problem         string
	}{
		{name: "token", method: "POST", path: statusPath, body: `{"state":"pending","context":"ci"}`, code: 201},
		{name: "bearer", method: "POST", path: statusPath, body: `{"state":"warning","context":"ci"}`, header: []string{"Authorization", "Bearer tok"}, code: 201},
		{name: "basic", method: "POST", path: statusPath, body: `{"state":"success","context":"ci"}`, header: []string{"Authorization", "Basic Y2k6dG9r"}, code: 201},
		{name: "wrong token", method: "POST", path: statusPath, body: `{"state":"failure"}`, header: []string{"Authorization", "token nope"}, code: 401, message: "token is required"},
		{name: "no sub-path", method: "POST", path: strings.TrimPrefix(statusPath, "/git"), body: `{}`, code: 404},
		{name: "unknown repo", method: "POST", path: "/git/api/v1/repos/octo/nope/statuses/" + sha, body: `{"state":"failure"}`, code: 404, message: "The target couldn't be found."},
		{name: "GET", method: "GET", path: statusPath, code: 405},
		{name: "bad state", method: "POST", path: statusPath, body: `{"state":"green"}`, code: 422, problem: `state "green"`},
		{name: "unknown field", method: "POST", path: statusPath, body: `{"state":"error","colour":"red"}`, code: 422, problem: "unknown field"},
		{name: "form", method: "POST", path: statusPath, body: "state=error", header: []string{"Content-Type", "application/x-www-form-urlencoded"}, code: 422, problem: "Content-Type"},
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
	st := s.Statuses("Octo/Hello", sha)
	require.Len(t, st, 3)
	assert.Equal(t, "success", st[2].State)
}

func TestRateLimit(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := giteatest.New(giteatest.Options{RateLimit: 1, RateWindow: 30 * time.Second, Now: func() time.Time { return now }, Prefix: "git"})
	srv := httptest.NewServer(s)
	defer srv.Close()
	code, _, _ := do(t, srv, "POST", statusPath, `{"state":"pending"}`)
	require.Equal(t, 201, code)
	now = now.Add(10 * time.Second)
	code, h, _ := do(t, srv, "POST", statusPath, `{"state":"pending"}`)
	assert.Equal(t, 429, code)
	assert.Equal(t, "20", h.Get("Retry-After"))
	now = now.Add(20 * time.Second)
	code, _, _ = do(t, srv, "POST", statusPath, `{"state":"pending"}`)
	assert.Equal(t, 201, code)
}
