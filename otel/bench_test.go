package otel_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/heraldci/herald/otel"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// lifeEvents returns the build and step events of n builds of three steps
// each (8 events, 4 spans a build), over four builders.
func lifeEvents(n int) []status.Event {
	var evs []status.Event
	for i := range n {
		bb := statustest.NewBuild(fmt.Sprintf("builder%d", i%4)).Number(i+1).
			Step("compile", status.Success).Step("test", status.Success).Step("upload", status.Success).Succeeded()
		for _, e := range bb.Events() {
			if e.Log == nil {
				evs = append(evs, e)
			}
		}
	}
	return evs
}

// BenchmarkReport is the Tracer alone, one event per op, into an SDK
// provider whose batch processor exports to nowhere.
func BenchmarkReport(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	defer tp.Shutdown(context.Background())
	tr, err := otel.New(otel.Options{TracerProvider: tp})
	if err != nil {
		b.Fatal(err)
	}
	evs := lifeEvents(256)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := tr.Report(ctx, evs[i%len(evs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHub1000BuildsOTLP: the events of 1,000 builds through a Hub to
// a Tracer exporting over OTLP/HTTP to the receiver double on loopback,
// until Close has flushed every span; events/s counts the 8,000 events.
func BenchmarkHub1000BuildsOTLP(b *testing.B) {
	c := newCollector(b)
	c.countOnly = true
	evs := lifeEvents(1000)
	b.ReportAllocs()
	var elapsed time.Duration
	total := 0
	for b.Loop() {
		c.mu.Lock()
		c.counted = 0
		c.mu.Unlock()
		tr, err := otel.New(otel.Options{Endpoint: c.srv.URL, Logger: quietLogger()})
		if err != nil {
			b.Fatal(err)
		}
		hub := status.NewHub(status.HubOptions{Logger: quietLogger(), QueueSize: len(evs)})
		hub.Add(tr)
		start := time.Now()
		for _, e := range evs {
			hub.Publish(e)
		}
		if err := hub.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		total += len(evs)
		c.mu.Lock()
		got := c.counted
		c.mu.Unlock()
		if got != 4000 {
			b.Fatalf("collector got %d spans, want 4000", got)
		}
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
}
