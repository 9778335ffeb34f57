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
// It starts a goroutine per slash command only, which Close ends; Report,
// ServeHTTP and Close may be called from any goroutine.
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

	mu       sync.Mutex
	closed   bool
	commands sync.WaitGroup
	// answerWithin is how long a slash command's response waits for its
	// answers before it says "working on it" and they go to the
	// response_url (a variable for the tests).
	answerWithin time.Duration
}

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
	b := &Bot{o: o, log: log.With("target", "slack"), inherit: inherit, answerWithin: answerWithin}
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
// follow-up of forced builds. It posts under ctx before it returns: a rate
// limit or an outage of Slack is a Retryable error, a refused token a
// permanent one. The Hub's retry of an event (same Event.ID) posts only to
// the channels that did not get it.
func (b *Bot) Report(ctx context.Context, e status.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	return b.engine.Report(ctx, e)
}

// Close ends the commands still running (their context is cancelled; an
// answer due at a response_url is not sent) and waits for them, or for
// ctx. Later commands are refused with 503. Close is idempotent.
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
	return b.classify(ctx, fmt.Sprintf("posting to %s", to), err)
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

// transport is how package chat's engine speaks on Slack: announcements
// are posted at once, under the caller's context; answers to a slash
// command go to the command's reply (see ServeHTTP).
type transport struct{ b *Bot }

func (t transport) Say(ctx context.Context, to, text string, announce bool) error {
	if r, ok := ctx.Value(replyKey{}).(*reply); ok && !announce {
		r.add(text)
		return nil
	}
	return t.b.post(ctx, to, text)
}

func (t transport) SayItems(ctx context.Context, to string, items []string) error {
	return t.Say(ctx, to, strings.Join(items, "\n"), false)
}

// IsRoom: every conversation is a room but a direct message (D…).
func (t transport) IsRoom(to string) bool { return !strings.HasPrefix(to, "D") }
