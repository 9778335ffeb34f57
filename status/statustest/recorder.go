package statustest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/heraldci/herald/status"
)

// Recorder is a Reporter that records the events it receives. Err, if set,
// decides the result of each Report (after recording). It is safe for
// concurrent use.
type Recorder struct {
	Err func(e status.Event) error

	mu     sync.Mutex
	events []status.Event
	notify chan struct{}
	closed bool
}

var _ status.Reporter = (*Recorder)(nil)

// Report records e.
func (r *Recorder) Report(ctx context.Context, e status.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	r.events = append(r.events, e)
	if r.notify != nil {
		close(r.notify)
		r.notify = nil
	}
	r.mu.Unlock()
	if r.Err != nil {
		return r.Err(e)
	}
	return nil
}

// Publish records e, so a Recorder also stands for a Hub (status.Publisher)
// in tests of what publishes events.
func (r *Recorder) Publish(e status.Event) { _ = r.Report(context.Background(), e) }

// Close marks the recorder closed.
func (r *Recorder) Close(context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return nil
}

// Closed reports whether Close was called.
func (r *Recorder) Closed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Events returns a copy of the events recorded so far.
func (r *Recorder) Events() []status.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]status.Event(nil), r.events...)
}

// Len returns the number of events recorded.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// Wait blocks until at least n events are recorded, and returns them; it
// fails after timeout with an error saying how many arrived.
func (r *Recorder) Wait(n int, timeout time.Duration) ([]status.Event, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		if len(r.events) >= n {
			evs := append([]status.Event(nil), r.events...)
			r.mu.Unlock()
			return evs, nil
		}
		if r.notify == nil {
			r.notify = make(chan struct{})
		}
		ch, got := r.notify, len(r.events)
		r.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return nil, fmt.Errorf("statustest: %d of %d events recorded after %v", got, n, timeout)
		}
	}
}
