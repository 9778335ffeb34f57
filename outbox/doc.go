// Package outbox keeps status events durably in a bbolt file: the
// status.Outbox a Hub puts in front of a reporter with status.WithOutbox, so
// what was queued for it survives a crash or restart of the master and is
// delivered at least once, in order.
//
//	ob, err := outbox.Open("/var/lib/ci/push.outbox", outbox.Options{})
//	if err != nil { ... }
//	hub.Add(pusher, status.WithOutbox(ob))
//
// # Group commit
//
// Append stores a whole group of events in one write transaction and one
// fsync, so the cost of durability is paid per group, not per event: the
// Hub appends whatever was published since its last Append. Remove deletes
// the oldest events in one transaction as well, once per delivered batch.
//
// # Order across restarts
//
// Keys are big-endian sequence numbers, so bbolt's key order is append
// order; the next number is kept in the file, so it never goes back, even
// when the outbox was empty at the crash.
//
// # Bounds
//
// An outbox holds at most Options.MaxEvents events. When a group would go
// beyond it, Append first sheds the group's log chunks (status.LogAppended),
// counting them (Shed) and logging the first, and marks the next stored event
// of the same log with Event.Skipped, as the Hub does when it sheds. If the
// rest still does not fit, Append stores nothing and returns an error wrapping
// ErrFull, which the Hub counts; lifecycle events are never shed silently.
//
// # Damage
//
// Open checks the whole file (every page is read, bbolt's consistency check
// runs) and reports a truncated or corrupt file as an error that names it
// and says what to do; a fault on the memory-mapped file is turned into that
// error too (runtime/debug.SetPanicOnFault), never a crash. A stored record
// that does not decode makes Read return a *RecordError naming its key; the
// events before it are returned first, so the error concerns the oldest
// event. A RecordError is a status.ErrUnreadable: the Hub removes that
// event with Remove(1), counts it as dropped and logs it, and goes on.
//
// # On-disk form
//
// Each record is an event in the versioned wire form of package bus and
// stream (internal/wire), so a file written by one release is read by the
// next; a record of a newer version than this reader's is a *RecordError.
package outbox
