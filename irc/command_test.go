package irc

import (
	"context"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

func TestOptionsErrors(t *testing.T) {
	tests := []struct {
		o    Options
		want string
	}{
		{Options{Nick: "bot"}, "Options.Host is empty: set the IRC server's host name"},
		{Options{Host: "h"}, `Options.Nick "" is not a valid nick`},
		{Options{Host: "h", Nick: "9bot"}, "not a valid nick"},
		{Options{Host: "h", Nick: "bot", Channels: []Channel{{Name: "builds"}}}, `channel "builds" is not a valid channel name`},
		{Options{Host: "h", Nick: "bot", NotifyEvents: []string{"successToBroken"}}, `unknown event "successToBroken"`},
		{Options{Host: "h", Nick: "bot", AllowForce: true}, "Options.AllowForce needs Options.Control"},
		{Options{Host: "h", Nick: "bot", AllowShutdown: true}, "Options.AllowShutdown needs Options.Control"},
		{Options{Host: "h", Nick: "bot", Password: "p", SASL: &SASL{User: "u", Password: "p"}}, "use one way to log in"},
		{Options{Host: "h", Nick: "bot", Tags: []string{"a"}, Builders: []string{"b"}}, "use one of them"},
		{Options{Host: "h", Nick: "bot", Port: 70000}, "out of range"},
		{Options{Host: "h", Nick: "bot", Burst: -1}, "must not be negative"},
	}
	for _, tt := range tests {
		_, err := New(tt.o)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", tt.o, err, tt.want)
		}
	}
}

// offlineBot is a bot whose server refuses connections: commands run
// synchronously through execute and their lines stay in the queue, where
// drain reads them.
func offlineBot(t testing.TB, o Options) *Bot {
	t.Helper()
	o.Host, o.Port = "127.0.0.1", freePort(t) // nothing listens there
	o.FailedDelay = time.Hour
	if o.Nick == "" {
		o.Nick = "herald"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = func() time.Time { return statustest.Epoch.Add(time.Hour) }
	}
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return b
}

// drain returns the lines queued so far.
func drain(b *Bot) []string {
	var out []string
	for {
		l, ok := b.out.nextUrgent()
		if !ok {
			l, ok = b.out.nextPaced(true)
		}
		if !ok {
			return out
		}
		out = append(out, l)
	}
}

// run executes a command as nick said it on channel ("" for private) and
// returns the lines queued in answer.
func run(b *Bot, nick, channel, text string) []string {
	r := chat.Request{Command: chat.Command{Sender: nick, Account: "~" + nick + "@127.0.0.1", Room: channel}, To: nick}
	if channel != "" {
		r.To = channel
	}
	b.execute(context.Background(), r, text)
	return drain(b)
}

func TestAuthz(t *testing.T) {
	hist := statustest.NewHistory(statustest.NewBuild("linux").Number(7).Build())
	allowAlice := func(c chat.Command) bool {
		return c.Sender == "alice" || c.Name != "force" && c.Name != "stop" && c.Name != "shutdown"
	}
	tests := []struct {
		name      string
		o         Options
		nick      string
		text      string
		wantReply string
		wantCalls []statustest.Call
	}{
		{"force disabled", Options{}, "alice", "force build linux go", "'force' is not enabled on this bot", nil},
		{"stop disabled", Options{}, "alice", "stop build linux oops", "'stop' is not enabled on this bot", nil},
		{"shutdown disabled", Options{}, "alice", "shutdown now", "'shutdown' is not enabled on this bot", nil},
		{"force refused", Options{AllowForce: true, Authz: allowAlice}, "mallory", "force build linux go", "sorry, mallory is not allowed to use 'force'", nil},
		{"stop refused", Options{AllowForce: true, Authz: allowAlice}, "mallory", "stop build linux oops", "not allowed to use 'stop'", nil},
		{"shutdown refused", Options{AllowShutdown: true, Authz: allowAlice}, "mallory", "shutdown now", "not allowed to use 'shutdown'", nil},
		{"status allowed for all", Options{AllowForce: true, Authz: allowAlice}, "mallory", "status linux", "linux: building", nil},
		{"force", Options{AllowForce: true, Authz: allowAlice}, "alice",
			`force build --branch=feature/x --revision 0a1b2c3 --props=owner=alice,prio=2 linux "needs a rebuild"`,
			"build of linux queued; I'll give a shout when it starts",
			[]statustest.Call{{Method: "ForceBuild", Args: "{Builder:linux Who:IRC user <alice> on channel #ops Reason:needs a rebuild Branch:feature/x Revision:0a1b2c3 Repository: Project: Properties:map[owner:alice prio:2]}"}}},
		{"force without Authz", Options{AllowForce: true}, "bob", "force build linux", "build of linux queued; I'll give a shout when it starts",
			[]statustest.Call{{Method: "ForceBuild", Args: "{Builder:linux Who:IRC user <bob> on channel #ops Reason: Branch: Revision: Repository: Project: Properties:map[]}"}}},
		{"force unknown builder", Options{AllowForce: true}, "alice", "force build nosuch x", "no such builder 'nosuch'", nil},
		{"force bad branch", Options{AllowForce: true}, "alice", "force build --branch=a;rm linux x", "sorry, bad branch 'a;rm'", nil},
		{"force bad props", Options{AllowForce: true}, "alice", "force build --props=a linux x", "bad property", nil},
		{"force no builder", Options{AllowForce: true}, "alice", "force build --branch=main", "you must name a builder", nil},
		{"stop", Options{AllowForce: true, Authz: allowAlice}, "alice", "stop build linux committed a bug", "build #7 of linux interrupted",
			[]statustest.Call{{Method: "StopBuild", Args: "linux 7 IRC user <alice> on channel #ops committed a bug"}}},
		{"shutdown check", Options{AllowShutdown: true, Authz: allowAlice}, "alice", "shutdown check", "Status: the master is running", nil},
		{"shutdown start", Options{AllowShutdown: true, Authz: allowAlice}, "alice", "shutdown start", "Starting clean shutdown",
			[]statustest.Call{{Method: "ShutdownMaster", Args: "true"}}},
		{"shutdown now", Options{AllowShutdown: true, Authz: allowAlice}, "alice", "shutdown now", "Stopping the master now",
			[]statustest.Call{{Method: "ShutdownMaster", Args: "false"}}},
		{"shutdown stop with nothing to stop", Options{AllowShutdown: true}, "alice", "shutdown stop", "Nothing to stop", nil},
		{"shutdown bad argument", Options{AllowShutdown: true}, "alice", "shutdown later", "try 'shutdown check|start|stop|now'", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctl := &statustest.Control{}
			tt.o.History = hist
			if tt.o.AllowForce || tt.o.AllowShutdown {
				tt.o.Control = ctl
			}
			b := offlineBot(t, tt.o)
			out := run(b, tt.nick, "#ops", tt.text)
			if len(out) == 0 || !strings.Contains(out[0], tt.wantReply) {
				t.Errorf("%q answered %q, want %q", tt.text, out, tt.wantReply)
			}
			if got := ctl.Calls(); !reflect.DeepEqual(got, tt.wantCalls) {
				t.Errorf("Control calls = %+v\nwant %+v", got, tt.wantCalls)
			}
		})
	}
}

func TestShutdownStopAfterStart(t *testing.T) {
	ctl := &statustest.Control{}
	b := offlineBot(t, Options{AllowShutdown: true, Control: ctl})
	for _, step := range []struct{ text, want string }{
		{"shutdown start", "Starting clean shutdown"},
		{"shutdown start", "Already started"},
		{"shutdown check", "Status: the master is shutting down"},
		{"shutdown stop", "Stopping clean shutdown"},
		{"shutdown check", "Status: the master is running"},
	} {
		if out := run(b, "alice", "", step.text); len(out) != 1 || out[0] != "PRIVMSG alice :"+step.want {
			t.Errorf("%q answered %q, want %q", step.text, out, step.want)
		}
	}
	want := []statustest.Call{{Method: "ShutdownMaster", Args: "true"}, {Method: "CancelShutdown"}}
	if got := ctl.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls = %+v, want %+v", got, want)
	}
}

func TestControlErrors(t *testing.T) {
	ctl := &statustest.Control{Err: func(string) error { return status.ErrUnsupported }}
	b := offlineBot(t, Options{AllowForce: true, Control: ctl})
	if out := run(b, "alice", "", "force build linux"); len(out) != 1 || !strings.Contains(out[0], "this master does not support that") {
		t.Errorf("answer = %q", out)
	}
}

func TestNoticeOnChannel(t *testing.T) {
	b := offlineBot(t, Options{NoticeOnChannel: true})
	if out := run(b, "alice", "#ops", "frobnicate"); len(out) != 1 || out[0] != "NOTICE #ops :unknown command 'frobnicate': try 'help commands'" {
		t.Errorf("channel error = %q", out)
	}
	if out := run(b, "alice", "", "frobnicate"); len(out) != 1 || !strings.HasPrefix(out[0], "PRIVMSG alice :") {
		t.Errorf("private error = %q (private answers stay PRIVMSG)", out)
	}
}

// FuzzCommand runs any text as a command, through parsing, authorization
// and dispatch, against a fake History and Control: no panic, and every
// answer is one clean line short enough for the server to relay.
func FuzzCommand(f *testing.F) {
	for _, s := range []string{
		"status all", "status linux", "list builders", "last all", "watch linux",
		"notify on started successToFailure", "notify off", "notify list", "notify on bogus",
		`force build --branch=main --props=a=1,b=2 linux "a reason"`, "force build --revision", "stop build linux why",
		"help", "help shutdown now", "help commands", "commands", "join #x key", "leave #x",
		"shutdown check", "shutdown now", "source", "version", `"unterminated`, "\\", "status \x00\r\n",
	} {
		f.Add(s)
	}
	hist := statustest.NewHistory(
		statustest.NewBuild("linux").Number(7).Build(),
		statustest.NewBuild("windows").Number(3).Failed().Text("failed\r\n", "test").Build(),
	)
	b := offlineBot(f, Options{History: hist, Control: &statustest.Control{}, AllowForce: true, AllowShutdown: true, QueueSize: 100000})
	f.Fuzz(func(t *testing.T, text string) {
		for _, l := range run(b, "alice", "#ops", text) {
			if len(":"+b.o.Nick+"!~herald@"+strings.Repeat("h", 63)+" "+l+"\r\n") > maxLine {
				t.Fatalf("answer to %q is too long: %q", text, l)
			}
			if strings.ContainsAny(l, "\r\n\x00") {
				t.Fatalf("answer to %q holds CR, LF or NUL: %q", text, l)
			}
			if m, err := parseMessage(l); err != nil || m.Command != "PRIVMSG" && m.Command != "JOIN" && m.Command != "PART" {
				t.Fatalf("answer to %q is not a valid line: %q (%v)", text, l, err)
			}
		}
		drainSession(b)
	})
}

// drainSession drops JOIN and PART lines queued by join and leave.
func drainSession(b *Bot) {
	b.out.mu.Lock()
	b.out.session = nil
	b.out.mu.Unlock()
}
