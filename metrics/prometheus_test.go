package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/metrics"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// The real Prometheus server scrapes /metrics as served by promhttp, and
// its query API returns the builds and the Hub's counters.
func TestScrapedByPrometheus(t *testing.T) {
	bin := testkit.NeedBinary(t, "prometheus", "apt-get install -y --no-install-recommends prometheus")

	hub := status.NewHub(status.HubOptions{Logger: discardLogger()})
	m, err := metrics.New(metrics.Options{Hub: hub})
	require.NoError(t, err)
	hub.Add(m)
	hub.Add(status.ReporterFunc(func(context.Context, status.Event) error { return errors.New("refused") }), status.WithName("refusing"))
	for _, e := range statustest.NewBuild("linux").Number(1).Step("compile", status.Success).Succeeded().Events() {
		hub.Publish(e)
	}
	for _, e := range statustest.NewBuild("linux").Number(2).Step("compile", status.Failure).Failed().Events() {
		hub.Publish(e)
	}
	hub.Publish(statustest.NewBuild("windows").Number(1).Events()[0])
	hub.Publish(status.Event{Kind: status.RequestSubmitted, Request: request("r1", "docs")})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, hub.Shutdown(ctx)) // everything delivered: the counters stand still

	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(m))
	scrapes := make(chan struct{}, 1000) // one signal as each scrape begins
	mux := http.NewServeMux()
	metricsHandler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		select {
		case scrapes <- struct{}{}:
		default:
		}
		metricsHandler.ServeHTTP(w, r)
	})
	target := httptest.NewServer(mux)
	defer target.Close()

	prom := startPrometheus(t, bin, target.Listener.Addr().String())
	// Prometheus commits a scrape's samples before it starts the next
	// scrape, so once a scrape has begun the one before it is queryable.
	prom.awaitScrapes(t, scrapes, 2)

	assert.Equal(t, "1", prom.query(t, `up{job="herald"}`))
	assert.Equal(t, "1", prom.query(t, `herald_builds_total{builder="linux",result="success"}`))
	assert.Equal(t, "1", prom.query(t, `herald_builds_total{builder="linux",result="failure"}`))
	assert.Equal(t, "2", prom.query(t, `sum(herald_build_duration_seconds_count{builder="linux"})`))
	assert.Equal(t, "60", prom.query(t, `herald_build_duration_seconds_sum{builder="linux",result="success"}`))
	assert.Equal(t, "2", prom.query(t, `sum(herald_step_duration_seconds_count{builder="linux",step="compile"})`))
	assert.Equal(t, "1", prom.query(t, `herald_builds_running{builder="windows"}`))
	assert.Equal(t, "1", prom.query(t, `herald_requests_pending{builder="docs"}`))
	assert.Equal(t, "0", prom.query(t, `herald_reporter_failed_total{reporter="metrics"}`))
	refused := prom.query(t, `herald_reporter_failed_total{reporter="refusing"}`)
	assert.Equal(t, prom.query(t, `herald_reporter_published_total{reporter="refusing"}`), refused)
	assert.NotEqual(t, "0", refused)

	// A later build shows once a scrape that began after it is committed.
	report(t, m, statustest.NewBuild("linux").Number(3).Succeeded().Events()...)
	for len(scrapes) > 0 {
		<-scrapes
	}
	prom.awaitScrapes(t, scrapes, 2)
	assert.Equal(t, "2", prom.query(t, `herald_builds_total{builder="linux",result="success"}`))
	assert.Equal(t, "0", prom.query(t, `herald_builds_running{builder="linux"}`))
}

type prometheusServer struct {
	url    string
	exited chan struct{}
	out    *testkit.Buffer
}

// startPrometheus runs Prometheus on a free loopback port, scraping
// target's /metrics four times a second, and stops it at the end of the
// test.
func startPrometheus(t *testing.T, bin, target string) *prometheusServer {
	t.Helper()
	dir := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 250ms
  scrape_timeout: 250ms
scrape_configs:
  - job_name: herald
    static_configs:
      - targets: [%q]
`, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(config), 0o644))
	addr := freeLoopbackAddr(t)
	out := &testkit.Buffer{}
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--web.listen-address="+addr,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	p := &prometheusServer{url: "http://" + addr, exited: make(chan struct{}), out: out}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// awaitScrapes waits for n more scrapes of the target, failing if
// Prometheus exits or takes longer than 30 seconds.
func (p *prometheusServer) awaitScrapes(t *testing.T, scrapes <-chan struct{}, n int) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for range n {
		select {
		case <-scrapes:
		case <-p.exited:
			t.Fatalf("prometheus exited:\n%s", p.out)
		case <-timeout:
			t.Fatalf("prometheus did not scrape within 30s:\n%s", p.out)
		}
	}
}

// query runs an instant PromQL query that must return one sample, and
// returns its value as Prometheus prints it.
func (p *prometheusServer) query(t *testing.T, q string) string {
	t.Helper()
	resp, err := http.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(q))
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, "success", body.Status, "query %s: %s", q, body.Error)
	require.Len(t, body.Data.Result, 1, "query %s", q)
	v, ok := body.Data.Result[0].Value[1].(string)
	require.True(t, ok, "query %s: value %v", q, body.Data.Result[0].Value)
	return v
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}
