package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/telegram/telegramtest"
)

// TestDemoTelegram runs the demo with -telegram-api against the Bot API
// double and finds the announcements sent to the chat.
func TestDemoTelegram(t *testing.T) {
	api := telegramtest.NewServer(t, telegramtest.Options{Token: "123456:demo-secret"})
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("123456:demo-secret\n"), 0o600))
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"-builds", "2", "-speed", "50", "-seed", "7", "-addr", "",
		"-telegram-api", api.URL(), "-telegram-token-file", tokenFile, "-telegram-chat", "-100200", "-telegram-notify", "started"}, &out, &errs)
	require.NoError(t, err, errs.String())
	select {
	case m := <-api.Sent():
		assert.Equal(t, "-100200", m.ChatID)
		assert.True(t, strings.HasPrefix(m.Text, "build #1 of "), m.Text)
	case <-time.After(10 * time.Second):
		t.Fatal("no announcement")
	}
	assert.Contains(t, out.String(), "telegram: announcing in chat -100200")
	assert.NotContains(t, out.String()+errs.String(), "demo-secret")
}
