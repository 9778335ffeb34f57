package otel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// loggingExporter logs what the OTLP exporter could not deliver, with
// header values cut out of the message (a collector may echo them back),
// and tells the batch processor nothing failed, so the SDK does not pass
// the error on to the process-wide OpenTelemetry error handler too.
type loggingExporter struct {
	sdktrace.SpanExporter
	log     *slog.Logger
	secrets []string
	flow    *flow
}

func (e *loggingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	e.flow.done(len(spans))
	if err != nil {
		e.log.Warn("otel: spans not exported", "spans", len(spans), "err", redact(err, e.secrets).Error())
	}
	return nil
}

// countingProcessor counts the spans that end into the batch processor.
type countingProcessor struct {
	sdktrace.SpanProcessor
	flow *flow
}

func (p countingProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	p.flow.ended.Add(1)
	p.SpanProcessor.OnEnd(s)
}

// flow keeps the spans between their end and their export (sent or given
// up) under the batch processor's queue size, so that queue never drops
// one. It counts spans out of the queue only once their export is over,
// so it never counts fewer than the queue holds.
type flow struct {
	size     int64
	ended    atomic.Int64
	exported atomic.Int64
	freed    chan struct{} // a token after each export
	stop     chan struct{} // closed by close
	stopOnce sync.Once
}

func newFlow(size int) *flow {
	return &flow{size: int64(size), freed: make(chan struct{}, 1), stop: make(chan struct{})}
}

// await returns once n more spans fit, or with an error when ctx ends or
// the Tracer closes first.
func (f *flow) await(ctx context.Context, n int) error {
	need := min(int64(n), f.size)
	for f.ended.Load()-f.exported.Load()+need > f.size {
		select {
		case <-f.freed:
		case <-ctx.Done():
			return fmt.Errorf("otel: waiting for the span export queue: %w", ctx.Err())
		case <-f.stop:
			return errClosed
		}
	}
	return nil
}

func (f *flow) done(n int) {
	f.exported.Add(int64(n))
	select {
	case f.freed <- struct{}{}:
	default:
	}
}

func (f *flow) close() { f.stopOnce.Do(func() { close(f.stop) }) }

// lost is the spans that ended but never reached the exporter; only
// meaningful after the provider shut down.
func (f *flow) lost() int64 { return f.ended.Load() - f.exported.Load() }

// redact returns err with every secret replaced by <redacted>.
func redact(err error, secrets []string) error {
	msg := err.Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "<redacted>")
		}
	}
	return errors.New(msg)
}
