package stash

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// BenchmarkHub1000Builds: 1,000 builds start and finish through a Hub
// against the Bitbucket double; statuses/s counts the 2,000 statuses it
// took per iteration.
func BenchmarkHub1000Builds(b *testing.B) {
	f := newFakeBitbucket(b, "/bitbucket")
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
			bb := statustest.NewBuild("linux").Number(i + 1).URL("https://ci.example.org/b").
				Revision(fmt.Sprintf("%08x%032x", iter, i))
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

// BenchmarkReport measures the reporter alone: one status per op to an
// in-process transport that answers 204.
func BenchmarkReport(b *testing.B) {
	hc := &http.Client{Transport: roundTripper(func(req *http.Request) (*http.Response, error) {
		_, _ = io.Copy(io.Discard, req.Body)
		return &http.Response{StatusCode: http.StatusNoContent, Status: "204 No Content", Header: http.Header{},
			Body: http.NoBody, Request: req}, nil
	})}
	r, err := New(Options{Token: "t", HTTPClient: hc, BaseURL: "https://bitbucket.example.com/bitbucket"})
	if err != nil {
		b.Fatal(err)
	}
	bb := statustest.NewBuild("linux").URL("https://ci.example.org/b")
	evs := make([]status.Event, 1024)
	for i := range evs {
		evs[i] = status.Event{Kind: status.BuildStarted, Build: bb.Number(i + 1).Build()}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		// Numbers grow with i, so no event is older than the last one.
		e := evs[i%len(evs)]
		nb := *e.Build
		nb.Number = i + 1
		e.Build = &nb
		if err := r.Report(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}
