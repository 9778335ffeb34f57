package push

// rec is one queued packet: its id and its JSON encoding.
type rec struct {
	id   uint64
	data []byte
	cost int // bytes it adds to a batch; 0 until measured
}

// queue is the Pusher's FIFO of packets: up to maxMem in memory, then (with
// a disk) up to maxDisk on disk. Memory always holds the oldest packets and
// the disk the newer ones, so order is memory then disk; once anything is
// on disk, new packets go to disk too until it drains. It is not safe for
// concurrent use: the Pusher's mutex guards it.
type queue struct {
	mem     []rec
	head    int // mem[head:] are queued
	maxMem  int
	maxDisk int
	disk    *disk // nil: memory only
}

func (q *queue) memLen() int { return len(q.mem) - q.head }

func (q *queue) diskLen() int {
	if q.disk == nil {
		return 0
	}
	return q.disk.n
}

func (q *queue) len() int { return q.memLen() + q.diskLen() }

func (q *queue) capacity() int {
	if q.disk == nil {
		return q.maxMem
	}
	return q.maxMem + q.maxDisk
}

// push queues r, first dropping the oldest packet when the queue is full.
// It returns how many packets it dropped (0 or 1).
func (q *queue) push(r rec) (dropped int, err error) {
	if q.len() >= q.capacity() {
		if err := q.dropOldest(); err != nil {
			return 0, err
		}
		dropped = 1
	}
	if q.disk == nil || (q.disk.n == 0 && q.memLen() < q.maxMem) {
		q.memPush(r)
		return dropped, nil
	}
	if q.disk.n >= q.maxDisk {
		// The disk is full but memory has room (the queue is not full):
		// move the oldest disk packet to memory's tail, which keeps the order.
		moved, err := q.disk.take()
		if err != nil {
			return dropped, err
		}
		q.memPush(moved)
	}
	return dropped, q.disk.put(r)
}

func (q *queue) memPush(r rec) {
	if q.head > 0 && q.head >= len(q.mem)/2 {
		n := copy(q.mem, q.mem[q.head:])
		clear(q.mem[n:])
		q.mem, q.head = q.mem[:n], 0
	}
	q.mem = append(q.mem, r)
}

func (q *queue) dropOldest() error {
	if q.memLen() > 0 {
		q.mem[q.head] = rec{}
		q.head++
		return nil
	}
	_, err := q.disk.take()
	return err
}

// pop removes up to n of the oldest packets. Packets popped from disk stay
// in the file until acknowledged (disk.ack), so a crash sends them again.
func (q *queue) pop(n int) ([]rec, error) {
	k := min(n, q.memLen())
	out := make([]rec, k, n)
	copy(out, q.mem[q.head:q.head+k])
	clear(q.mem[q.head : q.head+k])
	q.head += k
	if q.head == len(q.mem) {
		q.mem, q.head = q.mem[:0], 0
	}
	if k < n && q.diskLen() > 0 {
		more, err := q.disk.read(n - k)
		out = append(out, more...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// drain removes and returns every packet in memory.
func (q *queue) drainMem() []rec {
	out := append([]rec(nil), q.mem[q.head:]...)
	q.mem, q.head = nil, 0
	return out
}
