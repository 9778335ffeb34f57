package status

import (
	"slices"
	"sync"
)

// queue is one reporter's FIFO, guarded by a mutex. It holds up to limit
// events; past that it applies the overflow policy documented on
// Hub.Publish: log chunks go first, lifecycle events grow the queue up to
// hard and only then is the oldest dropped.
type queue struct {
	mu      sync.Mutex
	items   []*Event
	chunks  int // LogAppended events in items
	limit   int
	hard    int
	closing bool
	// Chunks shed from the queue, owed to the next event of the same log
	// taken from it (they were older than everything still queued).
	owedAtPop map[logKey]int
	// Chunks refused at the door, owed to the next event of the same log
	// pushed (they were newer than everything queued).
	owedAtPush map[logKey]int
	wake       chan struct{} // capacity 1: something was pushed, or closing
}

type logKey struct {
	builder    string
	build      int
	step, name string
}

func keyOf(e *Event) (logKey, bool) {
	if e.Log == nil || (e.Kind != LogAppended && e.Kind != LogFinished) {
		return logKey{}, false
	}
	return logKey{e.Log.Builder, e.Log.Build, e.Log.Step, e.Log.Name}, true
}

func newQueue(limit int) *queue {
	return &queue{limit: limit, hard: 16 * limit, wake: make(chan struct{}, 1)}
}

// pushOutcome says what push had to do to make room.
type pushOutcome int

const (
	pushed  pushOutcome = iota
	shed                // a log chunk was shed (queued or the new one)
	grown               // a lifecycle event went over limit
	dropped             // the hard limit was reached: the oldest event was dropped
)

func (q *queue) push(e *Event) pushOutcome {
	q.mu.Lock()
	defer q.mu.Unlock()
	if k, ok := keyOf(e); ok && q.owedAtPush[k] > 0 {
		c := *e
		c.Skipped += q.owedAtPush[k]
		delete(q.owedAtPush, k)
		e = &c
	}
	out := pushed
	switch {
	case len(q.items) < q.limit:
	case q.chunks > 0:
		i := slices.IndexFunc(q.items, func(x *Event) bool { return x.Kind == LogAppended })
		old := q.items[i]
		q.items = slices.Delete(q.items, i, i+1)
		q.chunks--
		k, _ := keyOf(old)
		q.owe(&q.owedAtPop, k, 1+old.Skipped)
		out = shed
	case e.Kind == LogAppended:
		k, _ := keyOf(e)
		q.owe(&q.owedAtPush, k, 1+e.Skipped)
		return shed
	case len(q.items) < q.hard:
		out = grown
	default:
		q.items[0] = nil
		q.items = q.items[1:]
		out = dropped
	}
	q.items = append(q.items, e)
	if e.Kind == LogAppended {
		q.chunks++
	}
	q.signal()
	return out
}

func (q *queue) owe(m *map[logKey]int, k logKey, n int) {
	if *m == nil {
		*m = make(map[logKey]int)
	}
	(*m)[k] += n
}

// take appends up to max events from the front to evs; what they are owed
// is added to their Skipped.
func (q *queue) take(evs []*Event, max int) []*Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(max, len(q.items))
	if n == 0 {
		return evs
	}
	evs = append(evs, q.items[:n]...)
	clear(q.items[:n])
	q.items = q.items[n:]
	if len(q.items) == 0 {
		q.items = nil // let the backing array go
	}
	for i, e := range evs {
		if e.Kind == LogAppended {
			q.chunks--
		}
		if k, ok := keyOf(e); ok && q.owedAtPop[k] > 0 {
			c := *e
			c.Skipped += q.owedAtPop[k]
			delete(q.owedAtPop, k)
			evs[i] = &c
		}
		if e.Kind == BuildFinished && e.Build != nil && len(q.owedAtPop) > 0 {
			// A log that ended without LogFinished owes nothing more.
			for k := range q.owedAtPop {
				if k.builder == e.Build.Builder && k.build == e.Build.Number {
					delete(q.owedAtPop, k)
				}
			}
		}
	}
	return evs
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// close stops pushes; take drains what is left.
func (q *queue) close() {
	q.mu.Lock()
	q.closing = true
	q.mu.Unlock()
	q.signal()
}

func (q *queue) isClosing() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closing
}

// cut empties the queue, returning how many events it held.
func (q *queue) cut() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.items)
	q.items, q.chunks = nil, 0
	return n
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
