package stream

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ServeHTTP streams events to one client until it disconnects, falls
// behind, or the Server closes.
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
	ndjson := q.Get("format") == "ndjson" || q.Get("format") == "" && strings.Contains(r.Header.Get("Accept"), "application/x-ndjson")
	if fm := q.Get("format"); fm != "" && fm != "sse" && fm != "ndjson" {
		http.Error(w, "stream: format="+strconv.Quote(fm)+" is unknown: use sse or ndjson", http.StatusBadRequest)
		return
	}
	since, resume, err := resumePoint(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	c := &sub{match: f.Match(), ch: make(chan *entry, s.o.ClientBuffer), cut: make(chan struct{}), remote: r.RemoteAddr}
	missed, resumed, snap, seq, err := s.subscribe(c, since, resume, f)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer s.unsubscribe(c)

	h := w.Header()
	if ndjson {
		h.Set("Content-Type", "application/x-ndjson")
	} else {
		h.Set("Content-Type", "text/event-stream")
	}
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	rc := http.NewResponseController(w)
	bw := bufio.NewWriterSize(w, 32<<10)
	out := &writer{w: bw, ndjson: ndjson}

	if !resumed {
		if snap == nil { // from History, which may block: not under the lock
			snap, err = s.historySnapshot(r.Context(), f, seq)
			if err != nil {
				s.log.Error("stream: snapshot from History failed", "err", err)
				snap = &Snapshot{Seq: seq}
			}
		}
		out.snapshot(snap)
	}
	for _, en := range missed {
		out.event(en)
	}
	s.replayed.Add(uint64(len(missed)))
	if bw.Flush() != nil || rc.Flush() != nil {
		return
	}

	keep := time.NewTicker(s.o.KeepAlive)
	defer keep.Stop()
	for {
		select {
		case en := <-c.ch:
			out.event(en)
		drain: // write what is waiting too, then flush once
			for {
				select {
				case en := <-c.ch:
					out.event(en)
				default:
					break drain
				}
			}
		case <-keep.C:
			out.keepAlive()
		case <-c.cut:
			out.comment("disconnected: too slow; reconnect with Last-Event-ID to resume")
			_ = bw.Flush()
			_ = rc.Flush()
			return
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
		if bw.Flush() != nil || rc.Flush() != nil {
			return
		}
	}
}

// resumePoint reads Last-Event-ID or since=.
func resumePoint(r *http.Request) (uint64, bool, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("since")
	}
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, false, &badRequest{"stream: Last-Event-ID or since= must be an event number, not " + strconv.Quote(v)}
	}
	return n, true, nil
}

type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

// writer frames events as SSE or NDJSON. Write errors surface at Flush.
type writer struct {
	w      *bufio.Writer
	ndjson bool
}

func (o *writer) event(en *entry) {
	if o.ndjson {
		o.w.Write(en.json)
		o.w.WriteByte('\n')
		return
	}
	o.w.WriteString("id: ")
	o.w.WriteString(strconv.FormatUint(en.seq, 10))
	o.w.WriteString("\nevent: ")
	o.w.WriteString(en.ev.Kind.String())
	o.w.WriteString("\ndata: ")
	o.w.Write(en.json) // encoding/json output has no raw newlines
	o.w.WriteString("\n\n")
}

func (o *writer) snapshot(sn *Snapshot) {
	b, err := json.Marshal(sn)
	if err != nil {
		b = []byte(`{"seq":` + strconv.FormatUint(sn.Seq, 10) + `,"builders":[]}`)
	}
	if o.ndjson {
		o.w.WriteString(`{"snapshot":`)
		o.w.Write(b)
		o.w.WriteString("}\n")
		return
	}
	o.w.WriteString("id: ")
	o.w.WriteString(strconv.FormatUint(sn.Seq, 10))
	o.w.WriteString("\nevent: snapshot\ndata: ")
	o.w.Write(b)
	o.w.WriteString("\n\n")
}

func (o *writer) keepAlive() {
	if o.ndjson {
		o.w.WriteString("{\"keepalive\":true}\n")
		return
	}
	o.w.WriteString(": keep-alive\n\n")
}

func (o *writer) comment(text string) {
	if o.ndjson {
		b, _ := json.Marshal(map[string]string{"error": text})
		o.w.Write(b)
		o.w.WriteByte('\n')
		return
	}
	o.w.WriteString(": " + text + "\n\n")
}
