package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/store"
)

// bigHistory is a store.Memory holding builders × perBuilder finished
// builds (three steps each) and n changes.
func bigHistory(tb testing.TB, builders, perBuilder, changes int) *store.Memory {
	tb.Helper()
	mem := store.NewMemory(store.MemoryOptions{BuildsPerBuilder: perBuilder, Changes: changes})
	for i := range builders {
		name := fmt.Sprintf("builder-%02d", i)
		mem.Apply(&status.Event{Kind: status.BuilderAdded, Builder: &status.Builder{Name: name, Workers: []string{"worker1"}}})
		for n := 1; n <= perBuilder; n++ {
			r := status.Success
			if n%7 == 0 {
				r = status.Failure
			}
			b := statustest.NewBuild(name).Number(n).Started(statustest.Epoch.Add(time.Duration(n*builders+i)*time.Minute)).
				Property("owner", "alice").Step("compile", status.Success).Step("test", r).Step("upload", status.Success).Result(r).Build()
			mem.Apply(&status.Event{Kind: status.BuildFinished, Build: b})
		}
	}
	for i := 1; i <= changes; i++ {
		c := statustest.NewChange(int64(i), fmt.Sprintf("Dev %d <dev%d@example.org>", i%50, i%50))
		mem.Apply(&status.Event{Kind: status.ChangeAdded, Change: &c})
	}
	return mem
}

func benchPage(b *testing.B, h http.Handler, path string) {
	b.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	if w.Code != 200 {
		b.Fatalf("GET %s = %d", path, w.Code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// The page benchmarks run on 10,000 builds (5 builders × 2,000) and 17,000
// changes, the size of the Buildbot figures in ANCHORS.md.
func benchServer(b *testing.B) *Server {
	b.Helper()
	mem := bigHistory(b, 5, 2000, 17000)
	s, err := New(Options{History: mem, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkPages(b *testing.B) {
	s := benchServer(b)
	for _, p := range []string{
		"/builders",
		"/builders/builder-02",
		"/one_line_per_build",
		"/json/builders",
		"/json/changes?numbuilds=20",
		"/json/builders/builder-02/builds/-1",
	} {
		b.Run(strings.TrimPrefix(p, "/"), func(b *testing.B) { benchPage(b, s, p) })
	}
}

// BenchmarkLoopback measures JSON endpoints over a real loopback HTTP
// connection, one client at a time, like the req/s of ANCHORS.md.
func BenchmarkLoopback(b *testing.B) {
	s := benchServer(b)
	ts := httptest.NewServer(s)
	defer ts.Close()
	for _, p := range []string{"/json/builders", "/json/changes?numbuilds=20", "/builders"} {
		b.Run(strings.TrimPrefix(p, "/"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resp, err := http.Get(ts.URL + p)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// hugeLog is a History whose one log is size bytes of generated lines,
// produced on the fly so the benchmark measures the server's memory only.
type hugeLog struct {
	*statustest.History
	size int64
}

func (h hugeLog) Log(ctx context.Context, ref status.LogRef) (io.ReadCloser, error) {
	return io.NopCloser(io.LimitReader(&lineSource{}, h.size)), nil
}

// lineSource repeats a log line with an ANSI colour and a header line
// every 100 lines.
type lineSource struct{ n int }

func (l *lineSource) Read(p []byte) (int, error) {
	total := 0
	for len(p) > 100 {
		l.n++
		var line string
		if l.n%100 == 0 {
			line = "\x1eenvironment: PATH=/usr/bin\n"
		} else {
			line = "ok   \x1b[32mgithub.com/heraldci/herald/pkg\x1b[0m 0.123s <coverage: 81.2%>\n"
		}
		c := copy(p, line)
		p = p[c:]
		total += c
	}
	return total, nil
}

func hugeLogServer(tb testing.TB, size int64) *Server {
	h := statustest.NewHistory(statustest.NewBuild("big").Number(1).Step("test", status.Success).Succeeded().Build())
	s, err := New(Options{History: hugeLog{h, size}, Logger: discardLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// peakHeap serves path while sampling the heap, and returns the highest
// heap in use above what it was before, and the bytes served.
func peakHeap(h http.Handler, path string) (peak uint64, served int64) {
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var max atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > max.Load() {
				max.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	cw := &countingWriter{header: http.Header{}}
	h.ServeHTTP(cw, httptest.NewRequest("GET", path, nil))
	close(stop)
	<-done
	if max.Load() < base.HeapInuse {
		return 0, cw.n
	}
	return max.Load() - base.HeapInuse, cw.n
}

// countingWriter is a ResponseWriter that keeps nothing, so only the
// server's own buffers count.
type countingWriter struct {
	header http.Header
	n      int64
}

func (c *countingWriter) Header() http.Header         { return c.header }
func (c *countingWriter) WriteHeader(int)             {}
func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

const logPathText = "/builders/big/builds/1/steps/test/logs/stdio"

// BenchmarkLog100MiB serves a 100 MiB log as text and as HTML, reporting
// throughput and the peak heap above the baseline.
func BenchmarkLog100MiB(b *testing.B) {
	s := hugeLogServer(b, 100<<20)
	for _, p := range []string{logPathText + "/text", logPathText} {
		name := "html"
		if strings.HasSuffix(p, "/text") {
			name = "text"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(100 << 20)
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				pk, _ := peakHeap(s, p)
				peak = max(peak, pk)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// TestLogMemoryFlat: serving a 100 MiB log keeps the heap within a few
// buffers, far below the log's size.
func TestLogMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("serves 200 MiB")
	}
	s := hugeLogServer(t, 100<<20)
	for _, p := range []string{logPathText + "/text", logPathText} {
		peak, served := peakHeap(s, p)
		if served < 90<<20 {
			t.Fatalf("%s served %d bytes", p, served)
		}
		if peak > 16<<20 {
			t.Errorf("%s: peak heap %d MiB above the baseline while streaming 100 MiB", p, peak>>20)
		}
		t.Logf("%s: %d MiB served, peak heap +%.1f MiB", p, served>>20, float64(peak)/(1<<20))
	}
}
