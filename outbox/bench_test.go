package outbox

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
)

// BenchmarkAppend measures events/s stored durably by Append (one commit and
// fsync per group) for groups of 1, 64 and 512, beside a mutex-guarded
// in-memory slice queue, the Hub's queue without an outbox. Events are
// removed as fast as they are appended, in batches of 200 (push's default),
// so the file stays small, as with a live receiver.
func BenchmarkAppend(b *testing.B) {
	for _, group := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("bbolt/group=%d", group), func(b *testing.B) {
			f := open(b, filepath.Join(b.TempDir(), "ob.db"), Options{})
			events := benchGroup(group)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += group {
				require.NoError(b, f.Append(events))
				if n := f.Len(); n >= 200 {
					require.NoError(b, f.Remove(n-n%200))
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
	b.Run("memory", func(b *testing.B) {
		var q memQueue
		events := benchGroup(64)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i += len(events) {
			q.append(events)
			if q.len() >= 200 {
				q.remove(q.len() - q.len()%200)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

func benchGroup(n int) []status.Event {
	events := make([]status.Event, n)
	for i := range events {
		events[i] = event(i + 1)
	}
	return events
}

// memQueue is the baseline: a FIFO of events in a slice under a mutex.
type memQueue struct {
	mu     sync.Mutex
	events []status.Event
}

func (q *memQueue) append(es []status.Event) {
	q.mu.Lock()
	q.events = append(q.events, es...)
	q.mu.Unlock()
}

func (q *memQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.events)
}

func (q *memQueue) remove(n int) {
	q.mu.Lock()
	q.events = append(q.events[:0], q.events[n:]...)
	q.mu.Unlock()
}
