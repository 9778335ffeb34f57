package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// errSlowDown is a rate limit the fake network answers.
var errSlowDown = status.Retryable(errors.New("fake: 429 slow down"), time.Millisecond)

// refuseOnce makes the first n messages to room fail with err.
func refuseOnce(room string, n int, err error) func(context.Context, string, string) error {
	var left atomic.Int32
	left.Store(int32(n))
	return func(_ context.Context, to, _ string) error {
		if to == room && left.Add(-1) >= 0 {
			return err
		}
		return nil
	}
}

// TestHubRetryAnnouncesOnlyWhereMissing: a Hub retries an event the second
// of two rooms rate-limited; the first room has it once, the second gets it
// after the retry.
func TestHubRetryAnnouncesOnlyWhereMissing(t *testing.T) {
	e, ft := newEngine(t, Options{NotifyEvents: []string{"failure"}})
	e.Join("!a")
	e.Join("!b")
	ft.refuse = refuseOnce("!b", 1, errSlowDown)
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, hub.Add(e))
	for _, ev := range statustest.NewBuild("linux").Number(7).Failed().Events() {
		hub.Publish(ev)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, hub.Shutdown(ctx)) // after the retry

	const text = "build #7 of linux is complete: Failure [build failure]"
	assert.Equal(t, []said{{"!a", text, true}, {"!b", text, true}}, ft.take(), "once each")
	assert.Equal(t, []said{{"!a", text, true}, {"!b", text, true}, {"!b", text, true}}, ft.tries, "!b tried twice, !a once")
	assert.Empty(t, e.unsent, "forgotten once delivered")
}

// A retry finishes what the first attempt composed: the end of a watch and
// of a forced build, which an event completes once, are not lost; a room's
// later messages wait behind its refused one; a room that refused for good
// is not tried again.
func TestRetryKeepsWatchesAndOrder(t *testing.T) {
	hist := statustest.NewHistory(statustest.NewBuild("linux").Number(7).Running().Build())
	e, ft := newEngine(t, Options{History: hist, NotifyEvents: []string{"failure"}})
	e.Join("!a")
	e.Join("!b")
	e.Join("!gone")
	ask(e, "bob", "!b", "watch linux")
	require.Equal(t, []said{{"!b", "watching build linux #7 until it finishes..", false}}, ft.take())

	refuseB := refuseOnce("!b", 1, errSlowDown)
	ft.refuse = func(ctx context.Context, to, text string) error {
		if to == "!gone" {
			return errors.New("fake: not in that room")
		}
		return refuseB(ctx, to, text)
	}
	ev := statustest.NewBuild("linux").Number(7).Failed().Events()
	last := ev[len(ev)-1]
	last.ID = "hub-1"
	ctx := context.Background()
	err := e.Report(ctx, last)
	require.Error(t, err)
	assert.True(t, status.IsRetryable(err), "%v", err)
	assert.ErrorContains(t, err, "not in that room")
	const text = "build #7 of linux is complete: Failure [build failure]"
	assert.Equal(t, []said{{"!a", text, true}}, ft.take(), "nothing more for !b before its refused message")

	require.NoError(t, e.Report(ctx, last), "the retry")
	got := ft.take()
	require.Len(t, got, 2)
	assert.Equal(t, said{"!b", text, true}, got[0])
	assert.Contains(t, got[1].Text, "build linux #7 is complete", "the watch's end, after the announcement")
	assert.NotContains(t, fmt.Sprint(ft.tries[len(ft.tries)-2:]), "!gone", "a final refusal is not retried")
	assert.Empty(t, e.unsent)
}

// A retry of an event whose memory was pushed out by maxUnsent newer ones
// composes it again: every room hears it again (logged when forgotten).
func TestUnsentIsBounded(t *testing.T) {
	e, ft := newEngine(t, Options{NotifyEvents: []string{"started"}})
	e.Join("!a")
	e.Join("!b")
	ft.refuse = func(_ context.Context, to, _ string) error {
		if to == "!b" {
			return errSlowDown
		}
		return nil
	}
	ctx := context.Background()
	for i := range maxUnsent + 1 {
		ev := statustest.NewBuild("linux").Number(i).Events()[0]
		ev.ID = fmt.Sprintf("hub-%d", i)
		require.Error(t, e.Report(ctx, ev))
	}
	assert.Len(t, e.unsent, maxUnsent)
	assert.Equal(t, "hub-1", e.unsent[0].id, "the oldest went first")
	ft.take()

	ft.refuse = nil
	for _, i := range []int{0, maxUnsent} {
		ev := statustest.NewBuild("linux").Number(i).Events()[0]
		ev.ID = fmt.Sprintf("hub-%d", i)
		require.NoError(t, e.Report(ctx, ev))
	}
	assert.Equal(t, []said{
		{"!a", "build #0 of linux started", true}, {"!b", "build #0 of linux started", true}, // forgotten: both again
		{"!b", fmt.Sprintf("build #%d of linux started", maxUnsent), true}, // remembered: !b alone
	}, ft.take())
	assert.Len(t, e.unsent, maxUnsent-1)
}

// Cancelling Report's context aborts a Say blocked on the network; the
// messages not said wait for the retry.
func TestReportContextAbortsSay(t *testing.T) {
	e, ft := newEngine(t, Options{NotifyEvents: []string{"started"}})
	e.Join("!a")
	e.Join("!b")
	blocked := make(chan struct{})
	ft.refuse = func(ctx context.Context, to, _ string) error {
		if to != "!a" {
			return nil
		}
		close(blocked)
		<-ctx.Done()
		return fmt.Errorf("fake: %w", ctx.Err())
	}
	ev := statustest.NewBuild("linux").Number(3).Events()[0]
	ev.ID = "hub-3"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Report(ctx, ev) }()
	<-blocked
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, ft.take(), "!b is not tried once the context ended")

	ft.refuse = nil
	require.NoError(t, e.Report(context.Background(), ev))
	assert.Equal(t, []said{{"!a", "build #3 of linux started", true}, {"!b", "build #3 of linux started", true}}, ft.take())
}

// A command's context reaches the Transport; one that ran out of time is
// still told so.
func TestCommandContext(t *testing.T) {
	type key struct{}
	block := make(chan struct{})
	hist := &slowHistory{History: statustest.NewHistory(), block: block}
	e, ft := newEngine(t, Options{History: hist})
	var seen []any
	ft.refuse = func(ctx context.Context, _, _ string) error {
		seen = append(seen, ctx.Value(key{}))
		return ctx.Err()
	}
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), key{}, "mine"), time.Nanosecond)
	defer cancel()
	e.Execute(ctx, Request{Command: Command{Sender: "bob"}, To: "bob"}, "list builders")
	assert.Equal(t, []said{{"bob", "sorry, that failed: context deadline exceeded", false}}, ft.take())
	assert.Equal(t, []any{"mine"}, seen)
}

// slowHistory's Builders waits for its context.
type slowHistory struct {
	status.History
	block chan struct{}
}

func (h *slowHistory) Builders(ctx context.Context) ([]status.Builder, error) {
	select {
	case <-h.block:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return h.History.Builders(ctx)
}
