package bus_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/heraldci/herald/bus"
	"github.com/heraldci/herald/status"
)

// latencyRecorder notes how long each event took from Publish to its reporter.
type latencyRecorder struct {
	mu   sync.Mutex
	lat  []time.Duration
	want int
	done chan struct{}
}

func (l *latencyRecorder) Report(_ context.Context, e status.Event) error {
	d := time.Since(e.Time)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lat = append(l.lat, d)
	if len(l.lat) == l.want {
		close(l.done)
	}
	return nil
}

func (l *latencyRecorder) report(b *testing.B) {
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.lat)
	b.ReportMetric(float64(l.lat[len(l.lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(l.lat[len(l.lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(len(l.lat))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEndToEnd measures events/s and latency from Hub.Publish to a
// reporter: through JetStream (publisher Hub → stream → subscriber) and, in
// the same run, through an in-process Hub.
func BenchmarkEndToEnd(b *testing.B) {
	b.Run("jetstream", func(b *testing.B) {
		srv := startServer(b, b.TempDir(), 0)
		_, js := connect(b, srv.ClientURL())
		ensureStream(b, js)
		rec := &latencyRecorder{want: b.N, done: make(chan struct{})}
		sub, err := bus.Subscribe(context.Background(), js, bus.SubscribeOptions{Durable: "bench", Logger: quiet}, rec)
		if err != nil {
			b.Fatal(err)
		}
		defer sub.Close(context.Background())
		_, pjs := connect(b, srv.ClientURL())
		h := masterHub(b, pjs, "m1")
		b.ResetTimer()
		for i := range b.N {
			h.Publish(buildEvent("linux", i))
		}
		<-rec.done
		b.StopTimer()
		_ = h.Shutdown(context.Background())
		rec.report(b)
	})
	b.Run("in-process-hub", func(b *testing.B) {
		rec := &latencyRecorder{want: b.N, done: make(chan struct{})}
		h := status.NewHub(status.HubOptions{Logger: quiet, QueueSize: 1 << 20})
		h.Add(rec)
		b.ResetTimer()
		for i := range b.N {
			h.Publish(buildEvent("linux", i))
		}
		<-rec.done
		b.StopTimer()
		_ = h.Shutdown(context.Background())
		rec.report(b)
	})
}
