package matrix

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/status"
)

// Bot is a Matrix bot: a status.Reporter that announces builds in rooms,
// and, unless Options.NoCommands, answers the commands people address to
// it. New starts its sync loop; Close ends it.
type Bot struct {
	o       Options
	base    *url.URL
	client  *http.Client
	own     bool // client is ours: close its idle connections at Close
	log     *slog.Logger
	inherit func(*slog.Logger)
	engine  *chat.Engine

	ctx    context.Context // ends the sync loop and the running command
	cancel context.CancelFunc
	done   chan struct{} // closed when the sync loop has ended
	once   sync.Once
}

var (
	_ status.Reporter  = (*Bot)(nil)
	_ status.Closer    = (*Bot)(nil)
	_ status.Named     = (*Bot)(nil)
	_ status.Selective = (*Bot)(nil)
	_ status.Logging   = (*Bot)(nil)
)

// commandTimeout bounds one command: its History and Control calls and
// its answers.
const commandTimeout = 30 * time.Second

// New validates o and starts the bot's sync loop (unless o.NoCommands).
// Every problem with o is reported at once.
func New(o Options) (*Bot, error) {
	base, err := o.validate()
	b := &Bot{o: o, base: base, client: o.HTTPClient, done: make(chan struct{})}
	if b.client == nil {
		b.client, b.own = &http.Client{}, true
	}
	var log *slog.Logger
	log, b.inherit = hublog.New(o.Logger)
	b.log = log.With("target", "matrix", "user", o.UserID)
	e, cerr := chat.New(chat.Options{
		Name: "matrix", History: o.History, Control: o.Control, AllowForce: o.AllowForce, AllowShutdown: o.AllowShutdown,
		Authz: o.Authz, NotifyEvents: o.NotifyEvents, UseRevisions: o.UseRevisions, NoBlameList: o.NoBlameList,
		Tags: o.Tags, Builders: o.Builders, Highlight: highlight,
		SourceURL: o.SourceURL, Version: o.Version, Logger: b.log, Now: o.Now,
	}, transport{b})
	if err := errors.Join(err, cerr); err != nil {
		return nil, err
	}
	b.engine = e
	for _, r := range o.Rooms {
		e.Join(r)
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	if o.NoCommands {
		close(b.done)
	} else {
		go b.run()
	}
	return b, nil
}

// InheritLogger implements status.Logging: without Options.Logger the bot
// logs through l from now on.
func (b *Bot) InheritLogger(l *slog.Logger) { b.inherit(l) }

// Name returns "matrix".
func (b *Bot) Name() string { return "matrix" }

// String describes the bot without its token.
func (b *Bot) String() string {
	return fmt.Sprintf("matrix.Bot(%s on %s)", b.o.UserID, b.base.Redacted())
}

// Format prints the bot as String does, for every verb: the options hold
// the token.
func (b *Bot) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(b.String())) }

// MarshalJSON shows the bot as String does.
func (b *Bot) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf("%q", b.String())), nil }

// Handles implements status.Selective: BuildStarted and BuildFinished.
func (b *Bot) Handles(k status.Kind) bool { return b.engine.Handles(k) }

// Close stops the sync loop and waits for it and the command it runs. It
// returns an error wrapping ctx.Err() when ctx ends first. Close is
// idempotent.
func (b *Bot) Close(ctx context.Context) error {
	b.once.Do(b.cancel)
	select {
	case <-b.done:
		if b.own {
			b.client.CloseIdleConnections()
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("matrix: close: %w", ctx.Err())
	}
}

// Report announces BuildStarted and BuildFinished events in the rooms that
// asked for them, completes watches and the follow-up of forced builds,
// and returns when the homeserver has taken every message or ctx ended.
// After a Retryable failure the Hub's retry of the event (same Event.ID)
// sends only the messages not taken yet (package chat remembers them);
// each message has a transaction ID made from the event, so one the
// homeserver took without the bot hearing it is not shown twice.
func (b *Bot) Report(ctx context.Context, e status.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("matrix: %w", err)
	}
	if e.Build == nil || !b.Handles(e.Kind) {
		return nil
	}
	key := e.ID
	if key == "" {
		key = fmt.Sprintf("%s/%s/%d", e.Kind, e.Build.Builder, e.Build.Number)
	}
	return b.engine.Report(withBatch(ctx, newBatch(key)), e)
}

// batchKey is the context key of the batch a Report or command names its
// messages in.
type batchKey struct{}

func withBatch(ctx context.Context, b *batch) context.Context {
	return context.WithValue(ctx, batchKey{}, b)
}

// say is the engine's Say: it sends text under ctx, announcements once
// (the Hub retries them), answers until sent or out of attempts.
func (b *Bot) say(ctx context.Context, to, text string, announce bool) error {
	into, _ := ctx.Value(batchKey{}).(*batch)
	if into == nil {
		// Only Report announces and only commands answer; say so if
		// that ever changes rather than sending unnamed messages.
		return fmt.Errorf("matrix: a message to %s outside a Report or command was not sent", to)
	}
	for _, m := range into.add(to, text) {
		send := b.send
		if !announce {
			send = b.sendAnswer
		}
		if err := send(ctx, m); err != nil {
			return err // the rest would arrive out of order
		}
	}
	return nil
}

// run is the sync loop: it finds where the rooms are now, then long-polls
// and runs the commands addressed to the bot, one at a time.
func (b *Bot) run() {
	defer close(b.done)
	since := ""
	for b.ctx.Err() == nil {
		timeout := b.o.PollTimeout
		if since == "" {
			timeout = 0
		}
		body, err := b.sync(b.ctx, since, timeout)
		var next string
		var cmds []command
		if err == nil {
			next, cmds, err = parseSync(body, b.o.UserID)
		}
		if err != nil {
			if b.ctx.Err() != nil {
				return
			}
			wait := b.o.FailedDelay
			if after, ok := status.RetryAfter(err); ok && after > wait {
				wait = after
			}
			b.log.Warn("matrix: sync failed", "err", err, "retry_in", wait)
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-b.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		if since != "" { // the first sync's events are from before the bot
			for _, c := range cmds {
				b.execute(c)
			}
		}
		since = next
	}
}

// execute runs one command; its answers are sent as the engine says them.
func (b *Bot) execute(c command) {
	ctx, cancel := context.WithTimeout(b.ctx, commandTimeout)
	defer cancel()
	b.engine.Execute(withBatch(ctx, newBatch(c.eventID)), chat.Request{
		Command: chat.Command{Sender: c.sender, Account: c.sender, Room: c.room},
		To:      c.room,
		Who:     "Matrix user " + c.sender + " in room " + c.room,
	}, c.text)
}

// answerAttempts bounds the tries of one answer; answers have no Hub to
// retry them, so a rate limit is waited out here, with the same
// transaction ID.
const answerAttempts = 3

func (b *Bot) sendAnswer(ctx context.Context, m message) error {
	for attempt := 1; ; attempt++ {
		err := b.send(ctx, m)
		after, retry := status.RetryAfter(err)
		if err == nil || !retry || attempt == answerAttempts {
			return err
		}
		if after <= 0 {
			after = time.Second
		}
		t := time.NewTimer(after)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		}
	}
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}

// transport is how package chat's engine speaks on Matrix.
type transport struct{ b *Bot }

func (t transport) Say(ctx context.Context, to, text string, announce bool) error {
	return t.b.say(ctx, to, text, announce)
}

// SayItems answers with one item per line, in one message.
func (t transport) SayItems(ctx context.Context, to string, items []string) error {
	return t.b.say(ctx, to, strings.Join(items, "\n"), false)
}

// IsRoom reports whether to is a room ID; on Matrix every answer goes to a
// room, so persons are never contacts.
func (t transport) IsRoom(to string) bool { return strings.HasPrefix(to, "!") }
