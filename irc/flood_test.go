package irc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// TestFloodControl announces 50 builds at once and measures, on the
// receiving client, that the bot keeps to its burst and interval, and that
// it is not disconnected. ngircd throttles clients itself (about 3 lines a
// second, 256 bytes/s), so the interval here is slower than that: the
// pacing the client sees is the bot's own.
func TestFloodControl(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 25s")
	}
	const burst, interval, builds = 4, 500 * time.Millisecond, 50
	d := startIRCd(t)
	alice := dialClient(t, d, "alice")
	alice.join("#flood")
	bot, log := botOn(t, d, Options{Nick: "herald", Channels: []Channel{{Name: "#flood"}}, NotifyEvents: []string{"finished"},
		Burst: burst, Interval: interval})
	alice.joinedBy("herald", "#flood")
	// The JOIN took a token from the bucket, which may not have refilled
	// yet: the burst below is burst-1 lines at least, burst at most.

	for i := range builds {
		b := statustest.NewBuild("linux").Number(i + 1).Failed().Build()
		if err := bot.Report(context.Background(), status.Event{Kind: status.BuildFinished, Build: b}); err != nil {
			t.Fatal(err)
		}
	}
	reported := time.Now() // Report only queues: the paced lines go out long after this
	var at []time.Time
	for i := range builds {
		want := fmt.Sprintf("build #%d of linux is complete", i+1)
		l := alice.expect(time.Minute, want, func(m message) bool {
			return m.Nick() == "herald" && (m.Command == "PRIVMSG" || m.Command == "QUIT")
		})
		if l.m.Command == "QUIT" || !strings.Contains(l.m.Param(1), want) {
			t.Fatalf("line %d: got %s %q, want %q", i+1, l.m.Command, l.m.Params, want)
		}
		at = append(at, l.at)
	}
	// Had Report waited for the server, every line would have been sent
	// before the loop above ended; paced, the last one comes at least
	// (builds-burst) intervals after the first.
	if late := at[len(at)-1].Sub(reported); late < 10*interval {
		t.Errorf("the last line came %v after the Reports returned: Report must only queue, never wait for the server", late)
	}
	total := at[len(at)-1].Sub(at[0])
	t.Logf("%d lines received over %v (burst %d, interval %v)", builds, total, burst, interval)
	if d := at[burst-2].Sub(at[0]); d > interval/2 {
		t.Errorf("the first %d lines took %v: they should go out at once", burst-1, d)
	}
	const jitter = 150 * time.Millisecond // the receiving side is timed too, on a shared machine
	for j := burst; j < builds; j++ {
		if min := time.Duration(j-burst+1) * interval; at[j].Sub(at[0]) < min-jitter {
			t.Errorf("line %d arrived %v after the first: faster than the flood control allows (%v)", j+1, at[j].Sub(at[0]), min)
		}
	}
	if max := time.Duration(builds-burst)*interval + 2*time.Second; total > max {
		t.Errorf("the lines took %v, more than %v: something else is pacing them", total, max)
	}
	if s := log.String(); strings.Contains(s, "connection lost") {
		t.Errorf("the bot lost its connection:\n%s", s)
	}
}

// TestCloseDrains checks that Close lets queued announcements out before
// QUIT, and gives up with ctx.
func TestCloseDrains(t *testing.T) {
	d := startIRCd(t)
	alice := dialClient(t, d, "alice")
	alice.join("#drain")
	bot, _ := botOn(t, d, Options{Nick: "herald", Channels: []Channel{{Name: "#drain"}}, NotifyEvents: []string{"finished"},
		Burst: 2, Interval: 100 * time.Millisecond})
	alice.joinedBy("herald", "#drain")
	for i := range 8 {
		b := statustest.NewBuild("linux").Number(i + 1).Succeeded().Build()
		if err := bot.Report(context.Background(), status.Event{Kind: status.BuildFinished, Build: b}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := bot.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i := range 8 {
		alice.said("herald", "#drain", fmt.Sprintf("build #%d of linux", i+1))
	}
	alice.expect(10*time.Second, "herald quitting", func(m message) bool { return m.Command == "QUIT" && m.Nick() == "herald" })

	slow, _ := botOn(t, d, Options{Nick: "slowpoke", Channels: []Channel{{Name: "#drain"}}, NotifyEvents: []string{"finished"},
		Burst: 1, Interval: time.Hour})
	alice.joinedBy("slowpoke", "#drain")
	for i := range 3 {
		b := statustest.NewBuild("linux").Number(i + 1).Succeeded().Build()
		_ = slow.Report(context.Background(), status.Event{Kind: status.BuildFinished, Build: b})
	}
	short, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	if err := slow.Close(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with lines an hour away = %v, want a deadline error", err)
	}
}
