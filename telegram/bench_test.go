package telegram

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/telegram/telegramtest"
)

// BenchmarkHub1000Builds: 1,000 builds start and finish through a Hub, each
// event announced in one chat of the Bot API double; statuses/s counts the
// messages sendMessage took.
func BenchmarkHub1000Builds(b *testing.B) {
	d := telegramtest.NewServer(b, telegramtest.Options{Token: testToken})
	bot, err := New(Options{Token: testToken, APIURL: d.URL(), Chats: []string{"-1001"}, NotifyEvents: []string{"started", "finished"},
		NoCommands: true, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(b, err)
	testkit.HubBuilds(b, bot, func(iter, i int) *status.Build {
		return statustest.NewBuild(fmt.Sprintf("builder-%d", i%10)).Number(iter*1000 + i + 1).Succeeded().Build()
	}, d.Wait)
}
