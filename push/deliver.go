package push

import (
	"context"
	"errors"
	"time"

	"github.com/heraldci/herald/status"
)

// outcome says what one delivery step did.
type outcome int

const (
	delivered  outcome = iota // a batch was acknowledged
	progressed                // packets were split or rejected: go on at once
	empty                     // nothing to send
	failed                    // transient failure: wait, then retry the same batch
	aborted                   // Close ran out of time
)

// run is the Pusher's one goroutine: it waits for packets, lets them gather
// for BufferDelay, and sends batches until less than a full one is left.
// Unlike Buildbot it does not poll an empty queue every RetryDelay: it
// sleeps until Report wakes it, so an event after a quiet spell leaves
// within BufferDelay.
func (p *Pusher) run() {
	defer close(p.done)
	var pending []rec // popped from the queue, not yet acknowledged: always the oldest
	limit := p.o.ChunkSize
	failures := 0
	for {
		if len(pending) == 0 && p.queued() == 0 {
			select {
			case <-p.wake:
			case <-p.stop:
				p.leftover = p.drain(pending, &limit)
				return
			}
		}
		if len(pending)+p.queued() < p.o.ChunkSize {
			t := time.NewTimer(p.o.BufferDelay)
			select {
			case <-t.C:
			case <-p.full:
			case <-p.stop:
				t.Stop()
				p.leftover = p.drain(pending, &limit)
				return
			}
			t.Stop()
		}
		select { // consumed now; a Report from here on signals again
		case <-p.wake:
		default:
		}
	cycle:
		for {
			var res outcome
			var after time.Duration
			pending, res, after = p.step(p.runCtx, pending, &limit)
			switch res {
			case delivered:
				if failures > 0 {
					p.log.Info("push: receiver takes packets again", "failed_attempts", failures)
				}
				failures = 0
				if len(pending)+p.queued() < p.o.ChunkSize {
					break cycle
				}
			case progressed:
			case empty:
				break cycle
			case failed:
				failures++
				if failures == 1 {
					p.log.Warn("push: send failed, retrying until the receiver takes it", "err", p.lastError())
				}
				if !p.sleep(max(after, p.backoff(failures))) {
					p.leftover = p.drain(pending, &limit)
					return
				}
			case aborted:
				p.leftover = pending
				return
			}
		}
	}
}

// drain sends what is left at Close without waiting, until the queue is
// empty, a send fails or Close runs out of time; it returns the batch held.
func (p *Pusher) drain(pending []rec, limit *int) []rec {
	for {
		var res outcome
		pending, res, _ = p.step(p.runCtx, pending, limit)
		switch res {
		case empty, failed, aborted:
			return pending
		}
	}
}

// backoff is RetryDelay doubled for each failure in a row, capped.
func (p *Pusher) backoff(failures int) time.Duration {
	d := p.o.RetryDelay
	for i := 1; i < failures && d < p.o.MaxRetryDelay; i++ {
		d *= 2
	}
	return min(d, p.o.MaxRetryDelay)
}

func (p *Pusher) queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.q.len()
}

// step tops pending up to ChunkSize and sends its largest prefix that fits
// limit packets and MaxRequestBytes.
func (p *Pusher) step(ctx context.Context, pending []rec, limit *int) ([]rec, outcome, time.Duration) {
	defer p.syncDisk()
	if ctx.Err() != nil {
		return pending, aborted, 0
	}
	if len(pending) < p.o.ChunkSize {
		p.mu.Lock()
		more, err := p.q.pop(p.o.ChunkSize - len(pending))
		p.mu.Unlock()
		pending = append(pending, more...)
		if err != nil {
			p.noteError(err)
			p.log.Error("push: reading the disk queue failed", "err", err)
			if len(pending) == 0 {
				return pending, failed, 0
			}
		}
	}
	p.inflight.Store(int64(len(pending)))
	if len(pending) == 0 {
		return pending, empty, 0
	}
	k, size := p.fit(pending, *limit)
	if k == 0 {
		p.reject(pending[:1], "packet alone exceeds Options.MaxRequestBytes", nil)
		return pending[1:], progressed, 0
	}
	err := p.tr.send(ctx, pending[:k], size)
	switch {
	case err == nil:
		p.sent.Add(uint64(k))
		p.batches.Add(1)
		p.ack(pending[k-1].id)
		*limit = min(p.o.ChunkSize, 2**limit)
		pending = pending[k:]
		p.inflight.Store(int64(len(pending)))
		return pending, delivered, 0
	case ctx.Err() != nil:
		return pending, aborted, 0
	}
	p.noteError(err)
	if errors.Is(err, ErrTooLarge) {
		if k == 1 {
			p.reject(pending[:1], "receiver refuses the packet alone as too large", err)
			return pending[1:], progressed, 0
		}
		*limit = max(1, k/2)
		p.log.Debug("push: receiver found the batch too large, halving it", "packets", k, "bytes", size)
		return pending, progressed, 0
	}
	if after, ok := status.RetryAfter(err); ok {
		p.retried.Add(1)
		p.log.Debug("push: send failed, will retry", "packets", k, "first_id", pending[0].id, "err", err)
		return pending, failed, after
	}
	p.reject(pending[:k], "receiver refused the batch", err)
	return pending[k:], progressed, 0
}

// fit returns how many of the first packets make a batch within limit and
// MaxRequestBytes, and its encoded size.
func (p *Pusher) fit(pending []rec, limit int) (k, size int) {
	size = p.tr.base()
	for k < min(limit, len(pending)) {
		r := &pending[k]
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

// reject gives up packets for good: counted, logged with their ids, and
// removed from the disk queue.
func (p *Pusher) reject(rs []rec, why string, err error) {
	p.rejected.Add(uint64(len(rs)))
	p.log.Error("push: packets dropped: "+why, "packets", len(rs), "first_id", rs[0].id,
		"last_id", rs[len(rs)-1].id, "bytes", len(rs[0].data), "err", err)
	p.ack(rs[len(rs)-1].id)
}

func (p *Pusher) ack(upTo uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.q.disk == nil {
		return
	}
	p.dirty.Store(true)
	if err := p.q.disk.ack(upTo, p.nextID); err != nil {
		p.noteError(err)
		p.log.Error("push: could not remove sent packets from the disk queue; they will be sent again after a restart", "err", err)
	}
}

// syncDisk commits spilled packets and fsyncs the disk queue, once per
// send cycle rather than per packet.
func (p *Pusher) syncDisk() {
	if p.q.disk == nil || !p.dirty.Swap(false) {
		return
	}
	p.mu.Lock()
	err := p.q.disk.flush()
	p.mu.Unlock()
	if err == nil {
		err = p.q.disk.db.Sync() // bbolt allows Sync beside writers
	}
	if err != nil {
		p.noteError(err)
		p.log.Error("push: writing the disk queue failed", "err", err)
	}
}
