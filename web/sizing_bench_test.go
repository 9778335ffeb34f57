package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/store"
)

// Sizing figures for the README's "Scaling out": pages at 10,000 and
// 100,000 builds in History, and 1,000 browsers on /events.

// BenchmarkSizingPages serves the pages an operator opens most over
// 10,000 and 100,000 finished builds (20 builders, three steps each, 1,000
// changes) in a store.Memory.
//
//	go test -run '^$' -bench SizingPages -benchtime 2s ./web/
func BenchmarkSizingPages(b *testing.B) {
	const builders = 20
	for _, builds := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("builds=%d", builds), func(b *testing.B) {
			s, err := New(Options{History: bigHistory(b, builders, builds/builders, 1000), Logger: discardLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close(context.Background())
			for _, p := range []string{"/builders", "/waterfall", "/json/builders/builder-02/builds/-1"} {
				b.Run(strings.TrimPrefix(p, "/"), func(b *testing.B) { benchPage(b, s, p) })
			}
		})
	}
}

// audience is how many browsers the /events benchmarks hold open.
const audience = 1000

// audienceServer serves a Server's /events for 1,000 browsers. Its caps
// (1,000 streams, 32 per address) are not options, so the browsers come
// from 100 loopback addresses, 10 each: the benchmark meets the caps the
// way a real audience does.
func audienceServer(b *testing.B) (*Server, *httptest.Server) {
	s, err := New(Options{History: store.NewMemory(store.MemoryOptions{}), Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(s)
	b.Cleanup(func() { hs.Close(); s.Close(context.Background()) })
	return s, hs
}

func browserAddr(i int) string { return fmt.Sprintf("127.0.%d.%d", 1+i/10/250, 1+i/10%250) }

// BenchmarkAudienceIdle opens 1,000 idle /events streams and reports the
// memory each costs this process (server side, plus the benchmark's raw
// client connection, ~4 KiB of read buffer each): live heap, goroutine
// stacks and resident set, before and after, divided by the browsers.
//
//	go test -run '^$' -bench AudienceIdle -benchtime 1x ./web/
func BenchmarkAudienceIdle(b *testing.B) {
	// One run, whatever b.N: the figures are the run's.
	s, hs := audienceServer(b)
	before := testkit.ReadMemory()
	ls := testkit.Listen(b, hs.Listener.Addr().String(), "/events", audience, browserAddr)
	after := testkit.ReadMemory()
	if n := s.views.live.b.Stats().Clients; n != audience {
		b.Fatalf("%d browsers open, want %d", n, audience)
	}
	b.ReportMetric(float64(after.Heap-before.Heap)/audience, "heap-B/client")
	b.ReportMetric(float64(after.Stack-before.Stack)/audience, "stack-B/client")
	b.ReportMetric(float64(after.RSS-before.RSS)/audience, "rss-B/client")
	testkit.Close(ls)
}

// BenchmarkAudience offers builderChanged events for 10 s at 100 and at
// 1,000 events/s to 1,000 /events streams that read everything, and reports the
// messages dropped for browsers that fell behind, each then told to
// resync (0 on a machine that keeps up), the fewest and the mean events a
// browser got of those offered, and the rate actually offered (the publisher
// shares the CPU with the 2,000 goroutines of servers and clients). Each
// rate is one 10 s run whatever -benchtime says.
//
//	go test -run '^$' -bench 'Audience$' ./web/   # ~25 s
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
	ls := testkit.Listen(b, hs.Listener.Addr().String(), "/events", audience, browserAddr)
	wg := testkit.Count(ls, `data: {"id":`)
	ctx := context.Background()
	took := testkit.Offer(n, rate, func(i int) {
		e := status.Event{Kind: status.BuilderChanged, Time: time.Now(),
			Builder: &status.Builder{Name: fmt.Sprintf("builder-%02d", i%20), State: status.Building, Pending: i % 7}}
		if err := s.Report(ctx, e); err != nil {
			b.Fatal(err)
		}
	})
	// Wait until every browser has what it was given: all n less what
	// was dropped for it (at most a few seconds beyond).
	want := int64(n)*audience - int64(s.views.live.b.Stats().Dropped)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var got int64
		for _, l := range ls {
			got += l.Got.Load()
		}
		if got >= want {
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
	b.ReportMetric(float64(s.views.live.b.Stats().Dropped), "dropped")
	b.ReportMetric(float64(least), "min-events/client")
	b.ReportMetric(float64(sum)/audience, "mean-events/client")
	b.ReportMetric(float64(n)/took.Seconds(), "offered-events/s")
}
