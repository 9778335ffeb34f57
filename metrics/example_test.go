package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/heraldci/herald/metrics"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// Metrics goes into the Hub as a reporter and into a registry as a
// collector; promhttp serves the registry at /metrics.
func Example() {
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler)})
	m, err := metrics.New(metrics.Options{Hub: hub})
	if err != nil {
		fmt.Println(err)
		return
	}
	hub.Add(m)
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, e := range statustest.NewBuild("linux").Number(7).Failed().Events() {
		hub.Publish(e)
	}
	_ = hub.Shutdown(context.Background())

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if l := lines.Text(); strings.HasPrefix(l, "herald_builds_") || strings.HasPrefix(l, "herald_reporter_delivered") {
			fmt.Println(l)
		}
	}
	// Output:
	// herald_builds_running{builder="linux"} 0
	// herald_builds_total{builder="linux",result="failure"} 1
	// herald_reporter_delivered_total{reporter="metrics"} 2
}
