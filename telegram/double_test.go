package telegram

import (
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

// testToken is the token the double accepts.
const testToken = "123456:AAH-secret_token"

// sent is one sendMessage the double accepted.
type sent struct {
	ChatID    string
	ParseMode string
	Text      string
}

func (s sent) String() string { return fmt.Sprintf("to %s [%s]\n%s\n", s.ChatID, s.ParseMode, s.Text) }

// apiDouble is the Bot API at the wire: it checks the method, the path
// /bot<token>/<method>, the JSON fields the bot sends and sendMessage's
// limits, and answers with the documented shapes ({"ok":true,"result":...}
// or {"ok":false,"error_code":...,"description":...,"parameters":...}).
type apiDouble struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	updates  []json.RawMessage // queued, each with its update_id
	ids      []int64
	nextID   int64
	offsets  []int64 // the offsets getUpdates was called with
	problems []string
	limit429 int // the next sendMessage calls answered 429

	wake    chan struct{} // an update was queued
	polling chan struct{} // a getUpdates is waiting
	sent    chan sent
}

func newDouble(t *testing.T) *apiDouble {
	d := &apiDouble{t: t, nextID: 100, wake: make(chan struct{}, 1), polling: make(chan struct{}, 1), sent: make(chan sent, 1000)}
	d.srv = httptest.NewServer(http.HandlerFunc(d.serve))
	t.Cleanup(func() {
		d.srv.Close()
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, p := range d.problems {
			t.Errorf("Bot API double: %s", p)
		}
	})
	return d
}

// queue adds messages as updates: each a JSON message object.
func (d *apiDouble) queue(msgs ...string) {
	d.mu.Lock()
	for _, m := range msgs {
		d.nextID++
		d.ids = append(d.ids, d.nextID)
		d.updates = append(d.updates, json.RawMessage(fmt.Sprintf(`{"update_id":%d,"message":%s}`, d.nextID, m)))
	}
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// next waits for the next message sent (a liveness bound, not a timing).
func (d *apiDouble) next(t *testing.T) sent {
	t.Helper()
	select {
	case s := <-d.sent:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no sendMessage within 10 s")
		return sent{}
	}
}

func (d *apiDouble) problem(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.problems = append(d.problems, fmt.Sprintf(format, args...))
}

func fail(w http.ResponseWriter, code int, desc string, params map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	body := map[string]any{"ok": false, "error_code": code, "description": desc}
	if params != nil {
		body["parameters"] = params
	}
	_ = json.NewEncoder(w).Encode(body)
}

func ok(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
}

func (d *apiDouble) serve(w http.ResponseWriter, r *http.Request) {
	rest, found := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, _ := strings.Cut(rest, "/")
	switch {
	case !found || method == "":
		fail(w, 404, "Not Found", nil)
		return
	case token != testToken:
		fail(w, 401, "Unauthorized", nil)
		return
	case r.Method != http.MethodPost:
		d.problem("%s %s: the bot posts", r.Method, method)
	case r.Header.Get("Content-Type") != "application/json":
		d.problem("%s: Content-Type %q", method, r.Header.Get("Content-Type"))
	}
	var p map[string]any
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		fail(w, 400, "Bad Request: can't parse JSON: "+err.Error(), nil)
		return
	}
	switch method {
	case "getMe":
		ok(w, map[string]any{"id": 123456, "is_bot": true, "first_name": "Herald", "username": "herald_bot"})
	case "getUpdates":
		d.getUpdates(w, r, p)
	case "sendMessage":
		d.sendMessage(w, p)
	default:
		fail(w, 404, "Not Found: method not found", nil)
	}
}

func (d *apiDouble) getUpdates(w http.ResponseWriter, r *http.Request, p map[string]any) {
	offset, okOff := p["offset"].(float64)
	timeout, okTimeout := p["timeout"].(float64)
	if !okOff || !okTimeout || timeout < 0 {
		fail(w, 400, "Bad Request: offset and timeout must be numbers", nil)
		return
	}
	if au, _ := p["allowed_updates"].([]any); len(au) != 1 || au[0] != "message" {
		d.problem("getUpdates: allowed_updates %v, want [message]", p["allowed_updates"])
	}
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	for {
		d.mu.Lock()
		d.offsets = append(d.offsets, int64(offset))
		// Updates below the offset are confirmed: Telegram forgets them.
		for len(d.ids) > 0 && d.ids[0] < int64(offset) {
			d.ids, d.updates = d.ids[1:], d.updates[1:]
		}
		pending := append([]json.RawMessage(nil), d.updates...)
		d.mu.Unlock()
		if len(pending) > 0 {
			ok(w, pending)
			return
		}
		select {
		case d.polling <- struct{}{}:
		default:
		}
		select {
		case <-d.wake:
		case <-deadline.C:
			ok(w, []any{})
			return
		case <-r.Context().Done():
			return
		}
	}
}

var tag = regexp.MustCompile(`</?([a-z]+)>`)

func (d *apiDouble) sendMessage(w http.ResponseWriter, p map[string]any) {
	var chatID string
	switch id := p["chat_id"].(type) {
	case string:
		chatID = id
	case float64:
		chatID = fmt.Sprint(int64(id))
	default:
		fail(w, 400, "Bad Request: chat_id is empty", nil)
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
				fail(w, 400, "Bad Request: can't parse entities: unsupported start tag \""+m[1]+"\"", nil)
				return
			}
		}
		if strings.Count(text, "<b>") != strings.Count(text, "</b>") || strings.ContainsAny(tag.ReplaceAllString(text, ""), "<>") {
			fail(w, 400, "Bad Request: can't parse entities: unmatched end tag", nil)
			return
		}
		visible = html.UnescapeString(tag.ReplaceAllString(text, ""))
	default:
		fail(w, 400, "Bad Request: unsupported parse_mode", nil)
		return
	}
	switch n := len(utf16.Encode([]rune(visible))); {
	case strings.TrimSpace(visible) == "":
		fail(w, 400, "Bad Request: message text is empty", nil)
		return
	case n > 4096:
		fail(w, 400, "Bad Request: message is too long", nil)
		return
	}
	d.mu.Lock()
	limited := d.limit429 > 0
	if limited {
		d.limit429--
	}
	d.mu.Unlock()
	if limited {
		fail(w, 429, "Too Many Requests: retry after 3", map[string]any{"retry_after": 3})
		return
	}
	d.sent <- sent{ChatID: chatID, ParseMode: mode, Text: text}
	ok(w, map[string]any{"message_id": 1, "date": 0, "chat": map[string]any{"id": 1, "type": "group"}, "text": visible})
}

// msg is a message update's message object.
func msg(chatID int64, chatType string, fromID int64, username, text string) string {
	b, _ := json.Marshal(map[string]any{
		"message_id": 1, "date": 1700000000, "text": text,
		"from": map[string]any{"id": fromID, "is_bot": false, "first_name": "F" + username, "username": username},
		"chat": map[string]any{"id": chatID, "type": chatType, "title": "ops"},
	})
	return string(b)
}
