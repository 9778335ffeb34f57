package chat

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// said is one message a transport was asked to deliver.
type said struct {
	To, Text string
	Announce bool
}

// fakeTransport is a network where rooms start with '!' (as Matrix room
// IDs do) and every message is kept.
type fakeTransport struct {
	mu   sync.Mutex
	msgs []said
	// refuse, when set, decides each Say before it is kept: an error
	// refuses it.
	refuse func(ctx context.Context, to, text string) error
	tries  []said // every Say, kept or not
}

func (f *fakeTransport) Say(ctx context.Context, to, text string, announce bool) error {
	f.mu.Lock()
	f.tries = append(f.tries, said{to, text, announce})
	refuse := f.refuse
	f.mu.Unlock()
	if refuse != nil {
		if err := refuse(ctx, to, text); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, said{to, text, announce})
	return nil
}

func (f *fakeTransport) SayItems(ctx context.Context, to string, items []string) error {
	return f.Say(ctx, to, strings.Join(items, "\n"), false)
}

func (f *fakeTransport) IsRoom(to string) bool { return strings.HasPrefix(to, "!") }

// take returns and forgets what was said.
func (f *fakeTransport) take() []said {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.msgs
	f.msgs = nil
	return out
}

func newEngine(t *testing.T, o Options) (*Engine, *fakeTransport) {
	t.Helper()
	ft := &fakeTransport{}
	if o.Now == nil {
		o.Now = func() time.Time { return statustest.Epoch.Add(3 * time.Hour) }
	}
	e, err := New(o, ft)
	require.NoError(t, err)
	return e, ft
}

func ask(e *Engine, sender, room, text string) {
	r := Request{Command: Command{Sender: sender, Account: "@" + sender + ":example.org", Room: room}, To: sender}
	if room != "" {
		r.To = room
	}
	e.Execute(context.Background(), r, text)
}

func TestEngineOnAnotherNetwork(t *testing.T) {
	hist := statustest.NewHistory(
		statustest.NewBuild("linux").Number(6).Succeeded().Build(),
		statustest.NewBuild("windows").Number(3).Step("test", status.Failure).Failed().Build(),
	)
	ctl := &statustest.Control{}
	var joined []string
	e, ft := newEngine(t, Options{
		Name: "matrix", History: hist, Control: ctl, AllowForce: true, NotifyEvents: []string{"failure"},
		Authz: func(c Command) bool { return c.Name != "force" || c.Account == "@alice:example.org" },
		Highlight: func(text string, r status.Result) string {
			return fmt.Sprintf("<%s>%s</%s>", r, text, r)
		},
		Commands: map[string]Handler{"join": {Usage: "join ROOM - join a room", Run: func(_ context.Context, r *Request) error {
			joined = append(joined, r.Args...)
			return nil
		}}},
		Version: "9.9",
	})
	e.Join("!ops")

	ask(e, "bob", "!ops", "list builders")
	ask(e, "bob", "!ops", "status all")
	ask(e, "bob", "", "version")
	ask(e, "bob", "!ops", "help join")
	ask(e, "bob", "!ops", "join !other")
	ask(e, "bob", "!ops", "force build linux")
	ask(e, "bob", "!ops", "commands")
	assert.Equal(t, []said{
		{"!ops", "Configured builders: linux windows", false},
		{"!ops", "linux: idle, last build 2h59m00s ago: build success\nwindows: idle, last build 2h59m00s ago: failed test", false},
		{"bob", "Herald 9.9 at your service", false},
		{"!ops", "Usage: join ROOM - join a room", false},
		{"!ops", "sorry, bob is not allowed to use 'force'", false},
		{"!ops", "Herald commands: commands, force, help, join, last, list, notify, source, status, stop, version, watch", false},
	}, ft.take())
	assert.Equal(t, []string{"!other"}, joined)

	// The room's default events: failures, in the transport's markup.
	ctx := context.Background()
	for _, ev := range statustest.NewBuild("linux").Number(7).Step("test", status.Failure).Failed().Events() {
		require.NoError(t, e.Report(ctx, ev))
	}
	assert.Equal(t, []said{{"!ops", "build #7 of linux is complete: Failure [<failure>failed test</failure>]", true}}, ft.take())

	// A forced build is followed in the room, addressed to its requester.
	ask(e, "alice", "!ops", "force build --branch=main linux please")
	assert.Equal(t, []said{{"!ops", "alice: build of linux queued; I'll give a shout when it starts", false}}, ft.take())
	require.Len(t, ctl.Calls(), 1)
	assert.Contains(t, ctl.Calls()[0].Args, "Who:alice Reason:please Branch:main")
	for _, ev := range statustest.NewBuild("linux").Number(8).BuildSet("bs1").Succeeded().Events() {
		require.NoError(t, e.Report(ctx, ev))
	}
	assert.Equal(t, []said{
		{"!ops", "alice: build #8 of linux forced; I'll give a shout when it finishes", true},
		{"!ops", "alice: Hey! build linux #8 is complete: Success [<success>build success</success>]", true},
	}, ft.take())

	// A person in private starts with no events; notify changes that.
	ask(e, "carol", "", "notify on started")
	e.Leave("!ops")
	assert.Equal(t, []said{{"carol", "The following events are being notified: started", false}}, ft.take())
	for _, ev := range statustest.NewBuild("linux").Number(9).Failed().Events() {
		require.NoError(t, e.Report(ctx, ev))
	}
	assert.Equal(t, []said{{"carol", "build #9 of linux started", true}}, ft.take(), "nothing for the room it left")
}

func TestEngineOptions(t *testing.T) {
	_, err := New(Options{Name: "slack", NotifyEvents: []string{"sometimes"}, Tags: []string{"a"}, Builders: []string{"b"},
		AllowForce: true, AllowShutdown: true}, &fakeTransport{})
	require.Error(t, err)
	for _, want := range []string{
		`slack: Options.NotifyEvents: unknown event "sometimes"`,
		"slack: both Options.Tags and Options.Builders are set",
		"slack: Options.AllowForce needs Options.Control",
		"slack: Options.AllowShutdown needs Options.Control",
	} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = New(Options{}, nil)
	assert.EqualError(t, err, "chat: no Transport")
}

// Given no logger, an engine added to a Hub itself (a transport written
// outside this module) logs through the Hub's, named.
func TestLogsThroughTheHub(t *testing.T) {
	e, _ := newEngine(t, Options{Name: "rocket", Authz: func(Command) bool { return false }})
	_, logs := testkit.LoggingHub(t, e, status.WithName("rocket"))
	ask(e, "mallory", "", "help")
	assert.Contains(t, logs.Lines(), testkit.LogLine{Level: "WARN", Reporter: "rocket", Msg: "rocket: command refused by Authz"})
}
