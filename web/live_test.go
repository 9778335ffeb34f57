package web

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// serveLoopback runs h on loopback until the test's end. Registered before the
// clients, it closes after them: Close waits for open streams.
func serveLoopback(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// sseClient is a real client on a stream served over loopback.
type sseClient struct {
	resp *http.Response
	br   *bufio.Reader
}

// dial opens path on srv and reads the stream's greeting, after which the
// server has registered the client.
func dial(t *testing.T, srv *httptest.Server, path string, header http.Header) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s: %s %s", path, resp.Status, resp.Header.Get("Content-Type"))
	}
	c := &sseClient{resp: resp, br: bufio.NewReader(resp.Body)}
	if hello := c.frame(t); !strings.HasPrefix(hello, "retry: 3000\n") {
		t.Fatalf("greeting %q", hello)
	}
	return c
}

// frame reads one message (up to its blank line).
func (c *sseClient) frame(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v (so far %q)", err, b.String())
		}
		if line == "\n" {
			return b.String()
		}
		b.WriteString(line)
	}
}

// event reads the next message's data as a liveEvent.
func (c *sseClient) event(t *testing.T) liveEvent {
	t.Helper()
	f := c.frame(t)
	i := strings.Index(f, "data: ")
	if i < 0 {
		t.Fatalf("message without data: %q", f)
	}
	var ev liveEvent
	if err := json.Unmarshal([]byte(strings.TrimSpace(f[i+6:])), &ev); err != nil {
		t.Fatalf("message data %q: %v", f, err)
	}
	return ev
}

func report(t *testing.T, r status.Reporter, evs ...status.Event) {
	t.Helper()
	for _, e := range evs {
		if err := r.Report(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLiveStream(t *testing.T) {
	s := newServer(t, viewsFixture(), Options{})
	srv := serveLoopback(t, s)

	all := dial(t, srv, "/events", nil)
	win := dial(t, srv, "/events?builder=windows", nil)
	unix := dial(t, srv, "/events?tag=unix", nil)

	linux := statustest.NewBuild("linux").Number(9).Tags("ci", "unix").Step("compile", status.Success).Failed()
	evs := linux.Events()
	ch := statustest.NewChange(7, "Carol <carol@example.org>")
	report(t, s, evs...)
	report(t, s,
		status.Event{Kind: status.BuildStarted, Time: t0, Build: statustest.NewBuild("windows").Number(3).Tags("ci").Build()},
		status.Event{Kind: status.ChangeAdded, Time: t0, Change: &ch})

	// The unfiltered stream gets everything but log text, in order.
	var kinds []string
	for range len(evs) - 1 + 2 {
		kinds = append(kinds, all.event(t).Kind)
	}
	want := "buildStarted stepStarted logStarted logFinished stepFinished buildFinished buildStarted changeAdded"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("kinds %q\nwant  %q", got, want)
	}
	// Filtered streams skip other builders but keep changes.
	if ev := win.event(t); ev.Kind != "buildStarted" || ev.Builder != "windows" || ev.Number == nil || *ev.Number != 3 {
		t.Errorf("windows stream: first event %+v", ev)
	}
	if ev := win.event(t); ev.Kind != "changeAdded" || ev.Change != 7 {
		t.Errorf("windows stream: second event %+v", ev)
	}
	first := unix.event(t)
	if first.Builder != "linux" || first.ID != 1 {
		t.Errorf("tag=unix stream: first event %+v", first)
	}
	for range 4 {
		unix.event(t)
	}
	if ev := unix.event(t); ev.Kind != "buildFinished" || ev.Result != "failure" {
		t.Errorf("tag=unix stream: build end %+v", ev)
	}
	if ev := unix.event(t); ev.Kind != "changeAdded" {
		t.Errorf("tag=unix stream: after linux, %+v (windows leaked?)", ev)
	}
}

func TestLiveReplay(t *testing.T) {
	f := newLiveFeed(liveOptions{Replay: 3, Logger: discardLogger()})
	defer f.Close(context.Background())
	srv := serveLoopback(t, f)
	for i := range 5 {
		report(t, f, status.Event{Kind: status.BuildStarted, Time: t0, Build: statustest.NewBuild("a").Number(i + 1).Build()})
	}
	// Ids 3, 4, 5 are kept: from 3 on, the rest is replayed.
	c := dial(t, srv, "/", http.Header{"Last-Event-ID": {"3"}})
	for _, want := range []int{4, 5} {
		if ev := c.event(t); *ev.Number != want || ev.ID != uint64(want) {
			t.Errorf("replayed %+v, want build %d", ev, want)
		}
	}
	// From 1, id 2 is gone: the page must resync.
	c = dial(t, srv, "/?last_event_id=1", nil)
	if ev := c.event(t); ev.Kind != "resync" {
		t.Errorf("after a gap: %+v, want resync", ev)
	}
	// An id from before a restart (ahead of the feed) too.
	c = dial(t, srv, "/", http.Header{"Last-Event-ID": {"999"}})
	if ev := c.event(t); ev.Kind != "resync" {
		t.Errorf("unknown id: %+v, want resync", ev)
	}
	// Up to date: nothing to replay, the next event comes live.
	c = dial(t, srv, "/", http.Header{"Last-Event-ID": {"5"}})
	report(t, f, status.Event{Kind: status.MasterStarted, Time: t0})
	if ev := c.event(t); ev.ID != 6 || ev.Kind != "masterStarted" {
		t.Errorf("live after replay: %+v", ev)
	}
}

// blockingWriter holds the first write of a stream until released, as a
// browser that stopped reading would.
type blockingWriter struct {
	header  http.Header
	entered chan struct{}
	release chan struct{}
	wrote   chan struct{} // signalled after each write
	once    sync.Once
	mu      sync.Mutex
	out     strings.Builder
}

func (w *blockingWriter) Header() http.Header { return w.header }
func (w *blockingWriter) WriteHeader(int)     {}
func (w *blockingWriter) Flush()              {}
func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered); <-w.release })
	w.mu.Lock()
	n, err := w.out.Write(p)
	w.mu.Unlock()
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return n, err
}
func (w *blockingWriter) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.out.String() }

func TestLiveSlowClient(t *testing.T) {
	f := newLiveFeed(liveOptions{Buffer: 2, Logger: discardLogger()})
	w := &blockingWriter{header: http.Header{}, entered: make(chan struct{}), release: make(chan struct{}), wrote: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.ServeHTTP(w, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
	}()
	<-w.entered // registered, and stuck writing its greeting
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		for i := range 10 {
			report(t, f, status.Event{Kind: status.BuildStarted, Time: t0, Build: statustest.NewBuild("a").Number(i + 1).Build()})
		}
	}()
	select { // a liveness bound: Report must not wait for the stuck browser at all
	case <-reported:
	case <-time.After(30 * time.Second):
		t.Fatal("Report blocked behind a stuck browser")
	}
	if got := f.b.Stats().Dropped; got != 8 {
		t.Errorf("dropped %d, want 8 (10 events, buffer 2)", got)
	}
	close(w.release)
	// Once it reads again it is told to resync, then gets what was kept,
	// then what comes next.
	waitFor := func(s string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for !strings.Contains(w.String(), s) {
			select {
			case <-deadline:
				t.Fatalf("stream never showed %s:\n%s", s, w.String())
			case <-w.wrote:
			}
		}
	}
	waitFor(`"id":2,`)
	report(t, f, status.Event{Kind: status.MasterStopping, Time: t0})
	waitFor(`"kind":"masterStopping"`)
	cancel()
	<-done
	out := w.String()
	r, one, two := strings.Index(out, `"kind":"resync"`), strings.Index(out, `"id":1,`), strings.Index(out, `"id":2,`)
	if r < 0 || one < r || two < one || strings.Contains(out, `"id":3,`) {
		t.Errorf("want resync, then ids 1 and 2 only:\n%s", out)
	}
}

func TestLiveClose(t *testing.T) {
	f := newLiveFeed(liveOptions{MaxClients: 2, Logger: discardLogger()})
	srv := serveLoopback(t, f)
	a := dial(t, srv, "/", nil)
	dial(t, srv, "/", nil)
	if resp, err := srv.Client().Get(srv.URL); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("third browser with MaxClients 2: %v %v", resp.Status, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := f.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := a.br.ReadString('\n'); err == nil {
		t.Error("stream still open after Close")
	}
	if resp, err := srv.Client().Get(srv.URL); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("after Close: %v %v", resp.Status, err)
	}
	// Closed feeds accept events and drop them.
	report(t, f, status.Event{Kind: status.MasterStarted})
	if err := f.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestLiveConformance(t *testing.T) {
	statustest.Conformance(t, func() status.Reporter { return newLiveFeed(liveOptions{Logger: discardLogger()}) })
}

func TestLiveKeepAlive(t *testing.T) {
	f := newLiveFeed(liveOptions{KeepAlive: 10 * time.Millisecond, Logger: discardLogger()})
	defer f.Close(context.Background())
	srv := serveLoopback(t, f)
	c := dial(t, srv, "/", nil)
	if got := c.frame(t); got != ": keep-alive\n" {
		t.Errorf("idle stream sent %q", got)
	}
}

// A Server listening itself closes with live pages open: the streams end
// first, so Shutdown does not wait for them.
func TestServerCloseEndsStreams(t *testing.T) {
	s, err := New(Options{History: viewsFixture(), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "retry: 3000\n" {
		t.Fatalf("stream greeting %q, %v", line, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil { // ctx bounds it: a Close that waits for the page fails here
		t.Fatalf("Close with a live page open: %v", err)
	}
	if err := <-served; err != http.ErrServerClosed {
		t.Errorf("Serve returned %v", err)
	}
	if _, err := io.ReadAll(br); err != nil {
		t.Logf("stream ended with %v", err)
	}
}
