package telegram

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/telegram/telegramtest"
)

func TestConformance(t *testing.T) {
	d := telegramtest.NewServer(t, telegramtest.Options{Token: testToken})
	statustest.Conformance(t, func() status.Reporter {
		b, err := New(Options{Token: testToken, APIURL: d.URL(), Chats: []string{"-1001", "@herald_builds"},
			NotifyEvents: []string{"started", "finished", "failure", "successToFailure"}, History: statustest.NewHistory(),
			PollTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		return b
	})
}

func TestHTTPConformance(t *testing.T) {
	statustest.HTTPConformance(t, statustest.HTTPTarget{
		New: func(baseURL string, log *slog.Logger) status.Reporter {
			b, err := New(Options{Token: testToken, APIURL: baseURL, Chats: []string{"-1001"},
				NotifyEvents: []string{"started", "finished"}, NoCommands: true, Logger: log})
			require.NoError(t, err)
			return b
		},
		Secrets: []string{testToken, "AAH-secret_token"},
	})
}
