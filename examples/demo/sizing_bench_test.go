package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/heraldci/herald/examples/internal/sim"
	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/store"
)

// chunksPerLog is how many LogAppended events each step's log gets in
// the benchmark's builds: with 4 steps a build is 59 events, 40 of them
// log chunks, about the mix of a real master.
const chunksPerLog = 10

// builds makes the events of one build after another, round robin over
// the demo's builders: a change, then the build's life
// (statustest.FakeBuild.Events) with each log chunk repeated chunksPerLog
// times.
type builds struct {
	n   int
	buf []status.Event
}

var demoBuilders = []string{"linux", "windows", "docs"}

func (g *builds) next() status.Event {
	if len(g.buf) == 0 {
		g.n++
		c := statustest.NewChange(0, "Alice <alice@example.org>") // the History numbers it
		c.Revision = fmt.Sprintf("%040x", g.n)
		g.buf = append(g.buf, status.Event{Kind: status.ChangeAdded, Change: &c})
		bb := statustest.NewBuild(demoBuilders[g.n%len(demoBuilders)]).Number(g.n).Tags("ci").
			Started(statustest.Epoch.Add(time.Duration(g.n)*time.Minute)).Change(c).
			Step("checkout", status.Success).Step("compile", status.Success).Step("test", status.Success).
			Step("upload", status.Success).Succeeded()
		for _, e := range bb.Events() {
			g.buf = append(g.buf, e)
			for range chunksPerLog - 1 {
				if e.Kind == status.LogAppended {
					g.buf = append(g.buf, e) // a copy; its build, step and log are only read
				}
			}
		}
	}
	e := g.buf[0]
	g.buf = g.buf[1:]
	return e
}

// demoHub is a Hub wired as the demo wires it: a store.Memory as History,
// and the demo's own console, web status, stream and metrics targets (no
// browsers or stream clients connected), with the builders added.
func demoHub(b *testing.B) (*status.Hub, *demo) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	mem := store.NewMemory(store.MemoryOptions{})
	hub := status.NewHub(status.HubOptions{History: mem, Logger: log, Master: "demo"})
	d := &demo{hub: hub, store: mem, control: sim.New(hub, sim.Options{}), mux: http.NewServeMux(),
		url: "http://127.0.0.1:8010", log: log, out: io.Discard}
	for _, t := range []target{&console{}, &webStatus{}, &streamTarget{}, &metricsTarget{}} {
		fs := flag.NewFlagSet("demo", flag.ContinueOnError)
		t.Flags(fs)
		if err := fs.Parse(nil); err != nil {
			b.Fatal(err)
		}
		if err := t.Start(ctx, d); err != nil {
			b.Fatalf("%T: %v", t, err)
		}
	}
	if got := len(hub.Stats()); got != 4 {
		b.Fatalf("%d reporters on the Hub, want console, web, stream and metrics", got)
	}
	for _, name := range demoBuilders {
		hub.Publish(status.Event{Kind: status.BuilderAdded, Builder: &status.Builder{Name: name, Tags: []string{"ci"}}})
	}
	return hub, d
}

// finish shuts the Hub down (every reporter given everything), closes the
// demo's targets and reports the log chunks shed and the events dropped or
// failed, in all and per reporter (b.Logf, shown with -v).
func finish(b *testing.B, hub *status.Hub, d *demo) {
	ctx := context.Background()
	if err := hub.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
	var shed, lost uint64
	for _, st := range hub.Stats() {
		shed, lost = shed+st.Shed, lost+st.Dropped+st.Failed
		b.Logf("%s: %d delivered, %d shed, %d dropped, %d failed", st.Name, st.Delivered, st.Shed, st.Dropped, st.Failed)
	}
	for _, c := range d.closers {
		if err := c(ctx); err != nil {
			b.Error(err)
		}
	}
	if hc := hub.Counts(); hc.HistoryErrors > 0 {
		b.Errorf("%d events the History could not record", hc.HistoryErrors)
	}
	b.ReportMetric(float64(shed), "shed")
	b.ReportMetric(float64(lost), "dropped+failed")
}

// BenchmarkDemoHub measures what one master sustains through a Hub with
// the demo's reporters (demoHub), on builds of 59 events (builds).
//
// "saturation" publishes b.N events as fast as it can and reports events/s
// from the first Publish until Shutdown has delivered everything; shed
// log chunks say a reporter fell behind. "rate=R" offers R events/s for
// 2 s (one run, whatever -benchtime says) and reports the rate achieved
// and what was shed: the highest R with 0 shed is what one master
// sustains. "make-events" is the cost of making the events alone, included
// in the others.
//
//	go test -run '^$' -bench DemoHub -benchtime 200000x ./examples/demo/
func BenchmarkDemoHub(b *testing.B) {
	b.Run("make-events", func(b *testing.B) {
		var g builds
		for b.Loop() {
			g.next()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("saturation", func(b *testing.B) {
		hub, d := demoHub(b)
		var g builds
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			hub.Publish(g.next())
		}
		if err := hub.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		finish(b, hub, d)
	})
	for _, rate := range []int{10_000, 25_000, 50_000, 75_000, 100_000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			// One run, whatever b.N: the figures are the run's.
			hub, d := demoHub(b)
			var g builds
			took := testkit.Offer(2*rate, rate, func(int) { hub.Publish(g.next()) })
			b.ReportMetric(float64(2*rate)/took.Seconds(), "offered-events/s")
			finish(b, hub, d)
		})
	}
}
