package github

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/heraldci/herald/github/githubtest"
	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// BenchmarkHub1000Builds: 1,000 builds start and finish through a Hub
// against the API double; statuses/s counts the 2,000 statuses GitHub
// took per iteration.
func BenchmarkHub1000Builds(b *testing.B) {
	f := githubtest.NewServer(b, githubtest.Options{Token: testToken, Repos: []string{"octo/hello"}, RateLimit: 1 << 30})
	r := newReporter(b, f, Options{Logger: slog.New(slog.DiscardHandler)})
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler), QueueSize: 4096})
	hub.Add(r)
	defer hub.Shutdown(context.Background())
	events := func(iter int) []status.Event {
		evs := make([]status.Event, 0, 2000)
		for i := range 1000 {
			// Each build of its own commit, as on a busy repository.
			bb := statustest.NewBuild("linux").Number(i + 1).Repository(repoURL).
				Revision(fmt.Sprintf("%08x%032x", iter, i))
			evs = append(evs, status.Event{Kind: status.BuildStarted, Build: bb.Build()},
				status.Event{Kind: status.BuildFinished, Build: bb.Succeeded().Build()})
		}
		return evs
	}
	b.ReportAllocs()
	var elapsed time.Duration
	total := 0
	for iter := range b.N {
		b.StopTimer()
		evs := events(iter)
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

// BenchmarkReport measures the reporter alone: one status per op through
// go-github and oauth2 to an in-process transport that answers 201.
func BenchmarkReport(b *testing.B) {
	created := []byte(`{"id":1,"state":"pending"}`)
	hc := &http.Client{Transport: roundTripper(func(req *http.Request) (*http.Response, error) {
		_, _ = io.Copy(io.Discard, req.Body)
		return &http.Response{StatusCode: http.StatusCreated, Status: "201 Created", Header: http.Header{},
			Body: io.NopCloser(bytes.NewReader(created)), Request: req}, nil
	})}
	r, err := New(Options{Token: testToken, HTTPClient: hc, BaseURL: "https://github.example.com/api/v3/"})
	if err != nil {
		b.Fatal(err)
	}
	bb := statustest.NewBuild("linux").Repository(repoURL)
	evs := make([]status.Event, 1024)
	for i := range evs {
		evs[i] = status.Event{Kind: status.BuildStarted, Build: bb.Number(i + 1).Revision(fmt.Sprintf("%040x", i+1)).Build()}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%len(evs) == 0 {
			r.sent = forge.Memory{Cap: maxPerContext} // the same statuses again would be skipped as repeats
		}
		if err := r.Report(ctx, evs[i%len(evs)]); err != nil {
			b.Fatal(err)
		}
	}
}
