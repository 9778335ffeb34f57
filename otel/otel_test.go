package otel_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/otel"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// inMemory returns a Tracer whose spans end up in the returned exporter as
// soon as they end.
func inMemory(t *testing.T) (*otel.Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr, err := otel.New(otel.Options{TracerProvider: tp})
	require.NoError(t, err)
	return tr, exp
}

func report(t *testing.T, tr *otel.Tracer, events ...status.Event) {
	t.Helper()
	for _, e := range events {
		require.NoError(t, tr.Report(context.Background(), e))
	}
}

func attrs(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

// byName indexes spans by name, requiring the names to be distinct.
func byName(t *testing.T, spans tracetest.SpanStubs) map[string]tracetest.SpanStub {
	t.Helper()
	m := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		require.NotContains(t, m, s.Name, "two spans named %q", s.Name)
		m[s.Name] = s
	}
	return m
}

func TestConformance(t *testing.T) {
	statustest.Conformance(t, func() status.Reporter {
		tr, _ := inMemory(t)
		return tr
	})
}

func TestHandlesBuildStepAndMasterKinds(t *testing.T) {
	tr, _ := inMemory(t)
	var handled []status.Kind
	for _, k := range status.AllKinds() {
		if tr.Handles(k) {
			handled = append(handled, k)
		}
	}
	assert.Equal(t, []status.Kind{status.BuildStarted, status.BuildFinished, status.StepStarted,
		status.StepFinished, status.MasterStarted}, handled)
}

// A failed build is a trace: its span from start to finish with the build's
// attributes and an Error status, a child span per step.
func TestBuildIsATrace(t *testing.T) {
	tr, exp := inMemory(t)
	b := statustest.NewBuild("linux").Number(7).Worker("w2").URL("https://ci.example.org/builders/linux/builds/7").
		Step("compile", status.Success).Step("test", status.Failure).Failed()
	events := b.Events()
	for i := range events {
		events[i].Master = "m1"
	}
	report(t, tr, events...)
	require.NoError(t, tr.Close(context.Background()))

	spans := byName(t, exp.GetSpans())
	require.Len(t, spans, 3)
	root, compile, test := spans["BUILD linux"], spans["compile"], spans["test"]
	fin := b.Build()

	assert.False(t, root.Parent.IsValid(), "the build span is a root")
	assert.Equal(t, trace.SpanKindServer, root.SpanKind)
	assert.Equal(t, statustest.Epoch, root.StartTime)
	assert.Equal(t, fin.Finished, root.EndTime)
	assert.Equal(t, map[string]string{
		"cicd.pipeline.name":         "linux",
		"cicd.pipeline.run.id":       "7",
		"cicd.pipeline.action.name":  "BUILD",
		"cicd.pipeline.run.url.full": "https://ci.example.org/builders/linux/builds/7",
		"cicd.worker.name":           "w2",
		"herald.master":              "m1",
		"vcs.ref.head.revision":      "0123456789abcdef0123456789abcdef01234567",
		"vcs.ref.head.name":          "main",
		"vcs.repository.url.full":    "https://example.org/repo.git",
		"cicd.pipeline.result":       "failure",
		"herald.result":              "failure",
		"error.type":                 "failure",
	}, attrs(root.Attributes))
	assert.Equal(t, sdktrace.Status{Code: codes.Error, Description: "Build #7 failed: failed test"}, root.Status)
	assert.Equal(t, "github.com/heraldci/herald/otel", root.InstrumentationScope.Name)

	for i, st := range []tracetest.SpanStub{compile, test} {
		assert.Equal(t, root.SpanContext.TraceID(), st.SpanContext.TraceID(), st.Name)
		assert.Equal(t, root.SpanContext.SpanID(), st.Parent.SpanID(), "%s is a child of the build", st.Name)
		assert.Equal(t, trace.SpanKindInternal, st.SpanKind)
		assert.Equal(t, fin.Steps[i].Started, st.StartTime, st.Name)
		assert.Equal(t, fin.Steps[i].Finished, st.EndTime, st.Name)
		assert.Equal(t, st.Name, attrs(st.Attributes)["cicd.pipeline.task.name"])
	}
	assert.Equal(t, map[string]string{
		"cicd.pipeline.task.name":       "compile",
		"herald.step.number":            "0",
		"cicd.pipeline.task.run.result": "success",
		"herald.result":                 "success",
	}, attrs(compile.Attributes))
	assert.Equal(t, codes.Unset, compile.Status.Code)
	assert.Equal(t, sdktrace.Status{Code: codes.Error, Description: "test failure"}, test.Status)
	assert.Equal(t, "failure", attrs(test.Attributes)["cicd.pipeline.task.run.result"])
}

func TestResults(t *testing.T) {
	for _, c := range []struct {
		result   status.Result
		semconv  string
		errorful bool
	}{
		{status.Success, "success", false},
		{status.Warnings, "success", false},
		{status.Failure, "failure", true},
		{status.Skipped, "skip", false},
		{status.Exception, "error", true},
		{status.Retry, "error", true},
		{status.Cancelled, "cancellation", false},
	} {
		t.Run(c.result.String(), func(t *testing.T) {
			tr, exp := inMemory(t)
			report(t, tr, statustest.NewBuild("linux").Result(c.result).Events()...)
			spans := exp.GetSpans()
			require.Len(t, spans, 1)
			a := attrs(spans[0].Attributes)
			assert.Equal(t, c.semconv, a["cicd.pipeline.result"])
			assert.Equal(t, c.result.String(), a["herald.result"])
			if c.errorful {
				assert.Equal(t, codes.Error, spans[0].Status.Code)
				assert.Equal(t, c.result.String(), a["error.type"])
			} else {
				assert.Equal(t, codes.Unset, spans[0].Status.Code)
				assert.NotContains(t, a, "error.type")
			}
		})
	}
}

// Spans still open at Close end as interrupted; reports after Close fail.
func TestCloseInterruptsOpenSpans(t *testing.T) {
	tr, exp := inMemory(t)
	events := statustest.NewBuild("linux").Step("compile", status.Success).Step("test", status.Success).Succeeded().Events()
	var open []status.Event // up to the second StepStarted
	for _, e := range events {
		open = append(open, e)
		if e.Kind == status.StepStarted && e.Step.Name == "test" {
			break
		}
	}
	report(t, tr, open...)
	require.Len(t, exp.GetSpans(), 1, "only compile has ended")

	before := time.Now()
	require.NoError(t, tr.Close(context.Background()))
	spans := byName(t, exp.GetSpans())
	require.Len(t, spans, 3)
	for _, name := range []string{"BUILD linux", "test"} {
		s := spans[name]
		assert.Equal(t, sdktrace.Status{Code: codes.Error, Description: "interrupted"}, s.Status, name)
		assert.Equal(t, "interrupted", attrs(s.Attributes)["error.type"], name)
		assert.False(t, s.EndTime.Before(before), "%s ends at Close", name)
	}
	assert.Equal(t, codes.Unset, spans["compile"].Status.Code)

	assert.ErrorContains(t, tr.Report(context.Background(), events[len(events)-1]), "otel: Report called after Close")
	assert.NoError(t, tr.Close(context.Background()), "Close again")
}

// A master that starts again has no build running: its open spans end.
func TestMasterStartedInterruptsItsBuilds(t *testing.T) {
	tr, exp := inMemory(t)
	started := func(builder, master string) status.Event {
		e := statustest.NewBuild(builder).Events()[0]
		e.Master = master
		return e
	}
	restart := statustest.Epoch.Add(time.Hour)
	report(t, tr, started("linux", "m1"), started("docs", "m2"),
		status.Event{Kind: status.MasterStarted, Master: "m1", Time: restart})
	spans := exp.GetSpans()
	require.Len(t, spans, 1)
	assert.Equal(t, "BUILD linux", spans[0].Name)
	assert.Equal(t, restart, spans[0].EndTime)
	assert.Equal(t, "interrupted", spans[0].Status.Description)
}

// A Tracer added while a build runs still makes its trace, from the
// build's and steps' own start times.
func TestMissedStarts(t *testing.T) {
	tr, exp := inMemory(t)
	for _, e := range statustest.NewBuild("linux").Step("compile", status.Success).Succeeded().Events() {
		if e.Kind == status.StepFinished || e.Kind == status.BuildFinished {
			report(t, tr, e)
		}
	}
	spans := byName(t, exp.GetSpans())
	require.Len(t, spans, 2)
	assert.Equal(t, statustest.Epoch, spans["BUILD linux"].StartTime)
	assert.Equal(t, statustest.Epoch, spans["compile"].StartTime)
	assert.Equal(t, spans["BUILD linux"].SpanContext.SpanID(), spans["compile"].Parent.SpanID())
}

// Events carry their own times; spans use them over the subjects' times.
func TestEventTimes(t *testing.T) {
	tr, exp := inMemory(t)
	evs := statustest.NewBuild("linux").Succeeded().Events()
	t0, t1 := statustest.Epoch.Add(time.Second), statustest.Epoch.Add(2*time.Minute)
	evs[0].Time, evs[1].Time = t0, t1
	report(t, tr, evs...)
	spans := exp.GetSpans()
	require.Len(t, spans, 1)
	assert.Equal(t, t0, spans[0].StartTime)
	assert.Equal(t, t1, spans[0].EndTime)
}

func TestOptionsReportEveryProblem(t *testing.T) {
	_, err := otel.New(otel.Options{})
	assert.EqualError(t, err, "otel: no destination: set Options.Endpoint (an OTLP/HTTP collector, e.g. http://localhost:4318) or Options.TracerProvider")

	tp := sdktrace.NewTracerProvider()
	_, err = otel.New(otel.Options{TracerProvider: tp, Endpoint: "http://localhost:4318", ServiceName: "ci"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "otel: both Options.TracerProvider and Options.Endpoint are set")
	assert.Contains(t, err.Error(), "otel: Options.Headers and Options.ServiceName apply to Options.Endpoint only")

	_, err = otel.New(otel.Options{Endpoint: "localhost:4318", Headers: map[string]status.Secret{
		"bad name": "x", "x-api-key": "k\n",
	}})
	require.Error(t, err)
	for _, want := range []string{
		`otel: Options.Endpoint "localhost:4318" is not an http(s) URL`,
		`otel: Options.Headers has an invalid header name "bad name"`,
		`otel: Options.Headers["x-api-key"] contains a line break`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NotContains(t, err.Error(), "k\n")

	_, err = otel.New(otel.Options{Endpoint: "https://user:pw@collector.example.com"})
	assert.ErrorContains(t, err, "otel: Options.Endpoint must be a plain address")
	assert.NotContains(t, err.Error(), "pw")
}

func TestPlainHTTPWithHeadersWarns(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	for _, endpoint := range []string{"http://127.0.0.1:4318", "https://collector.example.com", "http://collector.example.com"} {
		tr, err := otel.New(otel.Options{Endpoint: endpoint, Headers: map[string]status.Secret{"x-api-key": "k"}, Logger: log})
		require.NoError(t, err)
		require.NoError(t, tr.Close(context.Background()))
	}
	assert.Equal(t, 1, bytes.Count(logs.Bytes(), []byte("plain http")), logs.String())
	assert.Contains(t, logs.String(), "collector.example.com")
}
