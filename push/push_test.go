package push

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// buildEvent is event i of a test: build number i of builder linux.
func buildEvent(i int) status.Event {
	return status.Event{Kind: status.BuildStarted, Time: statustest.Epoch, Seq: uint64(i),
		Build: statustest.NewBuild("linux").Number(i).Build()}
}

// checkInOrder fails unless ps are packets 1..n, each once, in order, about
// builds 1..n.
func checkInOrder(t *testing.T, ps []Packet, first, n int) {
	t.Helper()
	if len(ps) != n {
		t.Fatalf("received %d packets, want %d", len(ps), n)
	}
	for i, p := range ps {
		want := first + i
		if p.ID != uint64(want) {
			t.Fatalf("packet %d has id %d, want %d (lost, repeated or reordered)", i, p.ID, want)
		}
		var pl struct {
			Build struct {
				Number int `json:"number"`
			} `json:"build"`
		}
		if err := json.Unmarshal(p.Payload, &pl); err != nil || pl.Build.Number != want {
			t.Fatalf("packet %d is about build %d (%v), want %d", p.ID, pl.Build.Number, err, want)
		}
	}
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

func fastOptions() Options {
	return Options{BufferDelay: 5 * time.Millisecond, RetryDelay: 5 * time.Millisecond, MaxRetryDelay: 40 * time.Millisecond}
}

// TestOutage: the receiver answers 503 for a while, then is gone (connection
// refused), then comes back on the same address. 10,000 events published
// through a Hub meanwhile all arrive once, in order, in batches within the
// limits, with the queue spilling to disk.
func TestOutage(t *testing.T) {
	const n, chunk, maxBytes = 10_000, 200, 64 << 10
	rc := newReceiver(t, Form, chunk, maxBytes)
	rc.setMode(func([]Packet) int { return http.StatusServiceUnavailable })
	srv := serve(t, rc, "")
	addr := srv.Listener.Addr().String()

	at := &attempts{base: http.DefaultTransport.(*http.Transport).Clone(), notify: make(chan struct{}, 1)}
	o := fastOptions()
	o.Dir, o.MaxMemoryItems, o.ChunkSize, o.MaxRequestBytes = t.TempDir(), 1000, chunk, maxBytes
	p, err := HTTP(srv.URL+"/submit", HTTPOptions{Options: o, Client: &http.Client{Transport: at, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	hub := status.NewHub(status.HubOptions{})
	hub.Add(p, status.WithQueueSize(n+1))

	for i := 1; i <= 3000; i++ {
		hub.Publish(buildEvent(i))
	}
	at.waitFailures(t, 3) // refused with 503, retried
	srv.Close()           // now connections are refused
	for i := 3001; i <= 7000; i++ {
		hub.Publish(buildEvent(i))
	}
	at.waitFailures(t, 3)
	rc.setMode(nil)
	serve(t, rc, addr) // back on the same address
	for i := 7001; i <= n; i++ {
		hub.Publish(buildEvent(i))
	}
	rc.wait("every packet", 60*time.Second, func(rc *receiver) bool { return len(rc.got) >= n })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	checkInOrder(t, rc.packets(), 1, n)
	st := p.Stats()
	if st.Sent != n || st.Dropped != 0 || st.Rejected != 0 || st.Retried == 0 || st.QueuedMemory+st.QueuedDisk != 0 {
		t.Errorf("Stats = %+v, want %d sent, some retried, nothing dropped or queued", st, n)
	}
	if hs := hub.Stats()[0]; hs.Dropped != 0 || hs.Failed != 0 {
		t.Errorf("Hub dropped or failed events: %+v", hs)
	}
}

// deadAddress returns a loopback address nobody listens on.
func deadAddress(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestRestart: with Dir set, 5,000 events queued while the receiver is down
// survive Close; a new Pusher on the same Dir sends them all, in order, and
// goes on with new ids.
func TestRestart(t *testing.T) {
	const n = 5000
	dir := t.TempDir()
	addr := deadAddress(t)
	o := fastOptions()
	o.Dir = dir
	o.MaxMemoryItems = 3000 // some in memory, some spilled
	p, err := HTTP("http://"+addr+"/submit", HTTPOptions{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if err := p.Report(context.Background(), buildEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Dropped != 0 || st.Sent != 0 {
		t.Fatalf("first Pusher: %+v, want nothing sent or dropped", st)
	}

	rc := newReceiver(t, Form, 200, 1<<20)
	serve(t, rc, addr)
	p2, err := HTTP("http://"+addr+"/submit", HTTPOptions{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	if st := p2.Stats(); st.QueuedDisk+st.QueuedMemory != n && st.Sent == 0 {
		t.Errorf("second Pusher starts with %+v queued, want %d", st, n)
	}
	rc.wait("the saved packets", 30*time.Second, func(rc *receiver) bool { return len(rc.got) >= n })
	if err := p2.Report(context.Background(), buildEvent(n+1)); err != nil {
		t.Fatal(err)
	}
	rc.wait("a new packet", 10*time.Second, func(rc *receiver) bool { return len(rc.got) >= n+1 })
	if err := p2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkInOrder(t, rc.packets(), 1, n+1)

	// A third start finds nothing left to send.
	p3, err := New(Options{Dir: dir, Sink: func(context.Context, []Packet) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if st := p3.Stats(); st.QueuedDisk != 0 {
		t.Errorf("after everything was sent the disk still holds %d packets", st.QueuedDisk)
	}
	if err := p3.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestOverflow: past the limits the oldest packets are dropped, counted
// exactly and logged; the newest arrive.
func TestOverflow(t *testing.T) {
	for _, tc := range []struct {
		name          string
		dir           bool
		mem, disk     int
		total, remain int
	}{
		{name: "memory", mem: 100, total: 250, remain: 100},
		{name: "disk", dir: true, mem: 50, disk: 100, total: 300, remain: 150},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			var mu sync.Mutex
			var got []Packet
			o := Options{
				BufferDelay: time.Hour, // nothing leaves before Close
				ChunkSize:   1000, MaxMemoryItems: tc.mem, MaxDiskItems: tc.disk, Logger: logs.logger(),
				Sink: func(_ context.Context, ps []Packet) error {
					mu.Lock()
					got = append(got, ps...)
					mu.Unlock()
					return nil
				},
			}
			if tc.dir {
				o.Dir = t.TempDir()
			}
			p, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= tc.total; i++ {
				if err := p.Report(context.Background(), buildEvent(i)); err != nil {
					t.Fatal(err)
				}
			}
			st := p.Stats()
			if want := uint64(tc.total - tc.remain); st.Dropped != want || st.QueuedMemory+st.QueuedDisk != tc.remain {
				t.Errorf("Stats = %+v, want %d dropped and %d queued", st, want, tc.remain)
			}
			if tc.dir && (st.QueuedMemory > tc.mem || st.QueuedDisk > tc.disk) {
				t.Errorf("Stats = %+v exceed the limits %d/%d", st, tc.mem, tc.disk)
			}
			if err := p.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			checkInOrder(t, got, tc.total-tc.remain+1, tc.remain)
			out := logs.String()
			for _, want := range []string{"dropping the oldest queued packets", "dropped_total=1 ", "dropped_total=128 "} {
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestSplitAndPoison: 413 halves a batch down to the size the receiver
// takes; a packet refused alone with 413, and a batch refused with 400, are
// dropped, counted and logged, and everything after them still arrives.
func TestSplitAndPoison(t *testing.T) {
	const n = 60
	var logs logBuffer
	rc := newReceiver(t, JSON, 0, 0)
	rc.setMode(func(ps []Packet) int {
		for _, p := range ps {
			if p.ID == 17 {
				return http.StatusRequestEntityTooLarge
			}
			if p.ID == 40 {
				return http.StatusBadRequest
			}
		}
		if len(ps) > 4 {
			return http.StatusRequestEntityTooLarge
		}
		return http.StatusOK
	})
	srv := serve(t, rc, "")
	o := fastOptions()
	o.ChunkSize, o.Logger = 16, logs.logger()
	p, err := HTTP(srv.URL, HTTPOptions{Options: o, Format: JSON})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if err := p.Report(context.Background(), buildEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	var st Stats
	rc.wait("the last packet", 30*time.Second, func(rc *receiver) bool {
		return len(rc.got) > 0 && rc.got[len(rc.got)-1].ID == n
	})
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st = p.Stats()
	got := rc.packets()
	var ids []uint64
	for _, p := range got {
		ids = append(ids, p.ID)
	}
	// 17 alone is too large; 40 is in a batch of at most ChunkSize refused with 400.
	if len(ids) != n-int(st.Rejected) || st.Rejected < 2 || st.Rejected > 1+16 || st.Sent+st.Rejected != n {
		t.Fatalf("ids %v, stats %+v", ids, st)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("packets out of order: %v", ids)
		}
	}
	for _, id := range ids {
		if id == 17 || id == 40 {
			t.Fatalf("poison packet %d delivered: %v", id, ids)
		}
	}
	if !strings.Contains(logs.String(), "receiver refuses the packet alone as too large") ||
		!strings.Contains(logs.String(), "receiver refused the batch") {
		t.Errorf("drops not logged:\n%s", logs.String())
	}
}
