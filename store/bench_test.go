package store_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/store"
)

// BenchmarkMemoryStore ingests the events of 10,000 builds (12 events each:
// start, 2 steps with a one-chunk log each, finish) through Apply, in memory
// only and with a history file (OpenMemory, PersistDelay 10ms; the time
// includes the Sync that waits until everything is in the file;
// apply-ns/event is the time in Apply alone, what Publish waits for), and
// answers history queries.
func BenchmarkMemoryStore(b *testing.B) {
	const builds = 10000
	builders := []string{"linux", "windows", "docs", "mac"}
	evs := make([][]status.Event, len(builders))
	for i, name := range builders {
		evs[i] = statustest.NewBuild(name).Step("compile", status.Success).Step("test", status.Failure).Failed().Events()
	}
	ingest := func(b *testing.B, m *store.Memory, n int) {
		for i := range n {
			for _, e := range evs[i%len(builders)] {
				e.Build = renumber(e.Build, i/len(builders)+1)
				if e.Log != nil {
					l := *e.Log
					l.Build = e.Build.Number
					e.Log = &l
				}
				if err := m.Apply(&e); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("ingest-10000-builds", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			m := store.NewMemory(store.MemoryOptions{BuildsPerBuilder: builds})
			ingest(b, m, builds)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*builds*len(evs[0])), "ns/event")
	})
	b.Run("ingest-10000-builds-file", func(b *testing.B) {
		b.ReportAllocs()
		var applying time.Duration // in Apply alone: what Publish waits for
		for i := range b.N {
			m, err := store.OpenMemory(filepath.Join(b.TempDir(), fmt.Sprintf("h%d.db", i)),
				store.MemoryOptions{BuildsPerBuilder: builds, PersistDelay: 10 * time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			ingest(b, m, builds)
			applying += time.Since(start)
			if err := m.Sync(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := m.Close(ctx); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*builds*len(evs[0])), "ns/event")
		b.ReportMetric(float64(applying.Nanoseconds())/float64(b.N*builds*len(evs[0])), "apply-ns/event")
	})
	m := store.NewMemory(store.MemoryOptions{BuildsPerBuilder: builds})
	ingest(b, m, builds)
	for _, q := range []struct {
		name string
		q    status.BuildQuery
	}{
		{"query-builder-last-20", status.BuildQuery{Builders: []string{"linux"}, Limit: 20}},
		{"query-all-failed-last-20", status.BuildQuery{Results: []status.Result{status.Failure}, Limit: 20}},
		{"query-property-miss-scan", status.BuildQuery{Properties: map[string]string{"owner": "nobody"}, Limit: 20}},
	} {
		b.Run(q.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := m.Builds(ctx, q.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// renumber returns a copy of b numbered n (events share their builds).
func renumber(b *status.Build, n int) *status.Build {
	if b == nil {
		return nil
	}
	c := *b
	c.Number = n
	return &c
}
