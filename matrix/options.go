package matrix

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/status"
)

// Options configures a Bot. Homeserver, UserID and AccessToken are
// required; the zero value of every other field is a working default.
type Options struct {
	// Homeserver is the client-server API's base URL
	// ("https://matrix.example.org").
	Homeserver string
	// UserID is the bot's account ("@herald:example.org"). Its localpart
	// is the name people address it by ("herald: status").
	UserID string
	// AccessToken is the account's access token, sent as
	// "Authorization: Bearer …".
	AccessToken status.Secret

	// Rooms are the room IDs ("!abc:example.org") where NotifyEvents are
	// announced. The account must already be in them.
	Rooms []string
	// NotifyEvents are the events announced in every room until changed
	// with the notify command: started, finished, success, warnings,
	// failure, exception, and transitions xToY ("successToFailure").
	NotifyEvents []string
	// NoCommands makes an announcing bot only: it never syncs, so it
	// reads nothing from the rooms.
	NoCommands bool
	// UseRevisions and NoBlameList are as in package chat.
	UseRevisions, NoBlameList bool
	// Tags or Builders (not both) restrict the bot to those builders.
	Tags, Builders []string

	// History answers list, status, last, watch and stop.
	History status.History
	// Control carries out force, stop and shutdown; AllowForce and
	// AllowShutdown need it.
	Control                   status.Control
	AllowForce, AllowShutdown bool
	// Authz, when set, decides every command before it runs. Check
	// Command.Account, the sender's Matrix user ID.
	Authz func(c chat.Command) bool

	// HTTPClient sends the requests (default: a client of its own,
	// without a timeout: every request is bounded by its context).
	HTTPClient *http.Client
	// PollTimeout is how long one /sync waits for news (default 30 s).
	PollTimeout time.Duration
	// FailedDelay is the wait after a failed /sync (default 5 s; a rate
	// limit's own wait when longer).
	FailedDelay time.Duration

	// SourceURL and Version answer the source and version commands.
	SourceURL, Version string
	// Logger receives sync failures and refused commands. Default: the
	// logger of the Hub the bot is added to (see status.Logging). The bot
	// syncs as soon as New returns, so until it is added what it logs goes
	// to slog.Default().
	Logger *slog.Logger
	// Now is the clock for "3m05s ago" (default time.Now).
	Now func() time.Time
}

const (
	defaultPollTimeout = 30 * time.Second
	defaultFailedDelay = 5 * time.Second
)

// validate checks o, fills in its defaults and returns the homeserver URL.
// Every problem is reported at once.
func (o *Options) validate() (*url.URL, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("matrix: "+format, args...)) }
	base, err := url.Parse(strings.TrimSuffix(strings.TrimSpace(o.Homeserver), "/"))
	switch {
	case strings.TrimSpace(o.Homeserver) == "":
		bad("Options.Homeserver is empty: set the homeserver's URL (https://matrix.example.org)")
	case err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" || base.User != nil:
		bad("Options.Homeserver %q is not an http(s) URL without credentials: set the homeserver's URL (https://matrix.example.org)", o.Homeserver)
	}
	if !validID(o.UserID, '@') {
		bad("Options.UserID %q is not a Matrix user ID: use @localpart:server", o.UserID)
	}
	if o.AccessToken.IsZero() {
		bad("Options.AccessToken is empty: set the bot account's access token")
	} else if strings.ContainsAny(o.AccessToken.Reveal(), " \r\n\t") {
		bad("Options.AccessToken contains white space: paste the token alone")
	}
	for _, r := range o.Rooms {
		if !validID(r, '!') {
			bad("Options.Rooms: %q is not a room ID: use !opaque:server (a room alias #name:server must be resolved first)", r)
		}
	}
	if o.PollTimeout < 0 || o.FailedDelay < 0 {
		bad("Options.PollTimeout and FailedDelay must not be negative")
	}
	if o.PollTimeout == 0 {
		o.PollTimeout = defaultPollTimeout
	}
	if o.FailedDelay == 0 {
		o.FailedDelay = defaultFailedDelay
	}
	return base, errors.Join(errs...)
}

// validID reports whether s is sigil + localpart + ":" + server, without
// white space or control characters.
func validID(s string, sigil byte) bool {
	if len(s) < 4 || len(s) > 255 || s[0] != sigil {
		return false
	}
	local, server, ok := strings.Cut(s[1:], ":")
	if !ok || local == "" || server == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// localpart is "herald" of "@herald:example.org".
func localpart(userID string) string {
	l, _, _ := strings.Cut(strings.TrimPrefix(userID, "@"), ":")
	return l
}
