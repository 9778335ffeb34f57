package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/testkit"
)

func TestDemoChangeHookTriggersBuild(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	out := &watchWriter{patterns: map[string]chan struct{}{
		"change hooks: curl": make(chan struct{}),
		// The console line of a build of the posted change: revision and author.
		"[feedbee] Hook Tester": make(chan struct{}),
	}}
	var errs testkit.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-speed", "50", "-seed", "7", "-addr", addr}, out, &errs)
	}()
	wait := func(pattern string) {
		t.Helper()
		select {
		case <-out.patterns[pattern]:
		case err := <-done:
			t.Fatalf("demo stopped before %q: %v", pattern, err)
		case <-time.After(20 * time.Second):
			t.Fatalf("no %q in the output:\n%s", pattern, out.String())
		}
	}
	wait("change hooks: curl")
	resp, err := http.PostForm("http://"+addr+"/change_hook/base", url.Values{
		"author": {"Hook Tester <hook@example.org>"}, "revision": {"feedbeef"}, "branch": {"main"}, "comments": {"via curl"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "1 change(s) accepted") {
		t.Fatalf("POST /change_hook/base: %d %q", resp.StatusCode, body)
	}
	wait("[feedbee] Hook Tester")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// watchWriter closes a pattern's channel once the output contains it.
type watchWriter struct {
	patterns map[string]chan struct{} // not changed after the start

	mu    sync.Mutex
	buf   bytes.Buffer
	fired map[string]bool
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	for pat, ch := range w.patterns {
		if !w.fired[pat] && bytes.Contains(w.buf.Bytes(), []byte(pat)) {
			close(ch)
			if w.fired == nil {
				w.fired = map[string]bool{}
			}
			w.fired[pat] = true
		}
	}
	return n, err
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
