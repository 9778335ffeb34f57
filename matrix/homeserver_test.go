package matrix

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// homeserver is a double of the client-server API at the wire: it checks
// the access token, the paths and the bodies as Synapse does, serves
// /sync from queued timeline events, and keeps what was sent.
type homeserver struct {
	t     testing.TB
	srv   *httptest.Server
	token string
	rooms map[string]bool // rooms the bot is in

	mu        sync.Mutex
	queued    []roomEvent   // events for the next /sync
	batch     int           // the last next_batch given is "s<batch>"
	news      chan struct{} // signalled when events are queued
	sent      []sentMessage // accepted messages, in order
	arrived   chan struct{} // signalled after every accepted message
	txns      map[string]string
	pass      int           // take this many sends before limited applies
	limited   int           // then answer this many with 429 M_LIMIT_EXCEEDED
	retryMS   int           // their retry_after_ms (default 1500)
	txnsTried []string      // the transaction IDs of every send, in order
	fail      int           // answer sends with this code
	syncFail  int           // answer this many /sync after the first with 429
	syncs     int           // /sync requests served
	echo      bool          // echo the request's headers in error bodies
	stalled   chan struct{} // when set, a send is signalled here and not answered until the client gives up
}

type roomEvent struct {
	Room  string
	Event map[string]any
}

// sentMessage is a message the bot sent, as the homeserver took it.
type sentMessage struct {
	Room    string         `json:"room"`
	Txn     string         `json:"-"`
	Content map[string]any `json:"content"`
}

func newHomeserver(t testing.TB, rooms ...string) *homeserver {
	h := &homeserver{t: t, token: "syt_aGVyYWxk_secretTokenValue_0abc", rooms: map[string]bool{},
		news: make(chan struct{}, 1), arrived: make(chan struct{}, 100), txns: map[string]string{}}
	for _, r := range rooms {
		h.rooms[r] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_matrix/client/v3/sync", h.authorized(h.sync))
	mux.HandleFunc("PUT /_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}", h.authorized(h.send))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.t.Errorf("homeserver: unexpected %s %s", r.Method, r.URL.Path)
		h.fault(w, r, http.StatusNotFound, "M_UNRECOGNIZED", "Unrecognized request", 0)
	})
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *homeserver) fault(w http.ResponseWriter, r *http.Request, code int, errcode, msg string, retryMS int) {
	body := map[string]any{"errcode": errcode, "error": msg}
	if retryMS > 0 {
		body["retry_after_ms"] = retryMS
	}
	h.mu.Lock()
	if h.echo {
		body["error"] = fmt.Sprintf("%s (you sent %v)", msg, r.Header)
	}
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

func (h *homeserver) authorized(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch a := r.Header.Get("Authorization"); {
		case a == "":
			h.fault(w, r, http.StatusUnauthorized, "M_MISSING_TOKEN", "Missing access token", 0)
		case a != "Bearer "+h.token:
			h.fault(w, r, http.StatusUnauthorized, "M_UNKNOWN_TOKEN", "Invalid access token passed.", 0)
		case r.URL.Query().Has("access_token"):
			h.t.Errorf("homeserver: the token went in the URL")
		default:
			next(w, r)
		}
	}
}

// sync answers GET /sync: the first (no since) with an old command that
// must not run, the next with the queued events, waiting up to timeout.
func (h *homeserver) sync(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	timeout, err := strconv.Atoi(q.Get("timeout"))
	if err != nil || timeout < 0 {
		h.fault(w, r, http.StatusBadRequest, "M_INVALID_PARAM", "timeout is not a number", 0)
		return
	}
	h.mu.Lock()
	h.syncs++
	// Any next_batch this server gave is a valid since, as on Synapse: a
	// client whose request failed after the answer left (a timeout under
	// load) rightly asks again from the one before.
	since := q.Get("since")
	if n, err := strconv.Atoi(strings.TrimPrefix(since, "s")); since != "" && (!strings.HasPrefix(since, "s") || err != nil || n < 1 || n > h.batch) {
		h.mu.Unlock()
		h.t.Errorf("homeserver: /sync since=%q, never given (the last next_batch is s%d)", since, h.batch)
		h.fault(w, r, http.StatusBadRequest, "M_INVALID_PARAM", "unknown since token", 0)
		return
	}
	if since != "" && h.syncFail > 0 {
		h.syncFail--
		h.mu.Unlock()
		h.fault(w, r, http.StatusTooManyRequests, "M_LIMIT_EXCEEDED", "Too Many Requests", 10)
		return
	}
	var events []roomEvent
	if since == "" {
		for room := range h.rooms {
			events = append(events, roomEvent{room, textEvent("@old:example.org", "$old", "herald: version")})
		}
	}
	h.mu.Unlock()
	if since != "" {
		t := time.NewTimer(time.Duration(timeout) * time.Millisecond)
		defer t.Stop()
		for {
			h.mu.Lock()
			events, h.queued = h.queued, nil
			h.mu.Unlock()
			if len(events) > 0 {
				break
			}
			select {
			case <-h.news:
				continue
			case <-t.C:
			case <-r.Context().Done():
				return
			}
			break
		}
	}
	join := map[string]any{}
	for _, e := range events {
		tl, _ := join[e.Room].(map[string]any)
		if tl == nil {
			tl = map[string]any{"timeline": map[string]any{"events": []any{}, "limited": false}}
			join[e.Room] = tl
		}
		t := tl["timeline"].(map[string]any)
		t["events"] = append(t["events"].([]any), e.Event)
	}
	h.mu.Lock()
	h.batch++
	next := fmt.Sprintf("s%d", h.batch)
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"next_batch": next, "rooms": map[string]any{"join": join}})
}

// send answers PUT /rooms/{room}/send/m.room.message/{txn}.
func (h *homeserver) send(w http.ResponseWriter, r *http.Request) {
	room, txn := r.PathValue("room"), r.PathValue("txn")
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		h.fault(w, r, http.StatusBadRequest, "M_NOT_JSON", "Content-Type "+ct, 0)
		return
	}
	var c map[string]any
	if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
		h.fault(w, r, http.StatusBadRequest, "M_NOT_JSON", "Content not JSON.", 0)
		return
	}
	h.mu.Lock()
	stalled := h.stalled
	h.mu.Unlock()
	if stalled != nil {
		_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client leaving
		stalled <- struct{}{}
		<-r.Context().Done()
		return
	}
	body, _ := c["body"].(string)
	msgtype, _ := c["msgtype"].(string)
	switch {
	case msgtype != "m.notice" && msgtype != "m.text":
		h.fault(w, r, http.StatusBadRequest, "M_BAD_JSON", "msgtype "+msgtype, 0)
		return
	case body == "":
		h.fault(w, r, http.StatusBadRequest, "M_BAD_JSON", "body must be a non-empty string", 0)
		return
	case c["format"] != nil && (c["format"] != "org.matrix.custom.html" || c["formatted_body"] == nil):
		h.fault(w, r, http.StatusBadRequest, "M_BAD_JSON", "format without formatted_body", 0)
		return
	case !h.rooms[room]:
		h.fault(w, r, http.StatusForbidden, "M_FORBIDDEN", "User not in room "+room, 0)
		return
	}
	h.mu.Lock()
	h.txnsTried = append(h.txnsTried, txn)
	retryMS := cmp.Or(h.retryMS, 1500)
	switch {
	case h.pass > 0:
		h.pass--
	case h.limited > 0:
		h.limited--
		h.mu.Unlock()
		h.fault(w, r, http.StatusTooManyRequests, "M_LIMIT_EXCEEDED", "Too Many Requests", retryMS)
		return
	case h.fail != 0:
		code := h.fail
		h.mu.Unlock()
		h.fault(w, r, code, "M_UNKNOWN", "Internal server error", 0)
		return
	}
	id, ok := h.txns[txn]
	if !ok { // a new transaction; a repeated one gets the same event
		id = fmt.Sprintf("$ev%d", len(h.txns)+1)
		h.txns[txn] = id
		h.sent = append(h.sent, sentMessage{Room: room, Txn: txn, Content: c})
	}
	h.mu.Unlock()
	h.arrived <- struct{}{}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"event_id": id})
}

// say queues a message from sender in room for the next /sync.
func (h *homeserver) say(room string, event map[string]any) {
	h.mu.Lock()
	h.queued = append(h.queued, roomEvent{room, event})
	h.mu.Unlock()
	select {
	case h.news <- struct{}{}:
	default:
	}
}

// waitSent waits until n messages were taken in all, and returns them.
func (h *homeserver) waitSent(n int) []sentMessage {
	h.t.Helper()
	timeout := time.NewTimer(20 * time.Second) // a liveness bound only
	defer timeout.Stop()
	for {
		h.mu.Lock()
		got := len(h.sent)
		h.mu.Unlock()
		if got >= n {
			break
		}
		select {
		case <-h.arrived:
		case <-timeout.C:
			h.t.Fatalf("homeserver: %d messages sent, want %d", got, n)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]sentMessage(nil), h.sent...)
}

func (h *homeserver) set(f func(h *homeserver)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
}

var eventSeq struct {
	sync.Mutex
	n int
}

func textEvent(sender, id, body string) map[string]any {
	return map[string]any{"type": "m.room.message", "sender": sender, "event_id": id,
		"origin_server_ts": 1700000000000, "content": map[string]any{"msgtype": "m.text", "body": body}}
}

// said is a message a person says, with a fresh event ID.
func said(sender, body string) map[string]any {
	eventSeq.Lock()
	eventSeq.n++
	id := fmt.Sprintf("$cmd%d", eventSeq.n)
	eventSeq.Unlock()
	return textEvent(sender, id, body)
}
