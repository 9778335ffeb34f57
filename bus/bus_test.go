package bus_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldci/herald/bus"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

var quiet = slog.New(slog.DiscardHandler)

// startServer runs an embedded nats-server with JetStream on loopback.
// port 0 picks one; dir holds the stream files across restarts.
func startServer(t testing.TB, dir string, port int) *server.Server {
	t.Helper()
	if port == 0 {
		port = -1
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir,
		NoLog: true, NoSigs: true, JetStreamMaxMemory: 64 << 20, JetStreamMaxStore: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

func port(s *server.Server) int { return s.Addr().(*net.TCPAddr).Port }

func connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond), nats.RetryOnFailedConnect(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func ensureStream(t testing.TB, js jetstream.JetStream) jetstream.Stream {
	t.Helper()
	st, err := bus.EnsureStream(context.Background(), js, bus.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// masterHub is a master's Hub publishing to JetStream.
func masterHub(t testing.TB, js jetstream.JetStream, name string) *status.Hub {
	t.Helper()
	p, err := bus.NewPublisher(bus.PublisherOptions{JetStream: js})
	if err != nil {
		t.Fatal(err)
	}
	h := status.NewHub(status.HubOptions{Logger: quiet, Master: name, QueueSize: 100000,
		Retry: status.RetryPolicy{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond}})
	h.Add(p)
	return h
}

func buildEvent(builder string, n int) status.Event {
	return status.Event{Kind: status.BuildStarted, Build: &status.Build{Builder: builder, Number: n}}
}

// checkOrder verifies that every (master, builder) stream of events arrived
// in publish order and returns how many distinct events arrived.
func checkOrder(t *testing.T, evs []status.Event) int {
	t.Helper()
	last := map[string]uint64{}
	seen := map[string]bool{}
	for _, e := range evs {
		k := e.Master + "/" + e.BuilderName()
		if e.Seq <= last[k] {
			t.Fatalf("%s: seq %d after %d: order lost or duplicate", k, e.Seq, last[k])
		}
		last[k] = e.Seq
		seen[fmt.Sprintf("%s/%d", e.Master, e.Seq)] = true
	}
	return len(seen)
}

func TestTwoMastersOneSubscriber(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	const perMaster = 5000
	var rec statustest.Recorder
	sub, err := bus.Subscribe(context.Background(), js, bus.SubscribeOptions{Durable: "front", Logger: quiet}, &rec)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close(context.Background())

	var wg sync.WaitGroup
	for _, m := range []string{"m1", "m2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, mjs := connect(t, srv.ClientURL())
			h := masterHub(t, mjs, m)
			for i := range perMaster {
				h.Publish(buildEvent(fmt.Sprintf("b.%d", i%5), i))
			}
			if err := h.Shutdown(context.Background()); err != nil {
				t.Error(err)
			}
			if st := h.Stats()[0]; st.Delivered != perMaster {
				t.Errorf("%s: %+v", m, st)
			}
		}()
	}
	wg.Wait()
	evs, err := rec.Wait(2*perMaster, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if n := checkOrder(t, evs); n != 2*perMaster || len(evs) != 2*perMaster {
		t.Errorf("%d distinct of %d delivered, want %d", n, len(evs), 2*perMaster)
	}
	if evs[0].Build == nil || evs[0].Build.Builder[:2] != "b." {
		t.Errorf("event decoded wrong: %+v", evs[0])
	}
	_ = sub.Close(context.Background()) // settles the counters
	if st := sub.Stats(); st.Delivered != 2*perMaster || st.Failed != 0 || st.Malformed != 0 {
		t.Errorf("subscription stats = %+v", st)
	}
}

func TestPublisherDuplicateIsDroppedByServer(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	_, js := connect(t, srv.ClientURL())
	st := ensureStream(t, js)
	p, err := bus.NewPublisher(bus.PublisherOptions{JetStream: js, Master: "m1"})
	if err != nil {
		t.Fatal(err)
	}
	e := buildEvent("linux", 1)
	e.Seq = 42
	for range 3 { // a retry after a lost ack publishes the same event again
		if err := p.Report(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("stream holds %d messages, want 1", info.State.Msgs)
	}
}

func TestSubscriberRestartResumes(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	const n = 3000
	h := masterHub(t, js, "m1")
	for i := range n {
		h.Publish(buildEvent(fmt.Sprintf("b%d", i%7), i))
	}
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	// First subscriber: its connection dies after about a third.
	nc1, js1 := connect(t, srv.ClientURL())
	var first statustest.Recorder
	sub1, err := bus.Subscribe(context.Background(), js1, bus.SubscribeOptions{Durable: "front", Logger: quiet, AckWait: 3 * time.Second}, &first)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Wait(n/3, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	nc1.Close() // killed: no goodbye
	_ = sub1.Close(context.Background())

	_, js2 := connect(t, srv.ClientURL())
	var second statustest.Recorder
	sub2, err := bus.Subscribe(context.Background(), js2, bus.SubscribeOptions{Durable: "front", Logger: quiet, AckWait: 3 * time.Second}, &second)
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Close(context.Background())

	got := map[uint64]bool{}
	for _, e := range first.Events() {
		got[e.Seq] = true
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range second.Events() {
			got[e.Seq] = true
		}
		if len(got) == n {
			break
		}
		_, _ = second.Wait(second.Len()+1, time.Second) // wakes on the next event
	}
	if len(got) != n {
		var missing []uint64
		for seq := uint64(1); seq <= n && len(missing) < 20; seq++ {
			if !got[seq] {
				missing = append(missing, seq)
			}
		}
		info := "?"
		if c, err := js2.Consumer(context.Background(), "HERALD", "front"); err == nil {
			if ci, err := c.Info(context.Background()); err == nil {
				info = fmt.Sprintf("ackPending=%d redelivered=%d pending=%d waiting=%d ackFloor=%d delivered=%d",
					ci.NumAckPending, ci.NumRedelivered, ci.NumPending, ci.NumWaiting, ci.AckFloor.Stream, ci.Delivered.Stream)
			}
		}
		t.Fatalf("%d of %d events delivered across the restart; missing %v; second's stats %+v; consumer %s",
			len(got), n, missing, sub2.Stats(), info)
	}
	// Per-builder order across a crash is not asserted: the resumed
	// subscriber waits out one AckWait so the server redelivers the dead
	// one's events first, but under load we still saw (about 1 run in 4)
	// a redelivered event arrive after a later one of the same builder.
	// Completeness is what holds; see the bus package doc.
	dups := first.Len() + second.Len() - n
	t.Logf("first %d, second %d, redelivered twice %d", first.Len(), second.Len(), dups)
	if dups > 1000 { // at most what was in flight (MaxAckPending) when the connection died
		t.Errorf("%d duplicates", dups)
	}
}

func TestServerRestartLosesNothing(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, 0)
	p := port(srv)
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	h := masterHub(t, js, "m1")
	const n = 2000
	for i := range n / 2 {
		h.Publish(buildEvent(fmt.Sprintf("b%d", i%3), i))
	}
	srv.Shutdown()
	srv.WaitForShutdown()
	for i := n / 2; i < n; i++ { // published while the server is down
		h.Publish(buildEvent(fmt.Sprintf("b%d", i%3), i))
	}
	srv2 := startServer(t, dir, p)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v (stats %+v)", err, h.Stats())
	}
	st := h.Stats()[0]
	if st.Delivered != n || st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("publisher stats = %+v", st)
	}
	t.Logf("publisher retried %d times across the restart", st.Retried)

	_, js2 := connect(t, srv2.ClientURL())
	var rec statustest.Recorder
	sub, err := bus.Subscribe(context.Background(), js2, bus.SubscribeOptions{Durable: "late", Logger: quiet}, &rec)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close(context.Background())
	evs, err := rec.Wait(n, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if d := checkOrder(t, evs); d != n {
		t.Errorf("%d distinct events, want %d", d, n)
	}
}

func TestSubscriberRetriesInOrderAndTerminatesPermanent(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	h := masterHub(t, js, "m1")
	for i := range 10 {
		h.Publish(buildEvent("linux", i))
	}
	_ = h.Shutdown(context.Background())

	var rec statustest.Recorder
	var mu sync.Mutex
	fails := 0
	rec.Err = func(e status.Event) error {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case e.Build.Number == 3 && fails < 3:
			fails++
			return status.Retryable(fmt.Errorf("busy"), 5*time.Millisecond)
		case e.Build.Number == 5:
			return fmt.Errorf("rejected")
		}
		return nil
	}
	sub, err := bus.Subscribe(context.Background(), js, bus.SubscribeOptions{Durable: "f", Logger: quiet}, &rec)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close(context.Background())
	evs, err := rec.Wait(13, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var nums []int
	for _, e := range evs {
		nums = append(nums, e.Build.Number)
	}
	if got := fmt.Sprint(nums); got != "[0 1 2 3 3 3 3 4 5 6 7 8 9]" {
		t.Errorf("delivery order = %s", got)
	}
	_ = sub.Close(context.Background()) // settles the counters
	if st := sub.Stats(); st.Retried != 3 || st.Failed != 1 || st.Delivered != 9 {
		t.Errorf("stats = %+v", st)
	}
}

func TestMalformedMessagesAreTerminated(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	nc, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	if _, err := js.Publish(context.Background(), "herald.buildStarted.x", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	h := masterHub(t, js, "m1")
	h.Publish(buildEvent("x", 1))
	_ = h.Shutdown(context.Background())
	var rec statustest.Recorder
	sub, err := bus.Subscribe(context.Background(), js, bus.SubscribeOptions{Durable: "f", Logger: quiet}, &rec)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close(context.Background())
	if _, err := rec.Wait(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if st := sub.Stats(); st.Malformed != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestOptionsValidated(t *testing.T) {
	if _, err := bus.NewPublisher(bus.PublisherOptions{}); err == nil {
		t.Error("NewPublisher without JetStream succeeded")
	}
	srv := startServer(t, t.TempDir(), 0)
	_, js := connect(t, srv.ClientURL())
	if _, err := bus.NewPublisher(bus.PublisherOptions{JetStream: js, Prefix: "a.>"}); err == nil {
		t.Error("wildcard prefix accepted")
	}
	if _, err := bus.Subscribe(context.Background(), js, bus.SubscribeOptions{}, &statustest.Recorder{}); err == nil {
		t.Error("Subscribe without Durable succeeded")
	}
}

func TestPublisherConformance(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	statustest.Conformance(t, func() status.Reporter {
		p, err := bus.NewPublisher(bus.PublisherOptions{JetStream: js, Master: "c"})
		if err != nil {
			t.Fatal(err)
		}
		return p
	})
}
