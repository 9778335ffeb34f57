package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/heraldci/herald/internal/sse"
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
	Buffer     int           // messages queued per browser (1024: a second of a busy master)
	Replay     int           // messages kept for reconnecting browsers (256)
	MaxClients int           // browsers at once (1000); more get 503
	MaxPerAddr int           // streams from one client address (32); more get 503
	KeepAlive  time.Duration // comment line sent on idle streams (25s)
	// Activity is how many non-build events are kept for the waterfall
	// (500); negative keeps none, for a History that keeps them
	// (ActivityHistory).
	Activity int
	// WriteTimeout bounds each write to a browser (10s), so a stuck
	// connection ends instead of holding its handler.
	WriteTimeout time.Duration
}

// liveFeed broadcasts events to browsers (through the shared SSE
// broadcaster, with its Resync policy) and remembers recent non-build
// events (workers coming and going, master restarts) for the waterfall's
// show_events when History does not keep them (ActivityHistory). Safe for
// concurrent use.
type liveFeed struct {
	b        *sse.Broadcaster[*liveMsg]
	activity int // how many to keep

	mu     sync.Mutex
	recent []activity // oldest first, at most activity
}

// liveMsg is one encoded SSE message, shared by every browser.
type liveMsg struct {
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

func newLiveFeed(o liveOptions) *liveFeed {
	if o.Buffer <= 0 {
		o.Buffer = 1024
	}
	if o.Replay <= 0 {
		o.Replay = 256
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 25 * time.Second
	}
	switch {
	case o.Activity == 0:
		o.Activity = 500
	case o.Activity < 0:
		o.Activity = 0
	}
	return &liveFeed{activity: o.Activity, b: sse.New[*liveMsg](sse.Options{Name: "web: live updates", Slow: sse.Resync,
		Buffer: o.Buffer, Replay: o.Replay, KeepAlive: o.KeepAlive, MaxClients: o.MaxClients, MaxPerAddr: o.MaxPerAddr,
		WriteTimeout: o.WriteTimeout, Logger: o.Logger})}
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
	if a, ok := activityOf(e); ok && f.activity > 0 {
		f.mu.Lock()
		if len(f.recent) == f.activity {
			f.recent = slices.Delete(f.recent, 0, 1)
		}
		f.recent = append(f.recent, a)
		f.mu.Unlock()
	}
	_, err := f.b.Publish(0, func(id uint64) (*liveMsg, error) {
		ev.ID = id
		data, err := json.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("web: live update: %w", err)
		}
		return &liveMsg{frame: sseFrame(id, data), builder: ev.Builder, tags: e.BuilderTags()}, nil
	})
	return err
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
	for _, a := range f.recent {
		if !a.Time.Before(from) && !a.Time.After(to) {
			out = append(out, a)
		}
	}
	return out
}

// wants reports whether a page filtered by bf takes m.
func (bf builderFilter) wants(m *liveMsg) bool {
	if m.builder == "" {
		return true
	}
	return (len(bf.names) == 0 || slices.Contains(bf.names, m.builder)) &&
		(len(bf.tags) == 0 || slices.ContainsFunc(m.tags, func(t string) bool { return slices.Contains(bf.tags, t) }))
}

// ServeHTTP streams events as text/event-stream until the browser leaves,
// stops reading, or the feed closes. builder= and tag= narrow the stream to
// those builders (events about no builder, like changes, always pass). A
// Last-Event-ID header (or last_event_id=) replays what was missed when the
// feed still has it; otherwise the first message is a resync.
func (f *liveFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	bf := builderFilter{names: queryList(q, "builder"), tags: queryList(q, "tag")}
	since, resume, _ := sse.LastEventID(r, "last_event_id") // a malformed id: no resume
	f.b.Serve(w, r, sse.Request[*liveMsg]{Match: bf.wants, Framer: liveFramer{}, Since: since, Resume: resume})
}

// liveFramer writes what static/live.js reads.
type liveFramer struct{}

func (liveFramer) ContentType() string { return "text/event-stream" }

func (liveFramer) Open(_ context.Context, w *bufio.Writer, st sse.Start) {
	// retry: tells EventSource how long to wait before reconnecting.
	w.WriteString("retry: 3000\n: herald live updates\n\n")
	if st.Requested && !st.Resumed {
		w.Write(resyncFrame) // what was missed is gone, or the id is from another run
	}
}

func (liveFramer) Message(w *bufio.Writer, _ uint64, m *liveMsg) { w.Write(m.frame) }

func (liveFramer) KeepAlive(w *bufio.Writer) { w.WriteString(": keep-alive\n\n") }

func (liveFramer) Notice(w *bufio.Writer, _ sse.Policy) { w.Write(resyncFrame) }

// resyncFrame tells a page it missed updates and should refresh.
var resyncFrame = []byte(`data: {"kind":"resync"}` + "\n\n")

// Close ends every stream and waits for their handlers to return, or for
// ctx. Idempotent.
func (f *liveFeed) Close(ctx context.Context) error { return f.b.Close(ctx) }

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
