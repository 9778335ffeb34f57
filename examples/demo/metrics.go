package main

import (
	"context"
	"flag"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/heraldci/herald/metrics"
)

// metricsTarget serves Prometheus metrics at /metrics: builds, durations,
// running builds, pending requests and the Hub's per-reporter counters,
// beside the Go runtime's and the process's own.
type metricsTarget struct{ on bool }

func (t *metricsTarget) Flags(fs *flag.FlagSet) {
	fs.BoolVar(&t.on, "metrics", true, "serve Prometheus metrics at /metrics (needs -addr)")
}

func (t *metricsTarget) Start(ctx context.Context, d *demo) error {
	if !t.on || d.url == "" {
		return nil
	}
	m, err := metrics.New(metrics.Options{Hub: d.hub})
	if err != nil {
		return err
	}
	d.hub.Add(m)
	reg := prometheus.NewRegistry()
	if err := reg.Register(m); err != nil {
		return err
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d.handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	d.where("metrics: %s/metrics (Prometheus text format)", d.url)
	return nil
}
