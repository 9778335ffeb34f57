package mail

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail/smtp"

	"github.com/heraldci/herald/status"
)

// Sender delivers one encoded mail. Implementations must honour ctx, be
// safe for concurrent use, and classify failures as Notifier does: return
// status.Retryable for transient ones (SMTP 4xx, connection errors), a plain
// error for permanent ones (SMTP 5xx). They must not retry themselves.
type Sender interface {
	Send(ctx context.Context, env *Envelope) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, env *Envelope) error

// Send calls f(ctx, env).
func (f SenderFunc) Send(ctx context.Context, env *Envelope) error { return f(ctx, env) }

// Envelope is what a Sender delivers.
type Envelope struct {
	From string   // the envelope sender, a bare address
	To   []string // every recipient (To and Cc), bare, deduplicated
	Data []byte   // the encoded message
	// Message is the message Data encodes.
	Message *Message
}

// ErrNoSTARTTLS is returned (permanent) when Options.UseTLS is set and the
// server does not offer STARTTLS.
var ErrNoSTARTTLS = errors.New("mail: the SMTP server does not offer STARTTLS and Options.UseTLS requires it")

// smtpSender sends each mail over its own SMTP session, like Buildbot did:
// no connection outlives a Send, so nothing needs closing.
type smtpSender struct {
	host, addr, helo  string
	startTLS, implTLS bool
	tls               *tls.Config
	user              string
	pass              status.Secret
	mech              string
	timeout           time.Duration
}

func newSMTPSender(o *Options) *smtpSender {
	cfg := &tls.Config{ServerName: o.RelayHost, MinVersion: tls.VersionTLS12}
	if o.TLSConfig != nil {
		cfg = o.TLSConfig.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = o.RelayHost
		}
	}
	return &smtpSender{
		host: o.RelayHost, addr: net.JoinHostPort(o.RelayHost, strconv.Itoa(o.Port)), helo: o.HELO,
		startTLS: o.UseTLS, implTLS: o.ImplicitTLS, tls: cfg,
		user: o.Username, pass: o.Password, mech: o.AuthMechanism, timeout: o.Timeout,
	}
}

func (s *smtpSender) String() string {
	return fmt.Sprintf("smtp://%s (user %q, password %v)", s.addr, s.user, s.pass)
}

// Send runs one SMTP session. Cancelling ctx closes the connection, which
// aborts whatever command is in flight.
func (s *smtpSender) Send(ctx context.Context, env *Envelope) (err error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	stage := "connecting to " + s.addr
	defer func() {
		if err != nil {
			err = classify(ctx, stage, err)
		}
	}()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if s.implTLS {
		stage = "TLS handshake with " + s.addr
		tc := tls.Client(conn, s.tls)
		if err = tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return err
		}
		conn = tc
	}
	stage = "greeting from " + s.addr
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	stage = "EHLO"
	if err = c.Hello(s.helo); err != nil {
		return err
	}
	if s.startTLS {
		stage = "STARTTLS"
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return ErrNoSTARTTLS
		}
		if err = c.StartTLS(s.tls); err != nil {
			return err
		}
	}
	if s.user != "" {
		stage = "AUTH"
		if err = s.auth(c); err != nil {
			return err
		}
	}
	stage = "MAIL FROM"
	if err = c.Mail("<" + env.From + ">"); err != nil {
		return err
	}
	var accepted []string
	var rejected []string
	for _, to := range env.To {
		stage = "RCPT TO " + to
		if err = c.Rcpt("<" + to + ">"); err != nil {
			var te *textproto.Error
			if errors.As(err, &te) && te.Code >= 500 {
				// Permanent for this recipient only: mail the others.
				rejected = append(rejected, fmt.Sprintf("%s (%d %s)", to, te.Code, te.Msg))
				continue
			}
			return err
		}
		accepted = append(accepted, to)
	}
	if len(accepted) == 0 {
		return fmt.Errorf("mail: every recipient was refused: %s", strings.Join(rejected, "; "))
	}
	stage = "DATA"
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err = w.Write(env.Data); err != nil {
		return err
	}
	stage = "end of DATA"
	if err = w.Close(); err != nil {
		return err
	}
	stage = "QUIT"
	_ = c.Quit() // the mail is accepted; a failing QUIT changes nothing
	if len(rejected) > 0 {
		return fmt.Errorf("mail: delivered to %d recipient(s), refused: %s", len(accepted), strings.Join(rejected, "; "))
	}
	return nil
}

func (s *smtpSender) auth(c *smtp.Client) error {
	ok, offered := c.Extension("AUTH")
	if !ok {
		return errors.New("mail: the SMTP server offers no AUTH but Options.Username is set")
	}
	mechs := strings.Fields(strings.ToUpper(offered))
	mech := s.mech
	if mech == "" {
		for _, m := range []string{"PLAIN", "LOGIN", "CRAM-MD5"} {
			if slices.Contains(mechs, m) {
				mech = m
				break
			}
		}
	}
	if mech == "" || !slices.Contains(mechs, mech) {
		return fmt.Errorf("mail: the SMTP server offers AUTH %s, not %s: set Options.AuthMechanism", offered, cmp.Or(mech, "PLAIN, LOGIN or CRAM-MD5"))
	}
	var a smtp.Auth
	switch mech {
	case "PLAIN":
		a = smtp.PlainAuth("", s.user, s.pass.Reveal(), s.host, false)
	case "LOGIN":
		a = smtp.LoginAuth(s.user, s.pass.Reveal(), s.host, false)
	case "CRAM-MD5":
		a = smtp.CRAMMD5Auth(s.user, s.pass.Reveal())
	}
	return c.Auth(a)
}

// classify turns a failure of stage into Herald's error classes: Canceled
// (not retryable), timeouts, 4xx replies and connection failures
// (Retryable), 5xx replies, TLS verification and protocol misconfiguration
// (permanent).
func classify(ctx context.Context, stage string, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("mail: %s: %w", stage, ctx.Err())
	}
	// The connection's deadline is the context's: whichever fires first,
	// the session ran out of time.
	if dl, ok := ctx.Deadline(); ctx.Err() != nil || ok && !time.Now().Before(dl) {
		return status.Retryable(fmt.Errorf("mail: %s: timed out: %w (%v)", stage, context.DeadlineExceeded, err), 0)
	}
	if status.IsRetryable(err) || strings.HasPrefix(err.Error(), "mail: ") && !isNet(err) {
		return err
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		e := fmt.Errorf("mail: %s: server replied %d %s", stage, te.Code, te.Msg)
		if te.Code >= 400 && te.Code < 500 {
			return status.Retryable(e, 0)
		}
		return e
	}
	var (
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		cve *tls.CertificateVerificationError
		rhe tls.RecordHeaderError
	)
	if errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &cve) || errors.As(err, &rhe) {
		return fmt.Errorf("mail: %s: %w (check Options.TLSConfig, UseTLS and ImplicitTLS)", stage, err)
	}
	return status.ClassifyNetError(fmt.Errorf("mail: %s: %w", stage, err))
}

func isNet(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}
