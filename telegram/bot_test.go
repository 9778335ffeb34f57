package telegram

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/telegram/telegramtest"
)

// testToken is the token the double accepts.
const testToken = "123456:AAH-secret_token"

// next waits for the next message the double accepted (a liveness bound,
// not a timing).
func next(t *testing.T, d *telegramtest.Server) telegramtest.Sent {
	t.Helper()
	select {
	case s := <-d.Sent():
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no sendMessage within 10 s")
		return telegramtest.Sent{}
	}
}

// msg is a message said to the bot.
func msg(chatID int64, chatType string, fromID int64, username, text string) telegramtest.Message {
	return telegramtest.Message{ChatID: chatID, ChatType: chatType, ChatTitle: "ops", FromID: fromID, Username: username, FirstName: "F" + username, Text: text}
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// newBot starts a bot against d, closed when the test ends.
func newBot(t *testing.T, d *telegramtest.Server, o Options) *Bot {
	t.Helper()
	o.Token, o.APIURL = testToken, d.URL()
	if o.Now == nil {
		o.Now = func() time.Time { return statustest.Epoch.Add(3 * time.Hour) }
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Version == "" {
		o.Version = "1.0"
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

func TestCommands(t *testing.T) {
	d := telegramtest.NewServer(t, telegramtest.Options{Token: testToken})
	hist := statustest.NewHistory(
		statustest.NewBuild("linux").Number(6).Succeeded().Build(),
		statustest.NewBuild("windows").Number(3).Step("test <unit>", status.Failure).Failed().Build(),
	)
	ctl := &statustest.Control{}
	newBot(t, d, Options{History: hist, Control: ctl, AllowForce: true,
		Authz: func(c chat.Command) bool { return c.Name != "force" || c.Account == "42" }})

	const group, alice, mallory = -1001, 42, 66
	var got strings.Builder
	for _, batch := range [][]telegramtest.Message{
		{msg(alice, "private", alice, "alice", "/start")},
		{msg(group, "supergroup", alice, "alice", "/status@herald_bot all")},
		// Ignored: chatter in a group, another bot's command, a name that
		// only starts like the bot's.
		{msg(group, "group", alice, "alice", "hello all"), msg(group, "group", alice, "alice", "/status@other_bot"),
			msg(group, "group", alice, "alice", "@herald_botty status"), msg(group, "group", alice, "alice", "@herald_bot list builders")},
		{msg(alice, "private", alice, "alice", "last windows")},
		{msg(group, "group", mallory, "alice", "/force linux")}, // the username is alice's; the ID is not
		{msg(group, "group", alice, "alice", "/force linux please")},
		{msg(alice, "private", alice, "alice", "/help force")},
		{msg(alice, "private", alice, "", "/nonsense")},
	} {
		d.Queue(batch...)
		got.WriteString(next(t, d).String())
	}
	testkit.Golden(t, *update, "commands.golden", []byte(got.String()))
	require.Len(t, ctl.Calls(), 1)
	assert.Contains(t, ctl.Calls()[0].Args, `Who:Telegram user @alice (42) in "ops" Reason:please`)

	// The double drops updates below the offset of a getUpdates, then
	// waits for more: every update gets confirmed.
	for confirmed := false; !confirmed; {
		select {
		case <-d.Polling():
		case <-time.After(10 * time.Second):
			t.Fatal("the bot stopped polling")
		}
		confirmed = d.Pending() == 0
	}
	offsets := d.Offsets()
	assert.Equal(t, d.LastID()+1, offsets[len(offsets)-1], "the offset after the last update")
}

func TestAnnouncements(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(fmt.Sprintf("PlainText=%v", plain), func(t *testing.T) {
			d := telegramtest.NewServer(t, telegramtest.Options{Token: testToken})
			b := newBot(t, d, Options{Chats: []string{"-1001", "@herald_builds"}, NotifyEvents: []string{"started", "failure"},
				PlainText: plain, NoCommands: true})
			ctx := context.Background()
			for _, ev := range statustest.NewBuild("linux<&>").Number(7).Step("test <unit>", status.Failure).
				Change(statustest.NewChange(1, "Bob <bob@example.org>")).Failed().Events() {
				require.NoError(t, b.Report(ctx, ev))
			}
			var got strings.Builder
			for range 4 {
				got.WriteString(next(t, d).String())
			}
			testkit.Golden(t, *update, fmt.Sprintf("announce-plain-%v.golden", plain), []byte(got.String()))
		})
	}
}

func TestLongMessagesAreSplit(t *testing.T) {
	d := telegramtest.NewServer(t, telegramtest.Options{Token: testToken})
	b := newBot(t, d, Options{NoCommands: true})
	var long strings.Builder
	for i := range 300 {
		fmt.Fprintf(&long, "builder-%03d 🚀 <ok> & fine %s\n", i, highlight("failed", status.Failure))
	}
	long.WriteString(strings.Repeat("x", 5000)) // no place to cut
	require.NoError(t, b.say(context.Background(), "-1001", long.String()))
	var texts []string
	for len(d.Sent()) > 0 {
		texts = append(texts, next(t, d).Text) // the double refused any over 4096
	}
	require.Greater(t, len(texts), 3)
	var joined strings.Builder
	for _, tx := range texts {
		assert.True(t, strings.Count(tx, "<b>") == strings.Count(tx, "</b>"))
		joined.WriteString(tx)
	}
	assert.Equal(t, 300, strings.Count(joined.String(), "<b>failed</b>"), "no bold span cut")
	assert.Equal(t, 300, strings.Count(joined.String(), "&lt;ok&gt; &amp; fine"))
	assert.Equal(t, 5000, strings.Count(joined.String(), "x"))
}

func TestSplit(t *testing.T) {
	text := strings.Repeat("😀", 3000) + "\n" + string(boldOn) + strings.Repeat("a ", 3000) + string(boldOff)
	chunks := split(text, 4096)
	require.Equal(t, 4, len(chunks), "2048 + 952 emoji (cut at the line break), then 6000 units of a bold span")
	for _, c := range chunks {
		assert.LessOrEqual(t, len(utf16.Encode([]rune(stripMarks(c)))), 4096)
		assert.True(t, balanced(c), "chunk %q", c)
	}
	assert.Equal(t, strings.Repeat("😀", 2048), chunks[0], "surrogate pairs count twice")
	assert.Empty(t, split(" \n"+string(boldOn)+string(boldOff), 10))
}

func TestErrors(t *testing.T) {
	d := telegramtest.NewServer(t, telegramtest.Options{Token: testToken})
	b := newBot(t, d, Options{NoCommands: true})
	ctx := context.Background()

	d.RateLimit(1)
	err := b.say(ctx, "-1001", "hello")
	after, retry := status.RetryAfter(err)
	assert.True(t, retry, "%v", err)
	assert.Equal(t, 3*time.Second, after, "parameters.retry_after")
	assert.ErrorContains(t, err, "Too Many Requests: retry after 3")

	err = b.say(ctx, "-1001", "<b>"+string(boldOn))
	require.NoError(t, err, "build data that looks like markup is escaped")
	assert.Equal(t, "&lt;b&gt;", next(t, d).Text)

	b.o.Token = "123456:wrong"
	err = b.say(ctx, "-1001", "hello")
	require.Error(t, err)
	assert.False(t, status.IsRetryable(err))
	var re *status.ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 401, re.Code)

	for _, c := range []struct {
		code      int
		retryable bool
	}{{500, true}, {502, true}, {400, false}, {403, false}} {
		b := &Bot{o: Options{Token: testToken}}
		err := b.classify(&http.Response{StatusCode: c.code, Header: http.Header{}}, nil, &apiResponse{ErrorCode: c.code, Description: "Forbidden: bot was blocked by the user " + testToken})
		assert.Equal(t, c.retryable, status.IsRetryable(err), "%d: %v", c.code, err)
		assert.NotContains(t, err.Error(), testToken)
	}
}

// TestTokenNeverShown: the token is in every request's path; it stays out
// of net/http's *url.Error, of errors echoing it, of logs and of printing.
func TestTokenNeverShown(t *testing.T) {
	logs := &testkit.Buffer{}
	o := Options{Token: testToken, APIURL: "http://127.0.0.1:1", Chats: []string{"-1001"}, NotifyEvents: []string{"started"},
		Logger: slog.New(slog.NewTextHandler(logs, nil))}
	b, err := New(o)
	require.NoError(t, err)
	ev := statustest.NewBuild("linux").Events()[0]
	rerr := b.Report(context.Background(), ev)
	require.Error(t, rerr, "nothing listens on port 1")
	assert.True(t, status.IsRetryable(rerr), "a refused connection is retried: %v", rerr)
	var ue *url.Error
	require.ErrorAs(t, rerr, &ue)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "getMe failed") }, 10*time.Second, 10*time.Millisecond,
		"the poll logs its failures")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, b.Close(ctx))

	_, nerr := New(Options{Token: testToken, APIURL: "ftp://x", Chats: []string{"nope"}})
	require.Error(t, nerr)
	for where, s := range map[string]string{
		"Report error": rerr.Error(), "New error": nerr.Error(), "logs": logs.String(),
		"%v": fmt.Sprintf("%v %+v %#v", b, b, b), "%+v": fmt.Sprintf("%+v", o), "%#v": fmt.Sprintf("%#v", o),
	} {
		assert.NotContains(t, s, "AAH-secret_token", where)
	}
	assert.Contains(t, rerr.Error(), "/bot<token>/sendMessage")
}

func TestCloseEndsTheLongPoll(t *testing.T) {
	d := telegramtest.NewServer(t, telegramtest.Options{Token: testToken})
	b, err := New(Options{Token: testToken, APIURL: d.URL(), Logger: slog.New(slog.DiscardHandler)}) // polls 30 s
	require.NoError(t, err)
	<-d.Polling()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, b.Close(ctx))
	require.NoError(t, b.Close(ctx), "idempotent")
}

func TestOptions(t *testing.T) {
	_, err := New(Options{APIURL: "telegram.org", Chats: []string{"ops", "@ab"}, PollTimeout: -1,
		NotifyEvents: []string{"sometimes"}, AllowForce: true})
	require.Error(t, err)
	for _, want := range []string{
		"telegram: Options.Token is empty",
		`telegram: Options.APIURL "telegram.org" is not an http(s) URL`,
		`telegram: Options.Chats: "ops" is not a chat ID`,
		`telegram: Options.Chats: "@ab" is not a chat ID`,
		"telegram: Options.PollTimeout -1ns is not a long poll",
		`telegram: Options.NotifyEvents: unknown event "sometimes"`,
		"telegram: Options.AllowForce needs Options.Control",
	} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = New(Options{Token: "not a token"})
	assert.EqualError(t, err, "telegram: Options.Token is not a bot token: it looks like 123456:ABC-DEF... (digits, a colon, letters)")
}

func TestErrorsWrapContext(t *testing.T) {
	d := telegramtest.NewServer(t, telegramtest.Options{Token: testToken})
	b := newBot(t, d, Options{NoCommands: true, Chats: []string{"-1001"}, NotifyEvents: []string{"started"}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := b.say(ctx, "-1001", "hello")
	assert.True(t, errors.Is(err, context.Canceled))
	assert.False(t, status.IsRetryable(err))
}

// Given no logger, the bot logs through the Hub's once added, named; its
// poll logs from its own goroutine.
func TestLogsThroughTheHub(t *testing.T) {
	url, release := testkit.FailingServer(t)
	b, err := New(Options{Token: "123456:ABC-DEF", APIURL: url})
	require.NoError(t, err)
	_, logs := testkit.LoggingHub(t, b)
	release()
	logs.WaitFor(t, testkit.LogLine{Level: "WARN", Reporter: "telegram", Msg: "telegram: getMe failed"})
}
