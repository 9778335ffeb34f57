package status_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// gate is a Reporter that records events and holds the first Report until
// opened, so a test can fill its queue.
type gate struct {
	statustest.Recorder
	kinds   status.KindSet // zero: every kind
	entered chan struct{}
	open    chan struct{}
	once    sync.Once
}

func newGate() *gate { return &gate{entered: make(chan struct{}), open: make(chan struct{})} }

func (g *gate) Report(ctx context.Context, e status.Event) error {
	g.once.Do(func() { close(g.entered) })
	select {
	case <-g.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.Recorder.Report(ctx, e)
}

func (g *gate) Handles(k status.Kind) bool { return g.kinds == 0 || g.kinds.Has(k) }

func shutdown(t *testing.T, h *status.Hub) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, h.Shutdown(ctx))
}

func chunk(builder string, build int, text string) status.Event {
	return status.Event{Kind: status.LogAppended, Build: &status.Build{Builder: builder, Number: build},
		Log: &status.LogRef{Builder: builder, Build: build, Step: "compile", Name: "stdio"}, Chunk: text}
}

func finished(builder string, build int) status.Event {
	return status.Event{Kind: status.BuildFinished, Build: &status.Build{Builder: builder, Number: build,
		Result: status.Failure, Finished: time.Now()}}
}

// A chatty log on one builder never crowds a mailer's BuildFinished of
// another out: the mailer declares its kinds and gets nothing else queued.
func TestHubQueuesOnlyDeclaredKinds(t *testing.T) {
	h := quietHub(t, status.HubOptions{QueueSize: 8})
	mailer := newGate()
	mailer.kinds = status.KindsOf(status.BuildFinished)
	require.NoError(t, h.Add(mailer, status.WithName("mailer")))

	h.Publish(finished("docs", 1))
	<-mailer.entered
	for i := range 50_000 {
		h.Publish(chunk("linux", 7, fmt.Sprintf("line %d\n", i)))
	}
	h.Publish(finished("windows", 3))
	close(mailer.open)
	shutdown(t, h)

	evs := mailer.Events()
	require.Len(t, evs, 2)
	assert.Equal(t, "docs", evs[0].Build.Builder)
	assert.Equal(t, "windows", evs[1].Build.Builder)
	st := statsOf(h, "mailer")
	assert.Equal(t, uint64(2), st.Published)
	assert.Zero(t, st.Shed+st.Dropped)
}

// countingLedger is a minimal Ledger: it counts what it applied, keeps log
// text, and numbers changes.
type countingLedger struct {
	statustest.History
	mu      sync.Mutex
	applied uint64
	log     map[int]int // build number → chunks
	nextID  int64
}

func (l *countingLedger) Apply(e *status.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.applied = e.Seq
	if e.Kind == status.LogAppended {
		if l.log == nil {
			l.log = map[int]int{}
		}
		l.log[e.Log.Build]++
	}
	if e.Kind == status.ChangeAdded && e.Change.ID == 0 {
		l.nextID++
		e.Change.ID = l.nextID
		if e.Change.When.IsZero() {
			e.Change.When = e.Time
		}
	}
	if e.Kind == status.StepStarted && e.Build == nil {
		return errors.New("step of no build")
	}
	return nil
}

func (l *countingLedger) seen() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.applied
}

// 200,000 one-line log events while a slow reporter lags: it loses no
// lifecycle event, every shed chunk is counted and marked on the next event
// of its log, and the History has every chunk.
func TestHubShedsLogChunksNeverLifecycle(t *testing.T) {
	const chunks = 200_000
	ledger := &countingLedger{}
	h := quietHub(t, status.HubOptions{QueueSize: 64, History: ledger})
	slow := newGate()
	require.NoError(t, h.Add(slow, status.WithName("slow")))

	lifecycle := 0
	publish := func(e status.Event) {
		if e.Kind.Lifecycle() {
			lifecycle++
		}
		h.Publish(e)
	}
	b := &status.Build{Builder: "linux", Number: 7}
	publish(status.Event{Kind: status.BuildStarted, Build: b})
	<-slow.entered
	for i := range chunks {
		if i%1000 == 0 {
			publish(status.Event{Kind: status.StepTextChanged, Build: b, Step: &status.Step{Name: "compile", Text: []string{fmt.Sprint(i)}}})
		}
		publish(chunk("linux", 7, "x\n"))
	}
	publish(status.Event{Kind: status.LogFinished, Build: b, Log: &status.LogRef{Builder: "linux", Build: 7, Step: "compile", Name: "stdio"}})
	publish(finished("linux", 7))
	close(slow.open)
	shutdown(t, h)

	var gotLifecycle, gotChunks, skipped int
	var lastSeq uint64
	for _, e := range slow.Events() {
		require.Greater(t, e.Seq, lastSeq, "order lost")
		lastSeq = e.Seq
		if e.Kind.Lifecycle() {
			gotLifecycle++
		} else {
			gotChunks++
		}
		skipped += e.Skipped
	}
	assert.Equal(t, lifecycle, gotLifecycle, "lifecycle events lost")
	st := statsOf(h, "slow")
	assert.Zero(t, st.Dropped)
	assert.Positive(t, st.Shed)
	assert.Equal(t, int(st.Shed), skipped, "every shed chunk is marked on a later event of its log")
	assert.Equal(t, chunks, gotChunks+skipped)
	assert.Equal(t, chunks, ledger.log[7], "the History has the whole log")
}

// History first: a reporter handling event N reads a History that holds N,
// and sees the change ID and time the History assigned; so does the host.
func TestHubAppliesHistoryFirst(t *testing.T) {
	ledger := &countingLedger{}
	h := quietHub(t, status.HubOptions{History: ledger})
	var behind atomic.Int64
	var rec statustest.Recorder
	require.NoError(t, h.Add(status.ReporterFunc(func(ctx context.Context, e status.Event) error {
		if ledger.seen() < e.Seq {
			behind.Add(1)
		}
		return rec.Report(ctx, e)
	})))
	var hostChanges []*status.Change
	for i := range 500 {
		c := &status.Change{Revision: fmt.Sprint(i)}
		hostChanges = append(hostChanges, c)
		h.Publish(status.Event{Kind: status.ChangeAdded, Change: c})
	}
	h.Publish(status.Event{Kind: status.StepStarted}) // the History refuses it; it is still delivered
	shutdown(t, h)

	assert.Zero(t, behind.Load())
	evs := rec.Events()
	require.Len(t, evs, 501)
	for i, e := range evs[:500] {
		assert.Equal(t, int64(i+1), e.Change.ID)
		assert.False(t, e.Change.When.IsZero())
		assert.Equal(t, int64(i+1), hostChanges[i].ID)
	}
	assert.Equal(t, status.HubCounts{Published: 501, HistoryErrors: 1}, h.Counts())
}

type batcher struct {
	statustest.Recorder
	gate    chan struct{}
	mu      sync.Mutex
	batches []int
}

func (b *batcher) MaxBatch() int { return 10 }
func (b *batcher) Report(ctx context.Context, e status.Event) error {
	return b.ReportBatch(ctx, []status.Event{e})
}
func (b *batcher) ReportBatch(ctx context.Context, evs []status.Event) error {
	<-b.gate
	b.mu.Lock()
	b.batches = append(b.batches, len(evs))
	b.mu.Unlock()
	for _, e := range evs {
		_ = b.Recorder.Report(ctx, e)
	}
	return nil
}

func TestHubHandsBatches(t *testing.T) {
	h := quietHub(t, status.HubOptions{})
	b := &batcher{gate: make(chan struct{})}
	require.NoError(t, h.Add(b))
	for range 36 {
		h.Publish(status.Event{Kind: status.MasterStarted})
	}
	close(b.gate)
	shutdown(t, h)
	evs := b.Events()
	require.Len(t, evs, 36)
	for i, e := range evs {
		assert.Equal(t, uint64(i+1), e.Seq)
	}
	assert.Greater(t, len(b.batches), 3)
	for _, n := range b.batches {
		assert.LessOrEqual(t, n, 10)
	}
	assert.Contains(t, b.batches, 10, "waiting events are handed over together")
}

// partialBatcher handles batches in part as its script says: for each
// call with more events than the next entry's Settled, it settles that many
// (refusing Refused of them) and fails the rest retryably. Otherwise it
// settles the whole batch, refusing the events refuse picks. It checks
// that no settled event is handed to it again.
type partialBatcher struct {
	t       *testing.T
	script  []status.BatchError
	refuse  func(seq uint64) bool
	mu      sync.Mutex
	settled map[uint64]bool
	refused int
}

func (p *partialBatcher) Report(ctx context.Context, e status.Event) error {
	return p.ReportBatch(ctx, []status.Event{e})
}
func (p *partialBatcher) MaxBatch() int { return 10 }
func (p *partialBatcher) ReportBatch(_ context.Context, evs []status.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.settled == nil {
		p.settled = map[uint64]bool{}
	}
	for _, e := range evs {
		assert.False(p.t, p.settled[e.Seq], "event %d handed over again after it was settled", e.Seq)
	}
	if len(p.script) > 0 && p.script[0].Settled < len(evs) {
		be := p.script[0]
		p.script = p.script[1:]
		for _, e := range evs[:be.Settled] {
			p.settled[e.Seq] = true
		}
		p.refused += be.Refused
		return &be
	}
	refused := 0
	for _, e := range evs {
		p.settled[e.Seq] = true
		if p.refuse != nil && p.refuse(e.Seq) {
			refused++
		}
	}
	if refused == 0 {
		return nil
	}
	p.refused += refused
	return &status.BatchError{Settled: len(evs), Refused: refused, Err: errors.New("refused for good")}
}

// A batch the reporter handled in part: the Hub counts what was settled,
// delivered or refused, and hands over only the rest again.
func TestHubRetriesOnlyTheRestOfAPartBatch(t *testing.T) {
	busy := status.Retryable(errors.New("receiver busy"), time.Millisecond)
	p := &partialBatcher{t: t, script: []status.BatchError{
		{Settled: 1, Refused: 1, Err: busy},
		{Settled: 2, Err: busy},
		{Settled: 1, Err: busy},
	}}
	h := quietHub(t, status.HubOptions{Retry: status.RetryPolicy{Initial: time.Millisecond, Jitter: -1}})
	require.NoError(t, h.Add(p, status.WithName("batcher")))
	for range 40 {
		h.Publish(status.Event{Kind: status.MasterStarted})
	}
	shutdown(t, h)
	p.mu.Lock()
	defer p.mu.Unlock()
	assert.Len(t, p.settled, 40, "every event settled")
	assert.Empty(t, p.script, "every scripted part-batch happened")
	st := statsOf(h, "batcher")
	assert.Equal(t, uint64(40-p.refused), st.Delivered)
	assert.Equal(t, uint64(p.refused), st.Failed)
	assert.Zero(t, st.Dropped)
}

// Events refused for good inside a batch are counted failed, one by one,
// and logged; the others of the batch are delivered, and nothing is sent
// again.
func TestHubCountsRefusalsInsideABatch(t *testing.T) {
	var logs testkit.Buffer
	p := &partialBatcher{t: t, refuse: func(seq uint64) bool { return seq%3 == 0 }}
	h := status.NewHub(status.HubOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, h.Add(p, status.WithName("batcher")))
	for range 30 {
		h.Publish(status.Event{Kind: status.MasterStarted})
	}
	shutdown(t, h)
	st := statsOf(h, "batcher")
	assert.Equal(t, uint64(20), st.Delivered)
	assert.Equal(t, uint64(10), st.Failed)
	assert.Contains(t, logs.String(), "refused events for good")
}

// memOutbox is an Outbox in memory, shared across Hubs to stand for a file
// that survives a restart.
type memOutbox struct {
	mu       sync.Mutex
	events   []status.Event
	appended chan struct{}
	closed   int
}

func (o *memOutbox) Append(evs []status.Event) error {
	o.mu.Lock()
	o.events = append(o.events, evs...)
	o.mu.Unlock()
	select {
	case o.appended <- struct{}{}:
	default:
	}
	return nil
}
func (o *memOutbox) Read(max int) ([]status.Event, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]status.Event(nil), o.events[:min(max, len(o.events))]...), nil
}
func (o *memOutbox) Remove(n int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = o.events[n:]
	return nil
}
func (o *memOutbox) Len() int { o.mu.Lock(); defer o.mu.Unlock(); return len(o.events) }
func (o *memOutbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed++
	return nil
}

func TestHubOutboxKeepsEventsForTheNextRun(t *testing.T) {
	ob := &memOutbox{appended: make(chan struct{}, 1)}
	h1 := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler)})
	dead := status.ReporterFunc(func(ctx context.Context, e status.Event) error {
		return status.Retryable(errors.New("receiver down"), time.Minute)
	})
	require.NoError(t, h1.Add(dead, status.WithName("push"), status.WithOutbox(ob)))
	var ids []string
	for range 100 {
		h1.Publish(status.Event{Kind: status.MasterStarted})
	}
	for ob.Len() < 100 {
		<-ob.appended
	}
	for _, e := range ob.events {
		ids = append(ids, e.ID)
	}
	assert.Equal(t, 100, statsOf(h1, "push").Queued)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, h1.Shutdown(ctx), context.DeadlineExceeded)
	require.Equal(t, 100, ob.Len(), "events stay in the outbox")
	assert.Equal(t, 1, ob.closed)

	h2 := quietHub(t, status.HubOptions{})
	var rec statustest.Recorder
	require.NoError(t, h2.Add(&rec, status.WithOutbox(ob)))
	h2.Publish(status.Event{Kind: status.MasterStopping})
	shutdown(t, h2)
	evs := rec.Events()
	require.Len(t, evs, 101)
	for i, id := range ids {
		assert.Equal(t, id, evs[i].ID, "delivered in order with their IDs")
	}
	assert.Equal(t, status.MasterStopping, evs[100].Kind)
	assert.Zero(t, ob.Len())
}

// troubledOutbox is a memOutbox whose file fails: readErrs and removeErrs
// are returned by the next Reads and Removes, and the event with sequence
// unreadable cannot be decoded while it is the oldest.
type troubledOutbox struct {
	memOutbox
	readErrs, removeErrs []error
	unreadable           uint64
}

func (o *troubledOutbox) Read(max int) ([]status.Event, error) {
	o.mu.Lock()
	if len(o.readErrs) > 0 {
		err := o.readErrs[0]
		o.readErrs = o.readErrs[1:]
		o.mu.Unlock()
		return nil, err
	}
	if len(o.events) > 0 && o.events[0].Seq == o.unreadable {
		o.mu.Unlock()
		return nil, fmt.Errorf("outbox: record 1: %w", status.ErrUnreadable)
	}
	o.mu.Unlock()
	return o.memOutbox.Read(max)
}

func (o *troubledOutbox) Remove(n int) error {
	o.mu.Lock()
	if len(o.removeErrs) > 0 {
		err := o.removeErrs[0]
		o.removeErrs = o.removeErrs[1:]
		o.mu.Unlock()
		return err
	}
	o.mu.Unlock()
	return o.memOutbox.Remove(n)
}

// A disk that fails for a while delays delivery from the outbox and loses
// nothing; an event that can no longer be read is removed and counted as
// dropped, and the events after it are delivered.
func TestHubOutboxOutlivesReadAndRemoveErrors(t *testing.T) {
	diskErr := errors.New("read ob.db: input/output error")
	ob := &troubledOutbox{memOutbox: memOutbox{appended: make(chan struct{}, 1)},
		readErrs: []error{diskErr, diskErr}, removeErrs: []error{diskErr}, unreadable: 2}
	var logs testkit.Buffer
	h := status.NewHub(status.HubOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Retry: status.RetryPolicy{Initial: time.Millisecond, Max: time.Millisecond, Jitter: -1}})
	var rec statustest.Recorder
	require.NoError(t, h.Add(&rec, status.WithName("push"), status.WithOutbox(ob)))
	for range 5 {
		h.Publish(status.Event{Kind: status.MasterStarted})
	}
	shutdown(t, h)
	var got []uint64
	for _, e := range rec.Events() {
		got = append(got, e.Seq)
	}
	assert.Equal(t, []uint64{1, 3, 4, 5}, got, "delivery went on after the disk errors, in order, without the unreadable one")
	st := statsOf(h, "push")
	assert.Equal(t, uint64(1), st.Dropped, "the unreadable event is counted")
	assert.Zero(t, ob.Len())
	assert.Contains(t, logs.String(), "cannot be read; removed")
	assert.Contains(t, logs.String(), "outbox read failed; trying again")
	assert.Contains(t, logs.String(), "outbox remove failed; trying again")
}

func TestHubAttemptTimeoutIsDeadlineExceeded(t *testing.T) {
	h := quietHub(t, status.HubOptions{AttemptTimeout: 10 * time.Millisecond,
		Retry: status.RetryPolicy{Initial: time.Millisecond, Jitter: -1}})
	causes := make(chan error, 1)
	var calls atomic.Int32
	require.NoError(t, h.Add(status.ReporterFunc(func(ctx context.Context, e status.Event) error {
		if calls.Add(1) == 1 {
			<-ctx.Done()
			causes <- context.Cause(ctx)
			return fmt.Errorf("post: %w", ctx.Err())
		}
		return nil
	}), status.WithName("slow")))
	h.Publish(status.Event{Kind: status.MasterStarted})
	shutdown(t, h)
	assert.ErrorIs(t, <-causes, status.ErrAttemptTimeout)
	st := statsOf(h, "slow")
	assert.Equal(t, uint64(1), st.Retried)
	assert.Equal(t, uint64(1), st.Delivered)
	assert.ErrorIs(t, status.ClassifyNetError(fmt.Errorf("post: %w", context.DeadlineExceeded)), context.DeadlineExceeded)
	assert.True(t, status.IsRetryable(status.ClassifyNetError(fmt.Errorf("post: %w", context.DeadlineExceeded))))
}

// closeWatch fails the test if Close runs while Report does.
type closeWatch struct {
	inReport atomic.Bool
	overlap  atomic.Bool
	closed   atomic.Bool
}

func (c *closeWatch) Report(ctx context.Context, e status.Event) error {
	c.inReport.Store(true)
	defer c.inReport.Store(false)
	<-ctx.Done() // ends only when Shutdown gives up
	return ctx.Err()
}
func (c *closeWatch) Close(ctx context.Context) error {
	c.overlap.Store(c.inReport.Load())
	c.closed.Store(true)
	return nil
}

func TestHubShutdownContract(t *testing.T) {
	h := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler)})
	cw := &closeWatch{}
	require.NoError(t, h.Add(cw))
	h.Publish(status.Event{Kind: status.MasterStarted})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, h.Shutdown(ctx), context.DeadlineExceeded)
	assert.True(t, cw.closed.Load())
	assert.False(t, cw.overlap.Load(), "Close ran while Report was running")

	h.Publish(status.Event{Kind: status.MasterStopping})
	h.Publish(status.Event{Kind: status.MasterStopping})
	assert.Equal(t, uint64(2), h.Counts().Late)
	assert.ErrorIs(t, h.Add(&statustest.Recorder{}), status.ErrHubClosed)
}
