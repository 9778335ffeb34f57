package slack

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/status"
)

// Options configures a Bot. Token or WebhookURL (one of them) says how
// announcements go out; SigningSecret enables slash commands.
type Options struct {
	// Token is a bot token (xoxb-…) with the chat:write scope: the bot
	// posts with chat.postMessage to Channels, and to the channels where
	// people asked it (watch, notify, force) through slash commands.
	Token status.Secret
	// Channels are the channel IDs ("C0123ABCD") that get the
	// announcements of NotifyEvents; with Token only. The bot must be a
	// member of each.
	Channels []string
	// WebhookURL is an incoming webhook (https://hooks.slack.com/services/…):
	// every announcement goes to the one channel it was made for. It is a
	// credential. Not with Token.
	WebhookURL status.Secret

	// SigningSecret is the app's signing secret: with it the Bot, as an
	// http.Handler, answers slash commands ("/herald status"). Without it
	// the Bot answers every HTTP request 404.
	SigningSecret status.Secret
	// InChannel makes answers to slash commands visible to everyone in
	// the channel; by default only the person who asked sees them.
	InChannel bool

	// APIURL is the Web API's base URL (default https://slack.com/api/),
	// for tests and proxies.
	APIURL string
	// HTTPClient makes the requests (default: a client with a 30s timeout).
	HTTPClient *http.Client

	// History, Control, AllowForce, AllowShutdown, Authz, NotifyEvents,
	// UseRevisions, NoBlameList, Tags and Builders are the chat engine's
	// (package chat's Options). Authz sees Command.Account as the Slack
	// user ID ("U0123ABCD") and Command.Room as the channel ID.
	History       status.History
	Control       status.Control
	AllowForce    bool
	AllowShutdown bool
	Authz         func(c chat.Command) bool
	NotifyEvents  []string
	UseRevisions  bool
	NoBlameList   bool
	Tags          []string
	Builders      []string

	// SourceURL and Version are what the source and version commands say.
	SourceURL, Version string
	// Logger receives delivery problems and refused commands. Default:
	// the logger of the Hub the bot is added to (see status.Logging), and
	// slog.Default() until then (slash commands may come before).
	Logger *slog.Logger
	// Now is the engine's clock (default time.Now).
	Now func() time.Time
}

// defaultAPIURL is Slack's Web API.
const defaultAPIURL = "https://slack.com/api/"

// withDefaults checks o and fills in defaults. Every problem is reported.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("slack: "+format, args...)) }
	switch {
	case o.Token.IsZero() && o.WebhookURL.IsZero():
		bad("neither Options.Token nor Options.WebhookURL is set: set a bot token (xoxb-…) or an incoming webhook URL")
	case !o.Token.IsZero() && !o.WebhookURL.IsZero():
		bad("both Options.Token and Options.WebhookURL are set: use one of them")
	}
	if !o.Token.IsZero() && strings.ContainsAny(o.Token.Reveal(), " \t\r\n") {
		bad("Options.Token contains white space: paste the token alone")
	}
	if !o.WebhookURL.IsZero() {
		if u, err := url.Parse(o.WebhookURL.Reveal()); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("Options.WebhookURL is not an http(s) URL: copy it from the app's Incoming Webhooks page")
		}
		if len(o.Channels) > 0 {
			bad("Options.Channels needs Options.Token: an incoming webhook posts to the one channel it was made for")
		}
	}
	for _, c := range o.Channels {
		if !validChannelID(c) {
			bad("Options.Channels: %q is not a channel ID: use the ID (\"C0123ABCD\", from the channel's details), not its name", c)
		}
	}
	if o.APIURL != "" {
		if u, err := url.Parse(o.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("Options.APIURL %q is not an http(s) URL", o.APIURL)
		}
	}
	if o.InChannel && o.SigningSecret.IsZero() {
		bad("Options.InChannel needs Options.SigningSecret: it is about answers to slash commands")
	}
	if o.APIURL == "" {
		o.APIURL = defaultAPIURL
	}
	if !strings.HasSuffix(o.APIURL, "/") {
		o.APIURL += "/"
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return o, errors.Join(errs...)
}

// validChannelID reports whether s looks like a Slack conversation ID:
// public (C), private (G) or direct (D), upper-case letters and digits.
func validChannelID(s string) bool {
	if len(s) < 2 || len(s) > 32 || !strings.ContainsRune("CGD", rune(s[0])) {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// bearer sends the bot token as "Authorization: Bearer …", as Slack asks,
// and takes it out of form bodies, where slack-go also puts it: a token in
// a body ends up wherever bodies are logged or echoed.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (t bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+t.token)
	if req.Body != nil && strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		form, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, fmt.Errorf("slack: reading the form to send: %w", err)
		}
		form.Del("token")
		body := form.Encode()
		req.Body, req.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	}
	return t.next.RoundTrip(req)
}

// answers turns Slack's answers that a later try may not get (408, 429,
// 5xx) into status.ClassifyResponse's Retryable error, which keeps the
// Retry-After that slack-go's StatusCodeError drops.
type answers struct{ next http.RoundTripper }

func (t answers) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode < 500) {
		return resp, err
	}
	defer resp.Body.Close()
	resp.Request = req
	return nil, status.ClassifyResponse(resp)
}
