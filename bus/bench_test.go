//go:build unix

package bus_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldci/herald/bus"
	"github.com/heraldci/herald/status"
)

// latencyRecorder notes how long each event took from Hub.Publish (which
// stamps e.Time) to its arrival; it stands for a front end's Hub and for a
// reporter of an in-process one.
type latencyRecorder struct {
	mu   sync.Mutex
	lat  []time.Duration
	want int
	done chan struct{}
}

func newLatencyRecorder(want int) *latencyRecorder {
	return &latencyRecorder{want: want, done: make(chan struct{}), lat: make([]time.Duration, 0, want)}
}

func (l *latencyRecorder) Publish(e status.Event) {
	d := time.Since(e.Time)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lat = append(l.lat, d)
	if len(l.lat) == l.want {
		close(l.done)
	}
}

func (l *latencyRecorder) Report(_ context.Context, e status.Event) error {
	l.Publish(e)
	return nil
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report reports latency percentiles, throughput, and the CPU time the
// process (server, master and front end alike) spent per event since cpu0:
// on a shared machine throughput follows the CPU share the process gets,
// and CPU per event is the figure that does not.
func (l *latencyRecorder) report(b *testing.B, elapsed, cpu0 time.Duration) {
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(len(l.lat)), "cpu-µs/event")
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.lat)
	b.ReportMetric(float64(l.lat[len(l.lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(l.lat[len(l.lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(len(l.lat))/elapsed.Seconds(), "events/s")
}

// path is one way from a master's Publish to a front end: through
// JetStream, or inside one process.
type path struct {
	name  string
	setup func(b *testing.B, rec *latencyRecorder) (*status.Hub, func())
}

var paths = []path{
	{"jetstream", jetstreamPath(bus.StreamOptions{})},
	{"jetstream-async-persist", jetstreamPath(bus.StreamOptions{AsyncPersist: true})},
	{"in-process-hub", func(b *testing.B, rec *latencyRecorder) (*status.Hub, func()) {
		h := status.NewHub(status.HubOptions{Logger: quiet, QueueSize: 1 << 20})
		_ = h.Add(rec)
		return h, func() {}
	}},
}

// jetstreamPath runs a server, a master Hub publishing to a stream made
// with o, and a subscriber feeding rec, in this process.
func jetstreamPath(o bus.StreamOptions) func(b *testing.B, rec *latencyRecorder) (*status.Hub, func()) {
	return func(b *testing.B, rec *latencyRecorder) (*status.Hub, func()) {
		srv := startServer(b, b.TempDir(), 0)
		_, js := connect(b, srv.ClientURL())
		if _, err := bus.EnsureStream(context.Background(), js, o); err != nil {
			b.Fatal(err)
		}
		sub, err := bus.Subscribe(context.Background(), js, bus.SubscribeOptions{Durable: "bench", Logger: quiet}, rec)
		if err != nil {
			b.Fatal(err)
		}
		_, pjs := connect(b, srv.ClientURL())
		h := masterHub(b, pjs, "m1")
		return h, func() { _ = sub.Close(context.Background()) }
	}
}

// BenchmarkEndToEnd measures saturation: b.N events published as fast as
// possible, events/s and latency from Publish to arrival, through JetStream
// and, in the same run, through an in-process Hub.
func BenchmarkEndToEnd(b *testing.B) {
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			rec := newLatencyRecorder(b.N)
			h, stop := p.setup(b, rec)
			defer stop()
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for i := range b.N {
				h.Publish(buildEvent(fmt.Sprintf("b%d", i%8), i))
			}
			<-rec.done
			elapsed := time.Since(start)
			b.StopTimer()
			_ = h.Shutdown(context.Background())
			rec.report(b, elapsed, cpu0)
		})
	}
}

// BenchmarkLatencyAtRate offers a fixed rate for two seconds and reports
// p50/p99 from Publish to arrival at each rate, beside the in-process Hub.
// It ignores b.N: run it with -benchtime 1x.
func BenchmarkLatencyAtRate(b *testing.B) {
	for _, rate := range []int{1000, 10000, 25000} {
		for _, p := range paths {
			b.Run(fmt.Sprintf("rate=%d/%s", rate, p.name), func(b *testing.B) {
				n := 2 * rate
				rec := newLatencyRecorder(n)
				h, stop := p.setup(b, rec)
				defer stop()
				b.ResetTimer()
				start, cpu0 := time.Now(), cpuTime()
				for i := range n {
					if due := start.Add(time.Duration(i) * time.Second / time.Duration(rate)); time.Until(due) > 0 {
						time.Sleep(time.Until(due)) // pacing the offered load
					}
					h.Publish(buildEvent(fmt.Sprintf("b%d", i%8), i))
				}
				select {
				case <-rec.done:
				case <-time.After(time.Minute):
					b.Fatalf("only %d of %d events arrived", len(rec.lat), n)
				}
				elapsed := time.Since(start)
				b.StopTimer()
				_ = h.Shutdown(context.Background())
				rec.report(b, elapsed, cpu0)
			})
		}
	}
}
