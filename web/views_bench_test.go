package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/store"
)

// benchHistory is 50 builders × 200 builds of 4 steps each in a
// store.Memory, every build holding one of 2000 changes, results mixed.
func benchHistory(b *testing.B) *store.Memory {
	b.Helper()
	mem := store.NewMemory(store.MemoryOptions{})
	const builders, builds = 50, 200
	for i := range builders * builds / 5 {
		c := statustest.NewChange(int64(i+1), fmt.Sprintf("Dev %d <dev%d@example.org>", i%17, i%17))
		c.When = t0.Add(time.Duration(i) * time.Minute)
		if err := mem.Apply(&status.Event{Kind: status.ChangeAdded, Time: c.When, Change: &c}); err != nil {
			b.Fatal(err)
		}
	}
	results := []status.Result{status.Success, status.Success, status.Success, status.Failure, status.Warnings}
	for n := 1; n <= builds; n++ {
		for k := range builders {
			ch := statustest.NewChange(int64(n*builders/5+k%10), "Dev <dev@example.org>")
			ch.When = t0.Add(time.Duration(n*builders/5+k%10) * time.Minute)
			bb := statustest.NewBuild(fmt.Sprintf("builder-%02d", k)).Number(n).Tags(fmt.Sprintf("group%d", k%5)).
				Started(t0.Add(time.Duration(n)*10*time.Minute + time.Duration(k)*time.Second)).Change(ch).Revision(ch.Revision)
			r := results[(n*7+k)%len(results)]
			bb.Step("checkout", status.Success).Step("compile", status.Success).Step("test", r).Step("upload", status.Success)
			bb.Result(r)
			build := bb.Build()
			if err := mem.Apply(&status.Event{Kind: status.BuildFinished, Time: build.Finished, Build: build}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return mem
}

func benchView(b *testing.B, target string) {
	s, err := New(Options{History: benchHistory(b), Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(context.Background())
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	if rec.Code != 200 {
		b.Fatalf("%s: %d", target, rec.Code)
	}
	b.SetBytes(int64(rec.Body.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	}
}

// The pages of the benchmark: 50 builders × 200 builds, default
// arguments (waterfall: 200 rows; grid: 5 revisions; console: 40 changes).
func BenchmarkWaterfall(b *testing.B) { benchView(b, "/waterfall") }
func BenchmarkGrid(b *testing.B)      { benchView(b, "/grid") }
func BenchmarkTGrid(b *testing.B)     { benchView(b, "/tgrid") }
func BenchmarkConsole(b *testing.B)   { benchView(b, "/console") }
func BenchmarkRSS(b *testing.B)       { benchView(b, "/rss") }
func BenchmarkPNG(b *testing.B)       { benchView(b, "/png?builder=builder-07&size=large") }
func BenchmarkBadge(b *testing.B)     { benchView(b, "/badge.svg?builder=builder-07") }

// BenchmarkLiveReport is one event offered to 100 open pages.
func BenchmarkLiveReport(b *testing.B) {
	f := newLiveFeed(liveOptions{Buffer: 1, MaxPerAddr: 100, Logger: discardLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.ServeHTTP(discardWriter{http.Header{}}, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
		}()
	}
	for f.b.Stats().Clients < 100 {
		runtime.Gosched()
	}
	e := status.Event{Kind: status.StepFinished, Time: t0, Build: statustest.NewBuild("linux").Build(),
		Step: &status.Step{Name: "test", Result: status.Failure}}
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Report(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cancel()
	wg.Wait()
}

type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header         { return w.h }
func (w discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w discardWriter) WriteHeader(int)             {}
func (w discardWriter) Flush()                      {}
