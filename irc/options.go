package irc

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/status"
)

// Options configures a Bot. Host and Nick are required; the zero value of
// every other field is Buildbot's default.
type Options struct {
	Host string // IRC server host name or address
	// Port defaults to 6667, or 6697 with UseTLS.
	Port int
	Nick string
	// RealName is sent at registration (default "Herald CI bot").
	RealName string

	// Password, when set, is sent to NickServ ("IDENTIFY password") after
	// every registration, as Buildbot's password option does.
	Password status.Secret
	// SASL logs in with SASL PLAIN during registration instead: the
	// connection fails (and is retried after FailedDelay) when the server
	// does not offer SASL or refuses the credentials. Use Password or SASL,
	// not both.
	SASL *SASL

	UseTLS bool
	// TLSConfig is used with UseTLS (default: system roots, ServerName Host).
	TLSConfig *tls.Config

	// Channels to join at every registration.
	Channels []Channel
	// PMToNicks are nicks that get the NotifyEvents announcements by private
	// message.
	PMToNicks []string

	// NoColors sends announcements without mIRC colour codes (Buildbot's
	// useColors=False; colours are on by default).
	NoColors bool
	// NoticeOnChannel sends everything the bot says on channels as NOTICE:
	// errors and answers do not prompt other bots to reply.
	NoticeOnChannel bool
	// NotifyEvents are the events announced on every channel and to every
	// PMToNicks nick until changed with the notify command: started,
	// finished, success, warnings, failure, exception, and transitions xToY
	// with x and Y among success, warnings, failure, exception
	// ("successToFailure"). Private contacts start with none.
	NotifyEvents []string
	// UseRevisions names builds by their revisions ("build containing
	// revision(s) [a87b2c4]") instead of their number.
	UseRevisions bool
	// NoBlameList leaves the blamelist out of unsuccessful build
	// announcements (Buildbot's showBlameList=False).
	NoBlameList bool

	// Tags or Builders (not both) restrict the bot to those builders: its
	// announcements, and what its commands show and act on (list builders,
	// status all, last all, force). They exist beside status.Filter, the
	// way to select what any reporter is told, because a filter around the
	// Bot sees events only, not the commands people type.
	Tags     []string
	Builders []string

	// History answers list, status, last, watch and stop; without it those
	// commands say so. Transitions (xToY) compare with
	// History.PreviousBuild, or without History with the previous build the
	// bot saw finish.
	History status.History
	// Control carries out force, stop and shutdown. AllowForce and
	// AllowShutdown need it. The bot follows a forced build through the
	// BuildSetID of the request ForceBuild returns, and tells the requester
	// when it starts and how it ended.
	Control status.Control
	// AllowForce enables "force build" and "stop build".
	AllowForce bool
	// AllowShutdown enables "shutdown start|stop|now" ("check" too).
	AllowShutdown bool
	// Authz, when set, decides every command before it runs; a refused
	// command is answered "you are not allowed to ...". Without it anyone
	// may run any enabled command. IRC nicks are not authenticated by the
	// protocol: check Command.Account, user@host (or use a network whose
	// services enforce nicks)
	// before granting force or shutdown. Authz may be called from several
	// goroutines at once.
	Authz func(c chat.Command) bool

	// LostDelay is the wait before reconnecting after a working connection
	// was lost (default: random between 1 and 5 s, as Buildbot).
	LostDelay time.Duration
	// FailedDelay is the wait before retrying after a connection or a
	// registration failed (default: random between 45 and 60 s).
	FailedDelay time.Duration

	// Burst and Interval are the flood control: Burst lines go out at once,
	// then one line per Interval (defaults 4 and 2 s). PONG and
	// registration lines are not counted.
	Burst    int
	Interval time.Duration
	// QueueSize bounds the announcement lines waiting to be sent, and
	// separately the answer lines (default 512 each). Answers go before
	// announcements. When the announcements are full Report returns a
	// Retryable ErrQueueFull; answers that do not fit are dropped and logged.
	QueueSize int
	// CoalesceWindow is how long an announcement identical to one already
	// sent to the same place is suppressed (default 60 s; negative: never).
	CoalesceWindow time.Duration

	// SourceURL is what the source command announces (default Herald's
	// repository); Version is what version announces (default: Herald's
	// module version).
	SourceURL string
	Version   string

	// Logger receives connection state changes, refused commands and
	// dropped lines. Default: the logger of the Hub the bot is added to
	// (see status.Logging). The bot connects as soon as New returns, so
	// until it is added what it logs goes to slog.Default().
	Logger *slog.Logger
	// Now is the clock for "3m05s ago" (default time.Now).
	Now func() time.Time

	// idleTimeout and pingTimeout shorten the keepalive in tests.
	idleTimeout, pingTimeout time.Duration
}

// Channel is a channel to join, with its key (Buildbot's password), if any.
type Channel struct {
	Name string
	Key  status.Secret
}

// SASL holds SASL PLAIN credentials.
type SASL struct {
	User     string
	Password status.Secret
}

const (
	defaultBurst     = 4
	defaultInterval  = 2 * time.Second
	defaultQueueSize = 512
	defaultCoalesce  = time.Minute
)

// withDefaults validates o and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("irc: "+format, args...)) }

	o.Host = strings.TrimSpace(o.Host)
	if o.Host == "" {
		bad("Options.Host is empty: set the IRC server's host name")
	}
	switch {
	case o.Port == 0 && o.UseTLS:
		o.Port = 6697
	case o.Port == 0:
		o.Port = 6667
	case o.Port < 0 || o.Port > 65535:
		bad("Options.Port %d is out of range: use 1-65535 (or 0 for 6667/6697)", o.Port)
	}
	if !validNick(o.Nick) {
		bad("Options.Nick %q is not a valid nick: use letters, digits and []\\`_^{|}- , not starting with a digit or -", o.Nick)
	}
	if o.RealName == "" {
		o.RealName = "Herald CI bot"
	}
	if o.SASL != nil && !o.Password.IsZero() {
		bad("both Options.Password (NickServ) and Options.SASL are set: use one way to log in")
	}
	if o.SASL != nil && (o.SASL.User == "" || o.SASL.Password.IsZero()) {
		bad("Options.SASL needs both User and Password")
	}
	if o.TLSConfig != nil && !o.UseTLS {
		bad("Options.TLSConfig is set but UseTLS is false: set UseTLS to connect with TLS")
	}
	for _, c := range o.Channels {
		if !validChannel(c.Name) {
			bad("channel %q is not a valid channel name: it starts with # (or &, +, !) and has no spaces, commas or control characters", c.Name)
		}
		if strings.ContainsAny(c.Key.Reveal(), " ,\r\n\x00") {
			bad("the key of channel %s contains spaces, commas or line breaks: IRC keys cannot", c.Name)
		}
	}
	for _, n := range o.PMToNicks {
		if !validNick(n) {
			bad("Options.PMToNicks: %q is not a valid nick", n)
		}
	}
	if o.LostDelay < 0 || o.FailedDelay < 0 {
		bad("Options.LostDelay and FailedDelay must not be negative (0 picks Buildbot's random defaults)")
	}
	if o.LostDelay == 0 {
		o.LostDelay = time.Second + rand.N(4*time.Second)
	}
	if o.FailedDelay == 0 {
		o.FailedDelay = 45*time.Second + rand.N(15*time.Second)
	}
	switch {
	case o.Burst < 0 || o.Interval < 0 || o.QueueSize < 0:
		bad("Options.Burst, Interval and QueueSize must not be negative")
	}
	if o.Burst == 0 {
		o.Burst = defaultBurst
	}
	if o.Interval == 0 {
		o.Interval = defaultInterval
	}
	if o.QueueSize == 0 {
		o.QueueSize = defaultQueueSize
	}
	if o.CoalesceWindow == 0 {
		o.CoalesceWindow = defaultCoalesce
	}
	if o.Version == "" {
		o.Version = moduleVersion()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.idleTimeout == 0 {
		o.idleTimeout = idleTimeout
	}
	if o.pingTimeout == 0 {
		o.pingTimeout = pingTimeout
	}
	return o, errors.Join(errs...)
}

// validNick follows RFC 2812's nickname grammar, without its length limit
// (servers announce their own).
func validNick(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("[]\\`_^{|}-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validChannel reports whether s is a channel name a JOIN can carry.
func validChannel(s string) bool {
	if len(s) < 2 || len(s) > 200 || strings.IndexByte("#&+!", s[0]) < 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == ',' || c == 0x07 || c == ':' && i == 0 {
			return false
		}
	}
	return true
}
