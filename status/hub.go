package status

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// HubOptions configures a Hub. The zero value is usable.
type HubOptions struct {
	// History is the host's history (store.Memory, say). Publish applies
	// every event to it synchronously, before any reporter is queued; see
	// Ledger. Optional.
	History Ledger
	// Logger receives sheds, drops, failures, retries (debug) and panics.
	// Default: slog.Default(). Reporters, outboxes and the History that
	// implement Logging and were given no logger of their own log through it
	// too.
	Logger *slog.Logger
	// QueueSize is each reporter's queue size in events (default 1024);
	// see Publish for what happens beyond it.
	QueueSize int
	// Retry is the default retry policy for Retryable errors.
	Retry RetryPolicy
	// AttemptTimeout bounds one Report call (default 1 minute). A call that
	// runs out of time sees its context end with context.DeadlineExceeded
	// (cause ErrAttemptTimeout) and is retried.
	AttemptTimeout time.Duration
	// CloseTimeout is how long a reporter's Close may take at Shutdown when
	// Shutdown's own context has no time left (default 5 seconds).
	CloseTimeout time.Duration
	// Master names this master in events that do not name one.
	Master string
	// WebURL is where browsers reach the web status (web.Options.BaseURL,
	// such as "https://ci.example.org"): a build published without a URL
	// gets its page there (Links.Build), so mails, chat messages, forge
	// statuses and the pages all link to the same place. Default: none;
	// builds keep the URL the host gave.
	WebURL string
	// Now is the clock for event times (default time.Now).
	Now func() time.Time
}

// ErrAttemptTimeout is the cause of an attempt's context ending after
// HubOptions.AttemptTimeout. It wraps context.DeadlineExceeded (net/http
// returns the cause rather than ctx.Err()), so ClassifyNetError classifies it as
// retryable.
var ErrAttemptTimeout = fmt.Errorf("status: report attempt timed out: %w", context.DeadlineExceeded)

// ErrHubClosed is returned by Hub.Add after Shutdown.
var ErrHubClosed = errors.New("status: Hub is shut down")

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
		d *= 1 + p.Jitter*(2*mrand.Float64()-1)
	}
	return time.Duration(d)
}

// AddOption configures one reporter added to a Hub.
type AddOption func(*AddOptions)

// AddOptions is what the AddOption functions set; Hub.Add starts from the
// Hub's defaults.
type AddOptions struct {
	Name      string      // in logs and Stats (default: Name method, else the type)
	QueueSize int         // overrides HubOptions.QueueSize
	Retry     RetryPolicy // overrides HubOptions.Retry
	Match     Match       // queue only events it accepts
	Outbox    Outbox      // durable queue; see WithOutbox
}

// WithName names the reporter in logs and Stats (default: its Name method,
// else its type).
func WithName(name string) AddOption { return func(o *AddOptions) { o.Name = name } }

// WithQueueSize sets the reporter's queue size, overriding HubOptions.QueueSize.
func WithQueueSize(n int) AddOption {
	return func(o *AddOptions) {
		if n > 0 {
			o.QueueSize = n
		}
	}
}

// WithRetry sets the reporter's retry policy, overriding HubOptions.Retry.
func WithRetry(p RetryPolicy) AddOption { return func(o *AddOptions) { o.Retry = p.withDefaults() } }

// WithMatch queues only the events m accepts (the same as adding Filter(r, m)).
func WithMatch(m Match) AddOption { return func(o *AddOptions) { o.Match = and(o.Match, m) } }

// WithOutbox puts a durable queue in front of the reporter: events queued
// for it are appended to o in groups and delivered from it, at least once and
// in order, across crashes and restarts; see Outbox. Retryable failures are
// retried for as long as it takes (RetryPolicy.MaxElapsed does not apply);
// permanent ones give the event up as usual. The Hub closes o at Shutdown.
// Events still in o then stay there for the next run.
func WithOutbox(o Outbox) AddOption { return func(a *AddOptions) { a.Outbox = o } }

// ReporterStats counts what happened to the events of one reporter.
type ReporterStats struct {
	Name          string
	Published     uint64 // events queued for it
	Delivered     uint64 // accepted by the reporter
	Retried       uint64 // Report calls repeated after a Retryable error or attempt timeout
	Failed        uint64 // events given up: permanent error, panic, or retries exhausted
	Shed          uint64 // log chunks shed because the queue was full
	Dropped       uint64 // other events lost: hard queue limit, a failed outbox write, or cut by Shutdown
	Panics        uint64 // Report calls that panicked (also counted in Failed)
	Queued        int    // events waiting now, in memory and in the outbox
	LastError     string
	LastErrorTime time.Time
}

// HubCounts counts what happened to events before they reached a reporter.
type HubCounts struct {
	Published     uint64 // events accepted by Publish
	Late          uint64 // events published after Shutdown began, not delivered
	HistoryErrors uint64 // events the History could not record
}

// Hub dispatches published events: first to the host's History, then to
// each reporter that handles their kind, on the reporter's own queue and
// goroutine, so a slow or dead target never blocks Publish or the other
// reporters, and each sees events in publish order. Retries, overflow,
// panics and shutdown are handled here, once, for every target. All methods
// are safe for concurrent use.
type Hub struct {
	log            *slog.Logger
	now            func() time.Time
	master         string
	links          Links // Base is HubOptions.WebURL
	id             string
	history        Ledger
	queueSize      int
	policy         RetryPolicy
	attemptTimeout time.Duration
	closeTimeout   time.Duration

	ctx    context.Context // cancelled when Shutdown gives up waiting
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// publishing orders Publish calls (and guards seq): the History, Match
	// functions and queueing run under it. mu guards the rest, briefly, so
	// Stats and Add never wait for a slow Match.
	publishing  sync.Mutex
	seq         uint64
	mu          sync.Mutex // guards sinks, closed, shutdownCtx
	sinks       []*sink
	closed      bool
	shutdownCtx context.Context

	published, late, historyErrors atomic.Uint64

	shutdownDone chan struct{}
	shutdownErr  error
}

// NewHub returns a running Hub.
func NewHub(o HubOptions) *Hub {
	h := &Hub{
		log:            o.Logger,
		now:            o.Now,
		master:         o.Master,
		links:          Links{Base: o.WebURL},
		history:        o.History,
		queueSize:      o.QueueSize,
		policy:         o.Retry.withDefaults(),
		attemptTimeout: o.AttemptTimeout,
		closeTimeout:   o.CloseTimeout,
		shutdownDone:   make(chan struct{}),
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
	if h.closeTimeout <= 0 {
		h.closeTimeout = 5 * time.Second
	}
	var b [5]byte
	_, _ = rand.Read(b[:])
	h.id = base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
	h.ctx, h.cancel = context.WithCancel(context.Background())
	if lg, ok := h.history.(Logging); ok {
		lg.InheritLogger(h.log)
	}
	return h
}

// Add starts delivering events published from now on to r: the kinds r
// handles (see Selective) that pass its Match (see WithMatch and Filter).
// First it gives r (and its Outbox) the Hub's logger, when they are Logging.
// After Shutdown has begun, Add returns ErrHubClosed and r gets no event
// and is not closed.
func (h *Hub) Add(r Reporter, opts ...AddOption) error {
	o := AddOptions{QueueSize: h.queueSize, Retry: h.policy}
	if f, ok := r.(*filtered); ok {
		o.Match = f.m
		r = f.r
	}
	o.Name = nameOf(r)
	for _, opt := range opts {
		opt(&o)
	}
	s := &sink{
		hub:    h,
		r:      r,
		name:   o.Name,
		kinds:  kindsOf(r),
		match:  o.Match,
		policy: o.Retry,
		outbox: o.Outbox,
		q:      newQueue(o.QueueSize),
		log:    h.log.With("reporter", o.Name),
	}
	if b, ok := r.(BatchReporter); ok && b.MaxBatch() > 1 {
		s.batch = b
	}
	// Before the worker starts, so the first Report logs through it; outside
	// the lock, as it is the reporter's code.
	if lg, ok := r.(Logging); ok {
		lg.InheritLogger(s.log)
	}
	if lg, ok := s.outbox.(Logging); ok {
		lg.InheritLogger(s.log)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return fmt.Errorf("add %s: %w", s.name, ErrHubClosed)
	}
	h.sinks = append(h.sinks, s)
	s.start()
	return nil
}

func kindsOf(r Reporter) KindSet {
	sel, ok := r.(Selective)
	if !ok {
		return KindsOf(AllKinds()...)
	}
	var ks KindSet
	for _, k := range AllKinds() {
		if sel.Handles(k) {
			ks |= KindsOf(k)
		}
	}
	return ks
}

// Publish records e in the History, then queues it for every reporter that
// handles it, and returns without waiting for any reporter. It sets e.Seq,
// and e.ID, e.Time and e.Master when they are zero (an event relayed from
// another master keeps its ID, so receivers can still de-duplicate it). With
// HubOptions.WebURL it sets e.Build.URL, in place, when it is empty.
//
// Publish takes ownership of e and everything it points to: the host must
// not modify them afterwards (reporters read them concurrently). The History
// may fill in fields in place (a new change's ID and time), which the host
// may read after Publish returns. Calls are serialised (that is what keeps
// every reporter's order), so the History's Apply and Match functions, which
// run inside Publish, must be quick; Stats and Add do not wait for them, and
// logging happens after the next Publish may start.
//
// Overflow: a reporter's queue holds QueueSize events. When it is full, the
// oldest queued log chunk (LogAppended) is shed to make room, or the new
// event if it is a chunk and none is queued; the next event of that log the
// reporter gets says how many chunks are missing (Event.Skipped), and the
// History always has the whole log. Lifecycle events (every other kind) are
// never shed: when no chunk is left to shed they grow the queue, up to 16×
// QueueSize; past that — a reporter stuck for that long — the oldest event is
// dropped. Every shed and drop is counted in Stats and logged (at the 1st,
// 2nd, 4th, 8th... occurrence). A reporter that must lose nothing, even
// across a crash, is added WithOutbox.
//
// Events published after Shutdown has begun are counted (HubCounts.Late)
// and not delivered.
func (h *Hub) Publish(e Event) {
	if e.Time.IsZero() {
		e.Time = h.now()
	}
	if e.Master == "" {
		e.Master = h.master
	}
	var notes []func()
	h.publishing.Lock()
	h.mu.Lock()
	closed, sinks := h.closed, h.sinks
	h.mu.Unlock()
	if closed {
		h.publishing.Unlock()
		if n := h.late.Add(1); n&(n-1) == 0 {
			h.log.Warn("status: event published after Shutdown not delivered", "kind", e.Kind, "late_total", n)
		}
		return
	}
	h.seq++
	e.Seq = h.seq
	if e.ID == "" { // events relayed from another master's Hub keep theirs
		e.ID = h.id + "-" + strconv.FormatUint(e.Seq, 10)
	}
	// Under the lock, before anyone sees the build: once set, a build
	// published again is only read.
	if b := e.Build; b != nil && b.URL == "" && b.Builder != "" && h.links.Base != "" {
		b.URL = h.links.Build(b.Builder, b.Number)
	}
	var herr error
	if h.history != nil {
		herr = h.history.Apply(&e)
	}
	shared := &e // one copy shared by every queue: events are immutable
	for _, s := range sinks {
		if !s.kinds.Has(e.Kind) || (s.match != nil && !s.match(e)) {
			continue
		}
		if note := s.push(shared); note != nil {
			notes = append(notes, note)
		}
	}
	h.published.Add(1)
	h.publishing.Unlock()

	if herr != nil {
		h.historyErrors.Add(1)
		h.log.Error("status: History could not record the event", "kind", e.Kind, "seq", e.Seq, "err", herr)
	}
	for _, note := range notes {
		note()
	}
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

// Counts returns the Hub's own counters.
func (h *Hub) Counts() HubCounts {
	return HubCounts{Published: h.published.Load(), Late: h.late.Load(), HistoryErrors: h.historyErrors.Load()}
}

// Shutdown stops accepting events and waits until every reporter has been
// given everything queued for it (delivered, failed, or — with an outbox —
// kept for the next run), then closes each reporter that is a Closer, right
// after its last Report returned. When ctx ends first, Shutdown cancels the
// in-flight reports and retries (their events counted as dropped, or kept in
// the outbox), gives each reporter's Close CloseTimeout, and returns
// ctx.Err().
//
// Shutdown does not wait for a reporter that ignores its context beyond
// CloseTimeout: it logs it, never calls its Close (Report may still be
// running), and that reporter's goroutine outlives Shutdown. Every other
// goroutine of the Hub has ended when Shutdown returns. Later calls wait for
// the first and return its result.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.publishing.Lock() // a Publish in progress finishes queueing first
	h.mu.Lock()
	first := !h.closed
	h.closed = true
	if first {
		h.shutdownCtx = ctx
	}
	sinks := h.sinks
	h.mu.Unlock()
	h.publishing.Unlock()
	if !first {
		select {
		case <-h.shutdownDone:
			return h.shutdownErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	h.shutdownErr = h.shutdown(ctx, sinks)
	close(h.shutdownDone)
	return h.shutdownErr
}

func (h *Hub) shutdown(ctx context.Context, sinks []*sink) error {
	for _, s := range sinks {
		s.q.close()
	}
	drained := make(chan struct{})
	go func() { h.wg.Wait(); close(drained) }()

	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
		h.cancel()
		t := time.NewTimer(h.closeTimeout)
		select {
		case <-drained:
			t.Stop()
		case <-t.C:
			for _, s := range sinks {
				if !s.finished.Load() {
					s.log.Error("status: Shutdown: the reporter ignores its context and is still running; not closed")
				}
			}
		}
	}
	h.cancel()
	var errs []error
	for _, s := range sinks {
		if s.finished.Load() && s.closeErr != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", s.name, s.closeErr))
		}
	}
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

// closeContext is the context a reporter's Close gets: what is left of
// Shutdown's, or CloseTimeout when nothing is.
func (h *Hub) closeContext() (context.Context, context.CancelFunc) {
	h.mu.Lock()
	ctx := h.shutdownCtx
	h.mu.Unlock()
	if ctx != nil && ctx.Err() == nil {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(context.Background(), h.closeTimeout)
}

// sink is one reporter's queue, worker and counters.
type sink struct {
	hub    *Hub
	r      Reporter
	batch  BatchReporter // nil unless r takes batches
	name   string
	kinds  KindSet
	match  Match
	policy RetryPolicy
	outbox Outbox
	q      *queue
	log    *slog.Logger

	actx    context.Context // the worker's current attempt context
	acancel context.CancelFunc
	buf     []*Event // the worker's take buffer

	stored   chan struct{} // outbox only: the writer appended something
	finished atomic.Bool   // the worker returned and closed the reporter
	closeErr error         // written before finished is set

	published, delivered, retried, failed, shed, dropped, panics atomic.Uint64

	lastMu      sync.Mutex
	lastErr     string
	lastErrTime time.Time
}

// push queues e; it returns a log line to write outside the Hub's lock, if
// one is due.
func (s *sink) push(e *Event) func() {
	s.published.Add(1)
	switch s.q.push(e) {
	case shed:
		if n := s.shed.Add(1); n&(n-1) == 0 {
			return func() {
				s.log.Warn("status: reporter queue full, shedding log chunks", "shed_total", n, "queue_size", s.q.limit)
			}
		}
	case grown:
		if n := s.q.len(); n == s.q.limit+1 || n == 4*s.q.limit {
			return func() {
				s.log.Warn("status: reporter queue over its size with lifecycle events", "queued", n, "queue_size", s.q.limit)
			}
		}
	case dropped:
		if n := s.dropped.Add(1); n&(n-1) == 0 {
			return func() {
				s.log.Error("status: reporter queue at its hard limit, dropping the oldest event", "dropped_total", n, "hard_limit", s.q.hard)
			}
		}
	}
	return nil
}

func (s *sink) start() {
	if s.outbox == nil {
		s.hub.wg.Add(1)
		go s.runMemory()
		return
	}
	s.stored = make(chan struct{}, 1)
	s.hub.wg.Add(1)
	go s.runOutbox()
}

func (s *sink) maxBatch() int {
	if s.batch != nil {
		return s.batch.MaxBatch()
	}
	return 1
}

// wait blocks until the queue may have something, or it is closing, or the
// Hub gave up. It reports whether to keep going.
func (s *sink) wait() bool {
	if s.q.len() > 0 {
		return true
	}
	if s.q.isClosing() || s.hub.ctx.Err() != nil {
		return false
	}
	select {
	case <-s.q.wake:
		return true
	case <-s.hub.ctx.Done():
		return false
	}
}

func (s *sink) runMemory() {
	defer s.hub.wg.Done()
	defer s.finish()
	// A non-batch reporter still gets its events one Report at a time;
	// taking several per lock only saves the queue's locking and wake-ups.
	take := 64
	if s.batch != nil {
		take = s.batch.MaxBatch()
	}
run:
	for s.hub.ctx.Err() == nil {
		evs := s.q.take(s.buf[:0], take)
		s.buf = evs
		if len(evs) == 0 {
			if !s.wait() {
				break
			}
			continue
		}
		if s.batch != nil {
			if left := s.deliver(evs); left > 0 {
				s.dropped.Add(uint64(left))
				break
			}
			continue
		}
		for i := range evs {
			if s.deliver(evs[i:i+1]) > 0 {
				s.dropped.Add(uint64(len(evs) - i))
				break run
			}
		}
	}
	clear(s.buf)
	if n := s.q.cut(); n > 0 {
		s.dropped.Add(uint64(n))
		s.log.Warn("status: Shutdown cut the reporter's queue", "dropped", n)
	}
}

// runOutbox moves queued events into the outbox in groups (one commit per
// group) on one goroutine, and delivers from the outbox on another.
func (s *sink) runOutbox() {
	defer s.hub.wg.Done()
	defer s.finish()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for {
			evs := s.q.take(nil, 512)
			if len(evs) == 0 {
				if !s.wait() {
					return
				}
				continue
			}
			group := make([]Event, len(evs))
			for i, e := range evs {
				group[i] = *e
			}
			if err := s.outbox.Append(group); err != nil {
				s.dropped.Add(uint64(len(group)))
				s.noteError(err)
				s.log.Error("status: outbox append failed, events lost", "events", len(group), "err", err)
			}
			select {
			case s.stored <- struct{}{}:
			default:
			}
		}
	}()
	failures := 0 // reads or removes failed in a row
deliver:
	for s.hub.ctx.Err() == nil {
		evs, err := s.outbox.Read(s.maxBatch())
		if err != nil && errors.Is(err, ErrUnreadable) {
			rerr := s.outbox.Remove(1)
			if rerr == nil {
				s.dropped.Add(1)
				s.noteError(err)
				s.log.Error("status: an event in the outbox cannot be read; removed, counted as dropped", "err", err)
				continue
			}
			err = errors.Join(err, rerr)
		}
		if err != nil {
			if !s.outboxTrouble("read", err, &failures) {
				break
			}
			continue
		}
		if len(evs) == 0 {
			select {
			case <-s.stored:
				continue
			case <-writerDone:
				if s.outbox.Len() > 0 {
					continue
				}
			case <-s.hub.ctx.Done():
			}
			break deliver
		}
		ptrs := make([]*Event, len(evs))
		for i := range evs {
			ptrs[i] = &evs[i]
		}
		left := s.deliver(ptrs)
		for done := len(evs) - left; done > 0; {
			err := s.outbox.Remove(done)
			if err == nil {
				break
			}
			if !s.outboxTrouble("remove", err, &failures) {
				break deliver
			}
		}
		failures = 0
		if left > 0 {
			break // aborted: the rest stays in the outbox
		}
	}
	<-writerDone // it ends once the queue is closed and empty, or the Hub gives up
	if err := s.outbox.Close(); err != nil {
		s.log.Error("status: outbox close", "err", err)
	}
}

// outboxTrouble logs a failed outbox read or remove (a disk error, a
// file another process locked) and waits before the next try, backing off
// as for a failing reporter; it returns false once the Hub is shutting
// down. Delivery from the outbox goes on when the disk does: events are
// never given up for it.
func (s *sink) outboxTrouble(op string, err error, failures *int) bool {
	s.noteError(err)
	wait := s.policy.Backoff(*failures)
	*failures++
	s.log.Error("status: outbox "+op+" failed; trying again", "wait", wait, "attempt", *failures, "err", err)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.hub.ctx.Done():
		return false
	}
}

// finish closes the reporter after its last Report returned.
func (s *sink) finish() {
	s.endAttempts()
	if c, ok := s.r.(Closer); ok {
		ctx, cancel := s.hub.closeContext()
		s.closeErr = c.Close(ctx)
		cancel()
	}
	s.finished.Store(true)
}

// deliver reports evs (one event, or a batch) until accepted, given up, or
// the Hub gives up waiting; left is how many of the last events were
// neither delivered nor given up, in the last case (a BatchError may have
// settled the first ones).
func (s *sink) deliver(evs []*Event) (left int) {
	ctx := s.hub.ctx
	var firstFailure time.Time
	for attempt := 0; ; attempt++ {
		err, panicked, timedOut := s.call(evs)
		if err == nil {
			s.delivered.Add(uint64(len(evs)))
			return 0
		}
		s.noteError(err)
		if be := (*BatchError)(nil); !panicked && errors.As(err, &be) && be.Settled > 0 {
			settled := min(be.Settled, len(evs))
			refused := min(max(be.Refused, 0), settled)
			s.delivered.Add(uint64(settled - refused))
			s.failed.Add(uint64(refused))
			if refused > 0 {
				s.log.Error("status: reporter refused events for good", "kind", evs[0].Kind, "seq", evs[0].Seq,
					"events", refused, "of", settled, "err", be.Err)
			}
			evs = evs[settled:]
			if len(evs) == 0 {
				return 0
			}
			attempt, firstFailure = 0, time.Time{} // the batch moved on: the rest starts afresh
			if be.Err != nil {
				err = be.Err
			}
		}
		first := evs[0]
		if panicked {
			s.panics.Add(1)
			s.failed.Add(uint64(len(evs)))
			return 0
		}
		if ctx.Err() != nil {
			return len(evs)
		}
		after, retry := RetryAfter(err)
		if timedOut {
			retry = true
		}
		if !retry {
			s.failed.Add(uint64(len(evs)))
			s.log.Error("status: reporter failed", "kind", first.Kind, "seq", first.Seq, "events", len(evs), "err", err)
			return 0
		}
		wait := after
		if wait <= 0 {
			wait = s.policy.Backoff(attempt)
		}
		if firstFailure.IsZero() {
			firstFailure = time.Now()
		}
		// With an outbox the events are kept on disk: retry until the
		// reporter takes them or Shutdown, never give them up.
		if s.outbox == nil && time.Since(firstFailure)+wait > s.policy.MaxElapsed {
			s.failed.Add(uint64(len(evs)))
			s.log.Error("status: reporter failed, giving up retries", "kind", first.Kind, "seq", first.Seq,
				"events", len(evs), "attempts", attempt+1, "err", err)
			return 0
		}
		s.retried.Add(1)
		s.log.Debug("status: reporter will retry", "kind", first.Kind, "seq", first.Seq, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return len(evs)
		}
	}
}

// call makes one attempt within AttemptTimeout, turning a panic into an
// error.
func (s *sink) call(evs []*Event) (err error, panicked, timedOut bool) {
	actx := s.attemptContext()
	defer func() {
		timedOut = context.Cause(actx) == ErrAttemptTimeout
		if v := recover(); v != nil {
			err, panicked = fmt.Errorf("status: reporter %s panicked: %v", s.name, v), true
			s.log.Error("status: reporter panicked", "kind", evs[0].Kind, "seq", evs[0].Seq, "panic", v)
		}
	}()
	if len(evs) == 1 {
		return s.r.Report(actx, *evs[0]), false, false
	}
	batch := make([]Event, len(evs))
	for i, e := range evs {
		batch[i] = *e
	}
	return s.batch.ReportBatch(actx, batch), false, false
}

// attemptContext returns the context for the next attempt, ending after
// AttemptTimeout with cause ErrAttemptTimeout. A context with a deadline
// costs a timer, which was most of the Hub's cost per delivery, so the
// worker reuses one while it has at least half of AttemptTimeout left: an
// attempt gets between AttemptTimeout/2 and AttemptTimeout. Only the
// sink's worker calls it.
func (s *sink) attemptContext() context.Context {
	if s.actx != nil && s.actx.Err() == nil {
		if d, _ := s.actx.Deadline(); time.Until(d) >= s.hub.attemptTimeout/2 {
			return s.actx
		}
	}
	s.endAttempts()
	s.actx, s.acancel = context.WithTimeoutCause(s.hub.ctx, s.hub.attemptTimeout, ErrAttemptTimeout)
	return s.actx
}

func (s *sink) endAttempts() {
	if s.acancel != nil {
		s.acancel()
		s.actx, s.acancel = nil, nil
	}
}

func (s *sink) noteError(err error) {
	s.lastMu.Lock()
	s.lastErr, s.lastErrTime = err.Error(), time.Now()
	s.lastMu.Unlock()
}

func (s *sink) stats() ReporterStats {
	q := s.q.len()
	if s.outbox != nil {
		q += s.outbox.Len() // after Shutdown: what stays for the next run
	}
	s.lastMu.Lock()
	defer s.lastMu.Unlock()
	return ReporterStats{
		Name:          s.name,
		Published:     s.published.Load(),
		Delivered:     s.delivered.Load(),
		Retried:       s.retried.Load(),
		Failed:        s.failed.Load(),
		Shed:          s.shed.Load(),
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
