package bitbuckettest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/internal/testkit"

	"github.com/heraldci/herald/bitbucket/bitbuckettest"
)

const (
	sha        = "0123456789abcdef0123456789abcdef01234567"
	statusPath = "/2.0/repositories/team/app/commit/" + sha + "/statuses/build"
)

func do(t *testing.T, srv *httptest.Server, method, path, body string, header ...string) (int, http.Header, string) {
	t.Helper()
	code, h, raw := testkit.Do(t, srv.Client(), method, srv.URL+path, body, append([]string{"Authorization", "Bearer tok"}, header...)...)
	var v struct {
		Error struct{ Message string } `json:"error"`
	}
	_ = json.Unmarshal(raw, &v)
	return code, h, v.Error.Message
}

func TestChecksAsBitbucketDoes(t *testing.T) {
	s := bitbuckettest.New(bitbuckettest.Options{Token: "tok", Username: "ci", Password: "pw", Repos: []string{"team/app"}})
	srv := httptest.NewServer(s)
	defer srv.Close()
	ok := `{"state":"INPROGRESS","key":"linux","url":"https://ci/1"}`
	for _, tc := range []struct {
		name, method, path, body string
		header                   []string
		code                     int
		message, problem         string
	}{
		{name: "bearer", method: "POST", path: statusPath, body: ok, code: 201},
		{name: "app password", method: "POST", path: statusPath, body: `{"state":"STOPPED","key":"linux","url":"https://ci/1"}`, header: []string{"Authorization", "Basic Y2k6cHc="}, code: 201},
		{name: "wrong password", method: "POST", path: statusPath, body: ok, header: []string{"Authorization", "Basic Y2k6bm8="}, code: 401, message: "Invalid credentials"},
		{name: "unknown repo", method: "POST", path: "/2.0/repositories/team/nope/commit/" + sha + "/statuses/build", body: ok, code: 404, message: "Repository team/nope not found"},
		{name: "GET", method: "GET", path: statusPath, code: 405},
		{name: "missing url", method: "POST", path: statusPath, body: `{"state":"FAILED","key":"k"}`, code: 400, message: "url: This field is required.", problem: `required field "url"`},
		{name: "bad state", method: "POST", path: statusPath, body: `{"state":"GREEN","key":"k","url":"u"}`, code: 400, problem: `state "GREEN"`},
		{name: "long key", method: "POST", path: statusPath, body: `{"state":"FAILED","key":"` + strings.Repeat("k", 41) + `","url":"u"}`, code: 400, message: "key: Ensure this value has at most 40 characters (it has 41).", problem: "key of 41"},
		{name: "unknown field", method: "POST", path: statusPath, body: `{"state":"FAILED","key":"k","url":"u","colour":"red"}`, code: 201, problem: `unknown field "colour"`},
		{name: "form", method: "POST", path: statusPath, body: "state=FAILED", header: []string{"Content-Type", "application/x-www-form-urlencoded"}, code: 415, problem: "Content-Type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testkit.NewProblem(t, s.Problems, tc.problem, func() {
				code, _, msg := do(t, srv, tc.method, tc.path, tc.body, tc.header...)
				assert.Equal(t, tc.code, code)
				if tc.message != "" {
					assert.Equal(t, tc.message, msg)
				}
			})
		})
	}
	st, found := s.Status("Team/App", strings.ToUpper(sha), "linux")
	require.True(t, found)
	assert.Equal(t, "STOPPED", st.State)
}

func TestRateLimit(t *testing.T) {
	s := bitbuckettest.New(bitbuckettest.Options{RateLimit: 1})
	srv := httptest.NewServer(s)
	defer srv.Close()
	body := `{"state":"INPROGRESS","key":"linux","url":"https://ci/1"}`
	code, _, _ := do(t, srv, "POST", statusPath, body)
	require.Equal(t, 201, code)
	code, h, msg := do(t, srv, "POST", statusPath, body)
	assert.Equal(t, 429, code)
	assert.Equal(t, "Rate limit for this resource has been exceeded", msg)
	assert.Empty(t, h.Get("Retry-After"), "Bitbucket Cloud names no wait")
	assert.Equal(t, "1", h.Get("X-RateLimit-Limit"))
}
