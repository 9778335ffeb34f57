// Package metrics exposes builds and the Hub's delivery counters as
// Prometheus metrics. A Metrics is a status.Reporter, added to the Hub like
// any target, and a prometheus.Collector, registered with the host's
// registry and served by promhttp:
//
//	m, err := metrics.New(metrics.Options{Hub: hub})
//	hub.Add(m)
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(m)
//	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// The metrics, with the default namespace "herald":
//
//	herald_builds_total{builder,result}                    counter   finished builds
//	herald_build_duration_seconds{builder,result}          histogram from start to finish
//	herald_step_duration_seconds{builder,step}             histogram of finished steps
//	herald_builds_running{builder}                         gauge     started, not yet finished
//	herald_requests_pending{builder}                       gauge     submitted, not yet claimed or cancelled
//	herald_reporter_published_total{reporter}              counter   events queued for the reporter
//	herald_reporter_delivered_total{reporter}              counter   events the reporter accepted
//	herald_reporter_retried_total{reporter}                counter   Report calls repeated after a retryable error
//	herald_reporter_failed_total{reporter}                 counter   events given up
//	herald_reporter_shed_total{reporter}                   counter   log chunks shed from a full queue
//	herald_reporter_dropped_total{reporter}                counter   other events lost
//	herald_reporter_panics_total{reporter}                 counter   Report calls that panicked
//	herald_reporter_queued{reporter}                       gauge     events waiting for the reporter
//	herald_hub_published_total                             counter   events the Hub accepted
//	herald_hub_late_total                                  counter   events published after shutdown began
//	herald_hub_history_errors_total                        counter   events the history could not record
//
// The reporter_* and hub_* series are read from Options.Hub (its Stats and
// Counts) at each scrape, so they are exact even for reporters that fall
// behind. Build counts are
// what this process saw; Prometheus handles the reset when it restarts.
//
// Step durations are not split by result: step names times results times
// builders would multiply histogram series for little gain; the build's
// result is on the build histogram.
package metrics
