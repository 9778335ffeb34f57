package matrix

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const (
	ops     = "!ops:example.org"
	release = "!release:example.org"
	botID   = "@herald:example.org"
)

// newBot starts a bot against h; o's Homeserver, UserID and token are
// filled in. It is closed when the test ends.
func newBot(t testing.TB, h *homeserver, o Options) *Bot {
	t.Helper()
	o.Homeserver, o.UserID, o.AccessToken = h.srv.URL, botID, status.Secret(h.token)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = func() time.Time { return statustest.Epoch.Add(3 * time.Hour) }
	}
	if o.Version == "" {
		o.Version = "9.9"
	}
	b, err := New(o)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, b.Close(ctx))
	})
	return b
}

func report(t testing.TB, b *Bot, events []status.Event) {
	t.Helper()
	for _, e := range events {
		require.NoError(t, b.Report(context.Background(), e))
	}
}

func golden(t *testing.T, name string, msgs []sentMessage) {
	t.Helper()
	var out strings.Builder
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // the golden file shows the HTML as sent
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(msgs))
	testkit.Golden(t, *update, name, []byte(out.String()))
}

func TestOptionsErrors(t *testing.T) {
	_, err := New(Options{Homeserver: "ftp://x", UserID: "herald", Rooms: []string{"#builds:example.org"},
		NotifyEvents: []string{"sometimes"}, AllowForce: true, PollTimeout: -1})
	require.Error(t, err)
	for _, want := range []string{
		`matrix: Options.Homeserver "ftp://x" is not an http(s) URL`,
		`matrix: Options.UserID "herald" is not a Matrix user ID: use @localpart:server`,
		"matrix: Options.AccessToken is empty",
		`matrix: Options.Rooms: "#builds:example.org" is not a room ID`,
		"matrix: Options.PollTimeout and FailedDelay must not be negative",
		`matrix: Options.NotifyEvents: unknown event "sometimes"`,
		"matrix: Options.AllowForce needs Options.Control",
	} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = New(Options{})
	assert.Contains(t, err.Error(), "Options.Homeserver is empty")
}

// Announcements as the homeserver gets them: a failure in red in the
// rooms that want failures, HTML escaped.
func TestAnnounceGolden(t *testing.T) {
	h := newHomeserver(t, ops, release)
	b := newBot(t, h, Options{Rooms: []string{ops, release}, NotifyEvents: []string{"started", "failure"}, NoCommands: true})
	report(t, b, statustest.NewBuild("linux<&>").Number(7).Blame("bob").Step("test <unit>", status.Failure).Failed().Events())
	report(t, b, statustest.NewBuild("linux<&>").Number(8).Succeeded().Events())
	msgs := h.waitSent(6)
	require.Len(t, msgs, 6, "started twice, failed twice, started twice; no success")
	golden(t, "announce.golden", msgs)
	assert.Equal(t, `build #7 of linux&lt;&amp;&gt; is complete: Failure [<font color="#c62828">failed test &lt;unit&gt;</font>]  blamelist: bob`,
		msgs[2].Content["formatted_body"], "everything escaped, the result coloured")
}

// A command round trip: what people say in a room, through /sync, to the
// engine and back as answers.
func TestCommands(t *testing.T) {
	h := newHomeserver(t, ops)
	hist := statustest.NewHistory(
		statustest.NewBuild("linux").Number(6).Succeeded().Build(),
		statustest.NewBuild("windows").Number(3).Step("test", status.Failure).Failed().Build(),
	)
	ctl := &statustest.Control{}
	var asked atomic.Value
	b := newBot(t, h, Options{Rooms: []string{ops}, History: hist, Control: ctl, AllowForce: true,
		PollTimeout: 5 * time.Second, NotifyEvents: []string{"failure"},
		Authz: func(c chat.Command) bool {
			asked.Store(c)
			return c.Name != "force" || c.Account == "@alice:example.org"
		}})

	h.say(ops, said("@bob:example.org", "herald: status"))
	h.say(ops, said("@bob:example.org", "just chatting about herald"))
	h.say(ops, said(botID, "!status")) // its own
	h.say(ops, map[string]any{"type": "m.room.message", "sender": "@otherbot:example.org", "event_id": "$n1",
		"content": map[string]any{"msgtype": "m.notice", "body": "!help"}})
	h.say(ops, said("@bob:example.org", "!help force"))
	h.say(ops, said("@bob:example.org", "Herald, force build linux"))
	h.say(ops, said("@alice:example.org", "@herald:example.org: force build --branch=main linux please"))
	msgs := h.waitSent(4)
	golden(t, "commands.golden", msgs)
	require.Len(t, ctl.Calls(), 1, "only alice may force")
	assert.Contains(t, ctl.Calls()[0].Args, "Who:Matrix user @alice:example.org in room !ops:example.org Reason:please Branch:main")
	assert.Equal(t, chat.Command{Name: "force", Args: []string{"build", "--branch=main", "linux", "please"},
		Sender: "@alice:example.org", Account: "@alice:example.org", Room: ops}, asked.Load())

	// The forced build is followed in the room.
	report(t, b, statustest.NewBuild("linux").Number(8).BuildSet("bs1").Succeeded().Events())
	msgs = h.waitSent(6)
	assert.Equal(t, "@alice:example.org: build #8 of linux forced; I'll give a shout when it finishes", msgs[4].Content["body"])
	assert.Equal(t, "@alice:example.org: Hey! build linux #8 is complete: Success [build success]", msgs[5].Content["body"])
	h.set(func(h *homeserver) { assert.GreaterOrEqual(t, h.syncs, 2) })
}

// A rate limit is Retryable with the homeserver's wait; reporting the
// event again sends what is missing, and what was sent is not duplicated.
func TestRateLimit(t *testing.T) {
	h := newHomeserver(t, ops, release)
	b := newBot(t, h, Options{Rooms: []string{ops, release}, NotifyEvents: []string{"failure"}, NoCommands: true})
	ev := statustest.NewBuild("linux").Number(7).Failed().Events()
	last := ev[len(ev)-1]
	last.ID = "hub-42"
	report(t, b, ev[:len(ev)-1])

	// The first room's message goes out, the second is refused.
	h.set(func(h *homeserver) { h.pass, h.limited = 1, 1 })
	err := b.Report(context.Background(), last)
	require.Error(t, err)
	after, retry := status.RetryAfter(err)
	assert.True(t, retry, "429 is retryable: %v", err)
	assert.Equal(t, 1500*time.Millisecond, after, "retry_after_ms")
	assert.Contains(t, err.Error(), "M_LIMIT_EXCEEDED: Too Many Requests")

	require.NoError(t, b.Report(context.Background(), last), "the Hub's retry")
	msgs := h.waitSent(2)
	require.Len(t, msgs, 2, "one message per room, none twice")
	assert.Equal(t, []string{ops, release}, []string{msgs[0].Room, msgs[1].Room})

	// The same event once more (a retry after a lost answer): same
	// transaction IDs, nothing new.
	require.NoError(t, b.Report(context.Background(), last))
	h.set(func(h *homeserver) { assert.Len(t, h.sent, 2) })
}

// Cancelling Report's context ends a send the homeserver does not answer;
// the Hub's retry (same event ID) sends it, under the same transaction ID.
func TestReportContextAbortsSend(t *testing.T) {
	h := newHomeserver(t, ops)
	b := newBot(t, h, Options{Rooms: []string{ops}, NotifyEvents: []string{"started"}, NoCommands: true})
	stalled := make(chan struct{}, 1)
	h.set(func(h *homeserver) { h.stalled = stalled })
	ev := statustest.NewBuild("linux").Number(3).Events()[0]
	ev.ID = "hub-3"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Report(ctx, ev) }()
	<-stalled
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, status.IsRetryable(err), "the caller cancelled: %v", err)

	h.set(func(h *homeserver) { h.stalled = nil })
	require.NoError(t, b.Report(context.Background(), ev))
	msgs := h.waitSent(1)
	require.Len(t, msgs, 1)
	assert.Equal(t, "build #3 of linux started", msgs[0].Content["body"])
}

// An answer the homeserver rate-limits is sent again after its wait, under
// the same transaction ID.
func TestAnswerRateLimited(t *testing.T) {
	h := newHomeserver(t, ops)
	newBot(t, h, Options{Rooms: []string{ops}, PollTimeout: 5 * time.Second})
	h.set(func(h *homeserver) { h.limited, h.retryMS = 1, 20 })
	h.say(ops, said("@bob:example.org", "!version"))
	msgs := h.waitSent(1)
	assert.Equal(t, "Herald 9.9 at your service", msgs[0].Content["body"])
	h.set(func(h *homeserver) {
		assert.Equal(t, 0, h.limited)
		assert.Equal(t, []string{msgs[0].Txn, msgs[0].Txn}, h.txnsTried, "the same transaction twice")
	})
}

// A /sync refused for a while is tried again; the commands said meanwhile
// are answered once it works.
func TestSyncRecovers(t *testing.T) {
	h := newHomeserver(t, ops)
	h.set(func(h *homeserver) { h.syncFail = 3 })
	newBot(t, h, Options{Rooms: []string{ops}, PollTimeout: 5 * time.Second, FailedDelay: time.Millisecond})
	h.say(ops, said("@bob:example.org", "herald: version"))
	msgs := h.waitSent(1)
	assert.Equal(t, "Herald 9.9 at your service", msgs[0].Content["body"])
	h.set(func(h *homeserver) {
		assert.Equal(t, 0, h.syncFail)
		assert.GreaterOrEqual(t, h.syncs, 5, "the first, three refused, the one with the command")
	})
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		code      int
		retryable bool
	}{{500, true}, {502, true}, {401, false}, {403, false}} {
		t.Run(fmt.Sprint(c.code), func(t *testing.T) {
			h := newHomeserver(t, ops)
			b := newBot(t, h, Options{Rooms: []string{ops}, NotifyEvents: []string{"started"}, NoCommands: true})
			h.set(func(h *homeserver) { h.fail = c.code })
			err := b.Report(context.Background(), statustest.NewBuild("linux").Running().Events()[0])
			require.Error(t, err)
			assert.Equal(t, c.retryable, status.IsRetryable(err), "%v", err)
			assert.Contains(t, err.Error(), "matrix: sending to !ops:example.org: HTTP")
		})
	}
	t.Run("WrongToken", func(t *testing.T) {
		h := newHomeserver(t, ops)
		b, err := New(Options{Homeserver: h.srv.URL, UserID: botID, AccessToken: "syt_wrong_token_value", Rooms: []string{ops},
			NotifyEvents: []string{"started"}, NoCommands: true})
		require.NoError(t, err)
		defer b.Close(context.Background())
		err = b.Report(context.Background(), statustest.NewBuild("linux").Running().Events()[0])
		require.Error(t, err)
		assert.False(t, status.IsRetryable(err))
		assert.Contains(t, err.Error(), "M_UNKNOWN_TOKEN")
	})
}

func TestConformance(t *testing.T) {
	h := newHomeserver(t, ops)
	statustest.Conformance(t, func() status.Reporter {
		b, err := New(Options{Homeserver: h.srv.URL, UserID: botID, AccessToken: status.Secret(h.token), Rooms: []string{ops},
			NotifyEvents: []string{"started", "finished", "failure", "successToFailure"}, History: statustest.NewHistory(),
			PollTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		return b
	})
}

func TestHTTPConformance(t *testing.T) {
	const token = "syt_conformance_token_1234"
	statustest.HTTPConformance(t, statustest.HTTPTarget{
		New: func(baseURL string, log *slog.Logger) status.Reporter {
			b, err := New(Options{Homeserver: baseURL, UserID: botID, AccessToken: token, Rooms: []string{ops},
				NotifyEvents: []string{"started", "finished"}, NoCommands: true, Logger: log})
			require.NoError(t, err)
			return b
		},
		Secrets: []string{token},
	})
}

// TestSecretsStayHidden: the token is not in the bot printed, its options
// printed, New's errors, logs, or errors when the homeserver echoes the
// request's headers.
func TestSecretsStayHidden(t *testing.T) {
	h := newHomeserver(t, ops)
	h.set(func(h *homeserver) { h.echo, h.fail = true, 500 })
	logs := &testkit.Buffer{}
	o := Options{Homeserver: h.srv.URL, UserID: botID, AccessToken: status.Secret(h.token), Rooms: []string{ops},
		NotifyEvents: []string{"started"}, PollTimeout: time.Second, FailedDelay: time.Hour,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	b, err := New(o)
	require.NoError(t, err)
	defer b.Close(context.Background())
	reportErr := b.Report(context.Background(), statustest.NewBuild("linux").Running().Events()[0])
	require.Error(t, reportErr)
	bad := o
	bad.UserID, bad.AccessToken = "nobody", "syt_bad token with spaces"
	_, newErr := New(bad)
	require.Error(t, newErr)
	js, _ := json.Marshal(b)
	for _, s := range []string{b.String(), fmt.Sprint(b), fmt.Sprintf("%+v %#v", b, b), fmt.Sprintf("%v %+v %#v", o, o, o),
		string(js), reportErr.Error(), newErr.Error(), logs.String()} {
		assert.NotContains(t, s, h.token)
		assert.NotContains(t, s, "syt_bad token")
	}
}

func TestAddressed(t *testing.T) {
	for body, want := range map[string]string{
		"!status":                        "status",
		"  herald: last linux ":          "last linux",
		"HERALD, help":                   "help",
		"@herald:example.org: version":   "version",
		"! status":                       "",
		"!!":                             "",
		"herald:":                        "",
		"heraldic: status":               "",
		"hello herald: status":           "",
		"@herald:example.org status":     "",
		strings.Repeat("!x", maxCommand): "",
	} {
		got, ok := addressed(body, botID)
		assert.Equal(t, want != "", ok, body)
		assert.Equal(t, want, got, body)
	}
}

func TestRenderAndSplit(t *testing.T) {
	c := render("a <b>\n" + highlight("x&y\uE000\uE001", status.Failure) + "\uE000")
	assert.Equal(t, content{MsgType: "m.notice", Body: "a <b>\nx&y", Format: "org.matrix.custom.html",
		FormattedBody: `a &lt;b&gt;<br><font color="#c62828">x&amp;y</font>`}, c)
	assert.Equal(t, content{MsgType: "m.notice", Body: "plain"}, render("plain"))

	long := strings.Repeat(strings.Repeat("é", 100)+"\n", 300)
	pieces := split(long)
	require.Greater(t, len(pieces), 1)
	assert.True(t, strings.TrimSuffix(long, "\n") == strings.Join(pieces, "\n"), "split at line breaks only")
	for _, p := range pieces {
		assert.LessOrEqual(t, len(p), maxBody)
	}
	oneLine := strings.Repeat("é", maxBody)
	assert.True(t, oneLine == strings.Join(split(oneLine), ""), "cut between characters")
}

func FuzzParseSync(f *testing.F) {
	f.Add([]byte(`{"next_batch":"s1","rooms":{"join":{"!ops:example.org":{"timeline":{"events":[{"type":"m.room.message","sender":"@bob:example.org","event_id":"$1","content":{"msgtype":"m.text","body":"herald: status"}}]}}}}}`))
	f.Add([]byte(`{"next_batch":"s2","rooms":{"join":{"!a:b":{"timeline":{"events":[{"type":"m.room.message","sender":"@x:y","event_id":"$2","content":{"msgtype":"m.text","body":"!force build linux","m.relates_to":{"rel_type":"m.replace"}}}]}}}}}`))
	f.Add([]byte(`{"next_batch":""}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		next, cmds, err := parseSync(body, botID)
		if err != nil {
			require.Empty(t, cmds)
			return
		}
		require.NotEmpty(t, next)
		for _, c := range cmds {
			require.True(t, validID(c.room, '!') && validID(c.sender, '@'), "%+v", c)
			require.NotEqual(t, botID, c.sender)
			require.NotEmpty(t, c.text)
			require.LessOrEqual(t, len(c.text), maxCommand)
			render(c.text) // never panics
		}
	})
}

// Given no logger, the bot logs through the Hub's once added, named; its
// sync loop logs from its own goroutine.
func TestLogsThroughTheHub(t *testing.T) {
	url, release := testkit.FailingServer(t)
	b, err := New(Options{Homeserver: url, UserID: botID, AccessToken: "token", FailedDelay: 10 * time.Millisecond})
	require.NoError(t, err)
	_, logs := testkit.LoggingHub(t, b)
	release()
	logs.WaitFor(t, testkit.LogLine{Level: "WARN", Reporter: "matrix", Msg: "matrix: sync failed"})
}
