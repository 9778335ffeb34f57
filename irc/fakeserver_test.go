package irc

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeServer is an IRC server on loopback for what ngircd cannot show
// (SASL, a server that goes silent, one that drops a connection on cue).
// Each connection's lines, CR LF trimmed, go to the test on a channel of
// their own; the handler newConn makes for a connection answers each line,
// and ends the connection by returning false.
type fakeServer struct {
	l     net.Listener
	conns chan chan string
}

func startFakeServer(t *testing.T, newConn func(c net.Conn) func(line string) bool) *fakeServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveFake(t, l, newConn)
}

// serveFake is startFakeServer on a listener of the test's (TLS).
func serveFake(t *testing.T, l net.Listener, newConn func(c net.Conn) func(line string) bool) *fakeServer {
	s := &fakeServer{l: l, conns: make(chan chan string, 10)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			lines := make(chan string, 100)
			s.conns <- lines
			answer := newConn(c)
			go func() {
				defer c.Close()
				defer close(lines)
				r := bufio.NewReader(c)
				for {
					_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					line = strings.TrimRight(line, "\r\n")
					lines <- line
					if !answer(line) {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return s
}

func (s *fakeServer) port() int { return s.l.Addr().(*net.TCPAddr).Port }

// next returns the lines of the next connection the bot makes.
func (s *fakeServer) next(t *testing.T) chan string {
	t.Helper()
	select {
	case c := <-s.conns:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("the bot did not connect")
		return nil
	}
}
