package irc

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/testkit"
)

// saslServer is a fake IRC server that speaks just enough of IRCv3
// capability negotiation and SASL PLAIN (ngircd has no SASL): it holds
// registration until CAP END, as real servers do, and checks the
// credentials.
type saslServer struct {
	*fakeServer
	offer    string // the CAP LS list
	user     string
	password string
}

func startSASLServer(t *testing.T, offer, user, password string) *saslServer {
	t.Helper()
	s := &saslServer{offer: offer, user: user, password: password}
	s.fakeServer = startFakeServer(t, s.conn)
	return s
}

// conn answers the lines of one connection.
func (s *saslServer) conn(c net.Conn) func(string) bool {
	nick, loggedIn := "*", false
	send := func(format string, args ...any) { fmt.Fprintf(c, ":fake.test "+format+"\r\n", args...) }
	return func(line string) bool {
		m, err := parseMessage(line)
		if err != nil {
			send("421 %s :bad line", nick)
			return true
		}
		switch {
		case m.Command == "CAP" && m.Param(0) == "LS":
			send("CAP %s LS :%s", nick, s.offer)
		case m.Command == "NICK":
			nick = m.Param(0)
		case m.Command == "CAP" && m.Param(0) == "REQ":
			if strings.Contains(s.offer, "sasl") && m.Param(1) == "sasl" {
				send("CAP %s ACK :sasl", nick)
			} else {
				send("CAP %s NAK :%s", nick, m.Param(1))
			}
		case m.Command == "AUTHENTICATE" && m.Param(0) == "PLAIN":
			fmt.Fprintf(c, "AUTHENTICATE +\r\n")
		case m.Command == "AUTHENTICATE":
			raw, err := base64.StdEncoding.DecodeString(m.Param(0))
			parts := strings.Split(string(raw), "\x00")
			if err != nil || len(parts) != 3 || parts[1] != s.user || parts[2] != s.password {
				send("904 %s :SASL authentication failed", nick)
				return true
			}
			loggedIn = true
			send("900 %s %s!~herald@127.0.0.1 %s :You are now logged in as %s", nick, nick, s.user, s.user)
			send("903 %s :SASL authentication successful", nick)
		case m.Command == "CAP" && m.Param(0) == "END":
			if !loggedIn {
				send("ERROR :Closing link: login required")
				return false
			}
			send("001 %s :Welcome to the fake network %s!~herald@127.0.0.1", nick, nick)
		case m.Command == "QUIT":
			return false
		}
		return true
	}
}

// readUntil collects a connection's lines until one starts with prefix.
func readUntil(t *testing.T, lines chan string, prefix string) []string {
	t.Helper()
	var got []string
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("connection closed before %q; lines: %q", prefix, got)
			}
			got = append(got, l)
			if strings.HasPrefix(l, prefix) {
				return got
			}
		case <-timeout:
			t.Fatalf("no %q; lines: %q", prefix, got)
		}
	}
}

func saslBot(t *testing.T, s *saslServer, password string) *testkit.Buffer {
	t.Helper()
	sink := &testkit.Buffer{}
	port := s.port()
	b, err := New(Options{Host: "127.0.0.1", Port: port, Nick: "herald", SASL: &SASL{User: "ci-bot", Password: secretOf(password)},
		Channels: []Channel{{Name: "#sasl"}}, FailedDelay: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(sink, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeBot(t, b) })
	return sink
}

func TestSASL(t *testing.T) {
	s := startSASLServer(t, "multi-prefix sasl=PLAIN,EXTERNAL", "ci-bot", "pl41n-pass")
	log := saslBot(t, s, "pl41n-pass")
	got := readUntil(t, s.next(t), "JOIN")
	want := []string{"CAP LS 302", "NICK herald", "USER herald 0 * :Herald CI bot", "CAP REQ :sasl", "AUTHENTICATE PLAIN",
		"AUTHENTICATE " + base64.StdEncoding.EncodeToString([]byte("ci-bot\x00ci-bot\x00pl41n-pass")), "CAP END", "JOIN #sasl"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the bot sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(log.String(), "pl41n-pass") {
		t.Errorf("the SASL password is in the log:\n%s", log.String())
	}
}

func TestSASLRefused(t *testing.T) {
	s := startSASLServer(t, "sasl", "ci-bot", "pl41n-pass")
	log := saslBot(t, s, "wrong-pass")
	first := s.next(t)
	readUntil(t, first, "AUTHENTICATE Y2k") // base64 of "ci-bot..."
	for range first {                       // the bot hangs up after 904
	}
	readUntil(t, s.next(t), "CAP LS") // and tries again after FailedDelay
	s.l.Close()
	waitFor(t, func() bool { return strings.Contains(log.String(), "refused") }, "the refusal in the log")
	if l := log.String(); !strings.Contains(l, `SASL login as \"ci-bot\" refused: 904`) || strings.Contains(l, "wrong-pass") {
		t.Errorf("log:\n%s", l)
	}
}

func TestSASLNotOffered(t *testing.T) {
	s := startSASLServer(t, "multi-prefix", "ci-bot", "pl41n-pass")
	log := saslBot(t, s, "pl41n-pass")
	var got []string
	for l := range s.next(t) { // until the bot hangs up
		got = append(got, l)
	}
	for _, l := range got {
		if strings.HasPrefix(l, "AUTHENTICATE") || strings.HasPrefix(l, "CAP END") {
			t.Errorf("the bot went on without SASL: %q", got)
		}
	}
	waitFor(t, func() bool { return strings.Contains(log.String(), "does not offer SASL") }, "the reason in the log")
}
