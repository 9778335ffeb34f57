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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectBufSize(-1),
		nats.ReconnectWait(20*time.Millisecond), nats.RetryOnFailedConnect(true))
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
	require.NoError(t, err)
	require.Len(t, st, 1)
	return st[0]
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
	require.NoError(t, h.Add(p))
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
		seen[e.ID] = true
	}
	return len(seen)
}

func TestTwoMastersOneSubscriber(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	const perMaster = 5000
	var front statustest.Recorder // stands for the front end's Hub
	sub, err := bus.Subscribe(context.Background(), js, bus.SubscribeOptions{Durable: "front", Logger: quiet}, &front)
	require.NoError(t, err)
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
			assert.NoError(t, h.Shutdown(context.Background()))
			assert.Equal(t, uint64(perMaster), h.Stats()[0].Delivered, "%s: %+v", m, h.Stats()[0])
		}()
	}
	wg.Wait()
	evs, err := front.Wait(2*perMaster, 60*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 2*perMaster, checkOrder(t, evs))
	assert.Len(t, evs, 2*perMaster)
	require.NotNil(t, evs[0].Build)
	assert.Equal(t, "b.", evs[0].Build.Builder[:2])
	require.NoError(t, sub.Close(context.Background()))
	st := sub.Stats()
	assert.Equal(t, uint64(2*perMaster), st.Published)
	assert.Zero(t, st.Malformed)
	assert.Positive(t, st.Acked)
	assert.Less(t, st.Acked, uint64(2*perMaster), "acknowledged in batches")
}

func TestPublisherDuplicateIsDroppedByServer(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	_, js := connect(t, srv.ClientURL())
	st := ensureStream(t, js)
	p, err := bus.NewPublisher(bus.PublisherOptions{JetStream: js, Master: "m1"})
	require.NoError(t, err)
	e := buildEvent("linux", 1)
	e.Seq, e.ID = 42, "hub1-42"
	for range 3 { // a retry after a lost ack publishes the same event again
		require.NoError(t, p.Report(context.Background(), e))
	}
	info, err := st.Info(context.Background())
	require.NoError(t, err)
	assert.Equal(t, uint64(1), info.State.Msgs)
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
	require.NoError(t, h.Shutdown(context.Background()))

	// First subscriber: its connection dies after about a third.
	nc1, js1 := connect(t, srv.ClientURL())
	var first statustest.Recorder
	opts := bus.SubscribeOptions{Durable: "front", Logger: quiet, AckWait: 2 * time.Second}
	sub1, err := bus.Subscribe(context.Background(), js1, opts, &first)
	require.NoError(t, err)
	_, err = first.Wait(n/3, 30*time.Second)
	require.NoError(t, err)
	nc1.Close() // killed: no goodbye
	_ = sub1.Close(context.Background())

	_, js2 := connect(t, srv.ClientURL())
	var second statustest.Recorder
	sub2, err := bus.Subscribe(context.Background(), js2, opts, &second)
	require.NoError(t, err)
	defer sub2.Close(context.Background())

	got := map[string]bool{}
	for _, e := range first.Events() {
		got[e.ID] = true
	}
	for seen := 0; len(got) < n; {
		evs, err := second.Wait(seen+1, 30*time.Second)
		require.NoError(t, err, "%d of %d events delivered across the restart; stats %+v", len(got), n, sub2.Stats())
		for _, e := range evs[seen:] {
			got[e.ID] = true
		}
		seen = len(evs)
	}
	// The second subscriber gets what the first had not acknowledged again
	// (at most a batch and what was in flight), then the rest, in order.
	checkOrder(t, second.Events())
	dups := first.Len() + second.Len() - n
	t.Logf("first %d, second %d, delivered twice %d", first.Len(), second.Len(), dups)
	assert.LessOrEqual(t, dups, 4096+256, "more duplicates than the unacknowledged window")
}

// Acknowledging a batch acknowledges everything before it, so a
// subscriber must not acknowledge past an event it did not get (one a dead
// predecessor's pull request took, or one lost with a connection): it
// notices the gap in the delivery sequence and takes the consumer back to
// its acknowledgement floor, well within AckWait (after which the server
// would redeliver it anyway). Here another client takes some events.
func TestSubscriberNeverAcknowledgesPastAMissingEvent(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	const n = 1000
	var front statustest.Recorder
	sub, err := bus.Subscribe(context.Background(), js, bus.SubscribeOptions{Durable: "front", Logger: quiet, AckWait: time.Minute}, &front)
	require.NoError(t, err)
	defer sub.Close(context.Background())

	_, tjs := connect(t, srv.ClientURL())
	cons, err := tjs.Consumer(context.Background(), "HERALD", "front")
	require.NoError(t, err)
	taken, err := cons.Fetch(50, jetstream.FetchMaxWait(10*time.Second)) // waits on the server beside the subscriber's pull
	require.NoError(t, err)

	h := masterHub(t, js, "m1")
	for i := range n {
		h.Publish(buildEvent(fmt.Sprintf("b%d", i%3), i))
	}
	require.NoError(t, h.Shutdown(context.Background()))
	var stolen int
	for range taken.Messages() { // never acknowledged
		stolen++
	}
	evs, err := front.Wait(n, 20*time.Second) // well within AckWait
	require.NoError(t, err, "stats %+v", sub.Stats())
	assert.Equal(t, n, checkOrder(t, evs))
	if stolen > 0 {
		assert.Positive(t, sub.Stats().Restarts, "%d events taken by another client", stolen)
	}
	t.Logf("another client took %d events; the subscriber restarted %d times", stolen, sub.Stats().Restarts)
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
	require.NoError(t, h.Shutdown(ctx), "stats %+v", h.Stats())
	st := h.Stats()[0]
	assert.Equal(t, uint64(n), st.Delivered)
	assert.Zero(t, st.Failed+st.Dropped)
	t.Logf("publisher retried %d times across the restart", st.Retried)

	_, js2 := connect(t, srv2.ClientURL())
	var rec statustest.Recorder
	sub, err := bus.Subscribe(context.Background(), js2, bus.SubscribeOptions{Durable: "late", Logger: quiet}, &rec)
	require.NoError(t, err)
	defer sub.Close(context.Background())
	evs, err := rec.Wait(n, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, n, checkOrder(t, evs))
}

// A front end acknowledges only what its History has on disk: Flush runs
// before each acknowledgement, and a failing Flush leaves the events
// unacknowledged, to come again.
func TestSubscriberAcknowledgesAfterFlush(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	h := masterHub(t, js, "m1")
	for i := range 100 {
		h.Publish(buildEvent("linux", i))
	}
	require.NoError(t, h.Shutdown(context.Background()))

	var front statustest.Recorder
	var mu sync.Mutex
	var failing bool
	var flushed []int // events published at each successful flush
	sub, err := bus.Subscribe(context.Background(), js, bus.SubscribeOptions{Durable: "f", Logger: quiet, AckBatch: 10,
		Flush: func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			if failing {
				return fmt.Errorf("disk full")
			}
			flushed = append(flushed, front.Len())
			return nil
		}}, &front)
	require.NoError(t, err)
	_, err = front.Wait(100, 20*time.Second)
	require.NoError(t, err)
	require.NoError(t, sub.Close(context.Background()))
	assert.NotEmpty(t, flushed)
	assert.Equal(t, 100, flushed[len(flushed)-1], "the last acknowledgement follows a flush of everything")
	c, err := js.Consumer(context.Background(), "HERALD", "f")
	require.NoError(t, err)
	info, err := c.Info(context.Background())
	require.NoError(t, err)
	assert.Equal(t, uint64(100), info.AckFloor.Stream)

	// Now with a failing flush: nothing more is acknowledged.
	h2 := masterHub(t, js, "m1")
	for i := range 20 {
		h2.Publish(buildEvent("linux", 100+i))
	}
	require.NoError(t, h2.Shutdown(context.Background()))
	mu.Lock()
	failing = true
	mu.Unlock()
	var front2 statustest.Recorder
	sub2, err := bus.Subscribe(context.Background(), js, bus.SubscribeOptions{Durable: "f", Logger: quiet, AckBatch: 10,
		Flush: func(context.Context) error { return fmt.Errorf("disk full") }}, &front2)
	require.NoError(t, err)
	_, err = front2.Wait(20, 20*time.Second)
	require.NoError(t, err)
	require.NoError(t, sub2.Close(context.Background()))
	assert.Positive(t, sub2.Stats().FlushFails)
	info, err = c.Info(context.Background())
	require.NoError(t, err)
	assert.Equal(t, uint64(100), info.AckFloor.Stream, "nothing acknowledged without a flush")
}

func TestMalformedMessagesAreTerminated(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	nc, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	_, err := js.Publish(context.Background(), "herald.buildStarted.x", []byte("not json"))
	require.NoError(t, err)
	_ = nc.Flush()
	h := masterHub(t, js, "m1")
	h.Publish(buildEvent("x", 1))
	_ = h.Shutdown(context.Background())
	var rec statustest.Recorder
	sub, err := bus.Subscribe(context.Background(), js, bus.SubscribeOptions{Durable: "f", Logger: quiet}, &rec)
	require.NoError(t, err)
	defer sub.Close(context.Background())
	_, err = rec.Wait(1, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), sub.Stats().Malformed)
}

func TestOptionsValidated(t *testing.T) {
	_, err := bus.NewPublisher(bus.PublisherOptions{Prefix: "a.>", MaxBatch: -1})
	require.Error(t, err)
	for _, want := range []string{"JetStream", "Prefix", "MaxBatch"} {
		assert.ErrorContains(t, err, want, "every problem reported at once")
	}
	srv := startServer(t, t.TempDir(), 0)
	_, js := connect(t, srv.ClientURL())
	_, err = bus.Subscribe(context.Background(), js, bus.SubscribeOptions{}, &statustest.Recorder{})
	assert.ErrorContains(t, err, "Durable")

	buffering, err := nats.Connect(srv.ClientURL()) // the default buffers publishes while reconnecting
	require.NoError(t, err)
	defer buffering.Close()
	bjs, err := jetstream.New(buffering)
	require.NoError(t, err)
	_, err = bus.NewPublisher(bus.PublisherOptions{JetStream: bjs})
	assert.ErrorContains(t, err, "nats.ReconnectBufSize(-1)")
}

func TestPublisherConformance(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	statustest.Conformance(t, func() status.Reporter {
		p, err := bus.NewPublisher(bus.PublisherOptions{JetStream: js, Master: "c"})
		require.NoError(t, err)
		return p
	})
}

func TestEnsureStreamPersistMode(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	_, js := connect(t, srv.ClientURL())
	st, err := bus.EnsureStream(context.Background(), js, bus.StreamOptions{})
	require.NoError(t, err)
	assert.Equal(t, jetstream.DefaultPersistMode, st[0].CachedInfo().Config.PersistMode)
	st, err = bus.EnsureStream(context.Background(), js, bus.StreamOptions{Name: "FAST", Prefix: "fast", AsyncPersist: true})
	require.NoError(t, err)
	assert.Equal(t, jetstream.AsyncPersistMode, st[0].CachedInfo().Config.PersistMode)
	_, err = bus.EnsureStream(context.Background(), js, bus.StreamOptions{AsyncPersist: true})
	assert.ErrorContains(t, err, "persist mode", "the server does not change a stream's persist mode")
}

// busWithFront starts a server with the stream and a subscription "front"
// feeding a recorder, closed when t ends.
func busWithFront(t *testing.T) (jetstream.JetStream, *statustest.Recorder, *bus.Subscription) {
	t.Helper()
	srv := startServer(t, t.TempDir(), 0)
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	front := &statustest.Recorder{}
	sub, err := bus.Subscribe(context.Background(), js, bus.SubscribeOptions{Durable: "front", Logger: quiet}, front)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Close(context.Background()) })
	return js, front, sub
}

// Sync returns only once the front end has every event the stream held,
// so a caller can read the front end's state right after it.
func TestSyncWaitsForWhatTheStreamHolds(t *testing.T) {
	js, front, sub := busWithFront(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, sub.Sync(ctx), "an empty stream is in sync at once")

	const n = 3000
	h := masterHub(t, js, "m1")
	for i := range n {
		h.Publish(buildEvent(fmt.Sprintf("b%d", i%4), i))
	}
	require.NoError(t, h.Shutdown(context.Background())) // every event is in the stream now
	require.NoError(t, sub.Sync(ctx))
	assert.Len(t, front.Events(), n, "Sync returned before the front end had everything")

	// A front end restarted after acknowledging it all is in sync at once.
	require.NoError(t, sub.Close(ctx))
	var again statustest.Recorder
	sub2, err := bus.Subscribe(context.Background(), js, bus.SubscribeOptions{Durable: "front", Logger: quiet}, &again)
	require.NoError(t, err)
	defer sub2.Close(context.Background())
	require.NoError(t, sub2.Sync(ctx))
	assert.Empty(t, again.Events(), "what was acknowledged does not come again")

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	assert.ErrorIs(t, sub.Sync(done), context.Canceled)
}

// A bus of partitions: each builder's events go to one stream, a front end
// consuming all of them gets every event once and each builder's in order,
// and Sync waits for every stream.
func TestPartitionsKeepEachBuildersOrder(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	_, js := connect(t, srv.ClientURL())
	const parts = 3
	streams, err := bus.EnsureStream(context.Background(), js, bus.StreamOptions{Partitions: parts})
	require.NoError(t, err)
	require.Len(t, streams, parts)
	for i, st := range streams {
		assert.Equal(t, fmt.Sprintf("HERALD-%d", i), st.CachedInfo().Config.Name)
		assert.Equal(t, []string{fmt.Sprintf("herald.%d.>", i)}, st.CachedInfo().Config.Subjects)
	}
	var front statustest.Recorder
	sub, err := bus.Subscribe(context.Background(), js, bus.SubscribeOptions{Durable: "front", Partitions: parts, Logger: quiet}, &front)
	require.NoError(t, err)
	defer sub.Close(context.Background())

	p, err := bus.NewPublisher(bus.PublisherOptions{JetStream: js, Partitions: parts})
	require.NoError(t, err)
	h := status.NewHub(status.HubOptions{Logger: quiet, Master: "m1"})
	require.NoError(t, h.Add(p))
	const n = 3000
	for i := range n {
		h.Publish(buildEvent(fmt.Sprintf("b.%d", i%12), i))
	}
	h.Publish(status.Event{Kind: status.MasterStopping}) // about no builder
	require.NoError(t, h.Shutdown(context.Background()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, sub.Sync(ctx))
	evs := front.Events()
	assert.Equal(t, n+1, checkOrder(t, evs), "every event once, each builder's in order")
	assert.Len(t, evs, n+1)
	used := 0
	for _, st := range streams {
		info, err := st.Info(ctx)
		require.NoError(t, err)
		if info.State.Msgs > 0 {
			used++
		}
	}
	assert.Equal(t, parts, used, "12 builders spread over the 3 streams")
	assert.Equal(t, uint64(n+1), sub.Stats().Published)

	_, err = bus.NewPublisher(bus.PublisherOptions{JetStream: js, Partitions: -1})
	assert.ErrorContains(t, err, "Partitions")
	_, err = bus.Subscribe(context.Background(), js, bus.SubscribeOptions{Durable: "x", Partitions: 1000}, &front)
	assert.ErrorContains(t, err, "Partitions")
}

// An event JSON cannot hold (a property that is a channel) is refused
// alone: the Hub counts it failed, and the events around it arrive.
func TestUnencodableEventIsRefusedAlone(t *testing.T) {
	js, front, sub := busWithFront(t)
	h := masterHub(t, js, "m1")
	const n = 50
	for i := range n {
		e := buildEvent("linux", i)
		if i == 20 {
			e.Build.Properties = map[string]any{"oops": make(chan int)}
		}
		h.Publish(e)
	}
	require.NoError(t, h.Shutdown(context.Background()))
	st := h.Stats()[0]
	assert.Equal(t, uint64(1), st.Failed)
	assert.Equal(t, uint64(n-1), st.Delivered)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, sub.Sync(ctx))
	evs := front.Events()
	assert.Len(t, evs, n-1)
	for _, e := range evs {
		assert.NotEqual(t, 20, e.Build.Number)
	}
}
