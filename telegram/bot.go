package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/status"
)

// Bot is a Telegram bot: a status.Reporter that announces builds in chats
// and answers commands (package chat's engine). New starts its getUpdates
// poll; Close ends it.
type Bot struct {
	o       Options
	log     *slog.Logger
	inherit func(*slog.Logger)
	engine  *chat.Engine
	http    *http.Client
	ownHTTP bool // http is the Bot's: Close closes its idle connections

	ctx    context.Context // ends the poll and running commands
	cancel context.CancelFunc
	done   chan struct{} // closed when the poll has ended
	cmdWG  sync.WaitGroup
	cmdSem chan struct{}

	mu       sync.Mutex
	username string // the bot's @username, from getMe
}

var (
	_ status.Reporter  = (*Bot)(nil)
	_ status.Closer    = (*Bot)(nil)
	_ status.Named     = (*Bot)(nil)
	_ status.Selective = (*Bot)(nil)
	_ status.Logging   = (*Bot)(nil)
)

const (
	maxCommands    = 4                // commands running at once
	commandTimeout = 30 * time.Second // one command's History, Control and answers
	maxBackoff     = time.Minute      // between failed polls
)

// New validates o and, unless o.NoCommands, starts polling getUpdates in
// the background. Every problem is reported at once.
func New(o Options) (*Bot, error) {
	o, err := o.withDefaults()
	log, inherit := hublog.New(o.Logger)
	b := &Bot{o: o, log: log.With("target", "telegram"), inherit: inherit, http: o.HTTPClient,
		done: make(chan struct{}), cmdSem: make(chan struct{}, maxCommands)}
	if b.http == nil {
		b.http = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		b.ownHTTP = true
	}
	co := chat.Options{
		Name: "telegram", History: o.History, Control: o.Control, AllowForce: o.AllowForce, AllowShutdown: o.AllowShutdown,
		Authz: o.Authz, NotifyEvents: o.NotifyEvents, UseRevisions: o.UseRevisions, NoBlameList: o.NoBlameList,
		Tags: o.Tags, Builders: o.Builders, SourceURL: o.SourceURL, Version: o.Version, Logger: b.log, Now: o.Now,
	}
	if !o.PlainText {
		co.Highlight = highlight
	}
	var cerr error
	b.engine, cerr = chat.New(co, transport{b})
	if err := errors.Join(err, cerr); err != nil {
		return nil, err
	}
	for _, c := range o.Chats {
		b.engine.Join(c)
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	if o.NoCommands {
		close(b.done)
	} else {
		go b.poll()
	}
	return b, nil
}

// InheritLogger implements status.Logging: without Options.Logger the bot
// logs through l from now on.
func (b *Bot) InheritLogger(l *slog.Logger) { b.inherit(l) }

// Name returns "telegram".
func (b *Bot) Name() string { return "telegram" }

// String describes the bot without its token.
func (b *Bot) String() string { return "telegram.Bot(" + b.o.APIURL + ")" }

// GoString is String: %#v would print the unexported options, token included.
func (b *Bot) GoString() string { return b.String() }

// Handles implements status.Selective: BuildStarted and BuildFinished.
func (b *Bot) Handles(k status.Kind) bool { return b.engine.Handles(k) }

// Report announces BuildStarted and BuildFinished events in the chats whose
// notify events ask for them, and completes watch commands and the
// follow-up of forced builds, sending under ctx before it returns. When a
// chat refuses for a while (429) the Hub's retry of the event (same
// Event.ID) sends to the chats that did not get it only.
func (b *Bot) Report(ctx context.Context, e status.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("telegram: %w", err)
	}
	return b.engine.Report(ctx, e)
}

// Close ends the poll and waits for it and for running commands (their
// answers are cut short), or for ctx. It is idempotent.
func (b *Bot) Close(ctx context.Context) error {
	b.cancel()
	wait := make(chan struct{})
	go func() {
		<-b.done
		b.cmdWG.Wait()
		close(wait)
	}()
	select {
	case <-wait:
		if b.ownHTTP {
			b.http.CloseIdleConnections()
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("telegram: close: %w", ctx.Err())
	}
}

// poll long-polls getUpdates until Close, handing messages to handle.
func (b *Bot) poll() {
	defer close(b.done)
	var offset int64
	backoff := time.Duration(0)
	for b.ctx.Err() == nil {
		if backoff > 0 && !b.sleep(backoff) {
			return
		}
		if b.botName() == "" {
			var me apiUser
			if err := b.call(b.ctx, "getMe", struct{}{}, &me); err != nil {
				backoff = b.failed("getMe", err, backoff)
				continue
			}
			b.mu.Lock()
			b.username = me.Username
			b.mu.Unlock()
		}
		ctx, cancel := context.WithTimeout(b.ctx, b.o.PollTimeout+30*time.Second)
		var updates []apiUpdate
		err := b.call(ctx, "getUpdates", map[string]any{
			"offset": offset, "timeout": int(b.o.PollTimeout / time.Second), "allowed_updates": []string{"message"},
		}, &updates)
		cancel()
		if err != nil {
			backoff = b.failed("getUpdates", err, backoff)
			continue
		}
		backoff = 0
		for _, u := range updates {
			offset = max(offset, u.UpdateID+1) // confirms it at the next call
			b.handle(u)
		}
	}
}

// failed logs a failed poll call and returns the next wait.
func (b *Bot) failed(method string, err error, prev time.Duration) time.Duration {
	if b.ctx.Err() != nil {
		return 0
	}
	next := min(max(2*prev, time.Second), maxBackoff)
	if after, ok := status.RetryAfter(err); ok && after > 0 {
		next = after
	}
	b.log.Warn("telegram: "+method+" failed", "err", err, "retry_in", next)
	return next
}

// sleep waits d or until Close; it reports whether the bot is still open.
func (b *Bot) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-b.ctx.Done():
		return false
	}
}

func (b *Bot) botName() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.username
}

// handle runs the command in a message, if it is one for the bot.
func (b *Bot) handle(u apiUpdate) {
	r, text, ok := command(u, b.botName())
	if !ok {
		return
	}
	select {
	case b.cmdSem <- struct{}{}:
	default:
		ctx, cancel := context.WithTimeout(b.ctx, commandTimeout)
		defer cancel()
		_ = b.say(ctx, r.To, "I am busy with other commands: try again in a moment")
		return
	}
	b.cmdWG.Add(1)
	go func() {
		defer b.cmdWG.Done()
		defer func() { <-b.cmdSem }()
		ctx, cancel := context.WithTimeout(b.ctx, commandTimeout)
		defer cancel()
		b.engine.Execute(ctx, r, text)
	}()
}

// command reads the chat engine command in an update: "/status",
// "/force@bot linux reason", "@bot status" in groups, and any text in a
// private chat. Telegram's "/start" asks for help; "/force" and "/stop"
// may leave out the word "build".
func command(u apiUpdate, botName string) (chat.Request, string, bool) {
	m := u.Message
	if m == nil || m.From == nil || m.From.IsBot || m.Text == "" || m.Chat.Type == "channel" {
		return chat.Request{}, "", false
	}
	text := strings.TrimSpace(m.Text)
	private := m.Chat.Type == "private"
	switch {
	case strings.HasPrefix(text, "/"):
		word, rest, _ := strings.Cut(text[1:], " ")
		name, to, addressed := strings.Cut(word, "@")
		if addressed && !strings.EqualFold(to, botName) {
			return chat.Request{}, "", false // another bot's command
		}
		name = strings.ToLower(name)
		rest = strings.TrimSpace(rest)
		switch {
		case name == "start":
			name = "help"
			rest = "commands"
		case (name == "force" || name == "stop") && !strings.HasPrefix(rest, "build"):
			rest = strings.TrimSpace("build " + rest)
		}
		text = strings.TrimSpace(name + " " + rest)
	case botName != "" && len(text) > len(botName)+1 && text[0] == '@' && strings.EqualFold(text[1:len(botName)+1], botName):
		rest := text[len(botName)+1:]
		rest = strings.TrimLeft(rest, ":, ")
		if rest == text[len(botName)+1:] && rest != "" { // "@botnameX": someone else
			return chat.Request{}, "", false
		}
		text = rest
	case !private:
		return chat.Request{}, "", false
	}
	sender := m.From.FirstName
	if m.From.Username != "" {
		sender = "@" + m.From.Username
	}
	chatID := strconv.FormatInt(m.Chat.ID, 10)
	r := chat.Request{Command: chat.Command{Sender: sender, Account: strconv.FormatInt(m.From.ID, 10)}, To: chatID}
	if private {
		r.Who = fmt.Sprintf("Telegram user %s (%d)", sender, m.From.ID)
	} else {
		r.Room = chatID
		r.Who = fmt.Sprintf("Telegram user %s (%d) in %q", sender, m.From.ID, m.Chat.Title)
	}
	return r, text, true
}
