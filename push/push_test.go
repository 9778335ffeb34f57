package push

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// buildEvent is event i of a test: build number i of builder linux, with
// the id a Hub would give it.
func buildEvent(i int) status.Event {
	return status.Event{Kind: status.BuildStarted, Time: statustest.Epoch, Seq: uint64(i), ID: eventID(i),
		Build: statustest.NewBuild("linux").Number(i).Build()}
}

func eventID(i int) string { return fmt.Sprintf("hub-%d", i) }

func buildEvents(first, last int) []status.Event {
	var es []status.Event
	for i := first; i <= last; i++ {
		es = append(es, buildEvent(i))
	}
	return es
}

// checkInOrder fails unless ps are the packets of events first..first+n-1,
// each once, in order.
func checkInOrder(t *testing.T, ps []Packet, first, n int) {
	t.Helper()
	require.Len(t, ps, n)
	for i, p := range ps {
		want := first + i
		require.Equal(t, eventID(want), p.ID, "packet %d (lost, repeated or reordered)", i)
		var pl struct {
			Build struct {
				Number int `json:"number"`
			} `json:"build"`
		}
		require.NoError(t, json.Unmarshal(p.Payload, &pl))
		require.Equal(t, want, pl.Build.Number, "packet %s", p.ID)
	}
}

// deadAddress returns a loopback address nobody listens on.
func deadAddress(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// newLogger logs at debug level to w.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestClassification: what ReportBatch returns for each answer of the
// receiver, which is what the Hub acts on.
func TestClassification(t *testing.T) {
	for _, tc := range []struct {
		name      string
		code      int
		header    http.Header
		retryable bool
		after     time.Duration
		rejected  uint64
	}{
		{name: "ok", code: http.StatusOK},
		{name: "accepted", code: http.StatusNoContent},
		{name: "unavailable", code: http.StatusServiceUnavailable, retryable: true},
		{name: "internal error", code: http.StatusInternalServerError, retryable: true},
		{name: "rate limited", code: http.StatusTooManyRequests, header: http.Header{"Retry-After": {"7"}}, retryable: true, after: 7 * time.Second},
		{name: "bad request", code: http.StatusBadRequest, rejected: 3},
		{name: "forbidden", code: http.StatusForbidden, rejected: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header()[k] = v
				}
				w.WriteHeader(tc.code)
			}), "")
			p, err := New(Options{URL: srv.URL, Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			err = p.ReportBatch(context.Background(), buildEvents(1, 3))
			st := p.Stats()
			assert.Equal(t, tc.rejected, st.Rejected)
			switch {
			case tc.code/100 == 2:
				require.NoError(t, err)
				assert.Equal(t, Stats{Sent: 3, Batches: 1}, st)
			case tc.retryable:
				require.Error(t, err)
				after, ok := status.RetryAfter(err)
				assert.True(t, ok, "%v is retryable", err)
				assert.Equal(t, tc.after, after)
			default:
				require.Error(t, err)
				assert.False(t, status.IsRetryable(err), "%v is permanent", err)
				assert.Contains(t, err.Error(), "refused 3 of 3 packets")
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		p, err := New(Options{URL: "http://" + deadAddress(t) + "/submit"})
		require.NoError(t, err)
		err = p.ReportBatch(context.Background(), buildEvents(1, 3))
		assert.True(t, status.IsRetryable(err), "%v is retryable", err)
	})
}

// TestSplitAndPoison: 413 halves a batch down to the size the receiver
// takes; a packet refused alone with 413, and a request refused with 400,
// are dropped, counted and logged, everything else of the batch still
// arrives, in order, and the batch's error says what was lost.
func TestSplitAndPoison(t *testing.T) {
	const n = 60
	var logs testkit.Buffer
	rc := newReceiver(t, JSON, 0, 0)
	rc.setMode(func(ps []Packet) int {
		for _, p := range ps {
			switch p.ID {
			case eventID(17):
				return http.StatusRequestEntityTooLarge
			case eventID(40):
				return http.StatusBadRequest
			}
		}
		if len(ps) > 4 {
			return http.StatusRequestEntityTooLarge
		}
		return http.StatusOK
	})
	srv := serve(t, rc, "")
	p, err := New(Options{URL: srv.URL, ChunkSize: n, Logger: newLogger(&logs), Format: JSON})
	require.NoError(t, err)
	assert.Equal(t, n, p.MaxBatch())

	err = p.ReportBatch(context.Background(), buildEvents(1, n))
	require.Error(t, err)
	assert.False(t, status.IsRetryable(err))
	st := p.Stats()
	// 17 alone; 40 in a request of at most 4 refused with 400.
	assert.Contains(t, err.Error(), fmt.Sprintf("refused %d of %d packets", st.Rejected, n))
	assert.Equal(t, uint64(n), st.Sent+st.Rejected)
	assert.GreaterOrEqual(t, st.Rejected, uint64(2))
	assert.LessOrEqual(t, st.Rejected, uint64(1+4))
	assert.NotZero(t, st.Split)

	got := rc.packets()
	assert.Len(t, got, n-int(st.Rejected))
	seen := map[string]bool{}
	last := 0
	for _, p := range got {
		var i int
		_, err := fmt.Sscanf(p.ID, "hub-%d", &i)
		require.NoError(t, err)
		require.Greater(t, i, last, "packets out of order")
		last = i
		seen[p.ID] = true
	}
	assert.False(t, seen[eventID(17)] || seen[eventID(40)], "a poison packet was delivered")
	assert.Contains(t, logs.String(), "receiver refuses the packet alone as too large")
	assert.Contains(t, logs.String(), "receiver refused the batch")

	// The receiver's limit is remembered: the next batch costs at most one
	// 413 (trying twice the limit).
	splits := st.Split
	require.NoError(t, p.ReportBatch(context.Background(), buildEvents(n+1, n+n)))
	assert.LessOrEqual(t, p.Stats().Split, splits+1)
	assert.Len(t, rc.packets(), 2*n-int(st.Rejected))
}

// TestRetryAfterPartialDelivery: when a request fails transiently after
// others of the batch were delivered, the error says how far the batch got,
// so the Hub's retry sends only what the receiver lacks.
func TestRetryAfterPartialDelivery(t *testing.T) {
	rc := newReceiver(t, Form, 0, 0)
	requests := 0
	rc.setMode(func(ps []Packet) int {
		requests++
		switch {
		case len(ps) > 10:
			return http.StatusRequestEntityTooLarge
		case requests == 5: // the third request of 10
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	srv := serve(t, rc, "")
	p, err := New(Options{URL: srv.URL, ChunkSize: 40})
	require.NoError(t, err)
	events := buildEvents(1, 40)
	err = p.ReportBatch(context.Background(), events)
	require.True(t, status.IsRetryable(err), "%v", err)
	var be *status.BatchError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, 20, be.Settled)
	assert.Zero(t, be.Refused)
	assert.Len(t, rc.packets(), 20)

	require.NoError(t, p.ReportBatch(context.Background(), events[be.Settled:]))
	checkInOrder(t, rc.packets(), 1, 40)

	// Other events after a failure are sent whole.
	require.NoError(t, p.ReportBatch(context.Background(), buildEvents(41, 45)))
	checkInOrder(t, rc.packets(), 1, 45)
}

// TestReportBatchHonoursContext: a receiver that never answers cannot hold
// ReportBatch past its context.
func TestReportBatchHonoursContext(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
	}), "")
	t.Cleanup(func() { close(release) }) // before the server closes
	p, err := New(Options{URL: srv.URL})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-entered // the request is in flight
		cancel()
	}()
	err = p.ReportBatch(ctx, buildEvents(1, 10))
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, p.Close(context.Background()))
}

// TestOutage: through a Hub, the receiver answers 503 for a while, then is
// gone (connection refused), then comes back on the same address: 3,000
// events published meanwhile all arrive once, in order, in requests within
// the limits.
func TestOutage(t *testing.T) {
	const n, chunk, maxBytes = 3000, 200, 64 << 10
	rc := newReceiver(t, Form, chunk, maxBytes)
	rc.setMode(func([]Packet) int { return http.StatusServiceUnavailable })
	srv := serve(t, rc, "")
	addr := srv.Listener.Addr().String()

	at := &attempts{base: http.DefaultTransport.(*http.Transport).Clone(), notify: make(chan struct{}, 1)}
	p, err := New(Options{URL: srv.URL + "/submit", ChunkSize: chunk, MaxRequestBytes: maxBytes,
		Client: &http.Client{Transport: at, Timeout: 10 * time.Second}})
	require.NoError(t, err)
	hub := status.NewHub(status.HubOptions{})
	hub.Add(p, status.WithQueueSize(n+1),
		status.WithRetry(status.RetryPolicy{Initial: 5 * time.Millisecond, Max: 40 * time.Millisecond, MaxElapsed: time.Minute}))

	for i := 1; i <= 1000; i++ {
		hub.Publish(buildEvent(i))
	}
	at.waitFailures(t, 3) // refused with 503, retried
	srv.Close()           // now connections are refused
	for i := 1001; i <= 2000; i++ {
		hub.Publish(buildEvent(i))
	}
	at.waitFailures(t, 3)
	rc.setMode(nil)
	serve(t, rc, addr) // back on the same address
	for i := 2001; i <= n; i++ {
		hub.Publish(buildEvent(i))
	}
	rc.wait("every packet", 60*time.Second, func(rc *receiver) bool { return len(rc.got) >= n })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, hub.Shutdown(ctx))
	got := rc.packets()
	for i := range got {
		got[i].ID = eventID(i + 1) // the Hub gave its own ids; order is what counts here
	}
	checkInOrder(t, got, 1, n)
	hs := hub.Stats()[0]
	assert.Zero(t, hs.Dropped)
	assert.Zero(t, hs.Failed)
	assert.NotZero(t, hs.Retried)
}

// attempts is an http.RoundTripper that reports every failed attempt.
type attempts struct {
	base   http.RoundTripper
	mu     sync.Mutex
	failed int
	notify chan struct{}
}

func (a *attempts) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.base.RoundTrip(r)
	if err != nil || resp.StatusCode/100 != 2 {
		a.mu.Lock()
		a.failed++
		a.mu.Unlock()
		select {
		case a.notify <- struct{}{}:
		default:
		}
	}
	return resp, err
}

// waitFailures waits for n more failed attempts.
func (a *attempts) waitFailures(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-a.notify:
		case <-time.After(30 * time.Second):
			t.Fatal("no failed attempt reached the receiver")
		}
	}
}

// Through a Hub, a batch in which the receiver refused some packets for
// good counts exactly those as failed and the others as delivered.
func TestHubCountsRefusedPacketsExactly(t *testing.T) {
	rc := newReceiver(t, JSON, 0, 0)
	rc.setMode(func(ps []Packet) int {
		for _, p := range ps {
			if strings.HasSuffix(p.ID, "-7") {
				return http.StatusBadRequest
			}
		}
		return http.StatusOK
	})
	srv := serve(t, rc, "")
	p, err := New(Options{URL: srv.URL, ChunkSize: 10, Format: JSON, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	h := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, h.Add(p))
	const n = 30
	for i := 1; i <= n; i++ {
		h.Publish(buildEvent(i))
	}
	require.NoError(t, h.Shutdown(context.Background()))
	st, hs := p.Stats(), h.Stats()[0]
	require.Positive(t, st.Rejected)
	assert.Equal(t, st.Rejected, hs.Failed, "the Hub counts what the receiver refused, not the whole batch")
	assert.Equal(t, uint64(n), hs.Delivered+hs.Failed)
	assert.Len(t, rc.packets(), n-int(st.Rejected))
}
