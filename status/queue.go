package status

import "sync/atomic"

// queue is one reporter's bounded FIFO. It has a single producer (Publish,
// serialised by the Hub's lock) and a single consumer (the reporter's
// worker), and needs no lock: positions only grow, the producer alone moves
// tail, and head moves by compare-and-swap, from the consumer taking an
// event or from the producer dropping the oldest when the queue is full.
// Whoever loses a race on head retries from the new head.
type queue struct {
	slots []atomic.Pointer[Event] // len is a power of two >= limit
	mask  uint64
	limit uint64
	head  atomic.Uint64 // next position to take
	tail  atomic.Uint64 // next position to fill

	waiting atomic.Bool   // the consumer is about to block on wake
	closing atomic.Bool   // no more pushes: drain and stop
	wake    chan struct{} // capacity 1
}

func newQueue(limit int) *queue {
	n := 1
	for n < limit {
		n <<= 1
	}
	return &queue{slots: make([]atomic.Pointer[Event], n), mask: uint64(n - 1), limit: uint64(limit), wake: make(chan struct{}, 1)}
}

// push appends e, dropping the oldest event when full; it reports whether
// it dropped one.
func (q *queue) push(e *Event) (dropped bool) {
	t := q.tail.Load()
	if h := q.head.Load(); t-h >= q.limit {
		// Move head past the oldest before reusing its slot: a consumer
		// that read the slot meanwhile fails its own swap and retries.
		dropped = q.head.CompareAndSwap(h, h+1)
	}
	q.slots[t&q.mask].Store(e)
	q.tail.Store(t + 1)
	if q.waiting.Load() && q.waiting.CompareAndSwap(true, false) {
		q.signal()
	}
	return dropped
}

// pop takes the oldest event, or returns nil when the queue is empty.
func (q *queue) pop() *Event {
	for {
		h := q.head.Load()
		if h == q.tail.Load() {
			return nil
		}
		slot := &q.slots[h&q.mask]
		e := slot.Load()
		if q.head.CompareAndSwap(h, h+1) {
			slot.CompareAndSwap(e, nil) // let the GC have it, unless the slot was reused
			return e
		}
	}
}

// len is the number of events waiting.
func (q *queue) len() int { return int(q.tail.Load() - q.head.Load()) }

// cut empties the queue (the consumer, after an abort) and returns how many
// events it held.
func (q *queue) cut() int {
	n := 0
	for q.pop() != nil {
		n++
	}
	return n
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
