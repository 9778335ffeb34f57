package push

import (
	"context"
	"errors"
	"fmt"

	"github.com/heraldci/herald/status"
)

// rec is one packet and its JSON encoding.
type rec struct {
	pk   Packet
	data []byte
	cost int   // bytes it adds to a request; 0 until measured
	at   int   // index of its event in the batch the Hub gave
	bad  error // why its payload cannot be encoded: refused when its turn comes
}

// encode turns e into a packet.
func (p *Pusher) encode(e *status.Event) (rec, error) {
	pl, err := encodePayload(e, !p.o.KeepEmpty)
	if err != nil {
		return rec{}, err
	}
	when := e.Time
	if when.IsZero() {
		when = p.o.Now()
	}
	pk := Packet{ID: e.ID, Timestamp: pythonTime(when), Project: p.o.Project, Started: p.started,
		Event: EventName(e.Kind), Payload: pl}
	return rec{pk: pk, data: packetBytes(&pk)}, nil
}

// deliver sends recs in requests of at most p.limit packets and
// MaxRequestBytes, halving the limit on 413. The limit learned is kept for
// the next batch, which first tries twice as many (the receiver may take
// more again), so a receiver with a lower limit costs at most one 413 per
// batch. p.mu is held.
func (p *Pusher) deliver(ctx context.Context, recs []rec, events int) error {
	p.limit = min(p.o.ChunkSize, 2*p.limit)
	total := len(recs)
	var refused error // the first refusal
	rejected := 0
	reject := func(rs []rec, why string, err error) {
		rejected += len(rs)
		p.rejected.Add(uint64(len(rs)))
		p.log.Error("push: packets dropped: "+why, "packets", len(rs), "first_id", rs[0].pk.ID,
			"last_id", rs[len(rs)-1].pk.ID, "bytes", len(rs[0].data), "err", err)
		if err == nil {
			err = errors.New(why)
		}
		if refused == nil {
			refused = err
		}
	}
	done := 0 // recs[:done] are delivered or rejected
	for done < total {
		rest := recs[done:]
		if rest[0].bad != nil {
			reject(rest[:1], "its payload cannot be encoded", rest[0].bad)
			done++
			continue
		}
		k, size := p.fit(rest)
		if k == 0 {
			reject(rest[:1], "packet alone exceeds Options.MaxRequestBytes", nil)
			done++
			continue
		}
		err := p.tr.send(ctx, rest[:k], size)
		switch {
		case err == nil:
			p.sent.Add(uint64(k))
			p.batches.Add(1)
			done += k
			continue
		case errors.Is(err, ErrTooLarge):
			if k == 1 {
				reject(rest[:1], "receiver refuses the packet alone as too large", err)
				done++
				continue
			}
			p.splits.Add(1)
			p.limit = max(1, k/2)
			p.log.Debug("push: receiver found the request too large, halving it", "packets", k, "bytes", size)
			continue
		case status.IsRetryable(err) || ctx.Err() != nil:
			// The Hub retries the rest; what was delivered is settled.
			if done == 0 {
				return err
			}
			return &status.BatchError{Settled: recs[done].at, Refused: rejected, Err: err}
		}
		reject(rest[:k], "receiver refused the batch", err)
		done += k
	}
	if rejected > 0 {
		return &status.BatchError{Settled: events, Refused: rejected,
			Err: fmt.Errorf("push: the receiver refused %d of %d packets for good (dropped), the first: %w", rejected, total, refused)}
	}
	return nil
}

// fit returns how many of the first packets make a request within p.limit
// and MaxRequestBytes, and its encoded size.
func (p *Pusher) fit(recs []rec) (k, size int) {
	size = p.tr.base()
	for k < min(p.limit, len(recs)) && recs[k].bad == nil {
		r := &recs[k]
		if r.cost == 0 {
			r.cost = p.tr.cost(r.data)
		}
		if size+r.cost > p.o.MaxRequestBytes {
			break
		}
		size += r.cost
		k++
	}
	return k, size
}
