package forge

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

type state string

func TestStates(t *testing.T) {
	defaults := map[status.Result]state{}
	for _, r := range status.AllResults() {
		defaults[r] = "d-" + state(r.String())
	}
	got := States(map[status.Result]state{status.Warnings: "w"}, defaults)
	assert.Len(t, got, len(status.AllResults()))
	assert.Equal(t, state("w"), got[status.Warnings])
	assert.Equal(t, state("d-failure"), got[status.Failure])

	require.NoError(t, CheckStates("x: Options.States", map[status.Result]state{status.Success: "ok"}, "ok", "bad"))
	err := CheckStates("x: Options.States", map[status.Result]state{status.Success: "ok", status.Failure: "nope", status.Result(42): "ok"}, "ok", "bad")
	require.Error(t, err)
	assert.Equal(t, `x: Options.States maps failure → "nope", result(42) is no result: the states are ok, bad`, err.Error())

	b := statustest.NewBuild("b").Failed().Build()
	assert.Equal(t, state("run"), StateOf(status.Event{Kind: status.BuildStarted, Build: b}, "run", got))
	assert.Equal(t, state("d-failure"), StateOf(status.Event{Kind: status.BuildFinished, Build: b}, "run", got))
}

func TestSHA(t *testing.T) {
	for s, want := range map[string][2]bool{
		"0123456": {true, false},
		"012345":  {false, false},
		"0123456789abcdef0123456789abcdef01234567": {true, true},
		"0123456789ABCDEF0123456789ABCDEF01234567": {true, true},
		strings.Repeat("a", 64):                    {true, true},
		strings.Repeat("a", 65):                    {false, false},
		strings.Repeat("a", 41):                    {true, false},
		"trunk":                                    {false, false},
		"123456g":                                  {false, false},
		"../../x":                                  {false, false},
	} {
		assert.Equal(t, want[0], IsSHA(s), "IsSHA(%q)", s)
		assert.Equal(t, want[1], IsFullSHA(s), "IsFullSHA(%q)", s)
	}
}

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"", 140, ""},
		{"short", 140, "short"},
		{strings.Repeat("b", 140), 140, strings.Repeat("b", 140)},
		{strings.Repeat("b", 141), 140, strings.Repeat("b", 139) + "…"},
		{strings.Repeat("é", 150), 140, strings.Repeat("é", 139) + "…"},
		{"bad \xff utf8", 140, "bad \uFFFD utf8"},
		{"abc", 0, ""},
		{"abc", 1, "…"},
	} {
		assert.Equal(t, tc.want, Cut(tc.in, tc.n), "Cut(%.20q, %d)", tc.in, tc.n)
	}
}

func FuzzCut(f *testing.F) {
	f.Add("hello", 140)
	f.Add(strings.Repeat("ü", 300), 140)
	f.Add("\xff\xfe", 1)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 1 || n > 1000 {
			return
		}
		got := Cut(s, n)
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > n {
			t.Fatalf("Cut(%q, %d) = %q", s, n, got)
		}
		if utf8.ValidString(s) && utf8.RuneCountInString(s) <= n && got != s {
			t.Fatalf("Cut(%q, %d) changed a short string to %q", s, n, got)
		}
	})
}

func TestShortKey(t *testing.T) {
	assert.Equal(t, "linux", ShortKey("linux", 40))
	long := strings.Repeat("k", 50)
	a, b := ShortKey(long, 40), ShortKey(long+"x", 40)
	assert.Len(t, a, 40)
	assert.NotEqual(t, a, b)
	assert.Equal(t, a, ShortKey(long, 40))
	assert.True(t, strings.HasPrefix(a, strings.Repeat("k", 31)+"-"))
}

func FuzzShortKey(f *testing.F) {
	f.Add("linux")
	f.Add(strings.Repeat("ключ", 20))
	f.Add("\xff" + strings.Repeat("a", 50))
	f.Fuzz(func(t *testing.T, k string) {
		got := ShortKey(k, 40)
		if len(got) > 40 || !utf8.ValidString(got) {
			t.Fatalf("ShortKey(%q) = %q", k, got)
		}
		if got != ShortKey(k, 40) {
			t.Fatal("not deterministic")
		}
	})
}

func TestKeywords(t *testing.T) {
	b := statustest.NewBuild("linux").Number(7).Failed().Build()
	kw := Keywords(b, &b.Sources[0], "failure")
	assert.Equal(t, "7", kw["number"])
	assert.Equal(t, "failure", kw["result"])
	assert.Equal(t, "failure", kw["state"])
	assert.Equal(t, b.Sources[0].Revision, kw["revision"])
	running := statustest.NewBuild("linux").Build()
	_, has := Keywords(running, nil, "pending")["result"]
	assert.False(t, has, "a running build has no result")
}

func TestMemory(t *testing.T) {
	m := Memory{Cap: 3}
	k := Key{Repo: "Octo/Hello", SHA: "ABCDEF1", Name: "ci"}
	run7 := Sent{Build: 7, State: "pending", Description: "d"}
	v, _ := m.Check(k, run7)
	require.Equal(t, Send, v)
	m.Record(k, run7)
	v, _ = m.Check(Key{Repo: "octo/hello", SHA: "abcdef1", Name: "ci"}, run7)
	assert.Equal(t, Repeat, v, "repository and commit compare without case")
	v, _ = m.Check(Key{Repo: "octo/hello", SHA: "abcdef1", Name: "CI"}, run7)
	assert.Equal(t, Send, v, "names are case-sensitive")

	end7 := Sent{Build: 7, Finished: true, State: "success"}
	m.Record(k, end7)
	v, last := m.Check(k, run7)
	assert.Equal(t, Stale, v, "the start of a build after its end")
	assert.Equal(t, end7, last)
	v, _ = m.Check(k, Sent{Build: 6, State: "pending"})
	assert.Equal(t, Stale, v)

	m.Record(k, Sent{Build: 8, State: "pending"})
	v, _ = m.Check(k, Sent{Build: 8, State: "pending", Description: "other"})
	assert.Equal(t, Capped, v, "three statuses under the key")
	v, _ = m.Check(k, Sent{Build: 8, State: "pending"})
	assert.Equal(t, Repeat, v)
}

func TestMemoryForgetsOldest(t *testing.T) {
	m := Memory{Size: 10}
	for i := range 15 {
		m.Record(Key{SHA: fmt.Sprint(i)}, Sent{Build: 1})
	}
	assert.Equal(t, 10, m.Len())
	v, _ := m.Check(Key{SHA: "0"}, Sent{Build: 1})
	assert.Equal(t, Send, v, "the oldest key was forgotten")
	v, _ = m.Check(Key{SHA: "14"}, Sent{Build: 1})
	assert.Equal(t, Repeat, v, "the newest key is remembered")
}

func TestJoin(t *testing.T) {
	require.NoError(t, Join())
	require.NoError(t, Join(nil, nil))
	plain := errors.New("refused")
	err := Join(plain, status.Retryable(errors.New("busy"), 3*time.Second), status.Retryable(errors.New("later"), 7*time.Second))
	after, ok := status.RetryAfter(err)
	assert.True(t, ok)
	assert.Equal(t, 7*time.Second, after)
	assert.ErrorIs(t, err, plain)
	assert.False(t, status.IsRetryable(Join(plain)))
}

func TestErrorText(t *testing.T) {
	e := &Error{Forge: "github", Repo: "octo/hello", SHA: "0123456789abcdef", Label: "context", Context: "ci",
		State: "pending", StatusCode: 404, Message: "Not Found", Hint: "check the name"}
	assert.Equal(t, `github: setting pending on octo/hello@0123456789ab (context "ci"): HTTP 404 Not Found: Not Found: check the name`, e.Error())
	e = &Error{Forge: "stash", SHA: "0123456", Label: "key", Context: "linux", State: "FAILED", Message: "connection refused"}
	assert.Equal(t, `stash: setting FAILED on commit 0123456 (key "linux"): connection refused`, e.Error())
}

func TestRefused(t *testing.T) {
	const token = "s3cret-token-value"
	resp := &http.Response{StatusCode: 429, Status: "429 Too Many Requests",
		Header: http.Header{"Retry-After": {"9"}},
		Body:   io.NopCloser(strings.NewReader(`{"errors":[{"message":"slow down, Authorization: Bearer ` + token + `"}]}`))}
	msg, cls := Refused(resp, token)
	assert.Equal(t, "slow down, Authorization: Bearer <redacted>", msg)
	after, ok := status.RetryAfter(cls)
	assert.True(t, ok)
	assert.Equal(t, 9*time.Second, after)
	assert.NotContains(t, cls.Error(), token)
	var se *status.ResponseError
	require.ErrorAs(t, cls, &se)
	assert.NotContains(t, se.Body, token)
}

func TestRefusedRateLimitReset(t *testing.T) {
	for _, tc := range []struct {
		header, value string
		min, max      time.Duration
	}{
		{"RateLimit-Reset", strconv.FormatInt(time.Now().Add(30*time.Second).Unix(), 10), 29 * time.Second, 32 * time.Second},
		{"RateLimit-Reset", "12", 12 * time.Second, 12 * time.Second},
		{"Retry-After", "5", 5 * time.Second, 5 * time.Second},
	} {
		resp := &http.Response{StatusCode: 429, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("Retry later\n"))}
		resp.Header.Set(tc.header, tc.value)
		msg, cls := Refused(resp)
		assert.Equal(t, "Retry later", msg)
		after, ok := status.RetryAfter(cls)
		require.True(t, ok, tc.header)
		assert.True(t, after >= tc.min && after <= tc.max, "%s %s: waits %v", tc.header, tc.value, after)
	}
}

func TestRepoPath(t *testing.T) {
	for raw, want := range map[string]string{
		"https://gitlab.com/group/sub/project.git": "group/sub/project",
		"git@gitlab.example.com:group/project.git": "group/project",
		"ssh://git@host:2222/a/b":                  "a/b",
		"https://user@bitbucket.org/ws/repo.git":   "ws/repo",
		"https://example.com/gitlab/group/project": "group/project",
		"https://example.com/gitlab":               "gitlab",
		"https://example.com/a/../b":               "",
		"https://example.com/a/b%2Fc":              "",
		"/local/path":                              "",
		"C:/Windows/path":                          "",
		"https://example.com/":                     "",
	} {
		segs, ok := RepoPath(raw, "/gitlab/")
		assert.Equal(t, want != "", ok, raw)
		assert.Equal(t, want, strings.Join(segs, "/"), raw)
	}
}

// FuzzRepoPath: the URL comes from webhooks and hosts; whatever parses is
// safe in an API path.
func FuzzRepoPath(f *testing.F) {
	f.Add("https://gitlab.com/group/sub/project.git", "")
	f.Add("git@host:a/b.git", "/x")
	f.Add("https://h/x/../../a/b", "x")
	f.Fuzz(func(t *testing.T, raw, under string) {
		segs, ok := RepoPath(raw, under)
		if !ok {
			return
		}
		for _, s := range segs {
			if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/?#%: \\@") {
				t.Fatalf("RepoPath(%q) = %q: unsafe in an API path", raw, segs)
			}
		}
	})
}

func TestRepoOf(t *testing.T) {
	b := statustest.NewBuild("linux").Repository("https://git.example.com/git/octo/hello.git").Property("repo", "ops/deploy").Build()
	s := &b.Sources[0]
	for _, tc := range []struct {
		opt      status.Renderer
		under    string
		min, max int
		want     string
		ok       bool
	}{
		{nil, "/git", 2, 2, "octo/hello", true},
		{nil, "", 2, 2, "git/octo/hello", false},
		{nil, "", 2, 20, "git/octo/hello", true},
		{status.MustInterpolate("%(prop:repo)s"), "", 2, 2, "ops/deploy", true},
		{status.MustInterpolate("42"), "", 2, 20, "42", true},
		{status.MustInterpolate("../x"), "", 1, 2, "../x", false},
		{status.MustInterpolate(""), "", 1, 2, "", false},
	} {
		got, ok := RepoOf(tc.opt, b, s, nil, tc.under, tc.min, tc.max)
		assert.Equal(t, tc.ok, ok, "%+v", tc)
		if ok {
			assert.Equal(t, tc.want, got)
		}
	}
}
