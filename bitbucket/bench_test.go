package bitbucket

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
)

// BenchmarkHub1000Builds: 1,000 builds start and finish through a Hub
// against the API double; statuses/s counts the 2,000 statuses Bitbucket
// took per iteration.
func BenchmarkHub1000Builds(b *testing.B) {
	f := newFakeBitbucket(b)
	r := newReporter(b, f, Options{})
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler), QueueSize: 4096})
	hub.Add(r)
	defer hub.Shutdown(context.Background())
	b.ReportAllocs()
	var elapsed time.Duration
	total := 0
	for iter := range b.N {
		b.StopTimer()
		evs := make([]status.Event, 0, 2000)
		for i := range 1000 {
			bb := build(i + 1).Revision(fmt.Sprintf("%08x%032x", iter, i))
			evs = append(evs, status.Event{Kind: status.BuildStarted, Build: bb.Build()},
				status.Event{Kind: status.BuildFinished, Build: bb.Succeeded().Build()})
		}
		b.StartTimer()
		start := time.Now()
		for _, e := range evs {
			hub.Publish(e)
		}
		total += len(evs)
		wait(b, f, total)
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "statuses/s")
}
