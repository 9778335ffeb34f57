package stream

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/heraldci/herald/internal/sse"
)

// ServeHTTP streams events to one client until it disconnects, falls
// behind, stops reading for Options.WriteTimeout, or the Server closes.
//
// Query arguments: builder=, tag=, kind= (see ParseFilter); format=sse
// (default) or format=ndjson (also chosen by Accept: application/x-ndjson);
// since=N resumes after event N, like the Last-Event-ID header.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "stream: use GET", http.StatusMethodNotAllowed)
		return
	}
	if !s.authorized(w, r) {
		return
	}
	q := r.URL.Query()
	f, err := ParseFilter(q)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if fm := q.Get("format"); fm != "" && fm != "sse" && fm != "ndjson" {
		http.Error(w, "stream: format="+strconv.Quote(fm)+" is unknown: use sse or ndjson", http.StatusBadRequest)
		return
	}
	since, resume, err := sse.LastEventID(r, "since")
	if err != nil {
		http.Error(w, "stream: "+err.Error(), http.StatusBadRequest)
		return
	}
	fr := &framer{s: s, filter: f,
		ndjson: q.Get("format") == "ndjson" || q.Get("format") == "" && strings.Contains(r.Header.Get("Accept"), "application/x-ndjson")}
	match := f.Match()
	s.b.Serve(w, r, sse.Request[*entry]{
		Match: func(e *entry) bool { return match(e.ev) }, Framer: fr, Since: since, Resume: resume,
		Subscribed: func(st sse.Start) {
			if !st.Resumed && s.o.History == nil {
				fr.snap = s.ownSnapshot(f, st.Seq)
			}
		},
	})
}

// framer frames events as SSE or NDJSON.
type framer struct {
	s      *Server
	filter Filter
	ndjson bool
	snap   *Snapshot // the own view as of subscribing, when not resumed
}

func (o *framer) ContentType() string {
	if o.ndjson {
		return "application/x-ndjson"
	}
	return "text/event-stream"
}

func (o *framer) Open(ctx context.Context, w *bufio.Writer, st sse.Start) {
	if st.Resumed {
		return
	}
	snap := o.snap
	if snap == nil { // from History, which may block: not under the lock
		var err error
		if snap, err = o.s.historySnapshot(ctx, o.filter, st.Seq); err != nil {
			o.s.log.Error("stream: snapshot from History failed", "err", err)
			snap = &Snapshot{Seq: st.Seq}
		}
	}
	b, err := json.Marshal(snap)
	if err != nil {
		b = []byte(`{"seq":` + strconv.FormatUint(snap.Seq, 10) + `,"builders":[]}`)
	}
	if o.ndjson {
		w.WriteString(`{"snapshot":`)
		w.Write(b)
		w.WriteString("}\n")
		return
	}
	w.WriteString("id: ")
	w.WriteString(strconv.FormatUint(snap.Seq, 10))
	w.WriteString("\nevent: snapshot\ndata: ")
	w.Write(b)
	w.WriteString("\n\n")
}

func (o *framer) Message(w *bufio.Writer, id uint64, en *entry) {
	if o.ndjson {
		w.Write(en.json)
		w.WriteByte('\n')
		return
	}
	w.WriteString("id: ")
	w.WriteString(strconv.FormatUint(id, 10))
	w.WriteString("\nevent: ")
	w.WriteString(en.ev.Kind.String())
	w.WriteString("\ndata: ")
	w.Write(en.json) // encoding/json output has no raw newlines
	w.WriteString("\n\n")
}

func (o *framer) KeepAlive(w *bufio.Writer) {
	if o.ndjson {
		w.WriteString("{\"keepalive\":true}\n")
		return
	}
	w.WriteString(": keep-alive\n\n")
}

// Notice: the stream uses the Cut policy only.
func (o *framer) Notice(w *bufio.Writer, _ sse.Policy) {
	const text = "disconnected: too slow; reconnect with Last-Event-ID to resume"
	if o.ndjson {
		w.WriteString(`{"error":"` + text + `"}` + "\n")
		return
	}
	w.WriteString(": " + text + "\n\n")
}
