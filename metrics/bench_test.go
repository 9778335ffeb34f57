package metrics_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/heraldci/herald/metrics"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// lifeEvents returns the events of n builds of three steps each, over four
// builders, without the log events (Metrics does not handle them).
func lifeEvents(n int) []status.Event {
	var evs []status.Event
	for i := range n {
		bb := statustest.NewBuild(fmt.Sprintf("builder%d", i%4)).Number(i+1).
			Step("compile", status.Success).Step("test", status.Success).Step("upload", status.Success)
		if i%5 == 0 {
			bb.Failed()
		} else {
			bb.Succeeded()
		}
		for _, e := range bb.Events() {
			if e.Kind.Lifecycle() && e.Log == nil {
				evs = append(evs, e)
			}
		}
	}
	return evs
}

// BenchmarkReport is the reporter alone: one event per op, a mix of build
// starts, step ends and build ends.
func BenchmarkReport(b *testing.B) {
	m, err := metrics.New(metrics.Options{})
	if err != nil {
		b.Fatal(err)
	}
	evs := lifeEvents(256)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := m.Report(ctx, evs[i%len(evs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHub1000Builds: the events of 1,000 builds (8 each) published to
// a Hub, which queues Metrics the 5 of each it handles (not StepStarted);
// events/s counts those delivered.
func BenchmarkHub1000Builds(b *testing.B) {
	evs := lifeEvents(1000)
	b.ReportAllocs()
	var elapsed time.Duration
	total := 0
	for b.Loop() {
		hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler), QueueSize: len(evs)})
		m, err := metrics.New(metrics.Options{Hub: hub})
		if err != nil {
			b.Fatal(err)
		}
		hub.Add(m)
		start := time.Now()
		for _, e := range evs {
			hub.Publish(e)
		}
		if err := hub.Shutdown(context.Background()); err != nil { // drains the queue
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		st := hub.Stats()[0]
		if want := uint64(len(evs) / 8 * 5); st.Delivered != want {
			b.Fatalf("delivered %d, want %d: %+v", st.Delivered, want, st)
		}
		total += int(st.Delivered)
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
}
