package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/slack"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newBot(t *testing.T, o slack.Options) *slack.Bot {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quiet()
	}
	if o.Now == nil {
		o.Now = func() time.Time { return statustest.Epoch.Add(time.Hour) }
	}
	b, err := slack.New(o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b
}

func failedBuild() *status.Build {
	return statustest.NewBuild("linux").Number(7).Step("compile", status.Success).Step("test", status.Failure).
		URL("https://ci.example.org/builders/linux/builds/7").Blame("Bob <bob@example.org>").
		Revision("a87b2c4d1e0f").Failed().Build()
}

func report(t *testing.T, b *slack.Bot, kind status.Kind, build *status.Build) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return b.Report(ctx, status.Event{Kind: kind, Build: build})
}

func indent(t *testing.T, raw []byte) []byte {
	var buf bytes.Buffer
	require.NoError(t, json.Indent(&buf, raw, "", "  "))
	return append(buf.Bytes(), '\n')
}

func TestAnnounceWebAPI(t *testing.T) {
	api := newAPIDouble(t)
	b := newBot(t, slack.Options{Token: testToken, Channels: []string{"C0BUILDS"}, APIURL: api.url(),
		NotifyEvents: []string{"started", "failure"}})

	require.NoError(t, report(t, b, status.BuildStarted, statustest.NewBuild("linux").Number(7).Running().Build()))
	require.NoError(t, report(t, b, status.BuildFinished, failedBuild()))
	require.NoError(t, report(t, b, status.BuildFinished, statustest.NewBuild("linux").Number(8).Succeeded().Build()))

	posts := api.taken()
	require.Len(t, posts, 2, "started and failure, not success")
	assert.Equal(t, "C0BUILDS", posts[0].Channel)
	assert.Equal(t, "build #7 of linux started", posts[0].Text)
	assert.Contains(t, posts[1].Text, "build #7 of linux is complete: Failure [failed test]")
	testkit.Golden(t, *update, "failure.blocks.json", indent(t, posts[1].Blocks))
}

func TestAnnounceWebhook(t *testing.T) {
	hook := newHookDouble(t)
	b := newBot(t, slack.Options{WebhookURL: status.Secret(hook.url()), HTTPClient: hook.srv.Client(),
		NotifyEvents: []string{"failure"}})
	require.NoError(t, report(t, b, status.BuildFinished, failedBuild()))
	require.Len(t, hook.bodies, 1)
	testkit.Golden(t, *update, "failure.webhook.json", indent(t, hook.bodies[0]))

	hook.mu.Lock()
	hook.answer = 429
	hook.mu.Unlock()
	err := report(t, b, status.BuildFinished, failedBuild())
	after, ok := status.RetryAfter(err)
	require.True(t, ok, "429 is retryable: %v", err)
	assert.Equal(t, 3*time.Second, after)

	hook.mu.Lock()
	hook.answer = 403
	hook.mu.Unlock()
	err = report(t, b, status.BuildFinished, failedBuild())
	require.Error(t, err)
	assert.False(t, status.IsRetryable(err), "a refused webhook is permanent: %v", err)
	assert.NotContains(t, err.Error(), "hooksecretXYZ")
}

func TestWebAPIErrors(t *testing.T) {
	api := newAPIDouble(t)
	b := newBot(t, slack.Options{Token: testToken, Channels: []string{"C0BUILDS"}, APIURL: api.url(), NotifyEvents: []string{"failure"}})

	api.setAnswer("ratelimited")
	err := report(t, b, status.BuildFinished, failedBuild())
	after, ok := status.RetryAfter(err)
	require.True(t, ok, "ratelimited is retryable: %v", err)
	assert.Equal(t, 7*time.Second, after)

	api.setAnswer("outage")
	err = report(t, b, status.BuildFinished, failedBuild())
	assert.True(t, status.IsRetryable(err), "503 is retryable: %v", err)

	api.setAnswer("invalid_auth")
	err = report(t, b, status.BuildFinished, failedBuild())
	require.Error(t, err)
	assert.False(t, status.IsRetryable(err), "invalid_auth is permanent: %v", err)
	assert.Contains(t, err.Error(), "invalid_auth")
	assert.NotContains(t, err.Error(), testToken)

	api.setAnswer("")
	nb := newBot(t, slack.Options{Token: testToken, Channels: []string{"CNOTIN"}, APIURL: api.url(), NotifyEvents: []string{"failure"}})
	err = report(t, nb, status.BuildFinished, failedBuild())
	require.Error(t, err)
	assert.False(t, status.IsRetryable(err))
	assert.Contains(t, err.Error(), "not_in_channel")
}

func TestSlashCommandSignature(t *testing.T) {
	api := newAPIDouble(t)
	b := newBot(t, slack.Options{Token: testToken, APIURL: api.url(), SigningSecret: testSigning})
	now := time.Now()
	serve := func(r *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		b.ServeHTTP(w, r)
		return w
	}

	w := serve(slashRequest(testSigning, now, command("U0ALICE", "C0BUILDS", "version")))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())

	for name, r := range map[string]*http.Request{
		"wrong secret": slashRequest("not-the-secret", now, command("U0ALICE", "C0BUILDS", "version")),
		"stale":        slashRequest(testSigning, now.Add(-6*time.Minute), command("U0ALICE", "C0BUILDS", "version")),
		"future":       slashRequest(testSigning, now.Add(6*time.Minute), command("U0ALICE", "C0BUILDS", "version")),
		"tampered": func() *http.Request {
			r := slashRequest(testSigning, now, command("U0ALICE", "C0BUILDS", "version"))
			r.Body = httptestBody(strings.Replace(readAll(r), "version", "shutdown", 1))
			return r
		}(),
		"unsigned": func() *http.Request {
			r := slashRequest(testSigning, now, command("U0ALICE", "C0BUILDS", "version"))
			r.Header.Del("X-Slack-Signature")
			return r
		}(),
	} {
		w := serve(r)
		assert.Equal(t, http.StatusUnauthorized, w.Code, "%s: %s", name, w.Body.String())
		assert.NotContains(t, w.Body.String(), "v0=", name)
	}

	get := httptest.NewRequest(http.MethodGet, "/slack/commands", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, serve(get).Code)

	big := command("U0ALICE", "C0BUILDS", strings.Repeat("x", 70<<10))
	assert.Equal(t, http.StatusRequestEntityTooLarge, serve(slashRequest(testSigning, now, big)).Code)

	noUser := command("", "C0BUILDS", "version")
	w = serve(slashRequest(testSigning, now, noUser))
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Contains(t, w.Body.String(), "user_id")

	off := newBot(t, slack.Options{Token: testToken, APIURL: api.url()})
	w = httptest.NewRecorder()
	off.ServeHTTP(w, slashRequest(testSigning, now, command("U0ALICE", "C0BUILDS", "version")))
	assert.Equal(t, http.StatusNotFound, w.Code)
}

// answer is a slash command's response body.
type answer struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

func ask(t *testing.T, b *slack.Bot, user, channel, text string) answer {
	t.Helper()
	w := httptest.NewRecorder()
	b.ServeHTTP(w, slashRequest(testSigning, time.Now(), command(user, channel, text)))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, "application/json", w.Header().Get("Content-Type"))
	var a answer
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &a))
	return a
}

func TestCommandsRoundTrip(t *testing.T) {
	api := newAPIDouble(t)
	hist := statustest.NewHistory(
		statustest.NewBuild("linux").Number(6).Succeeded().Build(),
		statustest.NewBuild("windows").Number(3).Step("test", status.Failure).Failed().Build(),
	)
	ctl := &statustest.Control{}
	var seen []chat.Command
	b := newBot(t, slack.Options{Token: testToken, APIURL: api.url(), SigningSecret: testSigning,
		History: hist, Control: ctl, AllowForce: true,
		Authz: func(c chat.Command) bool {
			seen = append(seen, c) // commands run one at a time in this test
			return c.Name != "force" || c.Account == "U0ALICE"
		}})

	a := ask(t, b, "U0ALICE", "C0BUILDS", "status")
	assert.Equal(t, "ephemeral", a.ResponseType)
	assert.Equal(t, "linux: idle, last build 59m00s ago: build success\nwindows: idle, last build 59m00s ago: failed test", a.Text)
	require.NotEmpty(t, seen)
	assert.Equal(t, chat.Command{Name: "status", Args: []string{}, Sender: "u0alice", Account: "U0ALICE", Room: "C0BUILDS"}, seen[len(seen)-1])

	a = ask(t, b, "U0ALICE", "C0BUILDS", "help force")
	assert.Contains(t, a.Text, "Usage: force build")

	a = ask(t, b, "U0ALICE", "C0BUILDS", "commands")
	assert.Contains(t, a.Text, "force")

	a = ask(t, b, "U0MALLORY", "C0BUILDS", "force build linux")
	assert.Contains(t, a.Text, "not allowed")
	assert.Empty(t, ctl.Calls())

	a = ask(t, b, "U0ALICE", "C0BUILDS", "force build linux <b>ship it</b>")
	assert.Contains(t, a.Text, "build of linux")
	calls := ctl.Calls()
	require.Len(t, calls, 1)
	assert.Equal(t, "ForceBuild", calls[0].Method)
	assert.Contains(t, calls[0].Args, "Slack user u0alice (U0ALICE) in C0BUILDS")
	assert.Contains(t, calls[0].Args, "<b>ship it</b>")

	a = ask(t, b, "U0ALICE", "C0BUILDS", "frobnicate")
	assert.Contains(t, a.Text, "unknown command")
	assert.Empty(t, api.taken(), "answers go in the response, not through chat.postMessage")

	// A forced build is followed: when it starts and ends, the channel
	// where it was asked hears it through the Web API.
	req := statustest.NewBuild("linux").Number(7).BuildSet("bs1").Running().Build()
	require.NoError(t, report(t, b, status.BuildStarted, req))
	posts := api.taken()
	require.Len(t, posts, 1)
	assert.Equal(t, "C0BUILDS", posts[0].Channel)
	assert.Contains(t, posts[0].Text, "u0alice: build #7 of linux forced")
}

func TestInChannelAnswersAreEscaped(t *testing.T) {
	api := newAPIDouble(t)
	hist := statustest.NewHistory(statustest.NewBuild("<!channel>").Number(1).Succeeded().Build())
	b := newBot(t, slack.Options{Token: testToken, APIURL: api.url(), SigningSecret: testSigning, InChannel: true, History: hist})
	a := ask(t, b, "U0ALICE", "C0BUILDS", "list builders")
	assert.Equal(t, "in_channel", a.ResponseType)
	assert.Contains(t, a.Text, "&lt;!channel&gt;")
	assert.NotContains(t, a.Text, "<!channel>")
}

func TestOptionsAllAtOnce(t *testing.T) {
	_, err := slack.New(slack.Options{
		Token: testToken, WebhookURL: "ftp://nope", Channels: []string{"#builds"}, APIURL: "::",
		NotifyEvents: []string{"brokenToFixed"}, AllowForce: true, Tags: []string{"a"}, Builders: []string{"b"},
	})
	require.Error(t, err)
	for _, want := range []string{
		"slack: both Options.Token and Options.WebhookURL are set",
		"slack: Options.WebhookURL is not an http(s) URL",
		"slack: Options.Channels needs Options.Token",
		`slack: Options.Channels: "#builds" is not a channel ID`,
		`slack: Options.APIURL "::" is not an http(s) URL`,
		`slack: Options.NotifyEvents: unknown event "brokenToFixed"`,
		"slack: Options.AllowForce needs Options.Control",
		"slack: both Options.Tags and Options.Builders are set",
	} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = slack.New(slack.Options{})
	assert.ErrorContains(t, err, "neither Options.Token nor Options.WebhookURL is set")
}

func TestSecretsStayHidden(t *testing.T) {
	secrets := []string{testToken, "hooksecretXYZ", testSigning}
	api := newAPIDouble(t)
	o := slack.Options{Token: testToken, Channels: []string{"C0BUILDS"}, APIURL: api.url(), SigningSecret: testSigning,
		NotifyEvents: []string{"failure"}}
	b := newBot(t, o)
	hookOpts := slack.Options{WebhookURL: status.Secret("https://hooks.slack.com" + testHook), SigningSecret: testSigning}
	hb := newBot(t, hookOpts)
	_, newErr := slack.New(slack.Options{Token: testToken, WebhookURL: "https://hooks.slack.com" + testHook + " bad", SigningSecret: testSigning})
	require.Error(t, newErr)

	// A server that echoes the request's headers and body in its error.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := readAll(r)
		w.WriteHeader(200)
		fmt.Fprintf(w, `{"ok":false,"error":"bad %s %s %s"}`, r.Header.Get("Authorization"), body, r.URL)
	}))
	defer echo.Close()
	eb := newBot(t, slack.Options{Token: testToken, Channels: []string{"C0BUILDS"}, APIURL: echo.URL, NotifyEvents: []string{"failure"}})
	postErr := report(t, eb, status.BuildFinished, failedBuild())
	require.Error(t, postErr)
	unreachable := newBot(t, slack.Options{WebhookURL: "http://127.0.0.1:1" + testHook, NotifyEvents: []string{"failure"}})
	netErr := report(t, unreachable, status.BuildFinished, failedBuild())
	require.Error(t, netErr)

	js, _ := json.Marshal(o)
	for _, s := range []string{b.String(), fmt.Sprint(b), hb.String(), fmt.Sprintf("%+v %#v %v", o, hookOpts, hookOpts), string(js),
		newErr.Error(), postErr.Error(), netErr.Error()} {
		for _, secret := range secrets {
			assert.NotContains(t, s, secret)
		}
	}
}

func TestConformance(t *testing.T) {
	api := newAPIDouble(t)
	statustest.Conformance(t, func() status.Reporter {
		b, err := slack.New(slack.Options{Token: testToken, Channels: []string{"C0BUILDS"}, APIURL: api.url(),
			NotifyEvents: []string{"started", "finished", "failure", "successToFailure"}, History: statustest.NewHistory(),
			SigningSecret: testSigning, Logger: quiet()})
		require.NoError(t, err)
		return b
	})
}

func TestHTTPConformance(t *testing.T) {
	statustest.HTTPConformance(t, statustest.HTTPTarget{
		New: func(baseURL string, log *slog.Logger) status.Reporter {
			b, err := slack.New(slack.Options{Token: testToken, Channels: []string{"C0BUILDS"}, APIURL: baseURL + "/api/",
				NotifyEvents: []string{"started", "finished"}, SigningSecret: testSigning, Logger: log})
			require.NoError(t, err)
			return b
		},
		Secrets: []string{testToken, testSigning},
	})
}

func TestHTTPConformanceWebhook(t *testing.T) {
	statustest.HTTPConformance(t, statustest.HTTPTarget{
		New: func(baseURL string, log *slog.Logger) status.Reporter {
			b, err := slack.New(slack.Options{WebhookURL: status.Secret(baseURL + testHook),
				NotifyEvents: []string{"started", "finished"}, Logger: log})
			require.NoError(t, err)
			return b
		},
		Secrets: []string{baseHookSecret},
	})
}

const baseHookSecret = "hooksecretXYZ"

func TestWebhookSlashCommandsAndClose(t *testing.T) {
	hook := newHookDouble(t)
	hist := statustest.NewHistory(statustest.NewBuild("linux").Number(6).Succeeded().Build())
	b, err := slack.New(slack.Options{WebhookURL: status.Secret(hook.url()), HTTPClient: hook.srv.Client(),
		SigningSecret: testSigning, History: hist, NotifyEvents: []string{"failure"}, Logger: quiet()})
	require.NoError(t, err)

	a := ask(t, b, "U0ALICE", "C0ANY", "notify list")
	assert.Equal(t, "The following events are being notified: failure", a.Text, "the webhook's channel is the one room")
	a = ask(t, b, "U0ALICE", "C0ANY", "last linux")
	assert.Contains(t, a.Text, "last build [linux]:")
	assert.Contains(t, a.Text, "build success")
	assert.Empty(t, hook.bodies, "answers go in the response")

	require.NoError(t, b.Close(context.Background()))
	w := httptest.NewRecorder()
	b.ServeHTTP(w, slashRequest(testSigning, time.Now(), command("U0ALICE", "C0ANY", "version")))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	require.NoError(t, b.Close(context.Background()), "Close is idempotent")
}

// Given no logger, the bot logs through the Hub's, named.
func TestLogsThroughTheHub(t *testing.T) {
	api := newAPIDouble(t)
	b, err := slack.New(slack.Options{Token: testToken, APIURL: api.url(), SigningSecret: testSigning})
	require.NoError(t, err)
	_, logs := testkit.LoggingHub(t, b)
	w := httptest.NewRecorder()
	b.ServeHTTP(w, slashRequest("not-the-secret", time.Now(), command("U0ALICE", "C0BUILDS", "version")))
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Contains(t, logs.Lines(), testkit.LogLine{Level: "WARN", Reporter: "slack", Msg: "slack: refused a slash command"})
}
