package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// The demo's /metrics serves build counts and the Hub's counters.
func TestDemoServesMetrics(t *testing.T) {
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler)})
	d := &demo{hub: hub, mux: http.NewServeMux(), url: "http://demo", log: slog.New(slog.DiscardHandler)}
	require.NoError(t, (&metricsTarget{on: true}).Start(context.Background(), d))
	for _, e := range statustest.NewBuild("linux").Failed().Events() {
		hub.Publish(e)
	}
	require.NoError(t, hub.Shutdown(context.Background()))

	srv := httptest.NewServer(d.mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(body), `herald_builds_total{builder="linux",result="failure"} 1`)
	assert.Contains(t, string(body), `herald_reporter_delivered_total{reporter="metrics"}`)
	assert.Contains(t, string(body), "go_goroutines")
}

// -otlp-endpoint sends the demo's builds to a collector; the last spans
// are flushed when the demo stops.
func TestDemoSendsTraces(t *testing.T) {
	var posts atomic.Int64
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" && r.Method == http.MethodPost && r.Header.Get("Content-Type") == "application/x-protobuf" {
			posts.Add(1)
		}
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer collector.Close()
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"-builds", "2", "-speed", "50", "-seed", "7", "-addr", "", "-otlp-endpoint", collector.URL}, &out, &errs)
	require.NoError(t, err, errs.String())
	assert.Contains(t, out.String(), "otel: builds as traces to "+collector.URL)
	assert.Regexp(t, `otel: \d+ delivered, 0 failed, 0 dropped`, out.String())
	assert.Positive(t, posts.Load())
	assert.False(t, strings.Contains(errs.String(), "level=WARN"), errs.String())
}
