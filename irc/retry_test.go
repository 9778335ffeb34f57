package irc

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// reportResults is the bot as a Hub sees it, telling the test how each
// attempt ended.
type reportResults struct {
	*Bot
	results chan error
}

func (r reportResults) Report(ctx context.Context, e status.Event) error {
	err := r.Bot.Report(ctx, e)
	r.results <- err
	return err
}

// TestHubRetryAfterQueueFull: with room for one line, an event for two
// channels queues the first and is refused for the second; the Hub's retry
// queues the second alone.
func TestHubRetryAfterQueueFull(t *testing.T) {
	b := offlineBot(t, Options{NoColors: true, Channels: []Channel{{Name: "#a"}, {Name: "#b"}}, NotifyEvents: []string{"started"},
		QueueSize: 1, CoalesceWindow: -1, Interval: time.Millisecond})
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler)})
	r := reportResults{b, make(chan error, 100)}
	require.NoError(t, hub.Add(r))
	hub.Publish(statustest.NewBuild("linux").Number(4).Events()[0])

	err := <-r.results
	require.ErrorIs(t, err, ErrQueueFull)
	assert.True(t, status.IsRetryable(err))
	// The writer takes #a's line: there is room again.
	sent := drain(b)
	giveUp := time.After(10 * time.Second) // a liveness bound
	for err := error(nil); ; {
		select {
		case err = <-r.results:
		case <-giveUp:
			t.Fatal("no retry succeeded")
		}
		if err == nil {
			break
		}
		require.ErrorIs(t, err, ErrQueueFull, "only a full queue until then")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, hub.Shutdown(ctx))
	sent = append(sent, drain(b)...)
	assert.Equal(t, []string{"PRIVMSG #a :build #4 of linux started", "PRIVMSG #b :build #4 of linux started"}, sent)
}

// cancellingHistory cancels the Report that looks up a previous build, as
// if the Hub's attempt ended right then.
type cancellingHistory struct {
	status.History
	cancel context.CancelFunc
}

func (h cancellingHistory) PreviousBuild(ctx context.Context, b *status.Build) (*status.Build, error) {
	h.cancel()
	return h.History.PreviousBuild(ctx, b)
}

// A Report whose context ends before the bot says anything queues nothing;
// the same event reported again is said once in each channel.
func TestReportCancelledOverIRC(t *testing.T) {
	d := startIRCd(t)
	alice := dialClient(t, d, "alice")
	alice.join("#a")
	alice.join("#b")
	ctx, cancel := context.WithCancel(context.Background())
	hist := cancellingHistory{statustest.NewHistory(statustest.NewBuild("linux").Number(4).Succeeded().Build()), cancel}
	bot, _ := botOn(t, d, Options{Nick: "herald", NoColors: true, Channels: []Channel{{Name: "#a"}, {Name: "#b"}},
		NotifyEvents: []string{"finished", "successToFailure"}, History: hist})
	alice.joinedBy("herald", "#a")
	alice.joinedBy("herald", "#b")

	ev := status.Event{Kind: status.BuildFinished, ID: "hub-5", Build: statustest.NewBuild("linux").Number(5).Failed().Build()}
	err := bot.Report(ctx, ev)
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, status.IsRetryable(err), "a cancelled Report is not retried by the Hub: %v", err)
	assert.Zero(t, bot.out.pending(), "nothing queued")

	require.NoError(t, bot.Report(context.Background(), ev))
	for _, ch := range []string{"#a", "#b"} {
		m := alice.next("herald")
		assert.Equal(t, ch, m.Param(0))
		assert.Equal(t, "build #5 of linux is complete: Failure [build failure]", m.Param(1))
	}
	alice.send("PRIVMSG herald :version")
	m := alice.next("herald")
	assert.Contains(t, m.Param(1), "at your service", "nothing else was said")
}
