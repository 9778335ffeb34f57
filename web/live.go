package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldci/herald/status"
)

// Live updates. The Server is a status.Reporter: the host adds it to its Hub
// and every event reaches the liveFeed, which turns it into one small
// Server-Sent Events message and offers it to each connected browser. Pages
// carrying a live region (id="live-root") load static/live.js, which listens
// on /events and, when something happens, fetches the page again and swaps
// the region in place: the server renders every page one way, and pages work
// the same with JavaScript off, only without updating themselves.
//
// Each browser has its own bounded buffer. Report never blocks on a browser:
// when a buffer is full the message is dropped for that browser, counted,
// logged, and the browser is told to resynchronise (event kind "resync"),
// which for a page means one more refresh. A short history of messages lets
// a browser that reconnects (Last-Event-ID) catch up.

// liveOptions bound the feed; zero values take the defaults.
type liveOptions struct {
	Logger     *slog.Logger
	Buffer     int           // messages queued per browser (64)
	Replay     int           // messages kept for reconnecting browsers (256)
	MaxClients int           // browsers at once (1000); more get 503
	KeepAlive  time.Duration // comment line sent on idle streams (25s)
	Activity   int           // non-build events kept for the waterfall (500)
	// WriteTimeout bounds each write to a browser (10s), so a stuck
	// connection ends instead of holding its handler.
	WriteTimeout time.Duration
}

// liveFeed broadcasts events to browsers and remembers recent non-build
// events (workers coming and going, master restarts) for the waterfall's
// show_events, which History does not keep. Safe for concurrent use.
type liveFeed struct {
	opts liveOptions

	mu       sync.Mutex
	clients  map[*liveClient]struct{}
	replay   []*liveMsg // oldest first, at most opts.Replay
	activity []activity // oldest first, at most opts.Activity
	nextID   uint64
	closed   bool
	done     chan struct{} // closed by Close: streams end
	streams  int           // handlers running
	drained  chan struct{} // closed once closed and no handler runs

	dropped atomic.Uint64
}

// liveMsg is one encoded SSE message, shared by every browser.
type liveMsg struct {
	id    uint64
	frame []byte
	// builder and tags decide which filtered streams get it ("" for events
	// about no builder, which every stream gets).
	builder string
	tags    []string
}

// liveEvent is the JSON data of a message: enough for a page to know what
// changed, never log text or whole builds.
type liveEvent struct {
	ID      uint64    `json:"id"`
	Kind    string    `json:"kind"`
	Time    time.Time `json:"time"`
	Builder string    `json:"builder,omitempty"`
	Number  *int      `json:"number,omitempty"`
	Step    string    `json:"step,omitempty"`
	Result  string    `json:"result,omitempty"`
	Change  int64     `json:"change,omitempty"`
	Worker  string    `json:"worker,omitempty"`
}

// activity is a non-build event the waterfall shows with show_events.
type activity struct {
	Time time.Time
	Kind status.Kind
	Text string
	// Builders are the columns it belongs to; nil means every column.
	Builders []string
}

type liveClient struct {
	ch     chan *liveMsg
	filter builderFilter
	lagged atomic.Bool
}

func newLiveFeed(o liveOptions) *liveFeed {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Buffer <= 0 {
		o.Buffer = 64
	}
	if o.Replay <= 0 {
		o.Replay = 256
	}
	if o.MaxClients <= 0 {
		o.MaxClients = 1000
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 25 * time.Second
	}
	if o.Activity <= 0 {
		o.Activity = 500
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	return &liveFeed{opts: o, clients: map[*liveClient]struct{}{}, done: make(chan struct{}), drained: make(chan struct{})}
}

// Report offers e to every connected browser. It never blocks on them.
func (f *liveFeed) Report(ctx context.Context, e status.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("web: live update: %w", err)
	}
	if e.Kind == status.LogAppended {
		// Log text is read from History by the log pages; streaming every
		// chunk to every page would only cost refreshes.
		return nil
	}
	ev := liveEvent{Kind: e.Kind.String(), Time: e.Time, Builder: e.BuilderName()}
	if e.Build != nil {
		n := e.Build.Number
		ev.Number = &n
		if e.Kind == status.BuildFinished {
			ev.Result = e.Build.Result.String()
		}
	}
	if e.Step != nil {
		ev.Step = e.Step.Name
		if e.Kind == status.StepFinished {
			ev.Result = e.Step.Result.String()
		}
	}
	if e.Change != nil {
		ev.Change = e.Change.ID
	}
	if e.Worker != nil {
		ev.Worker = e.Worker.Name
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.nextID++
	ev.ID = f.nextID
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("web: live update: %w", err)
	}
	msg := &liveMsg{id: ev.ID, frame: sseFrame(ev.ID, data), builder: ev.Builder, tags: e.BuilderTags()}
	if len(f.replay) == f.opts.Replay {
		f.replay = slices.Delete(f.replay, 0, 1)
	}
	f.replay = append(f.replay, msg)
	if a, ok := activityOf(e); ok {
		if len(f.activity) == f.opts.Activity {
			f.activity = slices.Delete(f.activity, 0, 1)
		}
		f.activity = append(f.activity, a)
	}
	for c := range f.clients {
		if !c.wants(msg) {
			continue
		}
		select {
		case c.ch <- msg:
		default:
			f.dropped.Add(1)
			if !c.lagged.Swap(true) {
				f.opts.Logger.Warn("web: a live page reads too slowly; dropping its updates and asking it to reload",
					"buffer", f.opts.Buffer)
			}
		}
	}
	return nil
}

func sseFrame(id uint64, data []byte) []byte {
	b := make([]byte, 0, len(data)+32)
	b = append(b, "id: "...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, "\ndata: "...)
	b = append(b, data...) // JSON has no raw newlines
	return append(b, "\n\n"...)
}

// activityOf returns the waterfall event for the non-build kinds.
func activityOf(e status.Event) (activity, bool) {
	a := activity{Time: e.Time, Kind: e.Kind}
	switch e.Kind {
	case status.WorkerConnected, status.WorkerDisconnected:
		if e.Worker == nil {
			return a, false
		}
		verb := "connected"
		if e.Kind == status.WorkerDisconnected {
			verb = "disconnected"
		}
		a.Text = "worker " + e.Worker.Name + " " + verb
		// A worker serving no builder known to the event is shown nowhere
		// rather than everywhere.
		a.Builders = append([]string{}, e.Worker.Builders...)
	case status.BuilderAdded, status.BuilderRemoved:
		if e.Builder == nil {
			return a, false
		}
		a.Text = "builder added"
		if e.Kind == status.BuilderRemoved {
			a.Text = "builder removed"
		}
		a.Builders = []string{e.Builder.Name}
	case status.MasterStarted:
		a.Text = "master started"
	case status.MasterStopping:
		a.Text = "master stopping"
	default:
		return a, false
	}
	if e.Master != "" && (e.Kind == status.MasterStarted || e.Kind == status.MasterStopping) {
		a.Text += " (" + e.Master + ")"
	}
	return a, true
}

// recentActivity returns the remembered non-build events within [from, to].
func (f *liveFeed) recentActivity(from, to time.Time) []activity {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []activity
	for _, a := range f.activity {
		if !a.Time.Before(from) && !a.Time.After(to) {
			out = append(out, a)
		}
	}
	return out
}

func (c *liveClient) wants(m *liveMsg) bool {
	if m.builder == "" {
		return true
	}
	return (len(c.filter.names) == 0 || slices.Contains(c.filter.names, m.builder)) &&
		(len(c.filter.tags) == 0 || slices.ContainsFunc(m.tags, func(t string) bool { return slices.Contains(c.filter.tags, t) }))
}

// ServeHTTP streams events as text/event-stream until the browser leaves or
// the feed closes. builder= and tag= narrow the stream to those builders
// (events about no builder, like changes, always pass). A Last-Event-ID
// header (or last_event_id=) replays what was missed when the feed still
// has it; otherwise the first message is a resync.
func (f *liveFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c := &liveClient{
		ch:     make(chan *liveMsg, f.opts.Buffer),
		filter: builderFilter{names: queryList(q, "builder"), tags: queryList(q, "tag")},
	}
	lastID, resume := lastEventID(r)

	f.mu.Lock()
	if f.closed || len(f.clients) >= f.opts.MaxClients {
		closed := f.closed
		f.mu.Unlock()
		w.Header().Set("Retry-After", "10")
		msg := "too many live pages are open; try again later"
		if closed {
			msg = "the server is shutting down"
		}
		http.Error(w, msg, http.StatusServiceUnavailable)
		return
	}
	var backlog []*liveMsg
	resync := false
	if resume {
		if len(f.replay) > 0 && f.replay[0].id > lastID+1 || lastID > f.nextID {
			resync = true // what was missed is gone, or the id is from another run
		} else {
			for _, m := range f.replay {
				if m.id > lastID && c.wants(m) {
					backlog = append(backlog, m)
				}
			}
		}
	}
	f.clients[c] = struct{}{}
	f.streams++
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.clients, c)
		f.streams--
		if f.closed && f.streams == 0 {
			close(f.drained)
		}
		f.mu.Unlock()
	}()

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)

	write := func(p []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(f.opts.WriteTimeout))
		if _, err := w.Write(p); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// retry: tells EventSource how long to wait before reconnecting.
	if !write([]byte("retry: 3000\n: herald live updates\n\n")) {
		return
	}
	if resync && !write(resyncFrame) {
		return
	}
	for _, m := range backlog {
		if !write(m.frame) {
			return
		}
	}
	tick := time.NewTicker(f.opts.KeepAlive)
	defer tick.Stop()
	for {
		select {
		case m := <-c.ch:
			if c.lagged.Swap(false) && !write(resyncFrame) {
				return
			}
			if !write(m.frame) {
				return
			}
		case <-tick.C:
			if !write([]byte(": keep-alive\n\n")) {
				return
			}
		case <-r.Context().Done():
			return
		case <-f.done:
			return
		}
	}
}

// resyncFrame tells a page it missed updates and should refresh.
var resyncFrame = []byte(`data: {"kind":"resync"}` + "\n\n")

// lastEventID reads the id a reconnecting EventSource sends.
func lastEventID(r *http.Request) (uint64, bool) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("last_event_id")
	}
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	return n, err == nil
}

// Close ends every stream and waits for their handlers to return, or for
// ctx. Idempotent.
func (f *liveFeed) Close(ctx context.Context) error {
	f.mu.Lock()
	if !f.closed {
		f.closed = true
		close(f.done)
		if f.streams == 0 {
			close(f.drained)
		}
	}
	f.mu.Unlock()
	select {
	case <-f.drained:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("web: closing live streams: %w", ctx.Err())
	}
}

// eventsURL is the stream a page subscribes to: the same builder= and tag=
// as the page, so a page about one builder ignores the others.
func (s *Server) eventsURL(f builderFilter) string {
	v := url.Values{}
	for _, n := range f.names {
		v.Add("builder", n)
	}
	for _, t := range f.tags {
		v.Add("tag", t)
	}
	u := s.opts.Prefix + "/events"
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	return u
}
