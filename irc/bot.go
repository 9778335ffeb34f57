package irc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/status"
)

// Bot is an IRC bot: a status.Reporter that announces builds on channels
// and to nicks, and answers commands (package chat's engine). New starts its
// connection loop; Close ends it. Report and Close may be called from any
// goroutine; Report never waits for the network.
type Bot struct {
	o       Options
	log     *slog.Logger
	inherit func(*slog.Logger)
	engine  *chat.Engine
	out     *outbox

	ctx    context.Context // ends the connection loop and running commands
	cancel context.CancelFunc
	done   chan struct{} // closed when the connection loop has ended
	cmdWG  sync.WaitGroup
	cmdSem chan struct{} // bounds concurrently running commands

	closeOnce   sync.Once
	quitWritten chan struct{} // closed once QUIT is on the wire

	mu         sync.Mutex
	nick       string // current nick (the server may have made us take another)
	mask       string // our nick!user@host once the server told it
	registered bool
	channels   []Channel // channels to be on: Options.Channels and join commands
}

var (
	_ status.Reporter  = (*Bot)(nil)
	_ status.Closer    = (*Bot)(nil)
	_ status.Named     = (*Bot)(nil)
	_ status.Selective = (*Bot)(nil)
	_ status.Logging   = (*Bot)(nil)
)

// Handles implements status.Selective: BuildStarted and BuildFinished.
func (b *Bot) Handles(k status.Kind) bool { return b.engine.Handles(k) }

// maxCommands bounds the commands running at once; more are told to wait.
const maxCommands = 4

// commandTimeout bounds one command's History and Control calls.
const commandTimeout = 30 * time.Second

// New validates o and starts the bot: it connects, registers, identifies
// and joins in the background, and reconnects after LostDelay or
// FailedDelay for as long as it is not closed.
func New(o Options) (*Bot, error) {
	o, err := o.withDefaults()
	log, inherit := hublog.New(o.Logger)
	b := &Bot{
		o:           o,
		log:         log.With("target", "irc", "server", fmt.Sprintf("%s:%d", o.Host, o.Port)),
		inherit:     inherit,
		out:         newOutbox(o.QueueSize, o.CoalesceWindow),
		done:        make(chan struct{}),
		cmdSem:      make(chan struct{}, maxCommands),
		quitWritten: make(chan struct{}),
		nick:        o.Nick,
		channels:    slices.Clone(o.Channels),
	}
	co := chat.Options{
		Name: "irc", History: o.History, Control: o.Control, AllowForce: o.AllowForce, AllowShutdown: o.AllowShutdown,
		Authz: o.Authz, NotifyEvents: o.NotifyEvents, UseRevisions: o.UseRevisions, NoBlameList: o.NoBlameList,
		Tags: o.Tags, Builders: o.Builders, Commands: b.ircCommands(),
		SourceURL: o.SourceURL, Version: o.Version, Logger: b.log, Now: o.Now,
	}
	if !o.NoColors {
		co.Highlight = colorize
	}
	var cerr error
	b.engine, cerr = chat.New(co, transport{b})
	if err := errors.Join(err, cerr); err != nil {
		return nil, err
	}
	for _, c := range o.Channels {
		b.engine.Join(c.Name)
	}
	for _, n := range o.PMToNicks {
		b.engine.Join(n)
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	go b.run()
	return b, nil
}

// InheritLogger implements status.Logging: without Options.Logger the bot
// logs through l from now on.
func (b *Bot) InheritLogger(l *slog.Logger) { b.inherit(l) }

// Name returns "irc".
func (b *Bot) Name() string { return "irc" }

// String describes the bot without its secrets.
func (b *Bot) String() string {
	return fmt.Sprintf("irc.Bot(%s on %s:%d)", b.o.Nick, b.o.Host, b.o.Port)
}

// Close lets the queued lines go out (at the flood control's pace, while
// connected and ctx allows), says QUIT, disconnects, stops reconnecting and
// waits for the bot's goroutines and running commands to end. It returns an
// error wrapping ctx.Err() when ctx ends first; lines still queued then are
// dropped and logged. Close is idempotent.
func (b *Bot) Close(ctx context.Context) error {
	var err error
	b.closeOnce.Do(func() {
		// Keep a little of ctx's time for the QUIT: a polite exit beats
		// one more build announced.
		dctx := ctx
		if dl, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			dctx, cancel = context.WithDeadline(ctx, dl.Add(-min(time.Second, time.Until(dl)/4)))
			defer cancel()
		}
		err = b.drain(dctx)
		if b.isRegistered() {
			b.out.pushUrgent(formatLine("QUIT", "Herald bot shutting down"))
			t := time.NewTimer(2 * time.Second)
			select {
			case <-b.quitWritten:
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
		b.cancel()
	})
	select {
	case <-b.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("irc: close: %w", ctx.Err())
	}
}

// drain waits until the queued lines are sent, the connection is down (then
// they could not be), or ctx ends.
func (b *Bot) drain(ctx context.Context) error {
	for {
		n := b.out.pending()
		switch {
		case n == 0:
			return nil
		case !b.isRegistered():
			b.log.Warn("irc: closing while disconnected: dropping queued lines", "lines", n)
			return nil
		}
		select {
		case <-b.out.idle:
		case <-ctx.Done():
			b.log.Warn("irc: closing: out of time, dropping queued lines", "lines", n)
			return fmt.Errorf("irc: close: %d lines not sent: %w", n, ctx.Err())
		}
	}
}

func (b *Bot) isRegistered() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.registered
}

// Report announces BuildStarted and BuildFinished events to the contacts
// whose notify events ask for them, and completes watch commands and the
// follow-up of forced builds. Other kinds are ignored. It only queues
// lines: when the queue is full it returns a Retryable ErrQueueFull, and
// the Hub's retry queues what did not fit (package chat remembers it by
// Event.ID).
func (b *Bot) Report(ctx context.Context, e status.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("irc: %w", err)
	}
	return b.engine.Report(ctx, e)
}

// say queues text for a channel or nick, split to fit the server's line
// limit. Announcements (announce) are coalesced; answers are not, since
// people may ask twice on purpose.
func (b *Bot) say(to, text string, announce bool) error {
	cmd := "PRIVMSG"
	if b.o.NoticeOnChannel && isChannel(to) {
		cmd = "NOTICE"
	}
	// \x01 would turn build data into CTCP requests to every listener.
	text = strings.ReplaceAll(clean(text), "\x01", "")
	room := b.room(to)
	var lines []string
	for _, chunk := range splitText(text, room) {
		lines = append(lines, formatLine(cmd, to, chunk))
	}
	if len(lines) == 0 {
		return nil
	}
	if !announce {
		if err := b.out.pushAnswer(lines); err != nil {
			b.log.Warn("irc: dropping an answer: the send queue is full", "to", to, "lines", len(lines))
			return err
		}
		return nil
	}
	queued, err := b.out.pushAnnouncement(lines, fold(to)+"\x00"+text, b.o.Now())
	if err != nil {
		b.log.Warn("irc: send queue full; the announcement waits for the Hub's retry", "to", to, "lines", len(lines), "queued", b.out.pending())
		return err
	}
	if !queued {
		b.log.Debug("irc: coalesced a repeated announcement", "to", to)
	}
	return nil
}

// prefixLen is the length of ":nick!user@host " the server puts before what
// we say when relaying it: exact once the welcome told us our mask, else a
// bound (user name "~herald", host name up to 63 bytes). b.mu is held.
func (b *Bot) prefixLen() int {
	if b.mask != "" {
		return 1 + len(b.mask) + 1
	}
	return 1 + len(b.nick) + 1 + len("~"+userName) + 1 + 63 + 1
}

// moduleVersion is Herald's version as the Go toolchain recorded it.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/heraldci/herald" {
				return strings.TrimPrefix(d.Version, "v")
			}
		}
		if bi.Main.Path == "github.com/heraldci/herald" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return strings.TrimPrefix(bi.Main.Version, "v")
		}
	}
	return "devel"
}
