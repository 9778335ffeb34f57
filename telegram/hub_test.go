package telegram

import (
	"context"
	"log/slog"
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
