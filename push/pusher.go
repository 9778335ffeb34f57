package push

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/status"
)

// Pusher is StatusPush: a status.BatchReporter that sends events to a
// receiver as packets, many per request. It keeps no queue of its own: the
// Hub queues, batches and retries (status.WithOutbox makes the queue
// durable), and the Pusher turns one batch into requests, splitting it on a
// 413. The Hub calls it from one goroutine; Stats may be called from any.
type Pusher struct {
	o       Options
	tr      transport
	log     *slog.Logger
	inherit func(*slog.Logger)
	started string

	mu    sync.Mutex // guards limit, carried from one batch to the next
	limit int        // packets per request the receiver takes (it shrinks on 413)

	sent, batches, splits, rejected atomic.Uint64
}

var (
	_ status.BatchReporter = (*Pusher)(nil)
	_ status.Selective     = (*Pusher)(nil)
	_ status.Closer        = (*Pusher)(nil)
	_ status.Named         = (*Pusher)(nil)
	_ status.Logging       = (*Pusher)(nil)
)

// transport encodes and delivers one request.
type transport interface {
	// base is the size of an empty request; cost what one packet adds.
	base() int
	cost(data []byte) int
	// send delivers batch, whose encoded size is size.
	send(ctx context.Context, batch []rec, size int) error
	close()
}

// New returns a Pusher POSTing to o.URL (HttpStatusPush) or handing
// batches to o.Sink (StatusPush).
func New(o Options) (*Pusher, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	var tr transport = sinkTransport{sink: o.Sink}
	if o.URL != "" {
		tr = newHTTPTransport(&o) // names the Pusher after the host
	}
	return newPusher(o, tr), nil
}

func newPusher(o Options, tr transport) *Pusher {
	o.withDefaults()
	p := &Pusher{o: o, tr: tr, started: pythonTime(o.Now()), limit: o.ChunkSize}
	p.log, p.inherit = hublog.New(o.Logger)
	if o.Logger != nil { // the Hub's logger names its reporters itself
		p.log = p.log.With("reporter", o.Name)
	}
	return p
}

// InheritLogger implements status.Logging: without Options.Logger the
// Pusher logs through l.
func (p *Pusher) InheritLogger(l *slog.Logger) { p.inherit(l) }

// Name returns Options.Name.
func (p *Pusher) Name() string { return p.o.Name }

// String describes the Pusher without secrets.
func (p *Pusher) String() string { return "push.Pusher(" + p.o.Name + ")" }

// Handles reports whether events of kind k are pushed (Options.Kinds).
func (p *Pusher) Handles(k status.Kind) bool { return p.o.Kinds.Has(k) }

// MaxBatch returns Options.ChunkSize.
func (p *Pusher) MaxBatch() int { return p.o.ChunkSize }

// Report sends e as a batch of one.
func (p *Pusher) Report(ctx context.Context, e status.Event) error {
	return p.ReportBatch(ctx, []status.Event{e})
}

// ReportBatch sends events, oldest first, in as few requests as ChunkSize,
// MaxRequestBytes and the receiver allow; events of kinds the Pusher does
// not handle are skipped. It returns nil when the receiver has every packet.
// Otherwise it returns a *status.BatchError saying how far the batch got:
// when a request failed transiently, the packets delivered before it are
// settled and the Hub sends only the rest again (Err is Retryable); when
// the receiver refused packets for good (413 for a packet alone, another
// 4xx), they are dropped, logged, counted in Stats.Rejected and as failed
// by the Hub, and the packets after them are still sent.
func (p *Pusher) ReportBatch(ctx context.Context, events []status.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("push: report %d events: %w", len(events), err)
	}
	recs := make([]rec, 0, len(events))
	for i := range events {
		if !p.Handles(events[i].Kind) {
			continue
		}
		r, err := p.encode(&events[i])
		if err != nil {
			r = rec{pk: Packet{ID: events[i].ID}, bad: err}
		}
		r.at = i
		recs = append(recs, r)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.deliver(ctx, recs, len(events))
}

// Stats counts what a Pusher did with the batches the Hub gave it.
type Stats struct {
	Sent    uint64 // packets the receiver acknowledged
	Batches uint64 // requests the receiver acknowledged
	Split   uint64 // requests halved after a 413
	// Rejected counts packets refused for good: a 4xx other than 413, or a
	// single packet over MaxRequestBytes or refused with 413.
	Rejected uint64
}

// Stats returns the Pusher's counters.
func (p *Pusher) Stats() Stats {
	return Stats{
		Sent:     p.sent.Load(),
		Batches:  p.batches.Load(),
		Split:    p.splits.Load(),
		Rejected: p.rejected.Load(),
	}
}

// Close closes the idle connections of the Pusher's own HTTP client. The
// Hub calls it after the last ReportBatch returned.
func (p *Pusher) Close(context.Context) error {
	p.tr.close()
	return nil
}

// sinkTransport hands batches to a Sink as a JSON array would measure them.
type sinkTransport struct{ sink Sink }

func (sinkTransport) base() int            { return 1 } // "[" "]" less the first comma
func (sinkTransport) cost(data []byte) int { return len(data) + 1 }
func (sinkTransport) close()               {}

func (t sinkTransport) send(ctx context.Context, batch []rec, _ int) error {
	ps := make([]Packet, len(batch))
	for i, r := range batch {
		ps[i] = r.pk
	}
	return t.sink(ctx, ps)
}
