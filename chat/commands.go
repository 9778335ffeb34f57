package chat

import (
	"context"
	"slices"
	"strings"
)

func (e *Engine) commandTable() map[string]*handler {
	cmd := func(usage string, enabled bool, run func(context.Context, *Request) error) *handler {
		return &handler{Handler: Handler{Usage: usage, Run: run}, enabled: enabled}
	}
	t := map[string]*handler{
		"list":     cmd("list builders - list the configured builders", true, e.cmdList),
		"status":   cmd("status [BUILDER|all] - say what a builder (or every builder) is doing", true, e.cmdStatus),
		"watch":    cmd("watch BUILDER - announce the end of the builder's running builds", true, e.cmdWatch),
		"last":     cmd("last BUILDER|all - the last finished build of a builder", true, e.cmdLast),
		"notify":   cmd("notify on|off|list [EVENT...] - announce build events here; "+eventsHelp, true, e.cmdNotify),
		"help":     cmd("help COMMAND [ARG] - give help for a command, or 'help commands'", true, e.cmdHelp),
		"commands": cmd("commands - list the commands", true, e.cmdCommands),
		"source":   cmd("source - where the bot's source code is", true, e.cmdSource),
		"version":  cmd("version - the bot's version", true, e.cmdVersion),
		"shutdown": cmd("shutdown check|start|stop|now - shut the master down", e.o.AllowShutdown, e.cmdShutdown),
		"force": cmd("force build [--branch=BRANCH] [--revision=REVISION] [--props=NAME=VALUE,...] BUILDER REASON - start a build",
			e.o.AllowForce, e.cmdForce),
		"stop": cmd("stop build BUILDER REASON - stop the builder's running builds", e.o.AllowForce, e.cmdStop),
	}
	t["shutdown"].Sub = map[string]string{
		"check": "shutdown check - is the master running or shutting down?",
		"start": "shutdown start - start a clean shutdown (after the running builds)",
		"stop":  "shutdown stop - cancel the clean shutdown",
		"now":   "shutdown now - shut down at once, without waiting for the builds",
	}
	return t
}

func (e *Engine) cmdNotify(ctx context.Context, r *Request) error {
	if len(r.Args) == 0 {
		return UsageError("try 'notify on|off|list [EVENT...]'")
	}
	action, events := r.Args[0], r.Args[1:]
	for _, ev := range events {
		if !validEvent(ev) {
			return Usagef("unknown event '%s': %s", ev, eventsHelp)
		}
	}
	e.mu.Lock()
	c := e.contactLocked(r.To)
	switch action {
	case "on":
		if len(events) == 0 {
			events = []string{"started", "finished"}
		}
		for _, ev := range events {
			c.events[ev] = true
		}
	case "off":
		if len(events) == 0 {
			clear(c.events)
		}
		for _, ev := range events {
			delete(c.events, ev)
		}
	case "list":
	default:
		e.mu.Unlock()
		return UsageError("try 'notify on|off|list [EVENT...]'")
	}
	list := c.eventList()
	e.mu.Unlock()
	if len(list) == 0 {
		return e.Reply(ctx, r, "No events are being notified")
	}
	return e.Reply(ctx, r, "The following events are being notified: "+strings.Join(list, ", "))
}

// contactLocked returns the contact for a room or person, creating it;
// e.mu is held. New private contacts start with no events.
func (e *Engine) contactLocked(name string) *contact {
	if c := e.contacts[fold(name)]; c != nil {
		return c
	}
	if len(e.contacts) >= maxContacts { // forget idle strangers first
		for k, c := range e.contacts {
			if !c.room && len(c.events) == 0 && !slices.ContainsFunc(e.watches, func(w watch) bool { return w.contact == k }) &&
				!slices.ContainsFunc(e.follows, func(f follow) bool { return f.contact == k }) {
				delete(e.contacts, k)
			}
		}
	}
	room := e.t.IsRoom(name)
	var events []string
	if room {
		events = e.o.NotifyEvents
	}
	c := newContact(name, room, events)
	e.contacts[fold(name)] = c
	return c
}

func (e *Engine) cmdHelp(ctx context.Context, r *Request) error {
	if len(r.Args) == 0 {
		return e.Reply(ctx, r, "Get help on what? (try 'help COMMAND', or 'help commands' for a command list)")
	}
	name := strings.ToLower(r.Args[0])
	if name == "commands" && len(r.Args) == 1 {
		return e.cmdCommands(ctx, r)
	}
	h := e.cmds[name]
	if h == nil || !h.enabled {
		return Usagef("no such command '%s': try 'help commands'", r.Args[0])
	}
	usage := h.Usage
	if len(r.Args) > 1 {
		if usage = h.Sub[r.Args[1]]; usage == "" {
			return e.Reply(ctx, r, "No usage info for '"+strings.Join(r.Args, " ")+"'")
		}
	}
	return e.Reply(ctx, r, "Usage: "+usage)
}

func (e *Engine) cmdCommands(ctx context.Context, r *Request) error {
	var names []string
	for n, h := range e.cmds {
		if h.enabled {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return e.Reply(ctx, r, "Herald commands: "+strings.Join(names, ", "))
}

func (e *Engine) cmdSource(ctx context.Context, r *Request) error {
	return e.Reply(ctx, r, "My source can be found at "+e.o.SourceURL)
}

func (e *Engine) cmdVersion(ctx context.Context, r *Request) error {
	return e.Reply(ctx, r, "Herald "+e.o.Version+" at your service")
}
