package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/internal/wire"
	"github.com/heraldci/herald/status"
)

// ErrFull is wrapped by Append's error when a group does not fit within
// Options.MaxEvents even without its log chunks.
var ErrFull = errors.New("outbox: full")

// Options configures an outbox. The zero value is ready to use.
type Options struct {
	// MaxEvents bounds the stored events (default 1,000,000). See the
	// package doc for what Append does beyond it.
	MaxEvents int
	// Logger receives shed log chunks (the first, then every 1,000th),
	// with the attribute outbox=<path>. Default: the logger of the Hub's
	// reporter the outbox is given to (status.WithOutbox; see
	// status.Logging), and slog.Default() until then.
	Logger *slog.Logger
}

const defaultMaxEvents = 1_000_000

// lockTimeout is how long Open waits for another process's lock on the file.
const lockTimeout = time.Second

var bucketEvents = []byte("events")

// File is an outbox in one bbolt file. It implements status.Outbox: Append
// may run beside Read and Remove (bbolt serialises the writes); Len and
// Shed are safe from any goroutine.
type File struct {
	path    string
	db      *bolt.DB
	max     int
	log     *slog.Logger
	inherit func(*slog.Logger)

	n    atomic.Int64  // stored events
	shed atomic.Uint64 // log chunks shed by Append

	appendMu sync.Mutex     // one Append at a time: skips belongs to it
	skips    map[logKey]int // chunks shed per log, not yet marked on a stored event

	closeOnce sync.Once
	closeErr  error
}

var (
	_ status.Outbox  = (*File)(nil)
	_ status.Logging = (*File)(nil)
)

// logKey names one log of one build.
type logKey struct {
	builder    string
	build      int
	step, name string
}

// InheritLogger implements status.Logging: without Options.Logger the
// outbox logs through l.
func (f *File) InheritLogger(l *slog.Logger) { f.inherit(l) }

// Open opens the outbox at path, creating it when missing, and checks it.
// Only one process may have a file open; Open fails after a second when
// another holds it.
func Open(path string, o Options) (*File, error) {
	if o.MaxEvents < 0 {
		return nil, fmt.Errorf("outbox: Options.MaxEvents is negative (%d): use 0 for the default %d", o.MaxEvents, defaultMaxEvents)
	}
	f := &File{path: path, max: o.MaxEvents, skips: map[logKey]int{}}
	if f.max == 0 {
		f.max = defaultMaxEvents
	}
	f.log, f.inherit = hublog.New(o.Logger)
	f.log = f.log.With("outbox", path)
	err := f.guard("open", func() error {
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
		if err != nil {
			return err
		}
		f.db = db
		return nil
	})
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("outbox: %s is locked by another process: give each process (and each reporter) its own outbox file", path)
	case errors.As(err, new(*fs.PathError)): // the file could not be opened or created: not damage
		return nil, fmt.Errorf("outbox: %w", err)
	case err != nil:
		return nil, f.damaged(err)
	}
	if err := f.check(); err != nil {
		_ = f.db.Close()
		return nil, err
	}
	return f, nil
}

// check compares the file's size with the size its meta page claims (a
// truncated file would fault on the missing pages), reads every event's key,
// runs bbolt's consistency check and counts the events.
func (f *File) check() error {
	st, err := os.Stat(f.path)
	if err != nil {
		return f.damaged(err)
	}
	err = f.guard("check", func() error {
		return f.db.Update(func(tx *bolt.Tx) error {
			if tx.Size() > st.Size() {
				return fmt.Errorf("truncated: %d bytes, its pages need %d", st.Size(), tx.Size())
			}
			b, err := tx.CreateBucketIfNotExists(bucketEvents)
			if err != nil {
				return err
			}
			n := 0
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if len(k) != 8 || v == nil {
					return fmt.Errorf("key %x is not an event's (want 8 bytes and a value)", k)
				}
				n++
			}
			if k, _ := c.Last(); k != nil && binary.BigEndian.Uint64(k) > b.Sequence() {
				return fmt.Errorf("key %d is beyond the sequence %d", binary.BigEndian.Uint64(k), b.Sequence())
			}
			f.n.Store(int64(n))
			return nil
		})
	})
	if err == nil {
		err = f.guard("check", func() error {
			return f.db.View(func(tx *bolt.Tx) error {
				var errs []error
				n := 0
				for err := range tx.Check() { // drain: the check runs in its own goroutine
					if n++; n <= 3 {
						errs = append(errs, err)
					}
				}
				if n > 3 {
					errs = append(errs, fmt.Errorf("and %d more problems", n-3))
				}
				return errors.Join(errs...)
			})
		})
	}
	if err != nil {
		return f.damaged(err)
	}
	return nil
}

// damaged says that the file cannot be used and what to do.
func (f *File) damaged(err error) error {
	return fmt.Errorf("outbox: %s is damaged (%w): stop the master, move the file aside (its undelivered events are lost) and start again", f.path, err)
}

// guard runs fn, turning a fault on the memory-mapped file (a truncated
// file), or a panic of bbolt on a page it cannot make sense of, into an error.
func (f *File) guard(op string, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %v", op, r)
		}
	}()
	return fn()
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// Len returns the number of stored events.
func (f *File) Len() int { return int(f.n.Load()) }

// Shed returns how many log chunks Append shed because the outbox was full.
func (f *File) Shed() uint64 { return f.shed.Load() }

// Append stores events, in order, in one transaction with one fsync. When
// they would exceed Options.MaxEvents it sheds their log chunks first; when
// the rest still does not fit it stores nothing and returns an error
// wrapping ErrFull. An event that cannot be encoded (a property value JSON
// cannot hold) is left out and the others are stored: the error is then a
// *status.BatchError whose Refused counts those left out.
func (f *File) Append(events []status.Event) error {
	if len(events) == 0 {
		return nil
	}
	f.appendMu.Lock()
	defer f.appendMu.Unlock()
	room := f.max - f.Len() // Remove only makes it larger meanwhile
	keep := events
	var shed map[logKey]int
	if len(events) > room {
		keep, shed = shedChunks(events, len(events)-room)
		if len(keep) > room {
			return fmt.Errorf("%w: %s holds %d events, %d more do not fit within Options.MaxEvents=%d even without log chunks: the reporter has not taken events for a long time",
				ErrFull, f.path, f.Len(), len(keep), f.max)
		}
	}
	recs := make([][]byte, 0, len(keep))
	var refused []error        // events that cannot be encoded: left out, the others stored
	marked := map[logKey]int{} // skips this group consumes
	for i := range keep {
		e := &keep[i]
		if e.Kind == status.LogAppended || e.Kind == status.LogFinished {
			if k, ok := keyOf(e); ok {
				if s := f.skips[k] + shed[k] - marked[k]; s > 0 {
					ev := *e // keep is the caller's: do not write to it
					ev.Skipped += s
					e = &ev
					marked[k] += s
				}
			}
		}
		b, err := encodeEvent(e)
		if err != nil {
			refused = append(refused, err)
			continue
		}
		recs = append(recs, b)
	}
	err := f.guard("append", func() error {
		return f.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketEvents)
			seq := b.Sequence()
			var key [8]byte
			for _, r := range recs {
				seq++
				binary.BigEndian.PutUint64(key[:], seq)
				if err := b.Put(key[:], r); err != nil {
					return err
				}
			}
			return b.SetSequence(seq)
		})
	})
	if err != nil {
		return fmt.Errorf("outbox: append %d events to %s: %w", len(recs), f.path, err)
	}
	f.n.Add(int64(len(recs)))
	n := 0
	for k, s := range shed {
		f.skips[k] += s
		n += s
	}
	for k, s := range marked {
		if f.skips[k] -= s; f.skips[k] <= 0 {
			delete(f.skips, k)
		}
	}
	if n > 0 {
		total := f.shed.Add(uint64(n))
		if total == uint64(n) || total/1000 != (total-uint64(n))/1000 {
			f.log.Warn("outbox: full, shedding log chunks (the next event of each log says how many it lacks)",
				"shed", n, "shed_total", total, "max_events", f.max)
		}
	}
	if len(refused) > 0 {
		return &status.BatchError{Settled: len(events), Refused: len(refused),
			Err: fmt.Errorf("outbox: %s: %d events left out: %w", f.path, len(refused), errors.Join(refused...))}
	}
	return nil
}

// shedChunks returns events without up to n log chunks, the oldest first,
// and how many it shed per log.
func shedChunks(events []status.Event, n int) ([]status.Event, map[logKey]int) {
	keep := make([]status.Event, 0, len(events))
	shed := map[logKey]int{}
	for _, e := range events {
		if n > 0 && e.Kind == status.LogAppended {
			k, _ := keyOf(&e)
			shed[k]++
			n--
			continue
		}
		keep = append(keep, e)
	}
	return keep, shed
}

func keyOf(e *status.Event) (logKey, bool) {
	if e.Log == nil {
		return logKey{}, false
	}
	return logKey{e.Log.Builder, e.Log.Build, e.Log.Step, e.Log.Name}, true
}

// RecordError is a stored record that does not decode.
type RecordError struct {
	Path string
	Key  uint64
	Err  error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("outbox: %s: record %d does not decode (%v): it is the oldest; Remove(1) drops it, or move the file aside", e.Path, e.Key, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// Is makes a RecordError a status.ErrUnreadable, which the Hub removes and
// counts as dropped — unless the record was written by a newer release
// (after a downgrade): that one is kept, and the Hub retries until a
// release that reads it runs.
func (e *RecordError) Is(target error) bool {
	return target == status.ErrUnreadable && !errors.Is(e.Err, wire.ErrNewer)
}

// Read returns up to max of the oldest events, in order, without removing
// them. When a record does not decode, Read returns the events before it;
// when it is the oldest, Read returns a *RecordError naming it.
func (f *File) Read(max int) ([]status.Event, error) {
	if max <= 0 {
		return nil, nil
	}
	var out []status.Event
	var bad error
	err := f.guard("read", func() error {
		return f.db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketEvents).Cursor()
			for k, v := c.First(); k != nil && len(out) < max; k, v = c.Next() {
				e, err := decodeEvent(v)
				if err != nil {
					if len(out) == 0 {
						bad = &RecordError{Path: f.path, Key: binary.BigEndian.Uint64(k), Err: err}
					}
					return nil
				}
				out = append(out, e)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: read %s: %w", f.path, err)
	}
	return out, bad
}

// Remove deletes the n oldest events in one transaction with one fsync. It
// removes nothing and returns an error when fewer than n are stored.
func (f *File) Remove(n int) error {
	if n <= 0 {
		return nil
	}
	err := f.guard("remove", func() error {
		return f.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketEvents)
			keys := make([][]byte, 0, n)
			c := b.Cursor()
			for k, _ := c.First(); k != nil && len(keys) < n; k, _ = c.Next() {
				keys = append(keys, k)
			}
			if len(keys) < n {
				return fmt.Errorf("only %d events are stored, not %d", len(keys), n)
			}
			for _, k := range keys {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("outbox: remove %d events from %s: %w", n, f.path, err)
	}
	f.n.Add(-int64(n))
	return nil
}

// Close closes the file; stored events stay for the next Open. Chunks shed
// but not yet marked on a stored event are forgotten (logged). Later calls
// return the first result.
func (f *File) Close() error {
	f.closeOnce.Do(func() {
		f.appendMu.Lock()
		if len(f.skips) > 0 {
			f.log.Warn("outbox: closing with shed log chunks no stored event reports", "logs", len(f.skips))
		}
		f.appendMu.Unlock()
		f.closeErr = f.db.Close()
	})
	return f.closeErr
}

// encodeEvent and decodeEvent are the on-disk form of an event: the
// versioned wire form of internal/wire (see the package doc).
func encodeEvent(e *status.Event) ([]byte, error) {
	b, err := wire.Marshal(*e)
	if err != nil {
		return nil, fmt.Errorf("encode %v event %s: %w", e.Kind, e.ID, err)
	}
	return b, nil
}

func decodeEvent(b []byte) (status.Event, error) {
	return wire.Unmarshal(b)
}
