package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/telegram/telegramtest"
)

// TestThroughHubAfter429: a Hub retries an announcement Telegram refused
// with 429 after parameters.retry_after (3 s), and it arrives once.
func TestThroughHubAfter429(t *testing.T) {
	d := telegramtest.NewServer(t, telegramtest.Options{Token: testToken})
	b, err := New(Options{Token: testToken, APIURL: d.URL(), Chats: []string{"-1001"}, NotifyEvents: []string{"started"},
		NoCommands: true, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, hub.Add(b))
	d.RateLimit(1)
	hub.Publish(statustest.NewBuild("linux").Number(3).Events()[0])
	assert.Equal(t, "build #3 of linux started", next(t, d).Text)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, hub.Shutdown(ctx)) // closes the bot
	var codes []int
	for _, r := range d.Requests() {
		if r.Method == "sendMessage" {
			codes = append(codes, r.Code)
		}
	}
	assert.Equal(t, []int{429, 200}, codes)
	assert.Empty(t, d.Sent(), "sent once")
}

// TestThroughHubTwoChats: the second of two chats answers 429; the Hub's
// retry sends to it alone, so the first chat has the announcement once.
func TestThroughHubTwoChats(t *testing.T) {
	d := telegramtest.NewServer(t, telegramtest.Options{Token: testToken, RetryAfter: 1})
	b, err := New(Options{Token: testToken, APIURL: d.URL(), Chats: []string{"-1001", "-1002"}, NotifyEvents: []string{"started"},
		NoCommands: true, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, hub.Add(b))
	d.RateLimitChat("-1002", 1)
	hub.Publish(statustest.NewBuild("linux").Number(3).Events()[0])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, hub.Shutdown(ctx)) // after the retry

	var tries []string
	for _, r := range d.Requests() {
		if r.Method == "sendMessage" {
			var p struct {
				ChatID string `json:"chat_id"`
			}
			require.NoError(t, json.Unmarshal(r.Body, &p))
			tries = append(tries, fmt.Sprintf("%s %d", p.ChatID, r.Code))
		}
	}
	assert.Equal(t, []string{"-1001 200", "-1002 429", "-1002 200"}, tries)
	for _, chat := range []string{"-1001", "-1002"} {
		s := next(t, d)
		assert.Equal(t, telegramtest.Sent{ChatID: chat, ParseMode: "HTML", Text: "build #3 of linux started"}, s)
	}
	assert.Empty(t, d.Sent(), "once each")
}

// Cancelling Report's context ends a sendMessage Telegram does not answer.
func TestReportContextAbortsSend(t *testing.T) {
	api := telegramtest.New(telegramtest.Options{Token: testToken})
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/sendMessage") {
			_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client leaving
			arrived <- struct{}{}
			<-r.Context().Done() // no answer until the client gives up
			return
		}
		api.ServeHTTP(w, r)
	}))
	defer srv.Close()
	b, err := New(Options{Token: testToken, APIURL: srv.URL, Chats: []string{"-1001"}, NotifyEvents: []string{"started"},
		NoCommands: true, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer b.Close(context.Background())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Report(ctx, statustest.NewBuild("linux").Number(3).Events()[0]) }()
	<-arrived
	cancel()
	err = <-done
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, status.IsRetryable(err), "the caller cancelled: %v", err)
}
