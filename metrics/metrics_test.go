package metrics_test

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/metrics"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestConformance(t *testing.T) {
	statustest.Conformance(t, func() status.Reporter {
		m, err := metrics.New(metrics.Options{Hub: fakeHub{{Name: "mail"}}})
		require.NoError(t, err)
		return m
	})
}

func TestOptionsReportEveryProblem(t *testing.T) {
	_, err := metrics.New(metrics.Options{
		Namespace:    "9lives-ci",
		BuildBuckets: []float64{},
		StepBuckets:  []float64{1, 10, 5},
	})
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `metrics: Options.Namespace "9lives-ci" is not a metric name prefix`)
	assert.Contains(t, msg, "metrics: Options.BuildBuckets is empty")
	assert.Contains(t, msg, "metrics: Options.StepBuckets is not increasing at 5")

	_, err = metrics.New(metrics.Options{BuildBuckets: []float64{-1}})
	assert.ErrorContains(t, err, "metrics: Options.BuildBuckets has -1: bounds are durations in seconds, so positive")

	m, err := metrics.New(metrics.Options{Namespace: "ci_2"})
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(m))
}

func TestHandlesBuildAndRequestKinds(t *testing.T) {
	m, err := metrics.New(metrics.Options{})
	require.NoError(t, err)
	var handled []status.Kind
	for _, k := range status.AllKinds() {
		if m.Handles(k) {
			handled = append(handled, k)
		}
	}
	assert.Equal(t, []status.Kind{status.RequestSubmitted, status.RequestCancelled,
		status.BuildStarted, status.BuildFinished, status.StepFinished}, handled)
}

// report feeds events to m as a Hub would.
func report(t *testing.T, m *metrics.Metrics, events ...status.Event) {
	t.Helper()
	for _, e := range events {
		require.NoError(t, m.Report(context.Background(), e))
	}
}

func request(id, builder string) *status.BuildRequest {
	return &status.BuildRequest{ID: id, Builder: builder, Submitted: statustest.Epoch}
}

// scenario: two finished builds of linux (one passed, one failed), a
// windows build still running (its start reported twice, as an outbox
// replay would), and requests: two pending on docs, one claimed, one
// unknown cancelled.
func scenario(t *testing.T, m *metrics.Metrics) {
	report(t, m, statustest.NewBuild("linux").Number(1).Step("compile", status.Success).Step("test", status.Success).Succeeded().Events()...)
	report(t, m, statustest.NewBuild("linux").Number(2).Step("compile", status.Success).Step("test", status.Failure).Failed().Events()...)
	win := statustest.NewBuild("windows").Number(1).Running().Events()
	report(t, m, win...)
	report(t, m, win[0])
	report(t, m,
		status.Event{Kind: status.RequestSubmitted, Request: request("r1", "docs")},
		status.Event{Kind: status.RequestSubmitted, Request: request("r2", "docs")},
		status.Event{Kind: status.RequestSubmitted, Request: request("r3", "linux")},
		status.Event{Kind: status.RequestSubmitted, Request: request("r3", "linux")},
		status.Event{Kind: status.RequestCancelled, Request: request("r3", "linux")},
		status.Event{Kind: status.RequestCancelled, Request: request("r9", "linux")},
	)
}

func TestBuildsRunningAndPending(t *testing.T) {
	m, err := metrics.New(metrics.Options{})
	require.NoError(t, err)
	scenario(t, m)
	want := `
# HELP herald_builds_total Finished builds by builder and result.
# TYPE herald_builds_total counter
herald_builds_total{builder="linux",result="failure"} 1
herald_builds_total{builder="linux",result="success"} 1
# HELP herald_builds_running Builds started and not yet finished.
# TYPE herald_builds_running gauge
herald_builds_running{builder="linux"} 0
herald_builds_running{builder="windows"} 1
# HELP herald_requests_pending Build requests submitted and not yet claimed or cancelled.
# TYPE herald_requests_pending gauge
herald_requests_pending{builder="docs"} 2
herald_requests_pending{builder="linux"} 0
`
	assert.NoError(t, testutil.CollectAndCompare(m, strings.NewReader(want),
		"herald_builds_total", "herald_builds_running", "herald_requests_pending"))

	// Each linux build took a minute; each of its two steps ten seconds.
	assert.Equal(t, 2, testutil.CollectAndCount(m, "herald_build_duration_seconds"))
	assert.Equal(t, 2, testutil.CollectAndCount(m, "herald_step_duration_seconds"))
	problems, err := testutil.CollectAndLint(m)
	require.NoError(t, err)
	assert.Empty(t, problems)
}

// The whole scrape, as Prometheus gets it from promhttp: histograms with
// their buckets and the Hub's counters, duplicate reporter names told apart.
func TestExpositionGolden(t *testing.T) {
	hub := fakeHub{
		{Name: "mail", Published: 12, Delivered: 9, Retried: 4, Failed: 1, Dropped: 2, Queued: 0},
		{Name: "github", Published: 30, Delivered: 25, Queued: 5},
		{Name: "github", Published: 30, Delivered: 30, Panics: 1},
	}
	m, err := metrics.New(metrics.Options{Hub: hub})
	require.NoError(t, err)
	scenario(t, m)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(m))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Contains(t, resp.Header.Get("Content-Type"), "text/plain")
	testkit.Golden(t, *update, "exposition.golden", body)
}

// The reporter_* series follow a real Hub's Stats at scrape time.
func TestHubCounters(t *testing.T) {
	hub := status.NewHub(status.HubOptions{Logger: discardLogger()})
	m, err := metrics.New(metrics.Options{Hub: hub})
	require.NoError(t, err)
	hub.Add(m)
	hub.Add(status.ReporterFunc(func(context.Context, status.Event) error { return errors.New("refused") }), status.WithName("refusing"))
	hub.Add(status.ReporterFunc(func(context.Context, status.Event) error { return nil }), status.WithName("accepting"))
	for _, e := range statustest.NewBuild("linux").Number(1).Succeeded().Events() {
		hub.Publish(e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, hub.Shutdown(ctx))

	want := `
# HELP herald_reporter_delivered_total Events the reporter accepted.
# TYPE herald_reporter_delivered_total counter
herald_reporter_delivered_total{reporter="accepting"} 2
herald_reporter_delivered_total{reporter="metrics"} 2
herald_reporter_delivered_total{reporter="refusing"} 0
# HELP herald_reporter_failed_total Events given up: permanent error, panic, or retries exhausted.
# TYPE herald_reporter_failed_total counter
herald_reporter_failed_total{reporter="accepting"} 0
herald_reporter_failed_total{reporter="metrics"} 0
herald_reporter_failed_total{reporter="refusing"} 2
# HELP herald_reporter_queued Events waiting for the reporter, in memory and in its outbox.
# TYPE herald_reporter_queued gauge
herald_reporter_queued{reporter="accepting"} 0
herald_reporter_queued{reporter="metrics"} 0
herald_reporter_queued{reporter="refusing"} 0
# HELP herald_hub_published_total Events accepted by the Hub's Publish.
# TYPE herald_hub_published_total counter
herald_hub_published_total 2
# HELP herald_hub_late_total Events published after shutdown began, not delivered.
# TYPE herald_hub_late_total counter
herald_hub_late_total 1
`
	hub.Publish(status.Event{Kind: status.MasterStopping}) // late
	assert.NoError(t, testutil.CollectAndCompare(m, strings.NewReader(want),
		"herald_reporter_delivered_total", "herald_reporter_failed_total", "herald_reporter_queued",
		"herald_hub_published_total", "herald_hub_late_total"))
	assert.NoError(t, testutil.CollectAndCompare(m, strings.NewReader(`
# HELP herald_builds_total Finished builds by builder and result.
# TYPE herald_builds_total counter
herald_builds_total{builder="linux",result="success"} 1
`), "herald_builds_total"))
}

// Names from webhooks may be any bytes; a scrape must not panic on them.
func TestInvalidUTF8Names(t *testing.T) {
	m, err := metrics.New(metrics.Options{Hub: fakeHub{{Name: "bad\xffname"}}})
	require.NoError(t, err)
	report(t, m, statustest.NewBuild("lin\xc3ux").Step("b\xffuild", status.Success).Succeeded().Events()...)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(m))
	_, err = reg.Gather()
	require.NoError(t, err)
	assert.Equal(t, 1, testutil.CollectAndCount(m, "herald_builds_total"))
}

type fakeHub []status.ReporterStats

func (h fakeHub) Stats() []status.ReporterStats { return h }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
