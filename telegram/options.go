package telegram

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/status"
)

// Options configures a Bot. Token is required.
type Options struct {
	// Token is the bot token BotFather gave ("123456:ABC-DEF...").
	Token status.Secret
	// APIURL is the Bot API server (default https://api.telegram.org; a
	// local Bot API server or a test double).
	APIURL string
	// Chats are the chats that get the NotifyEvents announcements: chat
	// IDs ("-1001234567890" for a group, a user's ID for a person) or
	// "@channelusername".
	Chats []string

	// PlainText sends messages without parse mode; by default they are
	// HTML, with results in bold.
	PlainText bool
	// NoCommands makes an announce-only bot: it does not poll getUpdates
	// (a token has one poller: use it when another program answers).
	NoCommands bool

	// NotifyEvents are the events announced in every chat of Chats until
	// changed with the notify command: started, finished, success,
	// warnings, failure, exception, and transitions xToY ("successToFailure").
	// People talking to the bot in private start with none.
	NotifyEvents []string
	// UseRevisions names builds by their revisions instead of their number.
	UseRevisions bool
	// NoBlameList leaves the blamelist out of unsuccessful build announcements.
	NoBlameList bool
	// Tags or Builders (not both) restrict the bot to those builders.
	Tags, Builders []string

	// History answers list, status, last, watch and stop.
	History status.History
	// Control carries out force, stop and shutdown.
	Control status.Control
	// AllowForce enables "force build" and "stop build"; AllowShutdown
	// enables "shutdown".
	AllowForce, AllowShutdown bool
	// Authz, when set, decides every command before it runs.
	// Command.Account is the sender's Telegram user ID (decimal), which
	// Telegram vouches for; Command.Sender is their @username or first
	// name, which anyone can choose: check Account before granting force.
	// Command.Room is the chat ID of a group, "" in private.
	Authz func(c chat.Command) bool

	// PollTimeout is getUpdates' long-poll timeout, in whole seconds
	// (default 30 s).
	PollTimeout time.Duration
	// HTTPClient sends the requests (default: a client of its own, whose
	// idle connections Close closes).
	HTTPClient *http.Client

	// SourceURL and Version are what the source and version commands say.
	SourceURL, Version string
	// Logger receives poll failures and refused commands. Default: the
	// logger of the Hub the bot is added to (see status.Logging). The bot
	// polls as soon as New returns, so until it is added what it logs goes
	// to slog.Default().
	Logger *slog.Logger
	// Now is the clock for "3m05s ago" (default time.Now).
	Now func() time.Time
}

const (
	defaultAPIURL      = "https://api.telegram.org"
	defaultPollTimeout = 30 * time.Second
)

// withDefaults validates o and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("telegram: "+format, args...)) }
	if o.Token.IsZero() {
		bad("Options.Token is empty: set the bot token BotFather gave")
	} else if id, _, ok := strings.Cut(o.Token.Reveal(), ":"); !ok || !isDigits(id) || strings.ContainsAny(o.Token.Reveal(), "/?#% \r\n") {
		bad("Options.Token is not a bot token: it looks like 123456:ABC-DEF... (digits, a colon, letters)")
	}
	if o.APIURL == "" {
		o.APIURL = defaultAPIURL
	}
	if u, err := url.Parse(o.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		bad("Options.APIURL %q is not an http(s) URL: use https://api.telegram.org or your Bot API server", o.APIURL)
	}
	o.APIURL = strings.TrimSuffix(o.APIURL, "/")
	for _, c := range o.Chats {
		if !validChat(c) {
			bad("Options.Chats: %q is not a chat ID or @channelusername", c)
		}
	}
	switch {
	case o.PollTimeout < 0 || o.PollTimeout > 0 && o.PollTimeout < time.Second:
		bad("Options.PollTimeout %v is not a long poll: use whole seconds, at least 1s (0 for 30s)", o.PollTimeout)
	case o.PollTimeout == 0:
		o.PollTimeout = defaultPollTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, errors.Join(errs...)
}

// validChat reports whether s is a chat ID or a channel's @username.
func validChat(s string) bool {
	if name, ok := strings.CutPrefix(s, "@"); ok {
		if len(name) < 4 || len(name) > 32 {
			return false
		}
		for _, c := range name {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				return false
			}
		}
		return true
	}
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil && s != "0"
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
