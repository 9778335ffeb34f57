package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/status"
)

// Bot is a Slack bot: a status.Reporter that announces builds with Block
// Kit messages (through the Web API or an incoming webhook), and an
// http.Handler that answers slash commands with package chat's engine.
// It starts no goroutine; Report, ServeHTTP and Close may be called from
// any goroutine.
type Bot struct {
	o       Options
	log     *slog.Logger
	inherit func(*slog.Logger)
	engine  *chat.Engine
	api     *slackapi.Client // nil with a webhook
	client  *http.Client     // o.HTTPClient, failed answers made errors
	secrets []string         // what must never show in an error

	ctx    context.Context // ends running commands at Close
	cancel context.CancelFunc

	reportMu sync.Mutex // one engine.Report at a time, so its messages are ours

	mu         sync.Mutex
	closed     bool
	commands   sync.WaitGroup
	collecting *pending            // the messages of the engine.Report running
	replies    map[string]*pending // by Request.To: the slash command running there
}

// pending are the messages the engine said during one Report or command.
type pending struct {
	answers []string // answers to the command, for the HTTP response
	posts   []post   // announcements, posted with the caller's context
	done    chan struct{}
}

type post struct{ to, text string }

var (
	_ status.Reporter  = (*Bot)(nil)
	_ status.Closer    = (*Bot)(nil)
	_ status.Named     = (*Bot)(nil)
	_ status.Selective = (*Bot)(nil)
	_ status.Logging   = (*Bot)(nil)
)

// webhookContact is the engine's one room when announcements go to an
// incoming webhook.
const webhookContact = "webhook"

// New validates o (every problem is reported at once) and returns a Bot.
// It connects to nothing until there is something to say.
func New(o Options) (*Bot, error) {
	o, err := o.withDefaults()
	log, inherit := hublog.New(o.Logger)
	b := &Bot{o: o, log: log.With("target", "slack"), inherit: inherit, replies: map[string]*pending{}}
	for _, s := range []status.Secret{o.Token, o.WebhookURL, o.SigningSecret} {
		if !s.IsZero() {
			b.secrets = append(b.secrets, s.Reveal())
		}
	}
	var cerr error
	b.engine, cerr = chat.New(chat.Options{
		Name: "slack", History: o.History, Control: o.Control, AllowForce: o.AllowForce, AllowShutdown: o.AllowShutdown,
		Authz: o.Authz, NotifyEvents: o.NotifyEvents, UseRevisions: o.UseRevisions, NoBlameList: o.NoBlameList,
		Tags: o.Tags, Builders: o.Builders, SourceURL: o.SourceURL, Version: o.Version, Logger: b.log, Now: o.Now,
	}, transport{b})
	if err := errors.Join(err, cerr); err != nil {
		return nil, err
	}
	client := *o.HTTPClient
	client.Transport = answers{next: client.Transport}
	b.client = &client
	if o.Token.IsZero() {
		b.engine.Join(webhookContact)
	} else {
		client := *b.client
		client.Transport = bearer{token: o.Token.Reveal(), next: client.Transport}
		b.api = slackapi.New(o.Token.Reveal(), slackapi.OptionAPIURL(o.APIURL), slackapi.OptionHTTPClient(&client))
		for _, c := range o.Channels {
			b.engine.Join(c)
		}
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

// InheritLogger implements status.Logging: without Options.Logger the bot
// logs through l.
func (b *Bot) InheritLogger(l *slog.Logger) { b.inherit(l) }

// Name returns "slack".
func (b *Bot) Name() string { return "slack" }

// String describes the bot without its secrets.
func (b *Bot) String() string {
	if b.api == nil {
		return "slack.Bot(incoming webhook)"
	}
	return fmt.Sprintf("slack.Bot(web API %s, channels %s)", b.o.APIURL, strings.Join(b.o.Channels, ","))
}

// GoString is String, so that %#v shows no secret either.
func (b *Bot) GoString() string { return b.String() }

// Handles implements status.Selective: BuildStarted and BuildFinished.
func (b *Bot) Handles(k status.Kind) bool { return b.engine.Handles(k) }

// Report announces BuildStarted and BuildFinished events to the channels
// whose notify events ask for them, and completes watch commands and the
// follow-up of forced builds. It posts before it returns: a rate limit or
// an outage of Slack is a Retryable error, a refused token a permanent one.
func (b *Bot) Report(ctx context.Context, e status.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	if !b.Handles(e.Kind) {
		return nil
	}
	b.reportMu.Lock()
	p := &pending{}
	b.mu.Lock()
	b.collecting = p
	b.mu.Unlock()
	err := b.engine.Report(ctx, e)
	b.mu.Lock()
	b.collecting = nil
	b.mu.Unlock()
	b.reportMu.Unlock()
	return errors.Join(err, b.postAll(ctx, p.posts))
}

// Close ends the commands still running (their context is cancelled) and
// waits for them, or for ctx. Later Reports and commands are refused.
// Close is idempotent.
func (b *Bot) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	done := make(chan struct{})
	go func() { b.commands.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("slack: close: %w", ctx.Err())
	}
}

// postAll posts the messages in order, stopping at the first that fails
// but for a channel's own refusal (not_in_channel, channel_not_found).
func (b *Bot) postAll(ctx context.Context, posts []post) error {
	var errs []error
	for _, p := range posts {
		err := b.post(ctx, p.to, p.text)
		if err != nil && (status.IsRetryable(err) || ctx.Err() != nil || errors.Is(err, errAuth)) {
			return errors.Join(append(errs, err)...)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// post sends one message as Block Kit blocks with a plain-text fallback.
func (b *Bot) post(ctx context.Context, to, text string) error {
	blocks := messageBlocks(text)
	fallback := escape(plainText(text)) // the notification text is mrkdwn too: no <!channel> from build data
	var err error
	if b.api == nil {
		to = webhookContact
		err = slackapi.PostWebhookCustomHTTPContext(ctx, b.o.WebhookURL.Reveal(), b.client,
			&slackapi.WebhookMessage{Text: fallback, Blocks: &slackapi.Blocks{BlockSet: blocks}})
	} else {
		_, _, err = b.api.PostMessageContext(ctx, to, slackapi.MsgOptionText(fallback, false), slackapi.MsgOptionBlocks(blocks...))
	}
	if err == nil {
		return nil
	}
	err = b.classify(ctx, fmt.Sprintf("posting to %s", to), err)
	b.log.Warn("slack: post failed", "to", to, "err", err)
	return err
}

// errAuth marks a token or webhook Slack refused: retrying will not help.
var errAuth = errors.New("slack refused the credentials")

// authErrors are the Web API's answers for a token that cannot work.
var authErrors = map[string]bool{
	"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true,
	"token_expired": true, "no_permission": true, "missing_scope": true, "not_allowed_token_type": true,
	"org_login_required": true, "ekm_access_denied": true,
}

// transientErrors are the Web API's answers that a later try may not get.
var transientErrors = map[string]bool{
	"ratelimited": true, "internal_error": true, "fatal_error": true, "service_unavailable": true,
	"request_timeout": true, "team_added_to_org": true,
}

// classify turns slack-go's error into Herald's: the caller's
// cancellation wrapped as it is, an attempt's deadline, rate limits and
// outages Retryable, the rest permanent; the text scrubbed of secrets.
func (b *Bot) classify(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return status.Retryable(fmt.Errorf("slack: %s: %w", what, ctx.Err()), 0)
		}
		return fmt.Errorf("slack: %s: %w", what, ctx.Err())
	}
	msg := status.ReplyText([]byte(err.Error()), b.secrets...)
	var re *status.ResponseError
	if errors.As(err, &re) { // from answers: 408, 429, 5xx
		after, _ := status.RetryAfter(err)
		return status.Retryable(fmt.Errorf("slack: %s: %s", what, msg), after)
	}
	var rl *slackapi.RateLimitedError
	var sc slackapi.StatusCodeError
	var se slackapi.SlackErrorResponse
	switch {
	case errors.As(err, &rl):
		return status.Retryable(fmt.Errorf("slack: %s: rate limited (HTTP 429)", what), rl.RetryAfter)
	case errors.As(err, &sc):
		e := fmt.Errorf("slack: %s: HTTP %d", what, sc.Code)
		switch {
		case sc.Code == 429 || sc.Code == 408 || sc.Code >= 500:
			return status.Retryable(e, 0)
		case sc.Code == 401 || sc.Code == 403 || (b.api == nil && sc.Code == 404):
			return fmt.Errorf("%w: %w", e, errAuth)
		}
		return e
	case errors.As(err, &se):
		e := fmt.Errorf("slack: %s: %s", what, status.ReplyText([]byte(se.Err), b.secrets...))
		switch {
		case authErrors[se.Err]:
			return fmt.Errorf("%w: %w", e, errAuth)
		case transientErrors[se.Err]:
			return status.Retryable(e, 0)
		}
		return e
	}
	if net := status.ClassifyNetError(err); status.IsRetryable(net) {
		return status.Retryable(fmt.Errorf("slack: %s: %s", what, msg), 0)
	}
	return fmt.Errorf("slack: %s: %s", what, msg)
}

// transport is how package chat's engine speaks on Slack: what it says is
// collected by the Report or the slash command running, which deliver it.
type transport struct{ b *Bot }

func (t transport) Say(to, text string, announce bool) error { return t.b.say(to, text, announce) }

func (t transport) SayItems(to string, items []string) error {
	return t.b.say(to, strings.Join(items, "\n"), false)
}

// IsRoom: every conversation is a room but a direct message (D…).
func (t transport) IsRoom(to string) bool { return !strings.HasPrefix(to, "D") }

// noCallerTimeout bounds a post nobody waits for (none is expected: the
// engine speaks inside Report and Execute).
const noCallerTimeout = 30 * time.Second

func (b *Bot) say(to, text string, announce bool) error {
	b.mu.Lock()
	switch p := b.replies[to]; {
	case announce && b.collecting != nil:
		b.collecting.posts = append(b.collecting.posts, post{to, text})
	case p != nil && announce:
		p.posts = append(p.posts, post{to, text})
	case p != nil:
		p.answers = append(p.answers, text)
	case b.collecting != nil:
		b.collecting.posts = append(b.collecting.posts, post{to, text})
	default:
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(b.ctx, noCallerTimeout)
		defer cancel()
		return b.post(ctx, to, text)
	}
	b.mu.Unlock()
	return nil
}
