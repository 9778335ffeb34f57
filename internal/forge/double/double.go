// Package double is the plumbing the public API doubles (githubtest,
// stashtest) share: a request log to wait on, queued fault answers, and the
// list of problems a real service would have refused.
package double

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Log records what a double served. The zero Log is ready; safe for
// concurrent use.
type Log[R any] struct {
	mu       sync.Mutex
	reqs     []R
	problems []string
	faults   []func(http.ResponseWriter)
	notify   chan struct{}
}

// Add records r and wakes waiters.
func (l *Log[R]) Add(r R) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r)
	if l.notify != nil {
		close(l.notify)
		l.notify = nil
	}
}

// All returns a copy of what was recorded, oldest first.
func (l *Log[R]) All() []R {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]R(nil), l.reqs...)
}

// Wait returns once n requests are recorded, or ctx ends.
func (l *Log[R]) Wait(ctx context.Context, n int) ([]R, error) {
	for {
		l.mu.Lock()
		if len(l.reqs) >= n {
			all := append([]R(nil), l.reqs...)
			l.mu.Unlock()
			return all, nil
		}
		if l.notify == nil {
			l.notify = make(chan struct{})
		}
		ch, got := l.notify, len(l.reqs)
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("%d of %d requests: %w", got, n, ctx.Err())
		}
	}
}

// Problem notes a request the real service would have refused, or that a
// correct client never sends.
func (l *Log[R]) Problem(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.problems = append(l.problems, fmt.Sprintf(format, args...))
}

// Problems returns the problems noted so far.
func (l *Log[R]) Problems() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.problems...)
}

// Fail queues answers for the next requests that get that far.
func (l *Log[R]) Fail(answers ...func(http.ResponseWriter)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.faults = append(l.faults, answers...)
}

// Fault writes the next queued answer to w and returns its status code,
// or returns 0 when none is queued. Headers w already has stay unless the
// answer sets them.
func (l *Log[R]) Fault(w http.ResponseWriter) int {
	l.mu.Lock()
	if len(l.faults) == 0 {
		l.mu.Unlock()
		return 0
	}
	fault := l.faults[0]
	l.faults = l.faults[1:]
	l.mu.Unlock()
	rec := httptest.NewRecorder()
	fault(rec)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
	return rec.Code
}

// Write answers code with body as it is, of contentType, with header
// (name, value pairs), and returns code.
func Write(w http.ResponseWriter, contentType string, code int, body string, header ...string) int {
	w.Header().Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		w.Header().Set(header[i], header[i+1])
	}
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
	return code
}
