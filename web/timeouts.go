package web

import (
	"net/http"
	"time"
)

// Timeouts bound how long a server waits on its clients, so idle or
// trickling connections cannot pile up. The Server's own listeners
// (ListenAndServe, ListenAndServeTLS, ServeUnix, Serve) use
// Options.Timeouts; a host that mounts the Server in its own http.Server
// gives it the same limits with Apply. A zero field takes its default; a
// negative one means no limit.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers (default 10s).
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included (default 1 min):
	// a client that trickles its body is cut off.
	Read time.Duration
	// Write bounds writing a response (default 1 min). Logs and the /events
	// stream may take longer: they get a fresh deadline for each write
	// instead, so a reader is cut off only when it stops reading.
	Write time.Duration
	// Idle is how long a keep-alive connection may wait for its next
	// request before it is closed (default 2 min).
	Idle time.Duration
}

const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = time.Minute
	defaultWriteTimeout      = time.Minute
	defaultIdleTimeout       = 2 * time.Minute
)

// resolved returns t with defaults in zero fields and 0 (no limit, as
// http.Server has it) in negative ones.
func (t Timeouts) resolved() Timeouts {
	pick := func(v, def time.Duration) time.Duration {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0
		}
		return v
	}
	return Timeouts{
		ReadHeader: pick(t.ReadHeader, defaultReadHeaderTimeout),
		Read:       pick(t.Read, defaultReadTimeout),
		Write:      pick(t.Write, defaultWriteTimeout),
		Idle:       pick(t.Idle, defaultIdleTimeout),
	}
}

// Apply sets srv's timeouts from t, defaults included.
func (t Timeouts) Apply(srv *http.Server) {
	r := t.resolved()
	srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout = r.ReadHeader, r.Read, r.Write, r.Idle
}

// long serves a response that may outlast the write timeout (a log, the
// live stream): the request's read deadline is lifted (net/http cancels a
// request's context when it passes, even after the body is read) and every
// write gets its own deadline.
func (s *Server) long(h http.HandlerFunc) http.HandlerFunc {
	perWrite := s.opts.Timeouts.resolved().Write
	return func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		if perWrite > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(perWrite))
			w = &deadlineWriter{ResponseWriter: w, rc: rc, d: perWrite}
		}
		h(w, r)
	}
}

// deadlineWriter moves the write deadline before each write.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
