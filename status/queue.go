package status

import "sync"

// queue is one reporter's FIFO, a ring buffer guarded by a mutex. It holds
// up to limit events; past that it applies the overflow policy documented on
// Hub.Publish: log chunks go first, lifecycle events grow the queue up to
// hard and only then is the oldest dropped.
type queue struct {
	mu      sync.Mutex
	ring    []*Event // len is the capacity; grows by doubling, up to hard
	head, n int      // the oldest event is ring[head]; n are queued
	chunks  int      // LogAppended events queued
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
	return &queue{limit: limit, hard: 16 * limit, ring: make([]*Event, min(limit, 1024)), wake: make(chan struct{}, 1)}
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
	case q.n < q.limit:
	case q.chunks > 0:
		old := q.remove(q.indexOfChunk())
		k, _ := keyOf(old)
		q.owe(&q.owedAtPop, k, 1+old.Skipped)
		out = shed
	case e.Kind == LogAppended:
		k, _ := keyOf(e)
		q.owe(&q.owedAtPush, k, 1+e.Skipped)
		return shed
	case q.n < q.hard:
		out = grown
	default:
		q.remove(0)
		out = dropped
	}
	if q.n == len(q.ring) {
		q.grow()
	}
	q.ring[(q.head+q.n)%len(q.ring)] = e
	q.n++
	if e.Kind == LogAppended {
		q.chunks++
	}
	if q.n == 1 {
		q.signal() // the worker waits only on an empty queue
	}
	return out
}

// at returns the i-th queued event (0 is the oldest); set replaces it.
func (q *queue) at(i int) *Event     { return q.ring[(q.head+i)%len(q.ring)] }
func (q *queue) set(i int, e *Event) { q.ring[(q.head+i)%len(q.ring)] = e }

func (q *queue) indexOfChunk() int {
	for i := range q.n {
		if q.at(i).Kind == LogAppended {
			return i
		}
	}
	return -1
}

// remove takes the i-th queued event out, closing the gap from the nearer
// end; the overflow path only.
func (q *queue) remove(i int) *Event {
	e := q.at(i)
	if i < q.n/2 { // close the gap from the front: dropping the oldest is O(1)
		for j := i; j > 0; j-- {
			q.set(j, q.at(j-1))
		}
		q.ring[q.head] = nil
		q.head = (q.head + 1) % len(q.ring)
	} else {
		for j := i; j < q.n-1; j++ {
			q.set(j, q.at(j+1))
		}
		q.set(q.n-1, nil)
	}
	q.n--
	if e.Kind == LogAppended {
		q.chunks--
	}
	return e
}

func (q *queue) grow() {
	ring := make([]*Event, max(2*len(q.ring), 16))
	for i := range q.n {
		ring[i] = q.at(i)
	}
	q.ring, q.head = ring, 0
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
	for range min(max, q.n) {
		e := q.ring[q.head]
		q.ring[q.head] = nil
		q.head = (q.head + 1) % len(q.ring)
		q.n--
		if e.Kind == LogAppended {
			q.chunks--
		}
		if k, ok := keyOf(e); ok && q.owedAtPop[k] > 0 {
			c := *e
			c.Skipped += q.owedAtPop[k]
			delete(q.owedAtPop, k)
			e = &c
		}
		if e.Kind == BuildFinished && e.Build != nil && len(q.owedAtPop) > 0 {
			// A log that ended without LogFinished owes nothing more.
			for k := range q.owedAtPop {
				if k.builder == e.Build.Builder && k.build == e.Build.Number {
					delete(q.owedAtPop, k)
				}
			}
		}
		evs = append(evs, e)
	}
	return evs
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
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
	n := q.n
	clear(q.ring)
	q.head, q.n, q.chunks = 0, 0, 0
	return n
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
