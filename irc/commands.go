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

func (b *Bot) history() (status.History, error) {
	if b.o.History == nil {
		return nil, usageError("sorry, this bot has no build history to look at")
	}
	return b.o.History, nil
}

// builder returns a visible builder by name.
func (b *Bot) builder(ctx context.Context, name string) (*status.Builder, error) {
	h, err := b.history()
	if err != nil {
		return nil, err
	}
	bl, err := h.Builder(ctx, name)
	if errors.Is(err, status.ErrNotFound) || err == nil && !b.visible(bl.Name, bl.Tags) {
		return nil, usagef("no such builder '%s': try 'list builders'", name)
	}
	return bl, err
}

// builders returns the visible builders.
func (b *Bot) builders(ctx context.Context) ([]status.Builder, error) {
	h, err := b.history()
	if err != nil {
		return nil, err
	}
	all, err := h.Builders(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(bl status.Builder) bool { return !b.visible(bl.Name, bl.Tags) }), nil
}

func (b *Bot) running(ctx context.Context, builder string) ([]*status.Build, error) {
	return b.o.History.Builds(ctx, status.BuildQuery{Builders: []string{builder}, Running: true})
}

func (b *Bot) lastFinished(ctx context.Context, builder string) (*status.Build, error) {
	bs, err := b.o.History.Builds(ctx, status.BuildQuery{Builders: []string{builder}, Finished: true, Limit: 1})
	if err != nil || len(bs) == 0 {
		return nil, err
	}
	return bs[0], nil
}

func (b *Bot) cmdList(ctx context.Context, r *request) error {
	if len(r.Args) != 1 || r.Args[0] != "builders" {
		return usageError("try 'list builders'")
	}
	bls, err := b.builders(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, bl := range bls {
		n := bl.Name
		if bl.State == status.Offline {
			n += "[offline]"
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return b.reply(r, "No builders are configured")
	}
	return b.reply(r, "Configured builders: "+strings.Join(names, " "))
}

func (b *Bot) cmdStatus(ctx context.Context, r *request) error {
	which := "all"
	switch len(r.Args) {
	case 0:
	case 1:
		which = r.Args[0]
	default:
		return usageError("try 'status BUILDER' or 'status all'")
	}
	var bls []status.Builder
	if which == "all" {
		var err error
		if bls, err = b.builders(ctx); err != nil {
			return err
		}
	} else {
		bl, err := b.builder(ctx, which)
		if err != nil {
			return err
		}
		bls = []status.Builder{*bl}
	}
	var items []string
	for i := range bls {
		run, err := b.running(ctx, bls[i].Name)
		if err != nil {
			return err
		}
		last, err := b.lastFinished(ctx, bls[i].Name)
		if err != nil {
			return err
		}
		items = append(items, b.format.builderStatus(&bls[i], run, last))
	}
	if len(items) == 0 {
		return b.reply(r, "No builders are configured")
	}
	return b.sayPacked(r.to, items)
}

func (b *Bot) cmdLast(ctx context.Context, r *request) error {
	if len(r.Args) != 1 {
		return usageError("try 'last BUILDER' or 'last all'")
	}
	var names []string
	if r.Args[0] == "all" {
		bls, err := b.builders(ctx)
		if err != nil {
			return err
		}
		for _, bl := range bls {
			names = append(names, bl.Name)
		}
	} else {
		bl, err := b.builder(ctx, r.Args[0])
		if err != nil {
			return err
		}
		names = []string{bl.Name}
	}
	var items []string
	for _, n := range names {
		last, err := b.lastFinished(ctx, n)
		if err != nil {
			return err
		}
		items = append(items, b.format.last(n, last))
	}
	return b.sayPacked(r.to, items)
}

func (b *Bot) cmdWatch(ctx context.Context, r *request) error {
	if len(r.Args) != 1 {
		return usageError("try 'watch BUILDER'")
	}
	bl, err := b.builder(ctx, r.Args[0])
	if err != nil {
		return err
	}
	run, err := b.running(ctx, bl.Name)
	if err != nil {
		return err
	}
	if len(run) == 0 {
		return b.reply(r, "there are no builds currently running on "+bl.Name)
	}
	b.mu.Lock()
	c := b.contactLocked(r.to)
	for _, build := range run {
		b.watches = append(b.watches, watch{contact: fold(c.name), builder: build.Builder, number: build.Number})
	}
	b.mu.Unlock()
	for _, build := range run {
		if err := b.reply(r, b.format.watching(build)); err != nil {
			return err
		}
	}
	return nil
}

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
	_, err := b.out.push([]string{joinLine(ch)}, "", b.o.Now())
	return err
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
	_, err := b.out.push([]string{formatLine("PART", name, "asked by "+r.Nick)}, "", b.o.Now())
	return err
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
			if !c.channel && len(c.events) == 0 && !slices.ContainsFunc(b.watches, func(w watch) bool { return w.contact == k }) {
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

func (b *Bot) cmdShutdown(ctx context.Context, r *request) error {
	if len(r.Args) != 1 {
		return usageError("try 'shutdown check|start|stop|now'")
	}
	c := b.o.Control
	switch r.Args[0] {
	case "check":
		down, err := c.ShutdownState(ctx)
		if err != nil {
			return err
		}
		if down {
			return b.reply(r, "Status: the master is shutting down")
		}
		return b.reply(r, "Status: the master is running")
	case "start":
		down, err := c.ShutdownState(ctx)
		if err != nil {
			return err
		}
		if down {
			return b.reply(r, "Already started")
		}
		if err := c.ShutdownMaster(ctx, true); err != nil {
			return err
		}
		return b.reply(r, "Starting clean shutdown")
	case "stop":
		down, err := c.ShutdownState(ctx)
		if err != nil {
			return err
		}
		if !down {
			return b.reply(r, "Nothing to stop")
		}
		if err := c.CancelShutdown(ctx); err != nil {
			return err
		}
		return b.reply(r, "Stopping clean shutdown")
	case "now":
		// Said first: the master may be gone before an answer could be.
		if err := b.reply(r, "Stopping the master now"); err != nil {
			return err
		}
		return c.ShutdownMaster(ctx, false)
	}
	return usageError("try 'shutdown check|start|stop|now'")
}

const forceUsage = "try 'force build [--branch=BRANCH] [--revision=REVISION] [--props=NAME=VALUE,...] BUILDER REASON'"

func (b *Bot) cmdForce(ctx context.Context, r *request) error {
	if len(r.Args) == 0 || r.Args[0] != "build" {
		return usageError(forceUsage)
	}
	flags, rest, err := parseFlags(r.Args[1:], "branch", "revision", "props")
	if err != nil {
		return usagef("%v; %s", err, forceUsage)
	}
	if len(rest) == 0 {
		return usageError("you must name a builder: " + forceUsage)
	}
	fr := status.ForceRequest{
		Builder:  rest[0],
		Who:      r.who(),
		Reason:   strings.Join(rest[1:], " "),
		Branch:   flags["branch"],
		Revision: flags["revision"],
	}
	if !validToken(fr.Branch, "._-/+~") {
		return usagef("sorry, bad branch '%s'", fr.Branch)
	}
	if !validToken(fr.Revision, "._-/ ") {
		return usagef("sorry, bad revision '%s'", fr.Revision)
	}
	if p, ok := flags["props"]; ok {
		if fr.Properties, err = parseProps(p); err != nil {
			return err
		}
	}
	if b.o.History != nil {
		if _, err := b.builder(ctx, fr.Builder); err != nil {
			return err
		}
	} else if !b.visible(fr.Builder, nil) {
		return usagef("no such builder '%s'", fr.Builder)
	}
	if err := b.o.Control.ForceBuild(ctx, fr); err != nil {
		return err
	}
	b.log.Info("irc: build forced", "builder", fr.Builder, "by", fr.Who)
	return b.reply(r, fmt.Sprintf("build of %s forced; watch it with 'watch %s'", fr.Builder, fr.Builder))
}

func (b *Bot) cmdStop(ctx context.Context, r *request) error {
	if len(r.Args) < 3 || r.Args[0] != "build" {
		return usageError("try 'stop build BUILDER REASON'")
	}
	bl, err := b.builder(ctx, r.Args[1])
	if err != nil {
		return err
	}
	reason := strings.Join(r.Args[2:], " ")
	run, err := b.running(ctx, bl.Name)
	if err != nil {
		return err
	}
	if len(run) == 0 {
		return b.reply(r, "sorry, no build is currently running on "+bl.Name)
	}
	for _, build := range run {
		if err := b.o.Control.StopBuild(ctx, build.Builder, build.Number, r.who(), reason); err != nil {
			return err
		}
		b.log.Info("irc: build stopped", "builder", build.Builder, "number", build.Number, "by", r.who())
		what := fmt.Sprintf("build #%d of %s", build.Number, build.Builder)
		if b.o.UseRevisions {
			what = fmt.Sprintf("build containing revision(s) [%s] on %s", revisions(build), build.Builder)
		}
		if err := b.reply(r, what+" interrupted"); err != nil {
			return err
		}
	}
	return nil
}

// sayPacked answers with items joined by " | ", as few lines as fit: a
// status of 50 builders takes a few lines, not 50 (each costing Interval
// under flood control). An item is never split between lines unless it
// is longer than a line by itself.
func (b *Bot) sayPacked(to string, items []string) error {
	room := b.room(to)
	var cur string
	var errs []error
	for _, it := range items {
		it = clean(it)
		switch {
		case cur == "":
			cur = it
		case len(cur)+3+len(it) <= room:
			cur += " | " + it
		default:
			errs = append(errs, b.say(to, cur, false))
			cur = it
		}
	}
	if cur != "" {
		errs = append(errs, b.say(to, cur, false))
	}
	return errors.Join(errs...)
}

// room is the longest text one line to "to" can carry.
func (b *Bot) room(to string) int {
	cmd := "PRIVMSG"
	if b.o.NoticeOnChannel && isChannel(to) {
		cmd = "NOTICE"
	}
	b.mu.Lock()
	prefix := b.prefixLen()
	b.mu.Unlock()
	return maxLine - prefix - len(cmd) - 1 - len(to) - 2 - 2
}
