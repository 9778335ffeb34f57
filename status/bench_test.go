package status_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// The Hub's cost is measured beside two baselines in the same run: a plain
// synchronous loop over the reporters (no isolation at all), and one
// buffered channel plus goroutine per reporter (the simplest isolation).

func benchEvent() status.Event {
	b := statustest.NewBuild("linux").Number(7).Tags("ci").Failed().Build()
	return status.Event{Kind: status.BuildFinished, Build: b}
}

func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run("reporters="+strconv.Itoa(n), func(b *testing.B) {
			h := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler), QueueSize: 1 << 16})
			for range n {
				h.Add(status.Discard)
			}
			e := benchEvent()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				h.Publish(e)
			}
			b.StopTimer()
			_ = h.Shutdown(context.Background())
			var dropped uint64
			for _, s := range h.Stats() {
				dropped += s.Dropped
			}
			b.ReportMetric(float64(dropped)/float64(b.N*n), "dropped/delivery")
		})
	}
}

func BenchmarkBaselineSyncLoop(b *testing.B) {
	rs := make([]status.Reporter, 10)
	for i := range rs {
		rs[i] = status.Discard
	}
	e := benchEvent()
	ctx := context.Background()
	b.ReportAllocs()
	for range b.N {
		for _, r := range rs {
			_ = r.Report(ctx, e)
		}
	}
}

func BenchmarkBaselineChannels(b *testing.B) {
	const n = 10
	chans := make([]chan status.Event, n)
	done := make(chan struct{})
	for i := range chans {
		chans[i] = make(chan status.Event, 1<<16)
		go func(c chan status.Event) {
			for e := range c {
				_ = status.Discard.Report(context.Background(), e)
			}
			done <- struct{}{}
		}(chans[i])
	}
	e := benchEvent()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, c := range chans {
			c <- e
		}
	}
	b.StopTimer()
	for _, c := range chans {
		close(c)
	}
	for range chans {
		<-done
	}
}

func BenchmarkInterpolate(b *testing.B) {
	t := status.MustInterpolate("%(prop:buildername)s #%(prop:buildnumber)s %(src::revision)s %(prop:owner:-nobody)s")
	build := statustest.NewBuild("linux").Number(7).Build()
	b.ReportAllocs()
	for range b.N {
		_ = t.Render(build, nil)
	}
}

// BenchmarkPublishCaller measures what Publish costs the host's goroutine
// alone: the reporters are busy (blocked on their first event), so no
// delivery work shares the CPU and no worker needs waking.
func BenchmarkPublishCaller(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run("reporters="+strconv.Itoa(n), func(b *testing.B) {
			h := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler), QueueSize: 1 << 20})
			release := make(chan struct{})
			busy := status.ReporterFunc(func(ctx context.Context, e status.Event) error {
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil
			})
			for range n {
				h.Add(busy)
			}
			e := benchEvent()
			h.Publish(e)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				h.Publish(e)
			}
			b.StopTimer()
			close(release)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = h.Shutdown(ctx)
		})
	}
}
