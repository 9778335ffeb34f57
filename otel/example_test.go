package otel_test

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/heraldci/herald/otel"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// A build with two steps becomes a trace of three spans in the host's
// TracerProvider (here one that keeps them in memory). With a collector,
// use otel.Options{Endpoint: "http://localhost:4318"} instead.
func Example() {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())

	tr, err := otel.New(otel.Options{TracerProvider: tp})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tr.Close(context.Background())

	b := statustest.NewBuild("linux").Number(7).Step("compile", status.Success).Step("test", status.Failure).Failed()
	for _, e := range b.Events() {
		if err := tr.Report(context.Background(), e); err != nil {
			fmt.Println(err)
		}
	}
	for _, s := range spans.GetSpans() {
		fmt.Printf("%-11s %v  child=%-5v %s %q\n", s.Name, s.EndTime.Sub(s.StartTime), s.Parent.IsValid(), s.Status.Code, s.Status.Description)
	}
	// Output:
	// compile     10s  child=true  Unset ""
	// test        10s  child=true  Error "test failure"
	// BUILD linux 1m0s  child=false Error "Build #7 failed: failed test"
}
