package otel

import (
	"context"
	"errors"
	"log/slog"
	"strings"

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
}

func (e *loggingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := e.SpanExporter.ExportSpans(ctx, spans); err != nil {
		e.log.Warn("otel: spans not exported", "spans", len(spans), "err", redact(err, e.secrets).Error())
	}
	return nil
}

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
