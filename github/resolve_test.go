package github

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/heraldci/herald/github/githubtest"
	"github.com/heraldci/herald/status"
)

// An abbreviated revision is resolved through the API once, and the status
// goes on the full SHA; one GitHub does not know is a permanent error that
// says so, and nothing is set on a prefix.
func TestShortRevisionResolved(t *testing.T) {
	f := githubtest.NewServer(t, githubtest.Options{Token: testToken, Repos: []string{"octo/hello"}, Commits: []string{sha}})
	r := newReporter(t, f, Options{})
	for _, e := range build(1).Revision(sha[:7]).Succeeded().Events() {
		require.NoError(t, r.Report(context.Background(), e))
	}
	assert.Equal(t, ""+
		"GET /api/v3/repos/octo/hello/commits/0123456 -> 200\n"+
		`POST octo/hello@`+sha+` state=pending context="herald/linux" description="Build #1 started." target_url="https://ci.example.org/builders/linux/builds/1" -> 201`+"\n"+
		`POST octo/hello@`+sha+` state=success context="herald/linux" description="Build #1 succeeded." target_url="https://ci.example.org/builders/linux/builds/1" -> 201`+"\n",
		lines(f.Requests()), "resolved once, statuses on the full SHA")

	err := report(t, r, status.BuildStarted, build(2).Revision("fedcba9").Build())
	require.Error(t, err)
	assert.False(t, status.IsRetryable(err))
	assert.Contains(t, err.Error(), "abbreviated revision fedcba9 could not be resolved to a full commit SHA")
	assert.Contains(t, err.Error(), "give builds full revisions")
	var api *APIError
	require.True(t, errors.As(err, &api))
	assert.Equal(t, http.StatusUnprocessableEntity, api.StatusCode)
	for _, req := range f.Requests() {
		if req.Endpoint == "status" {
			assert.Len(t, req.SHA, 40, "a status on an abbreviated SHA")
		}
	}
}

// A server error while resolving is retryable like any other.
func TestShortRevisionResolveRetryable(t *testing.T) {
	f := githubtest.NewServer(t, githubtest.Options{Token: testToken, Commits: []string{sha}})
	r := newReporter(t, f, Options{})
	f.Fail(githubtest.Reply(http.StatusBadGateway, `{"message":"Server Error"}`))
	err := report(t, r, status.BuildStarted, build(1).Revision(sha[:10]).Build())
	assert.True(t, status.IsRetryable(err), "%v", err)
	require.NoError(t, report(t, r, status.BuildStarted, build(1).Revision(sha[:10]).Build()))
}

// rotating hands out a new token each time it is asked, each about to
// expire, as an App's installation tokens do at the end of their hour.
type rotating struct {
	mu sync.Mutex
	n  int
}

func (s *rotating) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return &oauth2.Token{AccessToken: "ghs_installation" + strings.Repeat("x", s.n), TokenType: "Bearer",
		Expiry: time.Now().Add(time.Second)}, nil // within oauth2's ten seconds of early renewal
}

// Each request carries the token source's current token: an expiring one
// is replaced before it is used.
func TestTokenSource(t *testing.T) {
	var seen []string
	var mu sync.Mutex
	f := githubtest.NewServer(t, githubtest.Options{Repos: []string{"octo/hello"}})
	hc := &http.Client{Transport: roundTripper(func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		seen = append(seen, req.Header.Get("Authorization"))
		mu.Unlock()
		return http.DefaultTransport.RoundTrip(req)
	})}
	r := newReporter(t, f, Options{TokenSource: &rotating{}, HTTPClient: hc})
	require.NoError(t, report(t, r, status.BuildStarted, build(1).Build()))
	require.NoError(t, report(t, r, status.BuildFinished, build(1).Succeeded().Build()))
	assert.Equal(t, []string{"Bearer ghs_installationx", "Bearer ghs_installationxx"}, seen)
}

// A token source that fails: a permanent error naming the repository, no
// request sent.
func TestTokenSourceFails(t *testing.T) {
	f := githubtest.NewServer(t, githubtest.Options{Repos: []string{"octo/hello"}})
	r := newReporter(t, f, Options{TokenSource: oauth2.TokenSource(failing{})})
	err := report(t, r, status.BuildStarted, build(1).Build())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "octo/hello@0123456789ab")
	assert.Empty(t, f.Requests())
}

type failing struct{}

func (failing) Token() (*oauth2.Token, error) {
	return nil, errors.New("installation token: app suspended")
}

// A server that echoes the request's Authorization header in its error
// body: the token never reaches the error, the log or Stats.
func TestEchoedTokenScrubbed(t *testing.T) {
	f := newFakeGitHub(t, testToken, "octo/hello")
	var logs bytes.Buffer
	r := newReporter(t, f, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	f.Fail(githubtest.Reply(http.StatusBadRequest, `{"message":"bad request; you sent Authorization: Bearer `+testToken+`"}`))
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	hub.Add(r)
	hub.Publish(status.Event{Kind: status.BuildStarted, Build: build(1).Build()})
	require.NoError(t, hub.Shutdown(context.Background()))
	st := hub.Stats()[0]
	assert.Contains(t, st.LastError, "bad request; you sent Authorization: Bearer <redacted>")
	assert.NotContains(t, st.LastError+logs.String(), testToken)
}

// Events of an older build after a newer one's are not sent.
func TestOutOfOrderEvents(t *testing.T) {
	f := newFakeGitHub(t, testToken, "octo/hello")
	r := newReporter(t, f, Options{})
	require.NoError(t, report(t, r, status.BuildStarted, build(8).Build()))
	require.NoError(t, report(t, r, status.BuildFinished, build(7).Succeeded().Build()))
	require.NoError(t, report(t, r, status.BuildFinished, build(8).Failed().Build()))
	require.NoError(t, report(t, r, status.BuildStarted, build(8).Build()))
	st := f.Statuses("octo", "hello", sha)
	require.Len(t, st, 2)
	assert.Equal(t, "failure", st[1].State)
}
