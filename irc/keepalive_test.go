package irc

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/testkit"
)

// TestKeepalive uses a server that welcomes the bot, PINGs it, then goes
// silent without closing: the bot answers the PING, PINGs the server after
// the idle timeout, and when no answer comes treats the connection as lost
// and reconnects.
func TestKeepalive(t *testing.T) {
	s := startFakeServer(t, func(c net.Conn) func(string) bool {
		return func(line string) bool {
			if strings.HasPrefix(line, "USER ") {
				fmt.Fprintf(c, ":srv 001 herald :Welcome herald!~herald@127.0.0.1\r\nPING :srv-token\r\n")
			}
			return true
		}
	})

	sink := &testkit.Buffer{}
	b, err := New(Options{Host: "127.0.0.1", Port: s.port(), Nick: "herald", LostDelay: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(sink, nil)), idleTimeout: 300 * time.Millisecond, pingTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBot(t, b)

	first := s.next(t)
	readUntil(t, first, "PONG srv-token")
	start := time.Now()
	readUntil(t, first, "PING :herald")
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("the bot PINGed after %v of silence, want the idle timeout (300ms)", d)
	}
	for range first { // the bot hangs up after the ping timeout
	}
	s.next(t) // and reconnects
	if !strings.Contains(sink.String(), "did not answer a PING") {
		t.Errorf("log:\n%s", sink.String())
	}
}
