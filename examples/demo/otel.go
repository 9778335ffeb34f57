package main

import (
	"context"
	"flag"

	"github.com/heraldci/herald/otel"
)

// otelTarget sends builds as OpenTelemetry traces to an OTLP/HTTP
// collector (-otlp-endpoint http://localhost:4318: a Jaeger or an
// OpenTelemetry Collector on this machine).
type otelTarget struct{ endpoint string }

func (t *otelTarget) Flags(fs *flag.FlagSet) {
	fs.StringVar(&t.endpoint, "otlp-endpoint", "", "send builds as OpenTelemetry traces to this OTLP/HTTP collector, e.g. http://localhost:4318")
}

func (t *otelTarget) Start(ctx context.Context, d *demo) error {
	if t.endpoint == "" {
		return nil
	}
	tr, err := otel.New(otel.Options{Endpoint: t.endpoint, ServiceName: "herald-demo", Logger: d.log})
	if err != nil {
		return err
	}
	d.hub.Add(tr) // the Hub closes it at Shutdown, which flushes the last spans
	d.where("otel: builds as traces to %s", t.endpoint)
	return nil
}
