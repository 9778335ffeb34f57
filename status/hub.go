package status

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// HubOptions configures a Hub. The zero value is usable.
type HubOptions struct {
	// History is the host's history (store.Memory, say): Publish applies
	// each event to it before any reporter is queued. See Ledger.
	History Ledger
	// Logger receives drops, failures, retries (debug) and panics.
	// Default: slog.Default().
	Logger *slog.Logger
	// QueueSize bounds each reporter's queue (default 1024). When a queue is
	// full the oldest queued event is dropped, counted and logged: the newest
	// events describe the current state, which is what a late reporter should
	// still tell.
	QueueSize int
	// Retry is the default retry policy for Retryable errors.
	Retry RetryPolicy
	// AttemptTimeout bounds one Report call (default 1 minute); a call that
	// runs out of time counts as a retryable failure.
	AttemptTimeout time.Duration
	// Master names this master in events that do not name one.
	Master string
	// Now is the clock for event times (default time.Now).
	Now func() time.Time
}

// RetryPolicy says how a Hub retries Retryable failures: exponential backoff
// with jitter, or exactly the wait the error asked for.
type RetryPolicy struct {
	Initial    time.Duration // first backoff (default 500ms)
	Multiplier float64       // growth per attempt (default 1.5)
	Max        time.Duration // backoff cap (default 60s)
	// MaxElapsed gives up on an event (counted as failed) once retrying it
	// would take longer than this since its first failure (default 1h).
	MaxElapsed time.Duration
	// Jitter spreads each backoff randomly by ± this fraction (default 0.2;
	// negative for none).
	Jitter float64
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Initial <= 0 {
		p.Initial = 500 * time.Millisecond
	}
	if p.Multiplier < 1 {
		p.Multiplier = 1.5
	}
	if p.Max <= 0 {
		p.Max = time.Minute
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = time.Hour
	}
	if p.Jitter == 0 {
		p.Jitter = 0.2
	}
	return p
}

// Backoff returns the wait before retry number attempt (0 is the first retry).
func (p RetryPolicy) Backoff(attempt int) time.Duration {
	p = p.withDefaults()
	d := float64(p.Initial) * math.Pow(p.Multiplier, float64(attempt))
	d = min(d, float64(p.Max))
	if p.Jitter > 0 {
		d *= 1 + p.Jitter*(2*rand.Float64()-1)
	}
	return time.Duration(d)
}

// AddOption configures one reporter added to a Hub.
type AddOption func(*sink)

// WithName names the reporter in logs and Stats (default: its Name method,
// else its type).
func WithName(name string) AddOption { return func(s *sink) { s.name = name } }

// WithQueueSize bounds the reporter's queue, overriding HubOptions.QueueSize.
func WithQueueSize(n int) AddOption {
	return func(s *sink) {
		if n > 0 {
			s.limit = n
		}
	}
}

// WithRetry sets the reporter's retry policy, overriding HubOptions.Retry.
func WithRetry(p RetryPolicy) AddOption { return func(s *sink) { s.policy = p.withDefaults() } }

// WithMatch queues only the events m accepts (the same as adding Filter(r, m)).
func WithMatch(m Match) AddOption { return func(s *sink) { s.match = and(s.match, m) } }

// WithOutbox puts a durable queue in front of the reporter: events queued
// for it are kept in o until the reporter accepted them, across crashes and
// restarts. See Outbox.
func WithOutbox(o Outbox) AddOption { return func(s *sink) { s.outbox = o } }

// ReporterStats counts what happened to the events of one reporter.
type ReporterStats struct {
	Name          string
	Published     uint64 // events queued for it
	Delivered     uint64 // Report returned nil
	Retried       uint64 // Report calls repeated after a Retryable error
	Failed        uint64 // events given up: permanent error, panic, or retries exhausted
	Dropped       uint64 // events dropped unreported: queue overflow, or cut by Shutdown
	Panics        uint64 // Report calls that panicked (also counted in Failed)
	Queued        int    // events waiting now (not counting one being reported)
	LastError     string
	LastErrorTime time.Time
}

// Hub dispatches published events to reporters. Each reporter gets its own
// bounded FIFO queue and goroutine, so a slow or dead target never blocks
// Publish or the other reporters, and each sees events in publish order.
// Retries, overflow, panics and shutdown are handled here, once, for every
// target. All methods are safe for concurrent use.
type Hub struct {
	log            *slog.Logger
	now            func() time.Time
	master         string
	queueSize      int
	policy         RetryPolicy
	attemptTimeout time.Duration

	ctx    context.Context // cancelled when Shutdown runs out of time
	clock  atomic.Int64    // UnixNano, advanced by the watchdog every AttemptTimeout/8
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex // orders Publish; guards sinks and closed
	seq    uint64
	sinks  []*sink
	closed bool

	shutdownDone chan struct{}
	watchdogStop chan struct{}
	watchdogDone chan struct{}
	shutdownErr  error
}

// NewHub returns a running Hub.
func NewHub(o HubOptions) *Hub {
	h := &Hub{
		log:            o.Logger,
		now:            o.Now,
		master:         o.Master,
		queueSize:      o.QueueSize,
		policy:         o.Retry.withDefaults(),
		attemptTimeout: o.AttemptTimeout,
		shutdownDone:   make(chan struct{}),
		watchdogStop:   make(chan struct{}),
		watchdogDone:   make(chan struct{}),
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.queueSize <= 0 {
		h.queueSize = 1024
	}
	if h.attemptTimeout <= 0 {
		h.attemptTimeout = time.Minute
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.clock.Store(time.Now().UnixNano())
	go h.watchdog()
	return h
}

// watchdog cancels Report calls that run past AttemptTimeout, and keeps the
// coarse clock attempts are stamped with. One goroutine per Hub is cheaper
// than a timer, or even a time.Now, around every call.
func (h *Hub) watchdog() {
	defer close(h.watchdogDone)
	tick := time.NewTicker(max(h.attemptTimeout/8, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case now := <-tick.C:
			h.clock.Store(now.UnixNano())
			deadline := now.Add(-h.attemptTimeout).UnixNano()
			h.mu.Lock()
			sinks := h.sinks
			h.mu.Unlock()
			for _, s := range sinks {
				s.expireIfLate(deadline)
			}
		case <-h.watchdogStop:
			return
		}
	}
}

// Add starts delivering events published from now on to r. A Filter reporter
// is filtered before queueing. Adding after Shutdown is ignored and logged.
func (h *Hub) Add(r Reporter, opts ...AddOption) {
	s := &sink{hub: h, r: r, limit: h.queueSize, policy: h.policy}
	if f, ok := r.(*filtered); ok {
		s.match = f.m
		s.r = f.r
	}
	s.name = nameOf(s.r)
	for _, o := range opts {
		o(s)
	}
	s.log = h.log.With("reporter", s.name)
	s.q = newQueue(s.limit)

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		h.log.Error("status: Hub.Add after Shutdown ignored", "reporter", s.name)
		return
	}
	h.sinks = append(h.sinks, s)
	h.wg.Add(1)
	go s.run()
}

// Publish queues e for every reporter and returns without waiting for any of
// them. It sets e.Seq, and e.Time and e.Master when they are zero. Events
// published after Shutdown has begun are dropped (logged at debug level).
func (h *Hub) Publish(e Event) {
	if e.Time.IsZero() {
		e.Time = h.now()
	}
	if e.Master == "" {
		e.Master = h.master
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.log.Debug("status: event published after Shutdown dropped", "kind", e.Kind)
		return
	}
	h.seq++
	e.Seq = h.seq
	var shared *Event // one copy shared by every queue: events are immutable
	for _, s := range h.sinks {
		if s.match == nil || s.match(e) {
			if shared == nil {
				shared = new(Event)
				*shared = e
			}
			s.push(shared)
		}
	}
	h.mu.Unlock()
}

// Stats returns the counters of every reporter, in the order they were added.
func (h *Hub) Stats() []ReporterStats {
	h.mu.Lock()
	sinks := h.sinks
	h.mu.Unlock()
	st := make([]ReporterStats, len(sinks))
	for i, s := range sinks {
		st[i] = s.stats()
	}
	return st
}

// Shutdown stops accepting events, waits until every queue is drained, then
// closes the reporters that are Closers. When ctx ends first it aborts
// in-flight reports and retries (their events counted as dropped), still
// closes the reporters, and returns ctx.Err(). No goroutine of the Hub
// outlives Shutdown. Later calls wait for the first and return its result.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	first := !h.closed
	h.closed = true
	h.mu.Unlock()
	if first {
		h.shutdownErr = h.shutdown(ctx)
		close(h.shutdownDone)
		return h.shutdownErr
	}
	select {
	case <-h.shutdownDone:
		return h.shutdownErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// abortGrace is how long Shutdown waits, after cancelling, for reporters
// that do not honour their context.
const abortGrace = 2 * time.Second

func (h *Hub) shutdown(ctx context.Context) error {
	h.mu.Lock()
	sinks := h.sinks
	h.mu.Unlock()
	for _, s := range sinks {
		s.q.closing.Store(true)
		s.q.signal()
	}
	drained := make(chan struct{})
	go func() { h.wg.Wait(); close(drained) }()

	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
		h.cancel()
		for _, s := range sinks {
			s.q.signal() // a parked worker sees the abort
		}
		select {
		case <-drained:
		case <-time.After(abortGrace):
			h.log.Error("status: Shutdown: a reporter ignores its context and is still running")
		}
	}
	h.cancel()
	close(h.watchdogStop)
	<-h.watchdogDone
	var errs []error
	for _, s := range sinks {
		if c, ok := s.r.(Closer); ok {
			if cerr := c.Close(ctx); cerr != nil {
				errs = append(errs, fmt.Errorf("close %s: %w", s.name, cerr))
			}
		}
	}
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

// sink is one reporter's queue and worker.
type sink struct {
	hub    *Hub
	r      Reporter
	name   string
	match  Match
	policy RetryPolicy
	log    *slog.Logger

	q      *queue
	limit  int
	outbox Outbox

	// Per-attempt timeouts without allocating or arming a timer per
	// attempt: the attempt context is reused until cancelled, the worker
	// notes when an attempt started, and the Hub's watchdog cancels
	// attempts that run past AttemptTimeout.
	actx     context.Context
	acancel  context.CancelFunc
	started  atomic.Int64 // Hub.clock when the running attempt began; 0 idle; -1 expired by the watchdog
	cancelMu sync.Mutex   // orders the watchdog's cancel against a new context

	published, delivered, retried, failed, dropped, panics atomic.Uint64
	lastMu                                                 sync.Mutex
	lastErr                                                string
	lastErrTime                                            time.Time
}

func (s *sink) push(e *Event) {
	if s.q.push(e) {
		if d := s.dropped.Add(1); d&(d-1) == 0 { // log the 1st, 2nd, 4th, 8th... drop
			s.log.Warn("status: reporter queue full, dropping oldest event", "dropped_total", d, "queue_size", s.limit)
		}
	}
	s.published.Add(1)
}

// next waits for the next event; false when the sink is closing and drained,
// or the hub aborted.
func (s *sink) next() (*Event, bool) {
	for {
		if e := s.q.pop(); e != nil {
			return e, true
		}
		if s.q.closing.Load() || s.hub.ctx.Err() != nil {
			return nil, false
		}
		s.q.waiting.Store(true)
		if e := s.q.pop(); e != nil { // pushed before the producer could see waiting
			s.q.waiting.Store(false)
			return e, true
		}
		<-s.q.wake // Shutdown and its abort signal every queue too
	}
}

func (s *sink) run() {
	defer s.hub.wg.Done()
	for {
		if s.hub.ctx.Err() != nil {
			break
		}
		e, ok := s.next()
		if !ok {
			break
		}
		s.deliver(e)
	}
	s.cancelMu.Lock()
	if s.acancel != nil {
		s.acancel()
	}
	s.cancelMu.Unlock()
	if n := s.q.cut(); n > 0 {
		s.dropped.Add(uint64(n))
		s.log.Warn("status: Shutdown cut the reporter's queue", "dropped", n)
	}
}

func (s *sink) deliver(e *Event) {
	ctx := s.hub.ctx
	var firstFailure time.Time // MaxElapsed counts from here: no clock read on the happy path
	for attempt := 0; ; attempt++ {
		err, panicked, timedOut := s.call(e)
		if err == nil {
			s.delivered.Add(1)
			return
		}
		s.noteError(err)
		if panicked {
			s.panics.Add(1)
			s.failed.Add(1)
			return
		}
		if ctx.Err() != nil { // Shutdown gave up on us
			s.dropped.Add(1)
			return
		}
		after, retry := RetryAfter(err)
		if timedOut {
			retry = true // our attempt timeout, not the reporter's verdict
		}
		if !retry {
			s.failed.Add(1)
			s.log.Error("status: reporter failed", "kind", e.Kind, "seq", e.Seq, "err", err)
			return
		}
		wait := after
		if wait <= 0 {
			wait = s.policy.Backoff(attempt)
		}
		if firstFailure.IsZero() {
			firstFailure = time.Now()
		}
		if time.Since(firstFailure)+wait > s.policy.MaxElapsed {
			s.failed.Add(1)
			s.log.Error("status: reporter failed, giving up retries", "kind", e.Kind, "seq", e.Seq,
				"attempts", attempt+1, "err", err)
			return
		}
		s.retried.Add(1)
		s.log.Debug("status: reporter will retry", "kind", e.Kind, "seq", e.Seq, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			s.dropped.Add(1)
			return
		}
	}
}

// call runs one Report within the attempt timeout, turning a panic into an
// error.
func (s *sink) call(e *Event) (err error, panicked, timedOut bool) {
	actx := s.attemptCtx()
	s.started.Store(s.hub.clock.Load())
	defer func() {
		if s.started.Swap(0) == -1 {
			timedOut = true
			s.cancelMu.Lock() // the watchdog has cancelled actx: start afresh
			s.actx = nil
			s.cancelMu.Unlock()
		}
		if v := recover(); v != nil {
			err, panicked = fmt.Errorf("status: reporter %s panicked: %v", s.name, v), true
			s.log.Error("status: reporter panicked", "kind", e.Kind, "seq", e.Seq, "panic", v)
		}
	}()
	return s.r.Report(actx, *e), false, false
}

// attemptCtx returns the context for the next attempt: the previous one
// unless it was cancelled.
func (s *sink) attemptCtx() context.Context {
	// Only the worker writes actx, so it may read it unlocked; the lock
	// orders a new acancel against the watchdog.
	if s.actx != nil && s.actx.Err() == nil {
		return s.actx
	}
	s.cancelMu.Lock()
	defer s.cancelMu.Unlock()
	s.actx, s.acancel = context.WithCancel(s.hub.ctx)
	return s.actx
}

// expireIfLate cancels the running attempt if it started before deadline.
// It runs on the Hub's watchdog goroutine.
func (s *sink) expireIfLate(deadline int64) {
	v := s.started.Load()
	if v <= 0 || v > deadline {
		return
	}
	s.cancelMu.Lock()
	defer s.cancelMu.Unlock()
	if s.started.CompareAndSwap(v, -1) && s.acancel != nil {
		s.acancel()
	}
}

func (s *sink) noteError(err error) {
	s.lastMu.Lock()
	s.lastErr, s.lastErrTime = err.Error(), time.Now()
	s.lastMu.Unlock()
}

func (s *sink) stats() ReporterStats {
	q := s.q.len()
	s.lastMu.Lock()
	defer s.lastMu.Unlock()
	return ReporterStats{
		Name:          s.name,
		Published:     s.published.Load(),
		Delivered:     s.delivered.Load(),
		Retried:       s.retried.Load(),
		Failed:        s.failed.Load(),
		Dropped:       s.dropped.Load(),
		Panics:        s.panics.Load(),
		Queued:        q,
		LastError:     s.lastErr,
		LastErrorTime: s.lastErrTime,
	}
}

func and(a, b Match) Match {
	if a == nil {
		return b
	}
	return And(a, b)
}
