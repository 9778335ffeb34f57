package push

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// receiver is a status front end as Buildbot 0.8.12's HttpStatusPush talked
// to: it checks every request as a real one would (method, content type,
// form field, JSON), and the limits the Pusher promised (packets per batch,
// bytes per request). Mode decides the answer.
type receiver struct {
	t         testing.TB
	format    Format
	maxCount  int
	maxBytes  int
	wantExtra map[string]string
	wantAuth  string

	mu      sync.Mutex
	mode    func(ps []Packet) int // status to answer; nil: 200
	got     []Packet
	refused int
	changed chan struct{} // closed and replaced on every request
	errs    []string
	bodies  [][]byte
}

func newReceiver(t testing.TB, format Format, maxCount, maxBytes int) *receiver {
	return &receiver{t: t, format: format, maxCount: maxCount, maxBytes: maxBytes, changed: make(chan struct{})}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ps, body, err := rc.decode(r)
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, body)
	defer func() {
		close(rc.changed)
		rc.changed = make(chan struct{})
		rc.mu.Unlock()
	}()
	if err != nil {
		rc.errs = append(rc.errs, err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	code := http.StatusOK
	if rc.mode != nil {
		code = rc.mode(ps)
	}
	if code/100 != 2 {
		rc.refused++
		http.Error(w, "refused by test", code)
		return
	}
	rc.got = append(rc.got, ps...)
	w.WriteHeader(code)
}

// decode reads a request as a 0.8.12 receiver: packets=<JSON> from the form.
func (rc *receiver) decode(r *http.Request) ([]Packet, []byte, error) {
	if r.Method != http.MethodPost {
		return nil, nil, fmt.Errorf("method %s, want POST", r.Method)
	}
	if rc.wantAuth != "" && r.Header.Get("Authorization") != rc.wantAuth {
		return nil, nil, fmt.Errorf("authorization header %q is wrong", r.Header.Get("Authorization"))
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, nil, err
	}
	if rc.maxBytes > 0 && len(body) > rc.maxBytes {
		return nil, nil, fmt.Errorf("body of %d bytes exceeds %d", len(body), rc.maxBytes)
	}
	if r.ContentLength != int64(len(body)) {
		return nil, nil, fmt.Errorf("Content-Length %d, body %d", r.ContentLength, len(body))
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var raw []byte
	switch rc.format {
	case Form:
		if ct != "application/x-www-form-urlencoded" {
			return nil, nil, fmt.Errorf("content type %q", ct)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := r.ParseForm(); err != nil {
			return nil, nil, err
		}
		raw = []byte(r.PostForm.Get("packets"))
		for k, v := range rc.wantExtra {
			if got := r.PostForm.Get(k); got != v {
				return nil, nil, fmt.Errorf("form %s=%q, want %q", k, got, v)
			}
		}
	case JSON:
		if ct != "application/json" {
			return nil, nil, fmt.Errorf("content type %q", ct)
		}
		raw = body
	}
	var ps []Packet
	if err := json.Unmarshal(raw, &ps); err != nil {
		return nil, nil, fmt.Errorf("packets: %w", err)
	}
	if len(ps) == 0 || rc.maxCount > 0 && len(ps) > rc.maxCount {
		return nil, nil, fmt.Errorf("%d packets in a batch, want 1..%d", len(ps), rc.maxCount)
	}
	return ps, body, nil
}

// wait blocks until cond holds for the receiver's state.
func (rc *receiver) wait(what string, timeout time.Duration, cond func(rc *receiver) bool) {
	rc.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		rc.mu.Lock()
		ok, ch := cond(rc), rc.changed
		errs := append([]string(nil), rc.errs...)
		n := len(rc.got)
		rc.mu.Unlock()
		require.Empty(rc.t, errs, "receiver rejected requests")
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			rc.t.Fatalf("timed out waiting for %s (%d packets received)", what, n)
		}
	}
}

func (rc *receiver) packets() []Packet {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Packet(nil), rc.got...)
}

func (rc *receiver) setMode(m func([]Packet) int) {
	rc.mu.Lock()
	rc.mode = m
	rc.mu.Unlock()
}

// serve starts an httptest server for rc on addr ("" for a free port).
func serve(t testing.TB, h http.Handler, addr string) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	if addr != "" {
		var ln net.Listener
		var err error
		ln, err = net.Listen("tcp", addr)
		require.NoError(t, err, "listen again on %s", addr)
		s.Listener.Close()
		s.Listener = ln
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}
