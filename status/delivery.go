package status

import (
	"context"
	"errors"
	"fmt"
)

// Selective is implemented by reporters that handle only some kinds of event.
// The Hub asks once, in Add, and queues only those kinds for the reporter, so
// a flood of kinds it ignores (log chunks, say) never crowds out the ones it
// needs. A reporter that is not Selective gets every kind.
type Selective interface {
	Handles(k Kind) bool
}

// KindSet is a set of kinds, for implementing Selective:
//
//	var kinds = status.KindsOf(status.BuildStarted, status.BuildFinished)
//	func (n *Notifier) Handles(k status.Kind) bool { return kinds.Has(k) }
type KindSet uint64

// KindsOf returns the set of ks.
func KindsOf(ks ...Kind) KindSet {
	var s KindSet
	for _, k := range ks {
		if k > 0 && k < 64 {
			s |= 1 << uint(k)
		}
	}
	return s
}

// Has reports whether k is in s.
func (s KindSet) Has(k Kind) bool { return k > 0 && k < 64 && s&(1<<uint(k)) != 0 }

// Lifecycle reports whether k is a lifecycle event: everything but a log
// chunk. A Hub never sheds lifecycle events; under overflow it sheds log
// chunks (LogAppended) first.
func (k Kind) Lifecycle() bool { return k != LogAppended }

// BatchReporter is implemented by reporters that send several events in one
// request (package push). Whenever more than one event is waiting for it, the
// Hub calls ReportBatch with up to MaxBatch events, oldest first, instead of
// Report. An error applies to the whole batch — Retryable sends the same
// batch again, anything else gives every event of it up — unless it is a
// *BatchError, which says how far the batch got. ReportBatch has Report's
// contract otherwise.
type BatchReporter interface {
	Reporter
	ReportBatch(ctx context.Context, events []Event) error
	MaxBatch() int
}

// BatchError is what ReportBatch returns when it handled part of a batch:
// the first Settled events are done with — delivered, or, Refused of them,
// given up for good (the reporter says why in Err or its log) — and Err is
// why the rest were not delivered. The Hub counts the settled events as
// delivered and failed, and retries (when Err is Retryable) or gives up
// only events[Settled:], so a receiver never gets again what it took.
type BatchError struct {
	Settled int
	Refused int
	Err     error
}

func (e *BatchError) Error() string {
	if e.Refused > 0 {
		return fmt.Sprintf("%v (batch: %d events settled, %d of them refused)", e.Err, e.Settled, e.Refused)
	}
	return fmt.Sprintf("%v (batch: %d events delivered first)", e.Err, e.Settled)
}

func (e *BatchError) Unwrap() error { return e.Err }

// Ledger is the host's history as a Hub keeps it (store.Memory is one). It is
// given to the Hub in HubOptions.History, not added like a reporter: Publish
// applies every event to it synchronously, in publish order, before any
// reporter is queued, so a reporter handling event N reads a History that
// already holds N, and nothing the ledger needs is ever shed.
type Ledger interface {
	History
	// Apply records e. It is called by Publish, one event at a time, in
	// publish order, so it must be quick and must not wait for I/O
	// (persist in the background). It fills in what every reporter must
	// agree on, in place: a new change's ID, and its When when the source
	// gave none. The event it leaves is the one reporters get. An error
	// means e was not recorded (for example a step of an unknown build);
	// the Hub logs it, counts it in HubCounts, and still delivers e.
	Apply(e *Event) error
}

// ErrUnreadable marks an event an Outbox stored but can no longer read.
var ErrUnreadable = errors.New("status: stored event cannot be read")

// Outbox is a durable queue in front of one reporter (package outbox keeps
// one in a bbolt file). With WithOutbox the Hub appends each event queued for
// the reporter to the outbox in groups, one commit per group, and delivers
// from it at least once, in order, removing events only after the reporter
// accepted them; after a crash and restart, what was appended is delivered.
// Event.ID lets a receiver drop the duplicates a crash mid-delivery can cause.
//
// The Hub calls Append from one goroutine and Read and Remove from another.
type Outbox interface {
	// Append stores events durably, in order; when it returns nil they
	// survive a crash of the process.
	Append(events []Event) error
	// Read returns up to max of the oldest stored events, in order,
	// without removing them; none when the outbox is empty. When the
	// oldest stored event can no longer be read (a damaged record), Read
	// returns an error wrapping ErrUnreadable: the Hub removes that one
	// event, counts it in Dropped and logs it. Other errors the Hub logs
	// and retries after a pause, as it retries a failing reporter.
	Read(max int) ([]Event, error)
	// Remove deletes the n oldest events.
	Remove(n int) error
	// Len is the number of stored events. It may be called from any
	// goroutine, also after Close (Stats reports it).
	Len() int
	// Close releases the outbox; stored events stay for the next Open.
	Close() error
}
