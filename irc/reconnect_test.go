package irc

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// TestReconnect kills ngircd under the bot, stands in for it with a
// listener that accepts and hangs up (a failed registration), then starts
// ngircd again: the bot waits LostDelay after the loss, FailedDelay after
// the failure, then registers, identifies to NickServ, rejoins its channel
// and delivers what was announced while it was away.
func TestReconnect(t *testing.T) {
	// FailedDelay is also the time alice has, after ngircd is back, to join
	// #re before the bot comes back and announces there: generous, so a
	// loaded machine does not make her miss it.
	const lost, failed = 400 * time.Millisecond, 3 * time.Second
	d := startIRCd(t)
	nickserv := dialClient(t, d, "NickServ")
	alice := dialClient(t, d, "alice")
	alice.join("#re")
	bot, log := botOn(t, d, Options{Nick: "herald", Password: "hunter2", Channels: []Channel{{Name: "#re"}},
		NotifyEvents: []string{"failure"}, LostDelay: lost, FailedDelay: failed})
	nickserv.said("herald", "NickServ", "IDENTIFY hunter2")
	alice.joinedBy("herald", "#re")

	killed := time.Now()
	d.stop()
	l, err := net.Listen("tcp", d.addr())
	if err != nil {
		t.Fatalf("listening where ngircd was: %v", err)
	}
	defer l.Close()
	// Announced while the server is away: queued, delivered later.
	b := statustest.NewBuild("linux").Number(9).Failed().Build()
	if err := bot.Report(context.Background(), status.Event{Kind: status.BuildFinished, Build: b}); err != nil {
		t.Fatalf("Report while disconnected: %v", err)
	}

	accept := func() time.Time {
		t.Helper()
		_ = l.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		c, err := l.Accept()
		if err != nil {
			t.Fatalf("the bot did not reconnect: %v", err)
		}
		at := time.Now()
		c.Close() // no welcome: the registration failed
		return at
	}
	first := accept()
	second := accept()
	l.Close()
	if gap := first.Sub(killed); gap < lost {
		t.Errorf("reconnected %v after the loss, want at least LostDelay %v", gap, lost)
	}
	if gap := second.Sub(first); gap < failed {
		t.Errorf("retried %v after the failure, want at least FailedDelay %v", gap, failed)
	}
	t.Logf("reconnected %v after the loss, retried %v after the failure", first.Sub(killed), second.Sub(first))

	d.start()
	nickserv = dialClient(t, d, "NickServ")
	alice = dialClient(t, d, "alice")
	alice.join("#re")
	nickserv.said("herald", "NickServ", "IDENTIFY hunter2")
	alice.said("herald", "#re", "build #9 of linux is complete: Failure")
	alice.send("PRIVMSG #re :herald: version")
	alice.said("herald", "#re", "at your service")

	s := log.String()
	for _, want := range []string{"connection lost", "connection failed", "reconnect_in=400ms", "retry_in=3s"} {
		if !strings.Contains(s, want) {
			t.Errorf("log lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "hunter2") {
		t.Errorf("the NickServ password is in the log:\n%s", s)
	}
}
