package irc

import (
	"bufio"
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
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conns := make(chan chan string, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			lines := make(chan string, 100)
			conns <- lines
			go func() {
				defer c.Close()
				defer close(lines)
				r := bufio.NewReader(c)
				for {
					s, err := r.ReadString('\n')
					if err != nil {
						return
					}
					s = strings.TrimRight(s, "\r\n")
					lines <- s
					if strings.HasPrefix(s, "USER ") {
						fmt.Fprintf(c, ":srv 001 herald :Welcome herald!~herald@127.0.0.1\r\nPING :srv-token\r\n")
					}
				}
			}()
		}
	}()
	defer func() { l.Close(); <-done }()

	sink := &testkit.Buffer{}
	b, err := New(Options{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, Nick: "herald", LostDelay: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(sink, nil)), idleTimeout: 300 * time.Millisecond, pingTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBot(t, b)

	first := <-conns
	readUntil(t, first, "PONG srv-token")
	start := time.Now()
	readUntil(t, first, "PING :herald")
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("the bot PINGed after %v of silence, want the idle timeout (300ms)", d)
	}
	for range first { // the bot hangs up after the ping timeout
	}
	select {
	case <-conns: // and reconnects
	case <-time.After(10 * time.Second):
		t.Fatal("the bot did not reconnect")
	}
	if !strings.Contains(sink.String(), "did not answer a PING") {
		t.Errorf("log:\n%s", sink.String())
	}
}
