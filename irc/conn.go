package irc

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// userName is the user name sent at registration.
const userName = "herald"

const (
	dialTimeout     = 30 * time.Second
	registerTimeout = time.Minute      // from connect to the welcome
	idleTimeout     = 2 * time.Minute  // silence before the bot PINGs the server
	pingTimeout     = time.Minute      // then the wait for any answer
	writeTimeout    = 30 * time.Second // one line
)

// run is the connection loop: connect, serve, wait, again, until Close.
func (b *Bot) run() {
	defer close(b.done)
	defer b.cmdWG.Wait()
	for {
		registered, err := b.serve()
		if b.ctx.Err() != nil {
			return
		}
		delay := b.o.FailedDelay
		if registered {
			delay = b.o.LostDelay
			b.log.Warn("irc: connection lost", "err", err, "reconnect_in", delay)
		} else {
			b.log.Warn("irc: connection failed", "err", err, "retry_in", delay)
		}
		if sleep(b.ctx, delay) != nil {
			return
		}
	}
}

// serve runs one connection: registration, then reading until it ends. It
// reports whether the bot got registered (the connection was "lost" rather
// than "failed").
func (b *Bot) serve() (registered bool, err error) {
	conn, err := b.dial()
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithCancel(b.ctx)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	writerDone := make(chan struct{})
	defer func() {
		cancel()
		stop()
		conn.Close()
		<-writerDone
		b.mu.Lock()
		b.registered, b.mask = false, ""
		b.mu.Unlock()
		b.out.resetSession()
		b.out.requeue()    // what the server may not have taken goes out again next time
		b.out.signalIdle() // a Close waiting for the queue to drain: it will not now
	}()

	b.out.resetSession()
	b.mu.Lock()
	b.nick = b.o.Nick
	b.mu.Unlock()
	s := &session{b: b, nick: b.o.Nick}
	if b.o.SASL != nil {
		b.out.pushUrgent("CAP LS 302")
	}
	b.out.pushUrgent(formatLine("NICK", b.o.Nick))
	b.out.pushUrgent(formatLine("USER", userName, "0", "*", b.o.RealName))
	go func() {
		defer close(writerDone)
		if err := b.write(ctx, conn); err != nil && ctx.Err() == nil {
			b.log.Debug("irc: write failed", "err", err)
		}
		cancel() // a dead writer ends the session: the reader sees the closed conn
	}()
	err = s.read(ctx, conn)
	return s.registered, err
}

func (b *Bot) dial() (net.Conn, error) {
	addr := net.JoinHostPort(b.o.Host, strconv.Itoa(b.o.Port))
	ctx, cancel := context.WithTimeout(b.ctx, dialTimeout)
	defer cancel()
	d := net.Dialer{KeepAlive: time.Minute}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil || !b.o.UseTLS {
		return conn, err
	}
	cfg := b.o.TLSConfig.Clone()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = b.o.Host
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("irc: TLS handshake with %s: %w", addr, err)
	}
	return tc, nil
}

// write sends queued lines, keeping to the flood control, until ctx ends.
// Urgent lines (PONG, QUIT) overtake a line waiting for its turn.
func (b *Bot) write(ctx context.Context, conn net.Conn) error {
	th := newThrottle(b.o.Burst, b.o.Interval)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		line, ok := b.out.nextUrgent()
		if !ok {
			b.mu.Lock()
			registered := b.registered
			b.mu.Unlock()
			var due <-chan time.Time
			if b.out.hasPaced(registered) {
				if w := th.wait(time.Now()); w > 0 {
					if timer == nil {
						timer = time.NewTimer(w)
					} else {
						timer.Reset(w)
					}
					due = timer.C
				} else {
					line, ok = b.out.nextPaced(registered)
					th.take(time.Now())
				}
			}
			if !ok {
				select {
				case <-b.out.wake:
				case <-due:
				case <-ctx.Done():
					return ctx.Err()
				}
				continue
			}
		}
		if len(line) > maxLine-2 { // never: say splits; a last guard against a disconnect
			line = line[:maxLine-2]
		}
		_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := conn.Write([]byte(line + "\r\n")); err != nil {
			return err
		}
		if strings.HasPrefix(line, "QUIT") {
			close(b.quitWritten)
			<-ctx.Done()
			return ctx.Err()
		}
		b.mu.Lock()
		registered := b.registered
		b.mu.Unlock()
		if ping, ok := b.out.mark(!b.out.hasPaced(registered)); ok { // have what was said acknowledged
			b.out.pushUrgent(ping)
		}
	}
}

// session is the state of one connection, owned by its reader.
type session struct {
	b          *Bot
	nick       string
	registered bool
	pinged     bool
}

// read handles server lines until the connection ends.
func (s *session) read(ctx context.Context, conn net.Conn) error {
	r := bufio.NewReaderSize(conn, maxInbound+2)
	deadline := time.Now().Add(registerTimeout)
	_ = conn.SetReadDeadline(deadline)
	for {
		line, err := readLine(r)
		if err != nil {
			var ne net.Error
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case errors.As(err, &ne) && ne.Timeout() && s.registered && !s.pinged:
				s.pinged = true
				s.b.out.pushUrgent("PING :herald")
				_ = conn.SetReadDeadline(time.Now().Add(s.b.o.pingTimeout))
				continue
			case errors.As(err, &ne) && ne.Timeout() && !s.registered:
				return errors.New("irc: no welcome from the server within " + registerTimeout.String())
			case errors.As(err, &ne) && ne.Timeout():
				return errors.New("irc: the server did not answer a PING: the connection is dead")
			}
			return err
		}
		s.pinged = false
		if s.registered {
			_ = conn.SetReadDeadline(time.Now().Add(s.b.o.idleTimeout))
		}
		m, err := parseMessage(line)
		if err != nil {
			continue
		}
		if err := s.handle(&m); err != nil {
			return err
		}
		if s.registered {
			_ = conn.SetReadDeadline(time.Now().Add(s.b.o.idleTimeout))
		}
	}
}

// readLine reads one line, skipping (not buffering) lines longer than
// maxInbound.
func readLine(r *bufio.Reader) (string, error) {
	for {
		b, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			for err == bufio.ErrBufferFull {
				_, err = r.ReadSlice('\n')
			}
			if err != nil {
				return "", err
			}
			continue
		}
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
}

// handle reacts to one server message; an error ends the connection.
func (s *session) handle(m *message) error {
	b := s.b
	switch m.Command {
	case "PING":
		b.out.pushUrgent(formatLine("PONG", m.Param(0)))
	case "PONG":
		if len(m.Params) > 0 {
			b.out.ack(m.Params[len(m.Params)-1])
		}
	case "ERROR":
		return fmt.Errorf("irc: server closed the connection: %s", m.Param(0))
	case "CAP":
		return s.capability(m)
	case "AUTHENTICATE":
		if m.Param(0) == "+" && b.o.SASL != nil {
			// PLAIN: authzid NUL authcid NUL password; short enough for one line.
			raw := b.o.SASL.User + "\x00" + b.o.SASL.User + "\x00" + b.o.SASL.Password.Reveal()
			b.out.pushUrgent("AUTHENTICATE " + base64.StdEncoding.EncodeToString([]byte(raw)))
		}
	case "903": // SASL success
		b.out.pushUrgent("CAP END")
	case "902", "904", "905", "906", "908":
		if b.o.SASL == nil {
			break
		}
		return fmt.Errorf("irc: SASL login as %q refused: %s %s", b.o.SASL.User, m.Command, m.Param(len(m.Params)-1))
	case "433", "436": // nick in use: take another until the welcome
		if !s.registered {
			if len(s.nick) > len(b.o.Nick)+3 {
				return fmt.Errorf("irc: nick %s and variants are in use", b.o.Nick)
			}
			s.nick += "_"
			b.mu.Lock()
			b.nick = s.nick
			b.mu.Unlock()
			b.out.pushUrgent(formatLine("NICK", s.nick))
		}
	case "432":
		return fmt.Errorf("irc: the server refuses nick %s: %s", s.nick, m.Param(len(m.Params)-1))
	case "001":
		s.welcome(m)
	case "NICK":
		if fold(m.Nick()) == fold(s.nick) {
			s.nick = m.Param(0)
			b.mu.Lock()
			b.nick, b.mask = s.nick, ""
			b.mu.Unlock()
		}
	case "JOIN":
		if fold(m.Nick()) == fold(s.nick) {
			b.joined(m.Param(0), m.Prefix)
		}
	case "PART":
		if fold(m.Nick()) == fold(s.nick) {
			b.parted(m.Param(0))
		}
	case "KICK":
		if fold(m.Param(1)) == fold(s.nick) {
			b.log.Warn("irc: kicked from a channel", "channel", m.Param(0), "by", m.Nick(), "reason", m.Param(2))
			b.parted(m.Param(0))
		}
	case "471", "473", "474", "475", "403", "405":
		b.log.Warn("irc: cannot join a channel", "channel", m.Param(1), "reply", m.Command, "text", m.Param(len(m.Params)-1))
	case "PRIVMSG":
		if len(m.Params) == 2 {
			b.privmsg(m, s.nick)
		}
	}
	return nil
}

// capability handles CAP replies during SASL negotiation.
func (s *session) capability(m *message) error {
	b := s.b
	switch strings.ToUpper(m.Param(1)) {
	case "LS":
		caps := m.Param(len(m.Params) - 1)
		more := len(m.Params) > 3 && m.Param(2) == "*" // a multi-line list goes on
		for _, c := range strings.Fields(caps) {
			name, mechs, _ := strings.Cut(c, "=")
			if name == "sasl" && (mechs == "" || strings.Contains(","+mechs+",", ",PLAIN,")) {
				b.out.pushUrgent("CAP REQ :sasl")
				return nil
			}
		}
		if !more {
			return errors.New("irc: the server does not offer SASL PLAIN: unset Options.SASL or use Password (NickServ)")
		}
	case "ACK":
		if strings.Contains(" "+m.Param(len(m.Params)-1)+" ", " sasl ") {
			b.out.pushUrgent("AUTHENTICATE PLAIN")
		}
	case "NAK":
		return errors.New("irc: the server refused the SASL capability")
	}
	return nil
}

// welcome completes registration: identify to NickServ, join the channels.
func (s *session) welcome(m *message) {
	b := s.b
	s.registered = true
	s.nick = m.Param(0)
	mask := ""
	if words := strings.Fields(m.Param(len(m.Params) - 1)); len(words) > 0 {
		if w := words[len(words)-1]; strings.Contains(w, "!") && strings.Contains(w, "@") {
			mask = w
		}
	}
	// The session's lines (IDENTIFY, JOIN) are queued before the paced
	// lanes open: otherwise the writer could send an announcement queued
	// while we were away to a channel we have not joined yet (and lose it).
	b.mu.Lock()
	channels := append([]Channel(nil), b.channels...)
	b.mu.Unlock()
	if !b.o.Password.IsZero() {
		b.out.pushSession(formatLine("PRIVMSG", "NickServ", "IDENTIFY "+b.o.Password.Reveal()))
	}
	for _, c := range channels {
		b.out.pushSession(joinLine(c))
	}
	b.mu.Lock()
	b.registered, b.nick, b.mask = true, s.nick, mask
	b.mu.Unlock()
	b.log.Info("irc: registered", "nick", s.nick)
	b.out.signal()
}

func joinLine(c Channel) string {
	if c.Key.IsZero() {
		return formatLine("JOIN", c.Name)
	}
	return formatLine("JOIN", c.Name, c.Key.Reveal())
}

// joined records that the server put us on a channel.
func (b *Bot) joined(channel, _ string) {
	b.engine.Join(channel)
	b.log.Info("irc: joined", "channel", channel)
}

// parted records that we are off a channel: no more announcements there.
func (b *Bot) parted(channel string) {
	b.engine.Leave(channel)
	b.log.Info("irc: left", "channel", channel)
}
