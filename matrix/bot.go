package matrix

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
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

	reportMu sync.Mutex // one Report at a time: its batch is b.pending[true]
	unsent   *batch     // what a failed Report left, sent first when retried

	mu      sync.Mutex
	pending map[bool]*batch // what the engine said, by announce
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
	b := &Bot{o: o, base: base, client: o.HTTPClient, done: make(chan struct{}), pending: map[bool]*batch{}}
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
// and returns when the homeserver has taken every message. After a failure
// the messages not sent are kept: the same event reported again sends
// them, and the ones already sent again under the same transaction IDs,
// which the homeserver ignores.
func (b *Bot) Report(ctx context.Context, e status.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("matrix: %w", err)
	}
	if e.Build == nil || !b.Handles(e.Kind) {
		return nil
	}
	b.reportMu.Lock()
	defer b.reportMu.Unlock()
	key := e.ID
	if key == "" {
		key = fmt.Sprintf("%s/%s/%d", e.Kind, e.Build.Builder, e.Build.Number)
	}
	out := newBatch(key)
	b.collect(true, out)
	err := b.engine.Report(ctx, e)
	b.collect(true, nil)
	// What the engine says only once (a watch's answer) is in the
	// messages a failed attempt left, not in out.
	if left := b.unsent; left != nil && left.key == key {
		for _, m := range left.msgs {
			if !slices.ContainsFunc(out.msgs, func(o message) bool { return o.txn == m.txn }) {
				out.msgs = append(out.msgs, m)
			}
		}
	} else if left != nil {
		b.log.Warn("matrix: dropping the messages of an event that was not reported again", "event", left.key, "messages", len(left.msgs))
	}
	b.unsent = nil
	for i, m := range out.msgs {
		if serr := b.send(ctx, m); serr != nil {
			out.msgs = out.msgs[i:]
			b.unsent = out
			return errors.Join(serr, err)
		}
	}
	return err
}

// collect makes the engine's messages of one kind (announcements or
// answers) go into into, or stop going there (nil).
func (b *Bot) collect(announce bool, into *batch) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending[announce] = into
}

// say is the engine's Say: it adds text to the batch being collected.
func (b *Bot) say(to, text string, announce bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	into := b.pending[announce]
	if into == nil {
		// Only Report announces and only commands answer; say so if
		// that ever changes rather than sending unnamed messages.
		return fmt.Errorf("matrix: a message to %s outside a Report or command was not sent", to)
	}
	into.add(to, text)
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

// execute runs one command and sends its answers.
func (b *Bot) execute(c command) {
	ctx, cancel := context.WithTimeout(b.ctx, commandTimeout)
	defer cancel()
	out := newBatch(c.eventID)
	b.collect(false, out)
	b.engine.Execute(ctx, chat.Request{
		Command: chat.Command{Sender: c.sender, Account: c.sender, Room: c.room},
		To:      c.room,
		Who:     "Matrix user " + c.sender + " in room " + c.room,
	}, c.text)
	b.collect(false, nil)
	for _, m := range out.msgs {
		if err := b.sendAnswer(ctx, m); err != nil {
			b.log.Warn("matrix: an answer was not sent", "room", c.room, "command", firstWord(c.text), "err", err)
			return
		}
	}
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

func (t transport) Say(to, text string, announce bool) error { return t.b.say(to, text, announce) }

// SayItems answers with one item per line, in one message.
func (t transport) SayItems(to string, items []string) error {
	return t.b.say(to, strings.Join(items, "\n"), false)
}

// IsRoom reports whether to is a room ID; on Matrix every answer goes to a
// room, so persons are never contacts.
func (t transport) IsRoom(to string) bool { return strings.HasPrefix(to, "!") }
