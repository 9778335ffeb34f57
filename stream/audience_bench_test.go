package stream

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
)

// audience is how many clients the audience benchmarks hold open.
const audience = 1000

// audienceServer serves a Server for 1,000 clients from 127.0.0.1: the
// per-address cap (32 by default) raised to let them in.
func audienceServer(b *testing.B) (*Server, *httptest.Server) {
	s, err := New(Options{Anonymous: true, MaxClientsPerAddr: audience, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(s)
	b.Cleanup(func() { hs.Close(); s.Close(context.Background()) })
	return s, hs
}

func fromLocalhost(int) string { return "127.0.0.1" }

// BenchmarkAudienceIdle opens 1,000 idle streams and reports the memory
// each costs this process (server side, plus the benchmark's raw client
// connection, ~4 KiB of read buffer each): live heap, goroutine stacks and
// resident set, before and after, divided by the clients.
//
//	go test -run '^$' -bench AudienceIdle -benchtime 1x ./stream/
func BenchmarkAudienceIdle(b *testing.B) {
	// One run, whatever b.N: the figures are the run's.
	s, hs := audienceServer(b)
	before := testkit.ReadMemory()
	ls := testkit.Listen(b, hs.Listener.Addr().String(), "/", audience, fromLocalhost)
	after := testkit.ReadMemory()
	if n := s.Stats().Clients; n != audience {
		b.Fatalf("%d clients open, want %d", n, audience)
	}
	b.ReportMetric(float64(after.Heap-before.Heap)/audience, "heap-B/client")
	b.ReportMetric(float64(after.Stack-before.Stack)/audience, "stack-B/client")
	b.ReportMetric(float64(after.RSS-before.RSS)/audience, "rss-B/client")
	testkit.Close(ls)
}

// BenchmarkAudience offers builderChanged events for 10 s at 100 and at
// 1,000 events/s to 1,000 streams that read everything, and reports the
// clients cut for falling behind (0 on a machine that keeps up), the
// fewest and the mean events a client got of those offered, and the rate actually offered (the publisher
// shares the CPU with the 2,000 goroutines of servers and clients). Each
// rate is one 10 s run whatever -benchtime says.
//
//	go test -run '^$' -bench 'Audience$' ./stream/   # ~25 s
func BenchmarkAudience(b *testing.B) {
	for _, rate := range []int{100, 1000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			audienceRun(b, rate) // one run, whatever b.N: the figures are the run's
		})
	}
}

// audienceSeconds is how long BenchmarkAudience offers events at each rate.
const audienceSeconds = 10

// audienceRun offers rate×audienceSeconds events to 1,000 readers.
func audienceRun(b *testing.B, rate int) {
	n := rate * audienceSeconds
	s, hs := audienceServer(b)
	ls := testkit.Listen(b, hs.Listener.Addr().String(), "/", audience, fromLocalhost)
	wg := testkit.Count(ls, "event: builderChanged")
	ctx := context.Background()
	took := testkit.Offer(n, rate, func(i int) {
		e := status.Event{Kind: status.BuilderChanged, Time: time.Now(),
			Builder: &status.Builder{Name: fmt.Sprintf("builder-%02d", i%20), State: status.Building, Pending: i % 7}}
		if err := s.Report(ctx, e); err != nil {
			b.Fatal(err)
		}
	})
	// Every client that was not cut gets all n; wait for them (or for
	// the cut ones' streams to end), at most a few seconds beyond.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		done := 0
		for _, l := range ls {
			if l.Got.Load() == int64(n) {
				done++
			}
		}
		if done+int(s.Stats().Cut) >= audience {
			break
		}
		time.Sleep(10 * time.Millisecond) // a benchmark's poll, not a test's synchronisation
	}
	least, sum := int64(n), int64(0)
	for _, l := range ls {
		got := l.Got.Load()
		least = min(least, got)
		sum += got
	}
	testkit.Close(ls)
	wg.Wait()
	b.ReportMetric(float64(s.Stats().Cut), "cuts")
	b.ReportMetric(float64(least), "min-events/client")
	b.ReportMetric(float64(sum)/audience, "mean-events/client")
	b.ReportMetric(float64(n)/took.Seconds(), "offered-events/s")
}
