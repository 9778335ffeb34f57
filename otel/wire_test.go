package otel_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/otel"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// publish sends the events through a Hub to tr and shuts the Hub down,
// which closes tr and so flushes its exporter.
func publish(t *testing.T, tr *otel.Tracer, events ...status.Event) {
	t.Helper()
	hub := status.NewHub(status.HubOptions{Logger: quietLogger()})
	hub.Add(tr)
	for _, e := range events {
		hub.Publish(e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, hub.Shutdown(ctx))
	for _, st := range hub.Stats() {
		require.Zero(t, st.Failed+st.Dropped, "%+v", st)
	}
}

func TestConformanceOverOTLP(t *testing.T) {
	c := newCollector(t)
	statustest.Conformance(t, func() status.Reporter {
		tr, err := otel.New(otel.Options{Endpoint: c.srv.URL, Logger: quietLogger()})
		require.NoError(t, err)
		return tr
	})
	assert.NotEmpty(t, c.spans())
	assert.Zero(t, c.rejected)
}

// Over the wire: one POST of protobuf, gzipped, to /v1/traces with the
// configured headers; the build span is the root, the steps its children,
// with the events' times and the build's attributes.
func TestExportOverOTLPHTTP(t *testing.T) {
	c := newCollector(t)
	c.apiKey = "key-123"
	tr, err := otel.New(otel.Options{
		Endpoint:    c.srv.URL,
		Headers:     map[string]status.Secret{"x-api-key": "key-123"},
		ServiceName: "ci-master",
		Logger:      quietLogger(),
	})
	require.NoError(t, err)
	b := statustest.NewBuild("linux").Number(7).Step("compile", status.Success).Step("test", status.Failure).Failed()
	publish(t, tr, b.Events()...)

	require.Zero(t, c.rejected)
	require.NotEmpty(t, c.headers)
	h := c.headers[0]
	assert.Equal(t, "application/x-protobuf", h.Get("Content-Type"))
	assert.Equal(t, "gzip", h.Get("Content-Encoding"))
	assert.Contains(t, h.Get("User-Agent"), "OTel")

	spans := c.spans()
	require.Len(t, spans, 3)
	root, compile, test := spans["BUILD linux"], spans["compile"], spans["test"]
	require.NotNil(t, root.span)
	assert.Equal(t, "ci-master", root.resource["service.name"])
	assert.Equal(t, "github.com/heraldci/herald/otel", root.scope)
	assert.Empty(t, root.span.ParentSpanId)
	assert.Equal(t, tracepb.Span_SPAN_KIND_SERVER, root.span.Kind)
	fin := b.Build()
	assert.Equal(t, uint64(statustest.Epoch.UnixNano()), root.span.StartTimeUnixNano)
	assert.Equal(t, uint64(fin.Finished.UnixNano()), root.span.EndTimeUnixNano)
	a := kvs(root.span.Attributes)
	assert.Equal(t, "linux", a["cicd.pipeline.name"])
	assert.Equal(t, "7", a["cicd.pipeline.run.id"])
	assert.Equal(t, "0123456789abcdef0123456789abcdef01234567", a["vcs.ref.head.revision"])
	assert.Equal(t, "worker1", a["cicd.worker.name"])
	assert.Equal(t, "failure", a["cicd.pipeline.result"])
	assert.Equal(t, tracepb.Status_STATUS_CODE_ERROR, root.span.Status.GetCode())
	assert.Equal(t, "Build #7 failed: failed test", root.span.Status.GetMessage())

	for i, st := range []received{compile, test} {
		require.NotNil(t, st.span)
		assert.Equal(t, root.span.TraceId, st.span.TraceId, st.span.Name)
		assert.Equal(t, spanID(root.span.SpanId), spanID(st.span.ParentSpanId), "%s is a child of the build", st.span.Name)
		assert.Equal(t, uint64(fin.Steps[i].Started.UnixNano()), st.span.StartTimeUnixNano)
		assert.Equal(t, uint64(fin.Steps[i].Finished.UnixNano()), st.span.EndTimeUnixNano)
	}
	assert.Equal(t, "failure", kvs(test.span.Attributes)["cicd.pipeline.task.run.result"])
	assert.Equal(t, tracepb.Status_STATUS_CODE_UNSET, compile.span.Status.GetCode())
}

// An endpoint with a path is used as is.
func TestEndpointWithPath(t *testing.T) {
	c := newCollector(t)
	c.path = "/otlp/v1/traces"
	tr, err := otel.New(otel.Options{Endpoint: c.srv.URL + "/otlp/v1/traces", Logger: quietLogger()})
	require.NoError(t, err)
	publish(t, tr, statustest.NewBuild("linux").Succeeded().Events()...)
	assert.Zero(t, c.rejected)
	assert.Len(t, c.spans(), 1)
}

// A collector that is throttling (429 with Retry-After) gets the spans
// once it accepts them, before Close returns.
func TestThrottledCollector(t *testing.T) {
	c := newCollector(t)
	c.faults = []fault{{http.StatusTooManyRequests, "1", "slow down"}}
	var logs bytes.Buffer
	tr, err := otel.New(otel.Options{Endpoint: c.srv.URL, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	publish(t, tr, statustest.NewBuild("linux").Succeeded().Events()...)
	assert.Len(t, c.spans(), 1)
	assert.Empty(t, c.faults, "the 429 was answered")
	assert.Empty(t, logs.String())
}

// Header values (an API key) never show in logs, errors or any printing of
// the Tracer and its options, even when the collector echoes them back.
func TestSecretsAbsent(t *testing.T) {
	const key = "sk-live-0123456789abcdef"
	c := newCollector(t)
	c.apiKey = "the-right-key"
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o := otel.Options{Endpoint: c.srv.URL, Headers: map[string]status.Secret{"x-api-key": key}, Logger: logger}
	tr, err := otel.New(o)
	require.NoError(t, err)
	texts := []string{tr.String(), fmt.Sprintf("%v %+v %#v", tr, tr, tr), fmt.Sprintf("%v %+v %#v", o, o, o)}
	publish(t, tr, statustest.NewBuild("linux").Succeeded().Events()...)

	_, err = otel.New(otel.Options{Endpoint: "ftp://collector", Headers: map[string]status.Secret{"x-api-key": key + "\n"}})
	require.Error(t, err)
	texts = append(texts, err.Error(), logs.String())
	all := strings.Join(texts, "\n")
	assert.Equal(t, 1, c.rejected, "the collector refused the key")
	assert.Contains(t, logs.String(), "spans not exported")
	assert.Contains(t, logs.String(), "401")
	assert.Contains(t, logs.String(), "invalid API key <redacted>", "the echo was exercised")
	assert.NotContains(t, all, key)
}

// While the collector is slow the export queue fills; Report then waits
// for room (here with a cancelled context, so it returns at once) instead
// of letting the SDK drop spans, and every accepted span arrives.
func TestFullQueueWaitsInsteadOfDropping(t *testing.T) {
	c := newCollector(t)
	c.countOnly = true
	c.hold = make(chan struct{})
	release := sync.OnceFunc(func() { close(c.hold) })
	t.Cleanup(release) // before the server's Close, even when the test fails
	var logs bytes.Buffer
	tr, err := otel.New(otel.Options{Endpoint: c.srv.URL, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	ended := 0 // spans ended by accepted events
	var refused error
	for i := 1; refused == nil && i <= 3000; i++ {
		for _, e := range statustest.NewBuild("linux").Number(i).Step("compile", status.Success).Succeeded().Events() {
			if e.Log != nil {
				continue
			}
			if refused = tr.Report(cancelled, e); refused != nil {
				break
			}
			if e.Kind == status.StepFinished || e.Kind == status.BuildFinished {
				ended++
			}
		}
	}
	require.ErrorIs(t, refused, context.Canceled)
	assert.False(t, status.IsRetryable(refused))
	assert.Equal(t, 2048, ended, "the queue holds 2048 spans")

	release()
	ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	require.NoError(t, tr.Close(ctx))
	c.mu.Lock()
	defer c.mu.Unlock()
	// Close ended the build whose step the refused event would have ended.
	assert.Equal(t, ended+2, c.counted)
	assert.Empty(t, logs.String())
}

// Given no logger, the Tracer logs through the Hub's, named: the export
// the Hub's Shutdown flushes is refused.
func TestLogsThroughTheHub(t *testing.T) {
	c := newCollector(t)
	c.apiKey = "the-right-key"
	tr, err := otel.New(otel.Options{Endpoint: c.srv.URL, Headers: map[string]status.Secret{"x-api-key": "wrong"}})
	require.NoError(t, err)
	lines := testkit.HubLog(t, tr, statustest.NewBuild("linux").Succeeded().Events()...)
	assert.Contains(t, lines, testkit.LogLine{Level: "WARN", Reporter: "otel", Msg: "otel: spans not exported"})
}
