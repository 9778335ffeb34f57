package testkit

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
)

// LogLine is what a test checks of a logged line: its level ("DEBUG",
// "WARN"...), message, and the reporter attribute a Hub's logger adds for
// the reporter it hands it to (status.Logging).
type LogLine struct {
	Level, Msg, Reporter string
}

// Logs keeps the lines logged through the logger NewLogs returned, at
// every level. Safe for concurrent use.
type Logs struct {
	mu      sync.Mutex
	lines   []LogLine
	changed chan struct{} // closed and replaced at each line
}

// NewLogs returns a logger that takes every level and the Logs that keeps
// its lines.
func NewLogs() (*slog.Logger, *Logs) {
	l := &Logs{changed: make(chan struct{})}
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})), l
}

// Write takes one line of the JSON handler.
func (l *Logs) Write(p []byte) (int, error) {
	var line LogLine
	if err := json.Unmarshal(p, &line); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// Lines returns the lines so far.
func (l *Logs) Lines() []LogLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]LogLine(nil), l.lines...)
}

// WaitFor waits until a line equal to want was logged, failing the test
// after a minute.
func (l *Logs) WaitFor(t testing.TB, want LogLine) {
	t.Helper()
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for seen := 0; ; {
		l.mu.Lock()
		lines, changed := l.lines[seen:], l.changed
		seen = len(l.lines)
		l.mu.Unlock()
		for _, line := range lines {
			if line == want {
				return
			}
		}
		select {
		case <-changed:
		case <-timeout.C:
			t.Fatalf("no line %+v logged in a minute; lines: %+v", want, l.Lines())
		}
	}
}

// LoggingHub adds r, made with no logger of its own, to a Hub that logs
// into the Logs it returns, and shuts the Hub down (closing r) when the test
// ends: what a target's test reads to check that it logs through the Hub's
// logger, its lines carrying the reporter attribute (status.Logging).
func LoggingHub(t testing.TB, r status.Reporter, opts ...status.AddOption) (*status.Hub, *Logs) {
	t.Helper()
	log, logs := NewLogs()
	hub := status.NewHub(status.HubOptions{Logger: log})
	if err := hub.Add(r, opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return hub, logs
}

// HubLog publishes events through a LoggingHub of r, shuts it down and
// returns the lines logged.
func HubLog(t testing.TB, r status.Reporter, events ...status.Event) []LogLine {
	t.Helper()
	hub, logs := LoggingHub(t, r)
	for _, e := range events {
		hub.Publish(e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	return logs.Lines()
}

// FailingServer is an HTTP server that answers every request 503, each
// only once release was called: a bot that polls it from its constructor
// on fails first after the test has added it to a Hub. It is closed when
// the test ends.
func FailingServer(t testing.TB) (url string, release func()) {
	t.Helper()
	released := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-released:
		case <-r.Context().Done():
			return
		}
		http.Error(w, "down for a test", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, sync.OnceFunc(func() { close(released) })
}
