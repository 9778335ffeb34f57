package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldci/herald/status"
)

// Pusher is StatusPush: a status.Reporter that queues every event as a
// Packet and delivers the queue in batches, in order, from one goroutine.
// Report only queues, so it returns at once (after a disk write when the
// queue has spilled); delivery, batching, retries and splitting happen in
// the background until Close. All methods are safe for concurrent use.
type Pusher struct {
	o       Options
	tr      transport
	log     *slog.Logger
	started string

	mu     sync.Mutex // guards q, nextID, closed; orders ids with the queue
	q      *queue
	nextID uint64
	closed bool

	wake chan struct{} // something was queued
	full chan struct{} // a full batch is queued
	stop chan struct{} // closed by Close
	done chan struct{} // closed when run returns

	runCtx    context.Context // the context of sends; cancelled when Close runs out of time
	cancelRun context.CancelFunc
	leftover  []rec // the batch run held when it returned
	closeOnce sync.Once
	closeErr  error

	inflight                                  atomic.Int64
	dirty                                     atomic.Bool // the disk queue has unsynced writes
	sent, batches, retried, dropped, rejected atomic.Uint64
	errMu                                     sync.Mutex
	lastErr                                   string
}

var (
	_ status.Reporter = (*Pusher)(nil)
	_ status.Closer   = (*Pusher)(nil)
	_ status.Named    = (*Pusher)(nil)
)

// transport encodes and delivers batches: a Sink, or HTTP.
type transport interface {
	// base is the size of an empty batch; cost what one packet adds to it.
	base() int
	cost(data []byte) int
	// send delivers batch, whose encoded size is size.
	send(ctx context.Context, batch []rec, size int) error
}

// New returns a running Pusher delivering to o.Sink. With o.Dir set it
// opens (or creates) the disk queue there and starts by sending what a
// previous Pusher left in it.
func New(o Options) (*Pusher, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	return start(o, sinkTransport{sink: o.Sink})
}

func start(o Options, tr transport) (*Pusher, error) {
	o.withDefaults()
	p := &Pusher{
		o:    o,
		tr:   tr,
		log:  o.Logger.With("reporter", o.Name),
		q:    &queue{maxMem: o.MaxMemoryItems, maxDisk: o.MaxDiskItems},
		wake: make(chan struct{}, 1),
		full: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	p.started = pythonTime(o.Now())
	if o.Dir != "" {
		d, last, err := openDisk(o.Dir)
		if err != nil {
			return nil, err
		}
		p.q.disk, p.nextID = d, last
		if d.n > 0 {
			p.log.Info("push: resuming the queue left on disk", "packets", d.n, "dir", o.Dir)
			signal(p.wake)
			signal(p.full)
		}
	}
	p.runCtx, p.cancelRun = context.WithCancel(context.Background())
	go p.run()
	return p, nil
}

// Name returns Options.Name.
func (p *Pusher) Name() string { return p.o.Name }

// String describes the Pusher without secrets.
func (p *Pusher) String() string { return "push.Pusher(" + p.o.Name + ")" }

// Report queues e as a packet, unless the white or black list excludes it.
// When the queue is full the oldest packet is dropped (counted, logged).
func (p *Pusher) Report(ctx context.Context, e status.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("push: report %v: %w", e.Kind, err)
	}
	name := EventName(e.Kind)
	if !p.o.wanted(name) {
		return nil
	}
	pl, err := encodePayload(&e, !p.o.KeepEmpty)
	if err != nil {
		return err
	}
	when := e.Time
	if when.IsZero() {
		when = p.o.Now()
	}
	tail := packetTail(pythonTime(when), p.o.Project, p.started, name, pl)

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.nextID++
	before := p.q.len()
	dropped, err := p.q.push(rec{id: p.nextID, data: packetBytes(p.nextID, tail)})
	queued := p.q.len()
	lost := before + 1 - dropped - queued // packets a failed disk write took with it
	if p.q.diskLen() > 0 {
		p.dirty.Store(true)
	}
	p.mu.Unlock()

	if dropped > 0 {
		p.countDropped(uint64(dropped), "queue full")
	}
	if err != nil {
		p.countDropped(uint64(max(lost, 1)), "disk write failed")
		p.noteError(err)
		return err
	}
	signal(p.wake)
	if queued >= p.o.ChunkSize {
		signal(p.full)
	}
	return nil
}

// countDropped counts dropped packets and logs the 1st, 2nd, 4th, 8th...
// drop, with the running total, so a flood cannot flood the log too.
func (p *Pusher) countDropped(n uint64, why string) {
	total := p.dropped.Add(n)
	for d := total - n + 1; d <= total; d++ {
		if d&(d-1) == 0 {
			p.log.Warn("push: dropping the oldest queued packets", "why", why, "dropped_total", total,
				"max_memory_items", p.o.MaxMemoryItems, "max_disk_items", p.o.MaxDiskItems, "dir", p.o.Dir)
			return
		}
	}
}

func (p *Pusher) noteError(err error) {
	p.errMu.Lock()
	p.lastErr = err.Error()
	p.errMu.Unlock()
}

func (p *Pusher) lastError() string {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.lastErr
}

// Stats counts the packets of a Pusher.
type Stats struct {
	QueuedMemory int    // packets queued in memory, including the batch being sent
	QueuedDisk   int    // packets queued on disk, not yet read
	Sent         uint64 // packets the receiver acknowledged
	Batches      uint64 // batches the receiver acknowledged
	Retried      uint64 // batch attempts that failed transiently and were repeated
	// Dropped counts packets lost unsent: the oldest when the queue was
	// full, and those still queued at Close without a Dir.
	Dropped uint64
	// Rejected counts packets the receiver refused for good (a 4xx other
	// than 413, or a single packet over MaxRequestBytes or refused with 413).
	Rejected  uint64
	LastError string
}

// Stats returns the Pusher's counters.
func (p *Pusher) Stats() Stats {
	p.mu.Lock()
	mem, disk := p.q.memLen(), p.q.diskLen()
	p.mu.Unlock()
	p.errMu.Lock()
	last := p.lastErr
	p.errMu.Unlock()
	return Stats{
		QueuedMemory: mem + int(p.inflight.Load()),
		QueuedDisk:   disk,
		Sent:         p.sent.Load(),
		Batches:      p.batches.Load(),
		Retried:      p.retried.Load(),
		Dropped:      p.dropped.Load(),
		Rejected:     p.rejected.Load(),
		LastError:    last,
	}
}

// Close stops accepting events, sends what is queued while the receiver
// takes it (without waiting between failures), then saves the rest to
// Options.Dir, or counts it as dropped and logs it when there is no Dir.
// When ctx ends first the send in progress is aborted and its batch saved
// too. Close returns when no goroutine of the Pusher is left; later calls
// return the first result.
func (p *Pusher) Close(ctx context.Context) error {
	p.closeOnce.Do(func() { p.closeErr = p.close(ctx) })
	return p.closeErr
}

func (p *Pusher) close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	close(p.stop)
	var err error
	select {
	case <-p.done:
	case <-ctx.Done():
		err = fmt.Errorf("push: Close: %w", ctx.Err())
		p.cancelRun()
		<-p.done // sends honour runCtx, so this is prompt
	}
	p.cancelRun()
	if c, ok := p.tr.(interface{ close() }); ok {
		c.close() // no keep-alive connection outlives Close
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	rest := append(p.leftover, p.q.drainMem()...)
	p.leftover = nil
	if p.q.disk == nil {
		if len(rest) > 0 {
			p.dropped.Add(uint64(len(rest)))
			p.log.Warn("push: Close dropped packets the receiver did not take (set Options.Dir to keep them)",
				"dropped", len(rest), "first_id", rest[0].id)
		}
		return err
	}
	if len(rest) > 0 {
		if serr := p.q.disk.save(rest, p.nextID); serr != nil {
			err = errors.Join(err, serr)
		} else {
			p.log.Info("push: queue saved for the next start", "packets", len(rest)+p.q.disk.n, "dir", p.o.Dir)
		}
	} else if p.q.disk.n > 0 {
		p.log.Info("push: queue saved for the next start", "packets", p.q.disk.n, "dir", p.o.Dir)
	}
	return errors.Join(err, p.q.disk.close())
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// sinkTransport hands batches to a Sink as a JSON array would measure them.
type sinkTransport struct{ sink Sink }

func (sinkTransport) base() int            { return 1 } // "[" "]" less the first comma
func (sinkTransport) cost(data []byte) int { return len(data) + 1 }

func (t sinkTransport) send(ctx context.Context, batch []rec, _ int) error {
	ps := make([]Packet, len(batch))
	for i, r := range batch {
		if err := json.Unmarshal(r.data, &ps[i]); err != nil {
			return fmt.Errorf("push: queued packet %d is corrupt: %w", r.id, err)
		}
	}
	return t.sink(ctx, ps)
}

// sleep waits d; false when Close was called meanwhile.
func (p *Pusher) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.stop:
		return false
	}
}
