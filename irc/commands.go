package irc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/heraldci/herald/status"
)

// handler is one command of the bot.
type handler struct {
	usage   string
	sub     map[string]string // usage of sub-arguments, for help COMMAND ARG
	enabled bool
	run     func(ctx context.Context, r *request) error
}

// request is a command being answered.
type request struct {
	Command
	to string // where answers go: the channel, or the nick in private
}

// who describes the sender for Control, as Buildbot did.
func (r *request) who() string {
	if r.Channel != "" {
		return fmt.Sprintf("IRC user <%s> on channel %s", r.Nick, r.Channel)
	}
	return fmt.Sprintf("IRC user <%s> (privmsg)", r.Nick)
}

func (b *Bot) commandTable() map[string]*handler {
	return map[string]*handler{
		"list":     {usage: "list builders - list the configured builders", enabled: true, run: b.cmdList},
		"status":   {usage: "status [BUILDER|all] - say what a builder (or every builder) is doing", enabled: true, run: b.cmdStatus},
		"watch":    {usage: "watch BUILDER - announce the end of the builder's running builds", enabled: true, run: b.cmdWatch},
		"last":     {usage: "last BUILDER|all - the last finished build of a builder", enabled: true, run: b.cmdLast},
		"join":     {usage: "join CHANNEL [KEY] - join a channel", enabled: true, run: b.cmdJoin},
		"leave":    {usage: "leave CHANNEL - leave a channel", enabled: true, run: b.cmdLeave},
		"notify":   {usage: "notify on|off|list [EVENT...] - announce build events here; " + eventsHelp, enabled: true, run: b.cmdNotify},
		"help":     {usage: "help COMMAND [ARG] - give help for a command, or 'help commands'", enabled: true, run: b.cmdHelp},
		"commands": {usage: "commands - list the commands", enabled: true, run: b.cmdCommands},
		"source":   {usage: "source - where the bot's source code is", enabled: true, run: b.cmdSource},
		"version":  {usage: "version - the bot's version", enabled: true, run: b.cmdVersion},
		"shutdown": {
			usage: "shutdown check|start|stop|now - shut the master down", enabled: b.o.AllowShutdown, run: b.cmdShutdown,
			sub: map[string]string{
				"check": "shutdown check - is the master running or shutting down?",
				"start": "shutdown start - start a clean shutdown (after the running builds)",
				"stop":  "shutdown stop - cancel the clean shutdown",
				"now":   "shutdown now - shut down at once, without waiting for the builds",
			},
		},
		"force": {usage: "force build [--branch=BRANCH] [--revision=REVISION] [--props=NAME=VALUE,...] BUILDER REASON - start a build",
			enabled: b.o.AllowForce, run: b.cmdForce},
		"stop": {usage: "stop build BUILDER REASON - stop the builder's running builds", enabled: b.o.AllowForce, run: b.cmdStop},
	}
}

// privmsg handles a PRIVMSG: a command in private, or one addressed to the
// bot on a channel. Commands run in their own goroutines, a few at a time,
// so a slow History or Control never stalls the connection.
func (b *Bot) privmsg(m *message, nick string) {
	target, text := m.Param(0), m.Param(1)
	if strings.HasPrefix(text, "\x01") { // CTCP (ACTION, VERSION...): not for us
		return
	}
	r := &request{Command: Command{Nick: m.Nick()}, to: m.Nick()}
	if _, rest, ok := strings.Cut(m.Prefix, "!"); ok {
		r.User, r.Host, _ = strings.Cut(rest, "@")
	}
	if isChannel(target) {
		cmd, ok := addressed(text, nick)
		if !ok {
			return
		}
		text, r.to, r.Channel = cmd, target, target
	}
	select {
	case b.cmdSem <- struct{}{}:
	default:
		_ = b.say(r.to, "I am busy with other commands: try again in a moment", false)
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

// execute parses, authorizes and runs one command, and answers errors.
func (b *Bot) execute(ctx context.Context, r *request, text string) {
	err := b.dispatch(ctx, r, text)
	var ue usageError
	switch {
	case err == nil:
		return
	case errors.As(err, &ue):
	case errors.Is(err, status.ErrUnsupported):
		err = usageError("sorry, this master does not support that")
	case errors.Is(err, status.ErrNotFound):
		err = usageError("sorry, not found: " + err.Error())
	default:
		b.log.Error("irc: command failed", "command", r.Name, "nick", r.Nick, "err", err)
		err = usageError("sorry, that failed: " + err.Error())
	}
	_ = b.say(r.to, err.Error(), false)
}

// dispatch runs text as r's command.
func (b *Bot) dispatch(ctx context.Context, r *request, text string) error {
	args, err := splitArgs(text)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return usageError("yes? try 'help commands'")
	}
	r.Name, r.Args = strings.ToLower(args[0]), args[1:]
	h := b.cmds[r.Name]
	switch {
	case h == nil:
		return usagef("unknown command '%s': try 'help commands'", args[0])
	case !h.enabled:
		return usagef("'%s' is not enabled on this bot", r.Name)
	case b.o.Authz != nil && !b.o.Authz(r.Command):
		b.log.Warn("irc: command refused by Authz", "command", r.Name, "nick", r.Nick, "host", r.Host, "channel", r.Channel)
		return usagef("sorry, %s is not allowed to use '%s'", r.Nick, r.Name)
	}
	return h.run(ctx, r)
}

func (b *Bot) reply(r *request, text string) error { return b.say(r.to, text, false) }

func (b *Bot) cmdJoin(_ context.Context, r *request) error {
	if len(r.Args) < 1 || len(r.Args) > 2 {
		return usageError("try 'join CHANNEL' or 'join CHANNEL KEY'")
	}
	ch := Channel{Name: r.Args[0]}
	if len(r.Args) == 2 {
		ch.Key = status.Secret(r.Args[1])
	}
	if !validChannel(ch.Name) || strings.ContainsAny(ch.Key.Reveal(), " ,") {
		return usagef("'%s' is not a channel name: try 'join #channel'", ch.Name)
	}
	b.mu.Lock()
	b.channels = slices.DeleteFunc(b.channels, func(c Channel) bool { return fold(c.Name) == fold(ch.Name) })
	b.channels = append(b.channels, ch) // rejoined after reconnections
	b.mu.Unlock()
	if err := b.reply(r, "joining "+ch.Name); err != nil {
		return err
	}
	// After the answer, in the same lane, so they arrive in this order.
	return b.out.pushAnswer([]string{joinLine(ch)})
}

func (b *Bot) cmdLeave(_ context.Context, r *request) error {
	if len(r.Args) != 1 || !validChannel(r.Args[0]) {
		return usageError("try 'leave #channel'")
	}
	name := r.Args[0]
	b.mu.Lock()
	b.channels = slices.DeleteFunc(b.channels, func(c Channel) bool { return fold(c.Name) == fold(name) })
	b.mu.Unlock()
	if err := b.reply(r, "leaving "+name); err != nil {
		return err
	}
	// After the answer, in the same lane: the answer may be for that channel.
	return b.out.pushAnswer([]string{formatLine("PART", name, "asked by "+r.Nick)})
}

func (b *Bot) cmdNotify(_ context.Context, r *request) error {
	if len(r.Args) == 0 {
		return usageError("try 'notify on|off|list [EVENT...]'")
	}
	action, events := r.Args[0], r.Args[1:]
	for _, e := range events {
		if !validEvent(e) {
			return usagef("unknown event '%s': %s", e, eventsHelp)
		}
	}
	b.mu.Lock()
	c := b.contactLocked(r.to)
	switch action {
	case "on":
		if len(events) == 0 {
			events = []string{"started", "finished"}
		}
		for _, e := range events {
			c.events[e] = true
		}
	case "off":
		if len(events) == 0 {
			clear(c.events)
		}
		for _, e := range events {
			delete(c.events, e)
		}
	case "list":
	default:
		b.mu.Unlock()
		return usageError("try 'notify on|off|list [EVENT...]'")
	}
	list := c.eventList()
	b.mu.Unlock()
	if len(list) == 0 {
		return b.reply(r, "No events are being notified")
	}
	return b.reply(r, "The following events are being notified: "+strings.Join(list, ", "))
}

// contactLocked returns the contact for a channel or nick, creating it;
// b.mu is held. New private contacts start with no events.
func (b *Bot) contactLocked(name string) *contact {
	if c := b.contacts[fold(name)]; c != nil {
		return c
	}
	if len(b.contacts) >= maxContacts { // forget idle strangers first
		for k, c := range b.contacts {
			if !c.channel && len(c.events) == 0 && !slices.ContainsFunc(b.watches, func(w watch) bool { return w.contact == k }) &&
				!slices.ContainsFunc(b.follows, func(f follow) bool { return f.contact == k }) {
				delete(b.contacts, k)
			}
		}
	}
	var events []string
	if isChannel(name) {
		events = b.o.NotifyEvents
	}
	c := newContact(name, events)
	b.contacts[fold(name)] = c
	return c
}

func (b *Bot) cmdHelp(_ context.Context, r *request) error {
	if len(r.Args) == 0 {
		return b.reply(r, "Get help on what? (try 'help COMMAND', or 'help commands' for a command list)")
	}
	name := strings.ToLower(r.Args[0])
	if name == "commands" && len(r.Args) == 1 {
		return b.cmdCommands(nil, r)
	}
	h := b.cmds[name]
	if h == nil || !h.enabled {
		return usagef("no such command '%s': try 'help commands'", r.Args[0])
	}
	usage := h.usage
	if len(r.Args) > 1 {
		if usage = h.sub[r.Args[1]]; usage == "" {
			return b.reply(r, "No usage info for '"+strings.Join(r.Args, " ")+"'")
		}
	}
	return b.reply(r, "Usage: "+usage)
}

func (b *Bot) cmdCommands(_ context.Context, r *request) error {
	var names []string
	for n, h := range b.cmds {
		if h.enabled {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return b.reply(r, "Herald commands: "+strings.Join(names, ", "))
}

func (b *Bot) cmdSource(_ context.Context, r *request) error {
	return b.reply(r, "My source can be found at "+b.o.SourceURL)
}

func (b *Bot) cmdVersion(_ context.Context, r *request) error {
	return b.reply(r, "Herald "+b.o.Version+" at your service")
}
