package slack_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testToken   = "xoxb-1111-2222-sekrit"
	testSigning = "8f742231b10e8888abcd99yyyzzz85a5"
	testHook    = "/services/T000/B000/hooksecretXYZ"
)

// apiPost is one chat.postMessage the double accepted.
type apiPost struct {
	Channel, Text string
	Blocks        json.RawMessage
}

// apiDouble is Slack's Web API at the wire, as far as chat.postMessage
// goes: it checks what Slack checks and answers in Slack's shapes.
type apiDouble struct {
	srv *httptest.Server

	mu      sync.Mutex
	posts   []apiPost
	count   int            // posts accepted, taken or not
	changed chan struct{}  // closed and replaced at each post
	answer  string         // "" (ok), "ratelimited", "invalid_auth", "outage"
	limited map[string]int // channel → the next posts there answered 429, Retry-After 1
	stalled chan struct{}  // when set, a post is signalled here and not answered until the client gives up
}

// limit answers the next n posts to channel with 429 ratelimited.
func (d *apiDouble) limit(channel string, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.limited[channel] = n
}

// stall makes posts wait unanswered, each signalled on the channel
// returned, until the client gives up.
func (d *apiDouble) stall() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stalled = make(chan struct{}, 1)
	return d.stalled
}

// Wait returns once n posts were accepted in all, or ctx ends.
func (d *apiDouble) Wait(ctx context.Context, n int) ([]apiPost, error) {
	for {
		d.mu.Lock()
		if d.count >= n {
			out := d.posts
			d.mu.Unlock()
			return out, nil
		}
		ch := d.changed
		d.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func newAPIDouble(t testing.TB) *apiDouble {
	d := &apiDouble{changed: make(chan struct{}), limited: map[string]int{}}
	d.srv = httptest.NewServer(http.HandlerFunc(d.serve))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *apiDouble) url() string { return d.srv.URL + "/api/" }

func (d *apiDouble) setAnswer(a string) { d.mu.Lock(); d.answer = a; d.mu.Unlock() }

func (d *apiDouble) taken() []apiPost {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.posts
	d.posts = nil
	return out
}

func slackError(w http.ResponseWriter, code int, e string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"ok":false,"error":%q}`, e)
}

func (d *apiDouble) serve(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	answer := d.answer
	d.mu.Unlock()
	switch {
	case r.URL.Path != "/api/chat.postMessage":
		slackError(w, 404, "unknown_method")
		return
	case r.Method != http.MethodPost:
		slackError(w, 405, "method_not_supported_for_channel_type")
		return
	case answer == "ratelimited":
		w.Header().Set("Retry-After", "7")
		slackError(w, 429, "ratelimited")
		return
	case answer == "outage":
		w.WriteHeader(503)
		_, _ = io.WriteString(w, "<html>Service Unavailable</html>")
		return
	}
	if r.Header.Get("Authorization") == "" {
		slackError(w, 200, "not_authed")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+testToken || answer == "invalid_auth" {
		slackError(w, 200, "invalid_auth")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		slackError(w, 200, "invalid_form_data")
		return
	}
	body, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(body))
	if err != nil {
		slackError(w, 200, "invalid_form_data")
		return
	}
	if form.Has("token") {
		slackError(w, 200, "token_in_body_test_failure") // Bot sends it in the header only
		return
	}
	p := apiPost{Channel: form.Get("channel"), Text: form.Get("text"), Blocks: json.RawMessage(form.Get("blocks"))}
	d.mu.Lock()
	stalled, limited := d.stalled, d.limited[p.Channel] > 0
	if limited {
		d.limited[p.Channel]--
	}
	d.mu.Unlock()
	switch {
	case stalled != nil:
		stalled <- struct{}{}
		<-r.Context().Done() // the body is read: the server notices the client leaving
		return
	case limited:
		w.Header().Set("Retry-After", "1")
		slackError(w, 429, "ratelimited")
		return
	case p.Channel == "":
		slackError(w, 200, "channel_not_found")
		return
	case p.Channel == "CNOTIN":
		slackError(w, 200, "not_in_channel")
		return
	case p.Text == "" && len(p.Blocks) == 0:
		slackError(w, 200, "no_text")
		return
	case len(p.Text) > 40000:
		slackError(w, 200, "msg_too_long")
		return
	}
	if len(p.Blocks) > 0 {
		var blocks []map[string]any
		if json.Unmarshal(p.Blocks, &blocks) != nil || len(blocks) == 0 || len(blocks) > 50 {
			slackError(w, 200, "invalid_blocks")
			return
		}
	}
	d.mu.Lock()
	d.posts = append(d.posts, p)
	d.count++
	close(d.changed)
	d.changed = make(chan struct{})
	d.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000000.000100","message":{"text":%q}}`, p.Channel, p.Text)
}

// hookDouble is an incoming webhook: JSON in, "ok" or a plain-text error
// out, as Slack answers.
type hookDouble struct {
	srv *httptest.Server

	mu     sync.Mutex
	bodies []json.RawMessage
	answer int // 0: 200 ok
}

func newHookDouble(t *testing.T) *hookDouble {
	d := &hookDouble{}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		defer d.mu.Unlock()
		switch {
		case r.URL.Path != testHook:
			http.Error(w, "no_service", http.StatusNotFound)
		case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json":
			http.Error(w, "invalid_payload", http.StatusBadRequest)
		case d.answer == 429:
			w.Header().Set("Retry-After", "3")
			http.Error(w, "rate_limited", http.StatusTooManyRequests)
		case d.answer != 0:
			http.Error(w, "invalid_token", d.answer)
		default:
			body, _ := io.ReadAll(r.Body)
			var m map[string]any
			if json.Unmarshal(body, &m) != nil || (m["text"] == nil && m["blocks"] == nil) {
				http.Error(w, "no_text", http.StatusBadRequest)
				return
			}
			d.bodies = append(d.bodies, body)
			_, _ = io.WriteString(w, "ok")
		}
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *hookDouble) url() string { return d.srv.URL + testHook }

// responseDouble is where Slack takes late answers to slash commands: the
// response_url, which takes JSON messages.
type responseDouble struct {
	srv    *httptest.Server
	bodies chan json.RawMessage
}

const testResponsePath = "/commands/T0001/1234/responsesecret"

func newResponseDouble(t *testing.T) *responseDouble {
	d := &responseDouble{bodies: make(chan json.RawMessage, 10)}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m struct {
			Text string `json:"text"`
		}
		switch {
		case r.URL.Path != testResponsePath:
			http.Error(w, "expired_url", http.StatusNotFound)
		case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json":
			http.Error(w, "invalid_payload", http.StatusBadRequest)
		case r.Header.Get("Authorization") != "":
			http.Error(w, "a response_url takes no token", http.StatusBadRequest)
		case json.Unmarshal(body, &m) != nil || m.Text == "":
			http.Error(w, "no_text", http.StatusBadRequest)
		default:
			d.bodies <- body
			_, _ = io.WriteString(w, "ok")
		}
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *responseDouble) url() string { return d.srv.URL + testResponsePath }

// slashRequest is a slash command as Slack sends it, signed with secret
// at time at.
func slashRequest(secret string, at time.Time, form url.Values) *http.Request {
	body := form.Encode()
	ts := strconv.FormatInt(at.Unix(), 10)
	r := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Slack-Request-Timestamp", ts)
	r.Header.Set("X-Slack-Signature", signature(secret, ts, body))
	return r
}

// signature is Slack's v0 signature of body sent at ts.
func signature(secret, ts, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// command is a slash command's form as Slack sends it, but for its
// response_url, where nothing listens: no test reaches Slack.
func command(user, channel, text string) url.Values {
	return url.Values{
		"token": {"verification-token-unused"}, "team_id": {"T0001"}, "team_domain": {"example"},
		"channel_id": {channel}, "channel_name": {"builds"}, "user_id": {user}, "user_name": {strings.ToLower(user)},
		"command": {"/herald"}, "text": {text}, "response_url": {"http://127.0.0.1:1/commands/1234/5678"},
		"trigger_id": {"13345224609.738474920.8088930838d88f008e0"},
	}
}

func readAll(r *http.Request) string {
	b, _ := io.ReadAll(r.Body)
	r.Body = httptestBody(string(b))
	return string(b)
}

func httptestBody(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
