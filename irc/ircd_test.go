package irc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/testkit"

	"github.com/heraldci/herald/status"
)

// ircd is a real ngircd on a loopback port, for one test.
type ircd struct {
	t     testing.TB
	bin   string
	conf  string
	port  int
	cmd   *exec.Cmd
	ended chan struct{} // closed when the running server process has exited
}

const ngircdConfig = `[Global]
	Name = irc.test.local
	Info = Herald test server
	AdminInfo1 = test
	AdminInfo2 = test
	AdminEMail = test@test.local
	Listen = 127.0.0.1
	Ports = %d
	MotdPhrase = test server
[Limits]
	MaxNickLength = 30
	MaxConnectionsIP = 0
[Options]
	PAM = no
	Ident = no
	DNS = no
`

// startIRCd starts ngircd on a free port and stops it when the test ends.
// ngircd cannot pick its own port, so a port another process took between
// freePort and ngircd's bind is retried with a new one.
func startIRCd(t testing.TB) *ircd {
	t.Helper()
	bin := testkit.NeedBinary(t, "ngircd", "apt-get install -y ngircd")
	var err error
	for range 5 {
		d := &ircd{t: t, bin: bin, port: freePort(t)}
		d.conf = filepath.Join(t.TempDir(), "ngircd.conf")
		if err := os.WriteFile(d.conf, []byte(fmt.Sprintf(ngircdConfig, d.port)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err = d.tryStart(); err == nil {
			t.Cleanup(d.stop)
			return d
		}
	}
	t.Fatalf("ngircd: %v", err)
	return nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (d *ircd) addr() string { return fmt.Sprintf("127.0.0.1:%d", d.port) }

// start runs the server and returns once it listens (it says so on stdout).
func (d *ircd) start() {
	d.t.Helper()
	if err := d.tryStart(); err != nil {
		d.t.Fatal(err)
	}
}

func (d *ircd) tryStart() error {
	cmd := exec.Command(d.bin, "-n", "-f", d.conf)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting ngircd: %w", err)
	}
	listening := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		sc := bufio.NewScanner(out)
		var once sync.Once
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Now listening on") {
				once.Do(func() { close(listening) })
			}
		}
		_ = cmd.Wait()
	}()
	select {
	case <-listening:
	case <-ended:
		return fmt.Errorf("ngircd exited before listening on port %d", d.port)
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-ended
		return errors.New("ngircd did not listen within 10s")
	}
	d.cmd, d.ended = cmd, ended
	return nil
}

// stop kills the server and waits for it to exit.
func (d *ircd) stop() {
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Kill()
	<-d.ended
	d.cmd = nil
}

// line is a line a test client received, and when.
type line struct {
	at time.Time
	m  message
}

// client is a second IRC user talking to the bot.
type client struct {
	t     testing.TB
	nick  string
	conn  net.Conn
	lines chan line
	mu    sync.Mutex
	sent  []string
}

// dialClient connects and registers a user.
func dialClient(t testing.TB, d *ircd, nick string) *client {
	t.Helper()
	conn, err := net.Dial("tcp", d.addr())
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, nick: nick, conn: conn, lines: make(chan line, 8192)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(c.lines)
		r := bufio.NewReader(conn)
		for {
			s, err := r.ReadString('\n')
			if err != nil {
				return
			}
			m, err := parseMessage(strings.TrimRight(s, "\r\n"))
			if err != nil {
				continue
			}
			if m.Command == "PING" {
				c.send("PONG :%s", m.Param(0))
				continue
			}
			c.lines <- line{at: time.Now(), m: m}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	c.send("NICK %s", nick)
	c.send("USER %s 0 * :test client", nick)
	c.expect(10*time.Second, "welcome", func(m message) bool { return m.Command == "001" })
	return c
}

func (c *client) send(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	c.mu.Lock()
	c.sent = append(c.sent, s)
	c.mu.Unlock()
	if _, err := io.WriteString(c.conn, s+"\r\n"); err != nil {
		c.t.Errorf("client %s: send %q: %v", c.nick, s, err)
	}
}

// join joins a channel and waits until the server confirms it.
func (c *client) join(channel string) {
	c.t.Helper()
	c.send("JOIN %s", channel)
	c.expect(10*time.Second, "join "+channel, func(m message) bool {
		return m.Command == "366" && strings.EqualFold(m.Param(1), channel)
	})
}

// expect reads lines until one matches, failing the test after timeout.
func (c *client) expect(timeout time.Duration, what string, match func(m message) bool) line {
	c.t.Helper()
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("client %s: connection closed while waiting for %s", c.nick, what)
			}
			if match(l.m) {
				return l
			}
		case <-t.C:
			c.t.Fatalf("client %s: no %s within %v", c.nick, what, timeout)
		}
	}
}

// said waits for a PRIVMSG (or NOTICE with notice) from nick to target
// containing text, and returns its text.
func (c *client) said(from, target, text string) string {
	c.t.Helper()
	l := c.expect(10*time.Second, fmt.Sprintf("%s saying %q to %s", from, text, target), func(m message) bool {
		return (m.Command == "PRIVMSG" || m.Command == "NOTICE") && m.Nick() == from &&
			strings.EqualFold(m.Param(0), target) && strings.Contains(m.Param(1), text)
	})
	return l.m.Param(1)
}

// saidCmd is said that also returns the command (PRIVMSG or NOTICE).
func (c *client) saidCmd(from, target, text string) (cmd, msg string) {
	c.t.Helper()
	l := c.expect(10*time.Second, fmt.Sprintf("%s saying %q to %s", from, text, target), func(m message) bool {
		return (m.Command == "PRIVMSG" || m.Command == "NOTICE") && m.Nick() == from &&
			strings.EqualFold(m.Param(0), target) && strings.Contains(m.Param(1), text)
	})
	return l.m.Command, l.m.Param(1)
}

// botOn starts a bot against d with fast test timings; the test may change
// o first. It is closed when the test ends.
func botOn(t testing.TB, d *ircd, o Options) (*Bot, *testkit.Buffer) {
	t.Helper()
	host, port, _ := net.SplitHostPort(d.addr())
	o.Host = host
	fmt.Sscan(port, &o.Port)
	if o.LostDelay == 0 {
		o.LostDelay = 50 * time.Millisecond
	}
	if o.FailedDelay == 0 {
		o.FailedDelay = 100 * time.Millisecond
	}
	if o.Interval == 0 {
		o.Interval = 20 * time.Millisecond
	}
	sink := &testkit.Buffer{}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		closeBot(t, b)
		if t.Failed() {
			t.Logf("bot log:\n%s", sink.String())
		}
	})
	return b, sink
}

// joinedBy waits until nick joins channel, as c sees it.
func (c *client) joinedBy(nick, channel string) line {
	c.t.Helper()
	return c.expect(10*time.Second, nick+" joining "+channel, func(m message) bool {
		return m.Command == "JOIN" && m.Nick() == nick && strings.EqualFold(m.Param(0), channel)
	})
}

func secretOf(s string) status.Secret { return status.Secret(s) }

// closeBot closes b within 10 seconds or fails the test.
func closeBot(t testing.TB, b *Bot) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}
