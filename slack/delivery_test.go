package slack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/slack"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// TestThroughHubTwoChannels: the second of two channels answers 429 with
// Retry-After; the Hub's retry posts to it alone, so the first channel has
// the announcement once.
func TestThroughHubTwoChannels(t *testing.T) {
	api := newAPIDouble(t)
	b := newBot(t, slack.Options{Token: testToken, Channels: []string{"C0A", "C0B"}, APIURL: api.url(), NotifyEvents: []string{"started"}})
	hub := status.NewHub(status.HubOptions{Logger: quiet()})
	require.NoError(t, hub.Add(b))
	api.limit("C0B", 1)
	hub.Publish(statustest.NewBuild("linux").Number(3).Events()[0])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, hub.Shutdown(ctx)) // after the retry

	var got []string
	for _, p := range api.taken() {
		got = append(got, p.Channel+": "+p.Text)
	}
	assert.Equal(t, []string{"C0A: build #3 of linux started", "C0B: build #3 of linux started"}, got, "once each")
	api.mu.Lock()
	defer api.mu.Unlock()
	assert.Zero(t, api.limited["C0B"], "C0B was refused first")
}

// Cancelling Report's context ends a post Slack does not answer.
func TestReportContextAbortsPost(t *testing.T) {
	api := newAPIDouble(t)
	b := newBot(t, slack.Options{Token: testToken, Channels: []string{"C0A"}, APIURL: api.url(), NotifyEvents: []string{"started"}})
	stalled := api.stall()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Report(ctx, statustest.NewBuild("linux").Number(3).Events()[0]) }()
	<-stalled
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, status.IsRetryable(err), "the caller cancelled: %v", err)
}

// gatedHistory's Builders waits until open is closed.
type gatedHistory struct {
	status.History
	open chan struct{}
}

func (h gatedHistory) Builders(ctx context.Context) ([]status.Builder, error) {
	select {
	case <-h.open:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return h.History.Builders(ctx)
}

// A command slower than Slack's 3 seconds is answered "working on it" at
// once, and its answer is POSTed to the response_url when it ends.
func TestSlowCommandAnswersLater(t *testing.T) {
	api := newAPIDouble(t)
	later := newResponseDouble(t)
	hist := gatedHistory{statustest.NewHistory(statustest.NewBuild("linux").Number(1).Succeeded().Build()), make(chan struct{})}
	b := newBot(t, slack.Options{Token: testToken, APIURL: api.url(), SigningSecret: testSigning, InChannel: true, History: hist})
	slack.SetAnswerWithin(b, time.Millisecond) // the History waits for the response anyway

	form := command("U0ALICE", "C0BUILDS", "list builders")
	form.Set("response_url", later.url())
	w := httptest.NewRecorder()
	b.ServeHTTP(w, slashRequest(testSigning, time.Now(), form))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var a answer
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &a))
	assert.Equal(t, answer{ResponseType: "ephemeral", Text: "Working on it…"}, a)

	close(hist.open)
	select {
	case body := <-later.bodies:
		var m answer
		require.NoError(t, json.Unmarshal(body, &m))
		assert.Equal(t, answer{ResponseType: "in_channel", Text: "Configured builders: linux"}, m)
	case <-time.After(10 * time.Second): // a liveness bound
		t.Fatal("no answer at the response_url")
	}
	require.NoError(t, b.Close(context.Background()))
	assert.Empty(t, api.taken(), "answers do not go through chat.postMessage")
	assert.Empty(t, later.bodies, "one answer")
}

// A command that cannot be answered later needs a response_url.
func TestCommandNeedsResponseURL(t *testing.T) {
	b := newBot(t, slack.Options{WebhookURL: "https://hooks.slack.com" + testHook, SigningSecret: testSigning})
	for _, u := range []string{"", "hooks.slack.com/commands/1", "javascript:alert(1)"} {
		form := command("U0ALICE", "C0BUILDS", "version")
		form.Set("response_url", u)
		w := httptest.NewRecorder()
		b.ServeHTTP(w, slashRequest(testSigning, time.Now(), form))
		assert.Equal(t, http.StatusBadRequest, w.Code, u)
		assert.Contains(t, w.Body.String(), "response_url", u)
	}
}
