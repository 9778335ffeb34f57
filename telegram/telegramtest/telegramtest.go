// Package telegramtest is an in-process double of the Telegram Bot API for
// the methods Herald's telegram bot uses: getMe, getUpdates (a long poll
// serving queued messages, forgetting those below the offset) and
// sendMessage. It checks each request as Telegram does (POST, the path
// /bot<token>/<method>, JSON fields, parse mode HTML's tags and entities,
// the 4096-character limit after entities parsing) and answers with the
// documented shapes: {"ok":true,"result":...} or {"ok":false,
// "error_code":...,"description":...,"parameters":{"retry_after":...}}.
//
//	api := telegramtest.NewServer(t, telegramtest.Options{Token: "1:t"})
//	bot, _ := telegram.New(telegram.Options{Token: "1:t", APIURL: api.URL(), ...})
//	api.Queue(telegramtest.Message{ChatID: 42, ChatType: "private", FromID: 42, Text: "/status"})
//	answer := <-api.Sent()
//
// Requests a correct client never sends are listed by Problems; NewServer
// fails the test with them.
package telegramtest

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
)

// Options configures a Server.
type Options struct {
	Token    string // the bot token accepted; others get 401
	Username string // the bot's username (default "herald_bot")
	// RetryAfter is the parameters.retry_after of rate limits, in
	// seconds (default 3).
	RetryAfter int
}

// Sent is one message sendMessage accepted.
type Sent struct {
	ChatID    string
	ParseMode string // "" or "HTML"
	Text      string // as sent, markup included
}

func (s Sent) String() string { return fmt.Sprintf("to %s [%s]\n%s\n", s.ChatID, s.ParseMode, s.Text) }

// Message is a message people say, served as an update.
type Message struct {
	ChatID    int64
	ChatType  string // private, group, supergroup or channel
	ChatTitle string
	FromID    int64
	Username  string // the sender's @username, without @ ("" for none)
	FirstName string
	FromBot   bool
	Text      string
}

// Request is one request, without the token, for listings.
type Request struct {
	Method string // the Bot API method
	Code   int
	Body   []byte
}

// Server is the Bot API double; it is an http.Handler.
type Server struct {
	o   Options
	srv *httptest.Server

	mu       sync.Mutex
	updates  []json.RawMessage // queued, each with its update_id
	ids      []int64
	nextID   int64
	offsets  []int64 // the offsets getUpdates was called with
	problems []string
	requests []Request
	limit429 int            // the next sendMessage calls answered 429
	chat429  map[string]int // the next sendMessage calls to a chat answered 429
	accepted []Sent
	changed  chan struct{} // closed and replaced when a message is accepted

	wake    chan struct{} // a message was queued
	polling chan struct{} // a getUpdates is waiting for messages
	sent    chan Sent
}

// New returns a Server to mount on a mux or an http.Server.
func New(o Options) *Server {
	if o.Username == "" {
		o.Username = "herald_bot"
	}
	if o.RetryAfter == 0 {
		o.RetryAfter = 3
	}
	return &Server{o: o, chat429: map[string]int{}, nextID: 100, wake: make(chan struct{}, 1), polling: make(chan struct{}, 1), sent: make(chan Sent, 10000),
		changed: make(chan struct{})}
}

// NewServer serves a Server on loopback until the test ends, then fails the
// test with its Problems.
func NewServer(tb testing.TB, o Options) *Server {
	s := New(o)
	s.srv = httptest.NewServer(s)
	tb.Cleanup(func() {
		s.srv.Close()
		for _, p := range s.Problems() {
			tb.Errorf("Bot API double: %s", p)
		}
	})
	return s
}

// URL is NewServer's address, for telegram.Options.APIURL.
func (s *Server) URL() string { return s.srv.URL }

// Queue adds messages as updates, with increasing update IDs.
func (s *Server) Queue(msgs ...Message) {
	s.mu.Lock()
	for _, m := range msgs {
		s.nextID++
		from := map[string]any{"id": m.FromID, "is_bot": m.FromBot, "first_name": m.FirstName}
		if m.Username != "" {
			from["username"] = m.Username
		}
		b, _ := json.Marshal(map[string]any{"update_id": s.nextID, "message": map[string]any{
			"message_id": s.nextID, "date": 1700000000, "text": m.Text, "from": from,
			"chat": map[string]any{"id": m.ChatID, "type": m.ChatType, "title": m.ChatTitle},
		}})
		s.ids = append(s.ids, s.nextID)
		s.updates = append(s.updates, b)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Sent delivers the messages sendMessage accepted, in order; it holds up
// to 10,000 unread ones (more are listed by Requests only).
func (s *Server) Sent() <-chan Sent { return s.sent }

// Polling signals when a getUpdates waits with no message to serve: every
// queued message has been confirmed with the offset.
func (s *Server) Polling() <-chan struct{} { return s.polling }

// Pending is how many queued messages are not confirmed yet.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates)
}

// Offsets are the offsets getUpdates was called with; LastID is the ID of
// the last queued update.
func (s *Server) Offsets() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.offsets...)
}

// LastID is the update ID of the last message queued.
func (s *Server) LastID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextID
}

// RateLimit answers the next n sendMessage calls with 429 and
// parameters.retry_after Options.RetryAfter.
func (s *Server) RateLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit429 = n
}

// RateLimitChat answers the next n sendMessage calls to chatID with 429,
// as Telegram does for a group that gets too many messages.
func (s *Server) RateLimitChat(chatID string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chat429[chatID] = n
}

// Wait waits until sendMessage has accepted n messages in all, or ctx
// ends; it returns those accepted so far.
func (s *Server) Wait(ctx context.Context, n int) ([]Sent, error) {
	for {
		s.mu.Lock()
		have, changed := len(s.accepted), s.changed
		s.mu.Unlock()
		if have >= n || ctx.Err() != nil {
			s.mu.Lock()
			defer s.mu.Unlock()
			got := append([]Sent(nil), s.accepted...)
			if len(got) >= n {
				return got, nil
			}
			return got, fmt.Errorf("telegramtest: %d of %d messages: %w", len(got), n, ctx.Err())
		}
		select {
		case <-changed:
		case <-ctx.Done():
		}
	}
}

// Requests lists the requests so far, without getUpdates that served nothing.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Problems lists requests a correct client would not send.
func (s *Server) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

func (s *Server) problem(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
}

// answer writes a Bot API answer and records the request.
func (s *Server) answer(w http.ResponseWriter, method string, body []byte, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: method, Code: code, Body: body})
}

func (s *Server) fail(w http.ResponseWriter, method string, body []byte, code int, desc string, params map[string]any) {
	v := map[string]any{"ok": false, "error_code": code, "description": desc}
	if params != nil {
		v["parameters"] = params
	}
	s.answer(w, method, body, code, v)
}

func (s *Server) ok(w http.ResponseWriter, method string, body []byte, result any) {
	s.answer(w, method, body, http.StatusOK, map[string]any{"ok": true, "result": result})
}

// ServeHTTP answers a Bot API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, found := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, _ := strings.Cut(rest, "/")
	switch {
	case !found || method == "":
		s.fail(w, "", nil, 404, "Not Found", nil)
		return
	case token != s.o.Token:
		s.fail(w, method, nil, 401, "Unauthorized", nil)
		return
	case r.Method != http.MethodPost:
		s.problem("%s %s: the bot posts", r.Method, method)
	case r.Header.Get("Content-Type") != "application/json":
		s.problem("%s: Content-Type %q", method, r.Header.Get("Content-Type"))
	}
	var body json.RawMessage
	var p map[string]any
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil || json.Unmarshal(body, &p) != nil {
		s.fail(w, method, body, 400, fmt.Sprintf("Bad Request: can't parse JSON: %v", err), nil)
		return
	}
	switch method {
	case "getMe":
		s.ok(w, method, body, map[string]any{"id": 123456, "is_bot": true, "first_name": "Herald", "username": s.o.Username})
	case "getUpdates":
		s.getUpdates(w, r, body, p)
	case "sendMessage":
		s.sendMessage(w, body, p)
	default:
		s.fail(w, method, body, 404, "Not Found: method not found", nil)
	}
}

func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, body []byte, p map[string]any) {
	offset, okOff := p["offset"].(float64)
	timeout, okTimeout := p["timeout"].(float64)
	if !okOff || !okTimeout || timeout < 0 {
		s.fail(w, "getUpdates", body, 400, "Bad Request: offset and timeout must be numbers", nil)
		return
	}
	if au, _ := p["allowed_updates"].([]any); len(au) != 1 || au[0] != "message" {
		s.problem("getUpdates: allowed_updates %v, want [message]", p["allowed_updates"])
	}
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		s.offsets = append(s.offsets, int64(offset))
		// Updates below the offset are confirmed: Telegram forgets them.
		for len(s.ids) > 0 && s.ids[0] < int64(offset) {
			s.ids, s.updates = s.ids[1:], s.updates[1:]
		}
		pending := append([]json.RawMessage(nil), s.updates...)
		s.mu.Unlock()
		if len(pending) > 0 {
			s.ok(w, "getUpdates", body, pending)
			return
		}
		select {
		case s.polling <- struct{}{}:
		default:
		}
		select {
		case <-s.wake:
		case <-deadline.C:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"ok":true,"result":[]}`))
			return
		case <-r.Context().Done():
			return
		}
	}
}

var tag = regexp.MustCompile(`</?([a-z]+)>`)

func (s *Server) sendMessage(w http.ResponseWriter, body []byte, p map[string]any) {
	const method = "sendMessage"
	var chatID string
	switch id := p["chat_id"].(type) {
	case string:
		chatID = id
	case float64:
		chatID = fmt.Sprint(int64(id))
	default:
		s.fail(w, method, body, 400, "Bad Request: chat_id is empty", nil)
		return
	}
	text, _ := p["text"].(string)
	mode, _ := p["parse_mode"].(string)
	visible := text
	switch mode {
	case "":
	case "HTML":
		for _, m := range tag.FindAllStringSubmatch(text, -1) {
			if m[1] != "b" {
				s.fail(w, method, body, 400, "Bad Request: can't parse entities: unsupported start tag \""+m[1]+"\"", nil)
				return
			}
		}
		if strings.Count(text, "<b>") != strings.Count(text, "</b>") || strings.ContainsAny(tag.ReplaceAllString(text, ""), "<>") {
			s.fail(w, method, body, 400, "Bad Request: can't parse entities: unmatched end tag", nil)
			return
		}
		visible = html.UnescapeString(tag.ReplaceAllString(text, ""))
	default:
		s.fail(w, method, body, 400, "Bad Request: unsupported parse_mode", nil)
		return
	}
	switch n := len(utf16.Encode([]rune(visible))); {
	case strings.TrimSpace(visible) == "":
		s.fail(w, method, body, 400, "Bad Request: message text is empty", nil)
		return
	case n > 4096:
		s.fail(w, method, body, 400, "Bad Request: message is too long", nil)
		return
	}
	s.mu.Lock()
	limited := s.limit429 > 0 || s.chat429[chatID] > 0
	switch {
	case s.chat429[chatID] > 0:
		s.chat429[chatID]--
	case s.limit429 > 0:
		s.limit429--
	}
	s.mu.Unlock()
	if limited {
		s.fail(w, method, body, 429, fmt.Sprintf("Too Many Requests: retry after %d", s.o.RetryAfter), map[string]any{"retry_after": s.o.RetryAfter})
		return
	}
	m := Sent{ChatID: chatID, ParseMode: mode, Text: text}
	s.mu.Lock()
	s.accepted = append(s.accepted, m)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	select {
	case s.sent <- m:
	default: // nobody reads them (the demo): Requests has them
	}
	s.ok(w, method, body, map[string]any{"message_id": 1, "date": 0, "chat": map[string]any{"id": 1, "type": "group"}, "text": visible})
}
