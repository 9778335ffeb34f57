package metrics

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldci/herald/status"
)

// StatsSource is what Metrics reads the per-reporter counters from: a
// *status.Hub, or anything else that counts the same way. When it also has
// Counts() status.HubCounts (a Hub does), the hub_* metrics are read from
// that too.
type StatsSource interface {
	Stats() []status.ReporterStats
}

// countsSource is the optional part of a StatsSource.
type countsSource interface {
	Counts() status.HubCounts
}

// Options configures Metrics. The zero value is usable: build metrics
// only, in the namespace "herald".
type Options struct {
	// Namespace prefixes every metric name (default "herald").
	Namespace string
	// Hub, when set, is read at every scrape for the reporter_* metrics.
	// Reporters the Hub names alike are told apart by "#2", "#3", ... in
	// the order they were added.
	Hub StatsSource
	// BuildBuckets are the upper bounds, in seconds, of the build
	// duration histogram (default 1s to 4h).
	BuildBuckets []float64
	// StepBuckets are those of the step duration histogram (default 0.1s
	// to 1h).
	StepBuckets []float64
}

var (
	defaultBuildBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400}
	defaultStepBuckets  = []float64{0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600}
	validName           = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

func (o *Options) validate() error {
	var errs []error
	if o.Namespace == "" {
		o.Namespace = "herald"
	} else if !validName.MatchString(o.Namespace) {
		errs = append(errs, fmt.Errorf("metrics: Options.Namespace %q is not a metric name prefix: use letters, digits and underscores, not starting with a digit", o.Namespace))
	}
	if o.BuildBuckets == nil {
		o.BuildBuckets = defaultBuildBuckets
	} else if err := checkBuckets(o.BuildBuckets); err != nil {
		errs = append(errs, fmt.Errorf("metrics: Options.BuildBuckets %w", err))
	}
	if o.StepBuckets == nil {
		o.StepBuckets = defaultStepBuckets
	} else if err := checkBuckets(o.StepBuckets); err != nil {
		errs = append(errs, fmt.Errorf("metrics: Options.StepBuckets %w", err))
	}
	return errors.Join(errs...)
}

func checkBuckets(b []float64) error {
	if len(b) == 0 {
		return errors.New("is empty: give at least one upper bound in seconds, or leave it nil for the default")
	}
	for i, v := range b {
		if v <= 0 {
			return fmt.Errorf("has %g: bounds are durations in seconds, so positive", v)
		}
		if i > 0 && v <= b[i-1] {
			return fmt.Errorf("is not increasing at %g: list the bounds in increasing order", v)
		}
	}
	return nil
}

// Metrics counts builds from the events it is given and reads the Hub's
// counters when scraped. It is safe for concurrent use; Report never blocks
// on anything but its own short lock, does no I/O and never fails.
type Metrics struct {
	hub StatsSource

	builds   *prometheus.CounterVec
	buildDur *prometheus.HistogramVec
	stepDur  *prometheus.HistogramVec
	running  *prometheus.GaugeVec
	pending  *prometheus.GaugeVec
	reporter []reporterDesc // empty without a Hub
	counts   countsSource   // nil unless the Hub counts
	hubDescs hubDescs

	mu         sync.Mutex
	runningSet map[buildKey]bool
	pendingSet map[string]string // request ID → builder
}

type buildKey struct {
	builder string
	number  int
}

// hubDescs describe the hub_* counters.
type hubDescs struct{ published, late, historyErrors *prometheus.Desc }

// reporterDesc is one reporter_* metric and how to read it from stats.
type reporterDesc struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(status.ReporterStats) float64
}

var (
	_ status.Reporter      = (*Metrics)(nil)
	_ status.Selective     = (*Metrics)(nil)
	_ status.Named         = (*Metrics)(nil)
	_ prometheus.Collector = (*Metrics)(nil)
)

// New checks o and returns a Metrics, to be added to the Hub and registered
// with a prometheus.Registerer.
func New(o Options) (*Metrics, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	ns := o.Namespace
	m := &Metrics{
		hub: o.Hub,
		builds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "builds_total", Help: "Finished builds by builder and result.",
		}, []string{"builder", "result"}),
		buildDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "build_duration_seconds", Help: "Duration of finished builds, from start to finish.",
			Buckets: o.BuildBuckets,
		}, []string{"builder", "result"}),
		stepDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "step_duration_seconds", Help: "Duration of finished build steps.",
			Buckets: o.StepBuckets,
		}, []string{"builder", "step"}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "builds_running", Help: "Builds started and not yet finished.",
		}, []string{"builder"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "requests_pending", Help: "Build requests submitted and not yet claimed or cancelled.",
		}, []string{"builder"}),
		runningSet: map[buildKey]bool{},
		pendingSet: map[string]string{},
	}
	if o.Hub != nil {
		counter := func(name, help string, v func(status.ReporterStats) uint64) reporterDesc {
			return reporterDesc{
				desc:  prometheus.NewDesc(prometheus.BuildFQName(ns, "reporter", name), help, []string{"reporter"}, nil),
				kind:  prometheus.CounterValue,
				value: func(s status.ReporterStats) float64 { return float64(v(s)) },
			}
		}
		m.reporter = []reporterDesc{
			counter("published_total", "Events the Hub queued for the reporter.", func(s status.ReporterStats) uint64 { return s.Published }),
			counter("delivered_total", "Events the reporter accepted.", func(s status.ReporterStats) uint64 { return s.Delivered }),
			counter("retried_total", "Report calls repeated after a retryable error.", func(s status.ReporterStats) uint64 { return s.Retried }),
			counter("failed_total", "Events given up: permanent error, panic, or retries exhausted.", func(s status.ReporterStats) uint64 { return s.Failed }),
			counter("shed_total", "Log chunks shed because the reporter's queue was full.", func(s status.ReporterStats) uint64 { return s.Shed }),
			counter("dropped_total", "Other events lost: hard queue limit, a failed outbox write, or cut by shutdown.", func(s status.ReporterStats) uint64 { return s.Dropped }),
			counter("panics_total", "Report calls that panicked.", func(s status.ReporterStats) uint64 { return s.Panics }),
			{
				desc:  prometheus.NewDesc(prometheus.BuildFQName(ns, "reporter", "queued"), "Events waiting for the reporter, in memory and in its outbox.", []string{"reporter"}, nil),
				kind:  prometheus.GaugeValue,
				value: func(s status.ReporterStats) float64 { return float64(s.Queued) },
			},
		}
	}
	if c, ok := o.Hub.(countsSource); ok {
		m.counts = c
		m.hubDescs = hubDescs{
			published:     prometheus.NewDesc(prometheus.BuildFQName(ns, "hub", "published_total"), "Events accepted by the Hub's Publish.", nil, nil),
			late:          prometheus.NewDesc(prometheus.BuildFQName(ns, "hub", "late_total"), "Events published after shutdown began, not delivered.", nil, nil),
			historyErrors: prometheus.NewDesc(prometheus.BuildFQName(ns, "hub", "history_errors_total"), "Events the history could not record.", nil, nil),
		}
	}
	return m, nil
}

// Name returns "metrics".
func (m *Metrics) Name() string { return "metrics" }

var kinds = status.KindsOf(status.BuildStarted, status.BuildFinished, status.StepFinished,
	status.RequestSubmitted, status.RequestCancelled)

// Handles reports whether Metrics counts events of kind k.
func (m *Metrics) Handles(k status.Kind) bool { return kinds.Has(k) }

// Report counts e. It does no I/O, so it ignores ctx and returns nil.
func (m *Metrics) Report(_ context.Context, e status.Event) error {
	switch e.Kind {
	case status.BuildStarted:
		if e.Build != nil {
			m.buildStarted(e.Build)
		}
	case status.BuildFinished:
		if e.Build != nil {
			m.buildFinished(e.Build)
		}
	case status.StepFinished:
		if e.Build != nil && e.Step != nil && !e.Step.Started.IsZero() && !e.Step.Finished.IsZero() {
			m.stepDur.WithLabelValues(label(e.Build.Builder), label(e.Step.Name)).Observe(e.Step.Finished.Sub(e.Step.Started).Seconds())
		}
	case status.RequestSubmitted:
		if e.Request != nil {
			m.requestSubmitted(e.Request)
		}
	case status.RequestCancelled:
		if e.Request != nil {
			m.requestGone(e.Request)
		}
	}
	return nil
}

// The running and pending gauges follow sets rather than adding and
// subtracting, so a repeated or unmatched event never skews them.

func (m *Metrics) buildStarted(b *status.Build) {
	k := buildKey{label(b.Builder), b.Number}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.runningSet[k] {
		m.runningSet[k] = true
		m.running.WithLabelValues(k.builder).Inc()
	}
}

func (m *Metrics) buildFinished(b *status.Build) {
	k := buildKey{label(b.Builder), b.Number}
	m.mu.Lock()
	if m.runningSet[k] {
		delete(m.runningSet, k)
		m.running.WithLabelValues(k.builder).Dec()
	}
	m.mu.Unlock()
	result := b.Result.String()
	m.builds.WithLabelValues(k.builder, result).Inc()
	if !b.Started.IsZero() && !b.Finished.IsZero() {
		m.buildDur.WithLabelValues(k.builder, result).Observe(b.Finished.Sub(b.Started).Seconds())
	}
}

func (m *Metrics) requestSubmitted(r *status.BuildRequest) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.pendingSet[r.ID]; !ok {
		m.pendingSet[r.ID] = label(r.Builder)
		m.pending.WithLabelValues(label(r.Builder)).Inc()
	}
}

func (m *Metrics) requestGone(r *status.BuildRequest) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if builder, ok := m.pendingSet[r.ID]; ok {
		delete(m.pendingSet, r.ID)
		m.pending.WithLabelValues(builder).Dec()
	}
}

// Describe sends the descriptors of every metric Metrics collects.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.builds.Describe(ch)
	m.buildDur.Describe(ch)
	m.stepDur.Describe(ch)
	m.running.Describe(ch)
	m.pending.Describe(ch)
	for _, r := range m.reporter {
		ch <- r.desc
	}
	if m.counts != nil {
		ch <- m.hubDescs.published
		ch <- m.hubDescs.late
		ch <- m.hubDescs.historyErrors
	}
}

// Collect sends the current metrics, reading the Hub's Stats once.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.builds.Collect(ch)
	m.buildDur.Collect(ch)
	m.stepDur.Collect(ch)
	m.running.Collect(ch)
	m.pending.Collect(ch)
	if m.counts != nil {
		c := m.counts.Counts()
		ch <- prometheus.MustNewConstMetric(m.hubDescs.published, prometheus.CounterValue, float64(c.Published))
		ch <- prometheus.MustNewConstMetric(m.hubDescs.late, prometheus.CounterValue, float64(c.Late))
		ch <- prometheus.MustNewConstMetric(m.hubDescs.historyErrors, prometheus.CounterValue, float64(c.HistoryErrors))
	}
	if m.hub == nil {
		return
	}
	seen := map[string]int{}
	for _, st := range m.hub.Stats() {
		name := label(st.Name)
		seen[name]++
		if n := seen[name]; n > 1 {
			name += "#" + strconv.Itoa(n)
		}
		for _, r := range m.reporter {
			ch <- prometheus.MustNewConstMetric(r.desc, r.kind, r.value(st), name)
		}
	}
}

// label makes s a valid label value: names come from the host and from
// webhooks, and client_golang panics on invalid UTF-8.
func label(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
