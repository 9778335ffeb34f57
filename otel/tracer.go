package otel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/status"
)

// Tracer turns build and step events into spans. It is safe for concurrent
// use.
type Tracer struct {
	tracer  trace.Tracer
	own     *sdktrace.TracerProvider // the provider New made, nil when the host gave one
	conns   *http.Transport          // its exporter's connections
	log     *slog.Logger
	inherit func(*slog.Logger)
	now     func() time.Time
	desc    string // for String

	// With its own provider, Report waits while the export queue is
	// full, so the batch span processor never drops a span: the wait
	// backs up into the Hub's queue, which bounds, counts and logs.
	flow *flow // nil with the host's provider

	mu     sync.Mutex
	builds map[buildKey]*buildSpans
	closed bool
}

type buildKey struct {
	builder string
	number  int
}

// buildSpans are the open spans of one build.
type buildSpans struct {
	master string
	span   trace.Span
	steps  map[int]trace.Span
}

var (
	_ status.Reporter  = (*Tracer)(nil)
	_ status.Selective = (*Tracer)(nil)
	_ status.Closer    = (*Tracer)(nil)
	_ status.Named     = (*Tracer)(nil)
	_ status.Logging   = (*Tracer)(nil)
)

// instrumentation names this package as the spans' instrumentation scope.
const instrumentation = "github.com/heraldci/herald/otel"

// queueSize bounds the spans waiting for export (the SDK's default).
const queueSize = 2048

// New checks o and returns a Tracer. With Options.Endpoint it starts the
// provider's batch span processor; it makes no request.
func New(o Options) (*Tracer, error) {
	log, inherit := hublog.New(o.Logger)
	o.Logger = log
	endpoint, err := o.validate()
	if err != nil {
		return nil, err
	}
	t := &Tracer{log: log, inherit: inherit, now: time.Now, builds: map[buildKey]*buildSpans{}, desc: "otel.Tracer(" + endpoint + ")"}
	if o.TracerProvider != nil {
		t.desc = fmt.Sprintf("otel.Tracer(%T)", o.TracerProvider)
		t.tracer = o.TracerProvider.Tracer(instrumentation)
		return t, nil
	}
	headers := map[string]string{}
	secrets := make([]string, 0, len(o.Headers))
	for name, v := range o.Headers {
		headers[name] = v.Reveal()
		secrets = append(secrets, v.Reveal())
	}
	t.conns = http.DefaultTransport.(*http.Transport).Clone()
	exporter, err := otlptracehttp.New(context.Background(),
		otlptracehttp.WithEndpointURL(endpoint),
		otlptracehttp.WithHeaders(headers),
		otlptracehttp.WithCompression(otlptracehttp.GzipCompression),
		otlptracehttp.WithHTTPClient(&http.Client{Transport: t.conns, Timeout: 10 * time.Second}),
	)
	if err != nil {
		return nil, fmt.Errorf("otel: %w", redact(err, secrets))
	}
	res, err := resource.Merge(resource.Default(),
		resource.NewSchemaless(attribute.String("service.name", o.ServiceName)))
	if err != nil {
		return nil, fmt.Errorf("otel: resource: %w", err)
	}
	t.flow = newFlow(queueSize)
	batcher := sdktrace.NewBatchSpanProcessor(
		&loggingExporter{SpanExporter: exporter, log: o.Logger, secrets: secrets, flow: t.flow},
		sdktrace.WithMaxQueueSize(queueSize))
	t.own = sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(countingProcessor{SpanProcessor: batcher, flow: t.flow}),
		sdktrace.WithSampler(sdktrace.AlwaysSample()), // every span ends in the queue the flow counts
		sdktrace.WithResource(res),
	)
	t.tracer = t.own.Tracer(instrumentation)
	return t, nil
}

// InheritLogger implements status.Logging: without Options.Logger the
// Tracer logs through l.
func (t *Tracer) InheritLogger(l *slog.Logger) { t.inherit(l) }

// Name returns "otel".
func (t *Tracer) Name() string { return "otel" }

// String names where the spans go; never the headers.
func (t *Tracer) String() string { return t.desc }

// GoString is String, so %#v cannot dig into the Tracer either.
func (t *Tracer) GoString() string { return t.desc }

var kinds = status.KindsOf(status.BuildStarted, status.BuildFinished, status.StepStarted,
	status.StepFinished, status.MasterStarted)

// Handles reports whether the Tracer uses events of kind k.
func (t *Tracer) Handles(k status.Kind) bool { return kinds.Has(k) }

var errClosed = errors.New("otel: Report called after Close")

// Report starts or ends the spans e is about. It works in memory; with
// Options.Endpoint it first waits, within ctx, while the export queue has no
// room for the spans e ends. It fails on ctx and after Close.
func (t *Tracer) Report(ctx context.Context, e status.Event) error {
	if !kinds.Has(e.Kind) {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return errClosed
	}
	if t.flow != nil {
		if err := t.flow.await(ctx, t.ending(e)); err != nil {
			return err
		}
	}
	if e.Kind == status.MasterStarted {
		t.interruptMaster(e.Master, eventTime(e, time.Time{}))
		return nil
	}
	if e.Build == nil {
		return nil
	}
	switch e.Kind {
	case status.BuildStarted:
		t.build(e)
	case status.StepStarted:
		if e.Step != nil {
			t.step(t.build(e), e)
		}
	case status.StepFinished:
		if e.Step != nil {
			bs := t.build(e)
			span := t.step(bs, e)
			delete(bs.steps, e.Step.Number)
			endWithResult(span, e.Step.Result, strings.Join(e.Step.Text, " "), taskResult, eventTime(e, e.Step.Finished))
		}
	case status.BuildFinished:
		bs := t.build(e)
		delete(t.builds, keyOf(e.Build))
		end := eventTime(e, e.Build.Finished)
		for _, s := range bs.steps {
			interrupt(s, end)
		}
		b := e.Build
		bs.span.SetAttributes(attribute.String("cicd.pipeline.run.url.full", b.URL)) // often known only now
		endWithResult(bs.span, b.Result, b.Summary(), pipelineResult, end)
	}
	return nil
}

// ending returns how many spans reporting e ends at most.
func (t *Tracer) ending(e status.Event) int {
	switch {
	case e.Kind == status.MasterStarted:
		n := 0
		for _, bs := range t.builds {
			if bs.master == e.Master {
				n += 1 + len(bs.steps)
			}
		}
		return n
	case e.Build == nil:
		return 0
	case e.Kind == status.StepFinished:
		return 1
	case e.Kind == status.BuildFinished:
		n := 1
		if bs, ok := t.builds[keyOf(e.Build)]; ok {
			n += len(bs.steps)
		}
		return n
	}
	return 0
}

// build returns the open spans of e's build, starting its span if needed
// (at the build's start, when the Tracer missed BuildStarted).
func (t *Tracer) build(e status.Event) *buildSpans {
	k := keyOf(e.Build)
	if bs, ok := t.builds[k]; ok {
		return bs
	}
	b := e.Build
	start := b.Started
	if e.Kind == status.BuildStarted {
		start = eventTime(e, b.Started)
	}
	attrs := []attribute.KeyValue{
		attribute.String("cicd.pipeline.name", b.Builder),
		attribute.String("cicd.pipeline.run.id", strconv.Itoa(b.Number)),
		attribute.String("cicd.pipeline.action.name", "BUILD"),
	}
	if b.Worker != "" {
		attrs = append(attrs, attribute.String("cicd.worker.name", b.Worker))
	}
	if e.Master != "" {
		attrs = append(attrs, attribute.String("herald.master", e.Master))
	}
	for _, s := range b.Sources {
		if s.Revision == "" {
			continue
		}
		attrs = append(attrs, attribute.String("vcs.ref.head.revision", s.Revision))
		if s.Branch != "" {
			attrs = append(attrs, attribute.String("vcs.ref.head.name", s.Branch))
		}
		if s.Repository != "" {
			attrs = append(attrs, attribute.String("vcs.repository.url.full", s.Repository))
		}
		break
	}
	_, span := t.tracer.Start(context.Background(), "BUILD "+b.Builder,
		trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	bs := &buildSpans{master: e.Master, span: span, steps: map[int]trace.Span{}}
	t.builds[k] = bs
	return bs
}

// step returns the open span of e's step, starting it if needed.
func (t *Tracer) step(bs *buildSpans, e status.Event) trace.Span {
	st := e.Step
	if span, ok := bs.steps[st.Number]; ok {
		return span
	}
	start := st.Started
	if e.Kind == status.StepStarted {
		start = eventTime(e, st.Started)
	}
	ctx := trace.ContextWithSpan(context.Background(), bs.span)
	_, span := t.tracer.Start(ctx, st.Name, trace.WithTimestamp(start), trace.WithAttributes(
		attribute.String("cicd.pipeline.task.name", st.Name),
		attribute.Int("herald.step.number", st.Number),
	))
	bs.steps[st.Number] = span
	return span
}

// interruptMaster ends the open spans of builds of master: a master that
// starts has no build running.
func (t *Tracer) interruptMaster(master string, at time.Time) {
	for k, bs := range t.builds {
		if bs.master == master {
			delete(t.builds, k)
			bs.interrupt(at)
		}
	}
}

// Close ends the spans still open as interrupted, then, when the Tracer
// runs its own provider, exports what is left and shuts it down within
// ctx. Reports after Close fail; Close again does nothing.
func (t *Tracer) Close(ctx context.Context) error {
	if t.flow != nil {
		t.flow.close() // a Report waiting for room gives up, so the lock is free
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	now := t.now()
	for k, bs := range t.builds {
		delete(t.builds, k)
		bs.interrupt(now)
	}
	t.mu.Unlock()
	if t.own == nil {
		return nil
	}
	err := t.own.Shutdown(ctx)
	t.conns.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("otel: shutting down the exporter: %w", err)
	}
	if lost := t.flow.lost(); lost > 0 {
		// Only Close ends spans without waiting for room.
		t.log.Warn("otel: spans of interrupted builds dropped at Close: the export queue was full", "spans", lost)
	}
	return nil
}

func (bs *buildSpans) interrupt(at time.Time) {
	for _, s := range bs.steps {
		interrupt(s, at)
	}
	interrupt(bs.span, at)
}

func interrupt(s trace.Span, at time.Time) {
	s.SetAttributes(attribute.String("error.type", "interrupted"))
	s.SetStatus(codes.Error, "interrupted")
	s.End(trace.WithTimestamp(at))
}

const (
	pipelineResult = "cicd.pipeline.result"
	taskResult     = "cicd.pipeline.task.run.result"
)

// endWithResult sets the result attributes and status of a build's or a
// step's span and ends it.
func endWithResult(s trace.Span, r status.Result, summary, resultKey string, at time.Time) {
	s.SetAttributes(attribute.String(resultKey, semconvResult(r)), attribute.String("herald.result", r.String()))
	if failed(r) {
		s.SetAttributes(attribute.String("error.type", r.String()))
		if summary == "" {
			summary = r.String()
		}
		s.SetStatus(codes.Error, summary)
	}
	s.End(trace.WithTimestamp(at))
}

// semconvResult names r as the CI/CD conventions do.
func semconvResult(r status.Result) string {
	switch r {
	case status.Success, status.Warnings:
		return "success"
	case status.Failure:
		return "failure"
	case status.Skipped:
		return "skip"
	case status.Cancelled:
		return "cancellation"
	default: // exception, retry: the CI system, not the code
		return "error"
	}
}

// failed reports whether r makes the span's status Error. A cancelled or
// skipped build did not fail.
func failed(r status.Result) bool {
	return r == status.Failure || r == status.Exception || r == status.Retry
}

func keyOf(b *status.Build) buildKey { return buildKey{b.Builder, b.Number} }

// eventTime is when e happened: its Time, else the subject's own time,
// else now.
func eventTime(e status.Event, subject time.Time) time.Time {
	switch {
	case !e.Time.IsZero():
		return e.Time
	case !subject.IsZero():
		return subject
	}
	return time.Now()
}
