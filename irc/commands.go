package irc

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/status"
)

// The commands are package chat's; this file hands them what people say
// on IRC, and adds IRC's own: join and leave.

// privmsg handles a PRIVMSG: a command in private, or one addressed to the
// bot on a channel. Commands run in their own goroutines, a few at a time,
// so a slow History or Control never stalls the connection.
func (b *Bot) privmsg(m *message, nick string) {
	target, text := m.Param(0), m.Param(1)
	if strings.HasPrefix(text, "\x01") { // CTCP (ACTION, VERSION...): not for us
		return
	}
	r := chat.Request{Command: chat.Command{Sender: m.Nick()}, To: m.Nick()}
	if _, rest, ok := strings.Cut(m.Prefix, "!"); ok {
		r.Account = rest
	}
	if isChannel(target) {
		cmd, ok := addressed(text, nick)
		if !ok {
			return
		}
		text, r.To, r.Room = cmd, target, target
	}
	select {
	case b.cmdSem <- struct{}{}:
	default:
		_ = b.say(r.To, "I am busy with other commands: try again in a moment", false)
		return
	}
	b.cmdWG.Add(1)
	go func() {
		defer b.cmdWG.Done()
		defer func() { <-b.cmdSem }()
		ctx, cancel := context.WithTimeout(b.ctx, commandTimeout)
		defer cancel()
		b.execute(ctx, r, text)
	}()
}

// execute runs one command through the engine, describing the sender to
// Control as Buildbot did.
func (b *Bot) execute(ctx context.Context, r chat.Request, text string) {
	if r.Room != "" {
		r.Who = fmt.Sprintf("IRC user <%s> on channel %s", r.Sender, r.Room)
	} else {
		r.Who = fmt.Sprintf("IRC user <%s> (privmsg)", r.Sender)
	}
	b.engine.Execute(ctx, r, text)
}

// ircCommands are the commands only IRC has.
func (b *Bot) ircCommands() map[string]chat.Handler {
	return map[string]chat.Handler{
		"join":  {Usage: "join CHANNEL [KEY] - join a channel", Run: b.cmdJoin},
		"leave": {Usage: "leave CHANNEL - leave a channel", Run: b.cmdLeave},
	}
}

func (b *Bot) cmdJoin(ctx context.Context, r *chat.Request) error {
	if len(r.Args) < 1 || len(r.Args) > 2 {
		return chat.UsageError("try 'join CHANNEL' or 'join CHANNEL KEY'")
	}
	ch := Channel{Name: r.Args[0]}
	if len(r.Args) == 2 {
		ch.Key = status.Secret(r.Args[1])
	}
	if !validChannel(ch.Name) || strings.ContainsAny(ch.Key.Reveal(), " ,") {
		return chat.Usagef("'%s' is not a channel name: try 'join #channel'", ch.Name)
	}
	b.mu.Lock()
	b.channels = slices.DeleteFunc(b.channels, func(c Channel) bool { return fold(c.Name) == fold(ch.Name) })
	b.channels = append(b.channels, ch) // rejoined after reconnections
	b.mu.Unlock()
	if err := b.engine.Reply(ctx, r, "joining "+ch.Name); err != nil {
		return err
	}
	// After the answer, in the same lane, so they arrive in this order.
	return b.out.pushAnswer([]string{joinLine(ch)})
}

func (b *Bot) cmdLeave(ctx context.Context, r *chat.Request) error {
	if len(r.Args) != 1 || !validChannel(r.Args[0]) {
		return chat.UsageError("try 'leave #channel'")
	}
	name := r.Args[0]
	b.mu.Lock()
	b.channels = slices.DeleteFunc(b.channels, func(c Channel) bool { return fold(c.Name) == fold(name) })
	b.mu.Unlock()
	if err := b.engine.Reply(ctx, r, "leaving "+name); err != nil {
		return err
	}
	// After the answer, in the same lane: the answer may be for that channel.
	return b.out.pushAnswer([]string{formatLine("PART", name, "asked by "+r.Sender)})
}

// addressed returns the command of a channel message addressed to nick
// ("bot: status", "bot, status"), and whether it was.
func addressed(text, nick string) (string, bool) {
	if len(text) <= len(nick) || !strings.EqualFold(text[:len(nick)], nick) {
		return "", false
	}
	switch text[len(nick)] {
	case ':', ',':
		return strings.TrimSpace(text[len(nick)+1:]), true
	}
	return "", false
}

func isChannel(name string) bool { return name != "" && strings.IndexByte("#&+!", name[0]) >= 0 }

// fold is the case mapping the bot uses for nicks and channels (ASCII, as
// ngircd announces CASEMAPPING=ascii; rfc1459's extra pairs are rare).
func fold(s string) string { return strings.ToLower(s) }
