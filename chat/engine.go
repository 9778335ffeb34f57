package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/status"
)

// Transport delivers what an Engine says. Its methods may be called from
// several goroutines at once.
//
// The ctx of Say and SayItems is the caller's: Report's for announcements,
// the command's (Execute's) for answers and for what a command announces.
// A transport that waits for its network stops when ctx ends and returns an
// error wrapping ctx.Err(); values the transport put in the ctx it gave
// Report or Execute are there.
type Transport interface {
	// Say delivers text to a room or a person. Announcements (announce) are
	// about builds and may be coalesced or queued behind answers; answers
	// to commands are not announcements. Text may be long: the transport
	// splits it as its network needs. An error marked status.Retryable
	// (a rate limit, an outage, a full queue) makes Report say the text
	// there again when the Hub retries the event; any other error is final
	// for that room.
	Say(ctx context.Context, to, text string, announce bool) error
	// SayItems answers with several short items (one per builder), packed
	// into as few messages as the network allows.
	SayItems(ctx context.Context, to string, items []string) error
	// IsRoom reports whether to names a room (an IRC channel) rather than
	// a person.
	IsRoom(to string) bool
}

// Command is a command as Options.Authz sees it.
type Command struct {
	Name string   // "force", "stop", "shutdown", "notify", ...
	Args []string // the arguments after the name, unquoted
	// Sender is the name the sender goes by (an IRC nick). Account
	// identifies them as the network vouches for it (IRC: user@host; a
	// Slack or Matrix user ID): check it, not Sender, before granting
	// force or shutdown.
	Sender, Account string
	// Room is where the command was said, "" for a private message.
	Room string
}

// Request is a command being answered.
type Request struct {
	Command
	// To is where answers go: the room, or the sender in private.
	To string
	// Who names the requester to Control ("IRC user <alice> on channel
	// #ops"); default Sender.
	Who string
}

// Handler is one command of a bot.
type Handler struct {
	// Usage is the help text: "join CHANNEL [KEY] - join a channel".
	Usage string
	// Sub is the help of sub-arguments, for "help COMMAND ARG".
	Sub map[string]string
	// Run runs the command. It answers with Engine.Reply; an error made by
	// Usagef is answered as it is, others as a failure.
	Run func(ctx context.Context, r *Request) error
}

// Options configures an Engine. The zero value of every field is
// Buildbot's default.
type Options struct {
	// Name names the transport in errors and logs ("irc").
	Name string

	// History answers list, status, last, watch and stop; without it
	// those commands say so. Transitions (xToY) compare with
	// History.PreviousBuild, or without History with the previous build
	// the engine saw finish.
	History status.History
	// Control carries out force, stop and shutdown. AllowForce and
	// AllowShutdown need it. A forced build is followed through the
	// BuildSetID of the request ForceBuild returns: the requester is told
	// when it starts and how it ended.
	Control status.Control
	// AllowForce enables "force build" and "stop build".
	AllowForce bool
	// AllowShutdown enables "shutdown start|stop|now" ("check" too).
	AllowShutdown bool
	// Authz, when set, decides every command before it runs; a refused
	// command is answered "not allowed". Without it anyone may run any
	// enabled command. It may be called from several goroutines at once.
	Authz func(c Command) bool

	// NotifyEvents are the events announced in every room until changed
	// with the notify command: started, finished, success, warnings,
	// failure, exception, and transitions xToY with x and Y among success,
	// warnings, failure, exception ("successToFailure"). People talking to
	// the bot in private start with none.
	NotifyEvents []string
	// UseRevisions names builds by their revisions ("build containing
	// revision(s) [a87b2c4]") instead of their number.
	UseRevisions bool
	// NoBlameList leaves the blamelist out of unsuccessful build
	// announcements (Buildbot's showBlameList=False).
	NoBlameList bool
	// Tags or Builders (not both) restrict the bot to those builders: its
	// announcements, and what its commands show and act on. They exist
	// beside status.Filter because a filter sees events, not commands.
	Tags, Builders []string

	// Commands are the transport's own commands (IRC's join and leave),
	// beside the engine's.
	Commands map[string]Handler
	// Highlight marks text with the colour of a result, in the network's
	// markup (IRC: mIRC colour codes); default none.
	Highlight func(text string, r status.Result) string

	// SourceURL is what the source command announces (default Herald's
	// repository); Version is what version announces.
	SourceURL, Version string
	// Logger receives refused and failed commands. A transport passes its
	// own. Default: the logger of the Hub the Engine is added to (see
	// status.Logging), and slog.Default() until then.
	Logger *slog.Logger
	// Now is the clock for "3m05s ago" (default time.Now).
	Now func() time.Time
}

const defaultSourceURL = "https://github.com/heraldci/herald"

// Engine answers commands and announces builds for one bot.
type Engine struct {
	o       Options
	t       Transport
	log     *slog.Logger
	inherit func(*slog.Logger)
	format  formatter
	cmds    map[string]*handler

	mu       sync.Mutex
	contacts map[string]*contact // by fold(name)
	watches  []watch
	follows  []follow            // forced builds waiting to start
	recent   []recentBuild       // builds seen lately, oldest first, for late follows
	lastDone map[string]finished // builder → the newest finished build seen
	unsent   []*delivery         // events whose announcements a retry must finish, oldest first
}

// handler is a Handler with whether it is enabled.
type handler struct {
	Handler
	enabled bool
}

// watch is a watch command, or a forced build, waiting for a build to
// finish.
type watch struct {
	contact string // fold(name) of where it was asked
	sender  string // who to address there, for a forced build ("" for watch)
	builder string
	number  int
}

type finished struct {
	number int
	result status.Result
}

// maxContacts bounds the private contacts remembered (rooms and those added
// with Join stay), so strangers talking to the bot cannot grow it.
const maxContacts = 1000

// maxWatches bounds the watch commands (and followed forced builds)
// waiting; the oldest go first.
const maxWatches = 1000

// New validates o and returns an Engine that speaks through t. Every
// problem is reported at once, prefixed with o.Name.
func New(o Options, t Transport) (*Engine, error) {
	if o.Name == "" {
		o.Name = "chat"
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(o.Name+": "+format, args...)) }
	for _, e := range o.NotifyEvents {
		if !validEvent(e) {
			bad("Options.NotifyEvents: unknown event %q: %s", e, eventsHelp)
		}
	}
	if len(o.Tags) > 0 && len(o.Builders) > 0 {
		bad("both Options.Tags and Options.Builders are set: use one of them")
	}
	if o.AllowForce && o.Control == nil {
		bad("Options.AllowForce needs Options.Control: set the host's status.Control")
	}
	if o.AllowShutdown && o.Control == nil {
		bad("Options.AllowShutdown needs Options.Control: set the host's status.Control")
	}
	if t == nil {
		bad("no Transport")
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.SourceURL == "" {
		o.SourceURL = defaultSourceURL
	}
	var inherit func(*slog.Logger)
	o.Logger, inherit = hublog.New(o.Logger)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Highlight == nil {
		o.Highlight = func(text string, _ status.Result) string { return text }
	}
	e := &Engine{
		o: o, t: t, log: o.Logger, inherit: inherit,
		format:   formatter{highlight: o.Highlight, revisions: o.UseRevisions, blame: !o.NoBlameList, now: o.Now},
		contacts: map[string]*contact{},
		lastDone: map[string]finished{},
	}
	e.cmds = e.commandTable()
	for name, h := range o.Commands {
		e.cmds[name] = &handler{Handler: h, enabled: true}
	}
	return e, nil
}

// Join adds a room (or a person) that gets the announcements of
// Options.NotifyEvents, if it is not known yet: IRC calls it for every
// channel it is on, and for the nicks it notifies in private.
func (e *Engine) Join(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.contacts[fold(name)]; !ok {
		e.contacts[fold(name)] = newContact(name, e.t.IsRoom(name), e.o.NotifyEvents)
	}
}

// Leave forgets a room: no more announcements there.
func (e *Engine) Leave(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.contacts, fold(name))
}

// Reply answers r; ctx is the command's.
func (e *Engine) Reply(ctx context.Context, r *Request, text string) error {
	return e.t.Say(ctx, r.To, text, false)
}

// UsageError is a mistake of the person typing: the bot answers with it
// as it is.
type UsageError string

func (e UsageError) Error() string { return string(e) }

// Usagef makes a UsageError.
func Usagef(format string, args ...any) error { return UsageError(fmt.Sprintf(format, args...)) }

// Execute parses, authorizes and runs text as r's command, and answers
// errors. r.Name and r.Args are filled in from text.
func (e *Engine) Execute(ctx context.Context, r Request, text string) {
	err := e.dispatch(ctx, &r, text)
	var ue UsageError
	switch {
	case err == nil:
		return
	case errors.As(err, &ue):
	case errors.Is(err, status.ErrUnsupported):
		err = UsageError("sorry, this master does not support that")
	case errors.Is(err, status.ErrNotFound):
		err = UsageError("sorry, not found: " + err.Error())
	default:
		e.log.Error(e.o.Name+": command failed", "command", r.Name, "sender", r.Sender, "err", err)
		err = UsageError("sorry, that failed: " + err.Error())
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// The command ran out of time: it is told so, with a little
		// time of its own. (Cancelled, the bot is closing: it is not.)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), lateAnswerTimeout)
		defer cancel()
	}
	_ = e.t.Say(ctx, r.To, err.Error(), false)
}

// lateAnswerTimeout bounds the answer to a command that ran out of time.
const lateAnswerTimeout = 10 * time.Second

// dispatch runs text as r's command.
func (e *Engine) dispatch(ctx context.Context, r *Request, text string) error {
	args, err := splitArgs(text)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return UsageError("yes? try 'help commands'")
	}
	r.Name, r.Args = strings.ToLower(args[0]), args[1:]
	if r.Who == "" {
		r.Who = r.Sender
	}
	h := e.cmds[r.Name]
	switch {
	case h == nil:
		return Usagef("unknown command '%s': try 'help commands'", args[0])
	case !h.enabled:
		return Usagef("'%s' is not enabled on this bot", r.Name)
	case e.o.Authz != nil && !e.o.Authz(r.Command):
		e.log.Warn(e.o.Name+": command refused by Authz", "command", r.Name, "sender", r.Sender, "account", r.Account, "room", r.Room)
		return Usagef("sorry, %s is not allowed to use '%s'", r.Sender, r.Name)
	}
	return h.Run(ctx, r)
}

// InheritLogger implements status.Logging: without Options.Logger the
// engine logs through l. A transport's bot, which gives the engine its
// logger, implements it itself.
func (e *Engine) InheritLogger(l *slog.Logger) { e.inherit(l) }

// Handles reports the kinds Report acts on: BuildStarted and BuildFinished.
func (e *Engine) Handles(k status.Kind) bool { return kinds.Has(k) }

var kinds = status.KindsOf(status.BuildStarted, status.BuildFinished)

// Report announces BuildStarted and BuildFinished events to the contacts
// whose notify events ask for them, and completes watch commands and the
// follow-up of forced builds. Other kinds, and builders outside
// Options.Tags or Options.Builders, are ignored. The errors are those of
// the Transport, joined; ctx is passed to it.
//
// When the Transport fails with a Retryable error (or ctx ends) before
// every contact has the event, Report remembers, by Event.ID, what is
// still to be said; the Hub's retry of the event (same ID) says only that,
// so the contacts that got it do not get it twice. See delivery.
func (e *Engine) Report(ctx context.Context, ev status.Event) error {
	if ev.Build == nil || !e.Handles(ev.Kind) || !e.visible(ev.Build.Builder, ev.Build.Tags) {
		return nil
	}
	d := e.takeUnsent(ev.ID)
	if d == nil {
		var err error
		if d, err = e.compose(ctx, ev); err != nil {
			return err
		}
	}
	err := e.deliver(ctx, d)
	e.keepUnsent(d)
	return err
}

// compose makes the messages of an event, in order: the announcements to
// the contacts that want it, the ends of watches, the follow-up of forced
// builds. It takes the watches and follows it completes.
func (e *Engine) compose(ctx context.Context, ev status.Event) (*delivery, error) {
	build := ev.Build
	d := &delivery{id: ev.ID}
	if ev.Kind == status.BuildStarted {
		text := e.format.started(build)
		for _, c := range e.contactsWhere((*contact).wantsStarted) {
			d.add(c, text)
		}
	} else {
		// First, as it may fail: nothing is taken yet, so a retry starts over.
		prev, err := e.previousResult(ctx, build)
		if err != nil {
			return nil, err
		}
		text := e.format.finished(build)
		for _, c := range e.contactsWhere(func(c *contact) bool { return c.wantsFinished(build.Result, prev) }) {
			d.add(c, text)
		}
		for _, w := range e.takeWatches(build) {
			for _, l := range e.format.watched(build) {
				d.add(w.to, e.addressTo(w.to, w.sender, l))
			}
		}
	}
	e.mu.Lock()
	forced := e.seenLocked(build)
	e.mu.Unlock()
	e.followStarted(d, build, forced)
	return d, nil
}

// previousResult finds the result of the build before b, when a contact
// asks for transitions: from History, else from what the engine saw. It
// also records b for the next time.
func (e *Engine) previousResult(ctx context.Context, build *status.Build) (*status.Result, error) {
	e.mu.Lock()
	seen, ok := e.lastDone[build.Builder]
	if !ok || build.Number > seen.number {
		e.lastDone[build.Builder] = finished{build.Number, build.Result}
	}
	needed := false
	for _, c := range e.contacts {
		needed = needed || c.wantsTransitions()
	}
	e.mu.Unlock()
	if !needed {
		return nil, nil
	}
	if e.o.History != nil {
		p, err := e.o.History.PreviousBuild(ctx, build)
		switch {
		case err == nil && p != nil:
			return &p.Result, nil
		case err == nil || errors.Is(err, status.ErrNotFound):
			return nil, nil
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%s: %w", e.o.Name, ctx.Err())
		}
		return nil, status.Retryable(fmt.Errorf("%s: looking up the build before %s #%d: %w", e.o.Name, build.Builder, build.Number, err), 0)
	}
	if ok && seen.number < build.Number {
		return &seen.result, nil
	}
	return nil, nil
}

// contactsWhere returns the contacts for which f holds.
func (e *Engine) contactsWhere(f func(*contact) bool) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, c := range e.contacts {
		if f(c) {
			out = append(out, c.name)
		}
	}
	slices.Sort(out) // a stable order, for the tests and the people reading
	return out
}

// watcher is where a finished build is announced because of a watch.
type watcher struct{ to, sender string }

// takeWatches removes and returns the places watching build.
func (e *Engine) takeWatches(build *status.Build) []watcher {
	e.mu.Lock()
	defer e.mu.Unlock()
	var who []watcher
	e.watches = slices.DeleteFunc(e.watches, func(w watch) bool {
		if w.builder == build.Builder && w.number == build.Number {
			if c := e.contacts[w.contact]; c != nil {
				who = append(who, watcher{to: c.name, sender: w.sender})
			}
			return true
		}
		return false
	})
	return who
}

// visible applies Options.Tags and Options.Builders.
func (e *Engine) visible(builder string, tags []string) bool {
	switch {
	case len(e.o.Builders) > 0:
		return slices.Contains(e.o.Builders, builder)
	case len(e.o.Tags) > 0:
		return slices.ContainsFunc(tags, func(t string) bool { return slices.Contains(e.o.Tags, t) })
	}
	return true
}
