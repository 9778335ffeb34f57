package status_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

func quietHub(t testing.TB, o status.HubOptions) *status.Hub {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := status.NewHub(o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
	})
	return h
}

func statsOf(h *status.Hub, name string) status.ReporterStats {
	for _, s := range h.Stats() {
		if s.Name == name {
			return s
		}
	}
	return status.ReporterStats{}
}

// blocker blocks every Report until release is closed or its context ends.
type blocker struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func newBlocker() *blocker {
	return &blocker{entered: make(chan struct{}), release: make(chan struct{})}
}

func (b *blocker) Report(ctx context.Context, e status.Event) error {
	b.once.Do(func() { close(b.entered) })
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestHubBlockedReporterDoesNotBlockOthers(t *testing.T) {
	const n, queue = 10000, 100
	h := quietHub(t, status.HubOptions{QueueSize: queue})
	blocked := newBlocker()
	var a, b statustest.Recorder
	h.Add(blocked, status.WithName("blocked"))
	h.Add(&a, status.WithName("a"), status.WithQueueSize(n))
	h.Add(&b, status.WithName("b"), status.WithQueueSize(n))

	h.Publish(status.Event{Kind: status.MasterStarted})
	<-blocked.entered // the blocked reporter holds the first event from now on
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := 1; i < n; i++ {
			h.Publish(status.Event{Kind: status.ChangeAdded, Change: &status.Change{ID: int64(i)}})
		}
	}()
	select {
	case <-published:
	case <-time.After(20 * time.Second):
		t.Fatal("Publish blocked behind a blocked reporter")
	}
	for _, r := range []*statustest.Recorder{&a, &b} {
		evs, err := r.Wait(n, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range evs {
			if e.Seq != uint64(i+1) {
				t.Fatalf("event %d has seq %d: order lost", i, e.Seq)
			}
		}
	}
	// Lifecycle events are never shed: the queue grows to 16× its size,
	// and only past that is the oldest dropped, counted.
	const hard = 16 * queue
	st := statsOf(h, "blocked")
	if st.Published != n || st.Queued != hard || st.Dropped != n-hard-1 || st.Shed != 0 {
		t.Errorf("blocked stats = %+v; want published %d, queued %d, dropped %d", st, n, hard, n-hard-1)
	}
	close(blocked.release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if st := statsOf(h, "a"); st.Delivered != n || st.Dropped != 0 {
		t.Errorf("a stats = %+v", st)
	}
	// The queue kept the newest events: the last delivered one is the last published.
	if st := statsOf(h, "blocked"); st.Delivered != hard+1 || st.Queued != 0 {
		t.Errorf("after release: %+v, want %d delivered", st, hard+1)
	}
}

func TestHubRetriesHonourAfter(t *testing.T) {
	const after = 30 * time.Millisecond
	h := quietHub(t, status.HubOptions{})
	var mu sync.Mutex
	var calls []time.Time
	done := make(chan struct{})
	h.Add(status.ReporterFunc(func(ctx context.Context, e status.Event) error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, time.Now())
		if len(calls) <= 5 {
			return status.Retryable(errors.New("503 Service Unavailable"), after)
		}
		close(done)
		return nil
	}), status.WithName("flaky"))
	h.Publish(status.Event{Kind: status.MasterStarted})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("event never delivered")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 6 {
		t.Fatalf("%d calls, want 6 (5 failures + 1 success)", len(calls))
	}
	for i := 1; i < len(calls); i++ {
		if gap := calls[i].Sub(calls[i-1]); gap < after {
			t.Errorf("retry %d came after %v, want >= %v", i, gap, after)
		}
	}
	st := statsOf(h, "flaky")
	if st.Retried != 5 || st.Delivered != 1 || st.Failed != 0 || !strings.Contains(st.LastError, "503") {
		t.Errorf("stats = %+v", st)
	}
}

// In a synctest bubble time is virtual, so the backoff can be checked
// exactly: 5, 10, 20, 40, 40 ms, then the next wait would pass MaxElapsed.
func TestHubBackoffGrowsAndGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		policy := status.RetryPolicy{Initial: 5 * time.Millisecond, Multiplier: 2, Max: 40 * time.Millisecond,
			MaxElapsed: 150 * time.Millisecond, Jitter: -1}
		h := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler)})
		start := time.Now()
		var calls []time.Duration
		var rec statustest.Recorder
		require.NoError(t, h.Add(status.ReporterFunc(func(ctx context.Context, e status.Event) error {
			if e.Kind == status.MasterStopping {
				return rec.Report(ctx, e)
			}
			calls = append(calls, time.Since(start))
			return status.Retryable(errors.New("connection refused"), 0)
		}), status.WithName("down"), status.WithRetry(policy)))
		h.Publish(status.Event{Kind: status.MasterStarted})
		h.Publish(status.Event{Kind: status.MasterStopping})
		require.NoError(t, h.Shutdown(context.Background()))

		ms := time.Millisecond
		assert.Equal(t, []time.Duration{0, 5 * ms, 15 * ms, 35 * ms, 75 * ms, 115 * ms}, calls)
		assert.Equal(t, 1, rec.Len(), "the next event is delivered after giving up")
		st := statsOf(h, "down")
		assert.Equal(t, uint64(1), st.Failed)
		assert.Equal(t, uint64(1), st.Delivered)
		assert.Equal(t, uint64(5), st.Retried)
	})
}

func TestHubPermanentErrorNotRetried(t *testing.T) {
	var logs bytes.Buffer
	h := quietHub(t, status.HubOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	var rec statustest.Recorder
	rec.Err = func(e status.Event) error {
		if e.Kind == status.MasterStarted {
			return errors.New("422 Unprocessable Entity")
		}
		return nil
	}
	h.Add(&rec, status.WithName("rec"))
	h.Publish(status.Event{Kind: status.MasterStarted})
	h.Publish(status.Event{Kind: status.MasterStopping})
	if _, err := rec.Wait(2, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	_ = h.Shutdown(context.Background())
	if st := statsOf(h, "rec"); st.Failed != 1 || st.Retried != 0 || st.Delivered != 1 || st.LastError == "" {
		t.Errorf("stats = %+v", st)
	}
	if rec.Len() != 2 {
		t.Errorf("%d calls, want 2: a permanent error must not be retried", rec.Len())
	}
	if !strings.Contains(logs.String(), "422") {
		t.Errorf("permanent failure not logged: %s", logs.String())
	}
}

func TestHubRecoversPanics(t *testing.T) {
	h := quietHub(t, status.HubOptions{})
	var rec statustest.Recorder
	h.Add(status.ReporterFunc(func(ctx context.Context, e status.Event) error {
		if e.Kind == status.MasterStarted {
			panic("nil map")
		}
		return rec.Report(ctx, e)
	}), status.WithName("panicky"))
	h.Publish(status.Event{Kind: status.MasterStarted})
	h.Publish(status.Event{Kind: status.MasterStopping})
	if _, err := rec.Wait(1, 5*time.Second); err != nil {
		t.Fatal("reporter dead after a panic: ", err)
	}
	_ = h.Shutdown(context.Background())
	if st := statsOf(h, "panicky"); st.Panics != 1 || st.Failed != 1 || st.Delivered != 1 || !strings.Contains(st.LastError, "nil map") {
		t.Errorf("stats = %+v", st)
	}
}

type closeRecorder struct {
	statustest.Recorder
	closeCtxErr error
}

func (c *closeRecorder) Close(ctx context.Context) error {
	c.closeCtxErr = ctx.Err()
	return c.Recorder.Close(ctx)
}

func TestHubShutdownDrainsAndCloses(t *testing.T) {
	h := quietHub(t, status.HubOptions{})
	slow := &closeRecorder{}
	slow.Err = func(status.Event) error { time.Sleep(time.Millisecond); return nil } // a slow target, not synchronisation
	h.Add(slow, status.WithName("slow"))
	for i := range 100 {
		h.Publish(status.Event{Kind: status.ChangeAdded, Change: &status.Change{ID: int64(i)}})
	}
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if slow.Len() != 100 || !slow.Closed() || slow.closeCtxErr != nil {
		t.Errorf("delivered %d of 100, closed %v (ctx %v)", slow.Len(), slow.Closed(), slow.closeCtxErr)
	}
	if err := h.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown = %v", err)
	}
	h.Publish(status.Event{Kind: status.MasterStopping})
	if st := statsOf(h, "slow"); st.Published != 100 {
		t.Errorf("an event published after Shutdown was queued: %+v", st)
	}
}

func TestHubShutdownDeadline(t *testing.T) {
	before := runtime.NumGoroutine()
	h := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler)})
	blocked := newBlocker()
	closer := &closeRecorder{}
	h.Add(blocked, status.WithName("blocked"))
	h.Add(closer, status.WithName("closer"))
	for range 5 {
		h.Publish(status.Event{Kind: status.MasterStarted})
	}
	<-blocked.entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := h.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	if !closer.Closed() {
		t.Error("Closer not closed when Shutdown ran out of time")
	}
	if st := statsOf(h, "blocked"); st.Dropped != 5 || st.Delivered != 0 {
		t.Errorf("blocked stats = %+v: want the in-flight and 4 queued events counted as dropped", st)
	}
	if err2 := h.Shutdown(context.Background()); !errors.Is(err2, context.DeadlineExceeded) {
		t.Errorf("second Shutdown = %v, want the first's result", err2)
	}
	waitGoroutines(t, before)
}

func TestHubLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	h := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler)})
	for range 10 {
		h.Add(&statustest.Recorder{})
	}
	for range 1000 {
		h.Publish(status.Event{Kind: status.MasterStarted})
	}
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitGoroutines(t, before)
}

func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(5 * time.Millisecond) // polling the runtime, not synchronising
	}
}

func TestHubFilterBeforeQueue(t *testing.T) {
	h := quietHub(t, status.HubOptions{})
	var rec statustest.Recorder
	h.Add(status.Filter(&rec, status.Builders("linux")), status.WithName("linux-only"))
	var all statustest.Recorder
	h.Add(&all, status.WithMatch(status.Kinds(status.BuildFinished)), status.WithName("finished"))
	for _, b := range []string{"linux", "docs", "linux"} {
		for _, e := range statustest.NewBuild(b).Step("compile", status.Success).Succeeded().Events() {
			h.Publish(e)
		}
	}
	_ = h.Shutdown(context.Background())
	if st := statsOf(h, "linux-only"); st.Published != 14 || rec.Len() != 14 {
		t.Errorf("linux-only: %+v, %d recorded; want 14 queued", st, rec.Len())
	}
	if st := statsOf(h, "finished"); st.Published != 3 {
		t.Errorf("finished: %+v", st)
	}
}

func TestHubConcurrentPublishersKeepOrder(t *testing.T) {
	h := quietHub(t, status.HubOptions{QueueSize: 10000})
	var rec statustest.Recorder
	h.Add(&rec)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				h.Publish(status.Event{Kind: status.ChangeAdded, Change: &status.Change{ID: int64(g*1000 + i)}})
			}
		}()
	}
	wg.Wait()
	evs, err := rec.Wait(2000, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	last := map[int64]int64{}
	for i, e := range evs {
		if e.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
		g := e.Change.ID / 1000
		if prev, ok := last[g]; ok && e.Change.ID <= prev {
			t.Fatalf("publisher %d's events out of order", g)
		}
		last[g] = e.Change.ID
	}
}

func TestHubStampsEvents(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	h := quietHub(t, status.HubOptions{Master: "m1", Now: func() time.Time { return now }})
	var rec statustest.Recorder
	h.Add(&rec)
	h.Publish(status.Event{Kind: status.MasterStarted})
	h.Publish(status.Event{Kind: status.MasterStarted, Master: "other", Time: now.Add(time.Hour)})
	evs, err := rec.Wait(2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].Master != "m1" || !evs[0].Time.Equal(now) || evs[1].Master != "other" || !evs[1].Time.Equal(now.Add(time.Hour)) {
		t.Errorf("events = %+v / %+v", evs[0], evs[1])
	}
}

func TestHubAttemptTimeoutIsRetried(t *testing.T) {
	h := quietHub(t, status.HubOptions{AttemptTimeout: 20 * time.Millisecond,
		Retry: status.RetryPolicy{Initial: time.Millisecond, Jitter: -1}})
	var mu sync.Mutex
	n := 0
	var rec statustest.Recorder
	h.Add(status.ReporterFunc(func(ctx context.Context, e status.Event) error {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			<-ctx.Done() // hangs until the Hub's attempt timeout
			return fmt.Errorf("send: %w", ctx.Err())
		}
		return rec.Report(ctx, e)
	}), status.WithName("hangs-once"))
	h.Publish(status.Event{Kind: status.MasterStarted})
	if _, err := rec.Wait(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := h.Shutdown(context.Background()); err != nil { // settles the counters
		t.Fatal(err)
	}
	if st := statsOf(h, "hangs-once"); st.Retried != 1 || st.Delivered != 1 {
		t.Errorf("stats = %+v", st)
	}
}
