package store

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/heraldci/herald/status"
)

// The history file is a bbolt database with these buckets:
//
//	meta      "version" → fileVersion; "saved" → time of the last commit
//	builders  name → Builder (JSON)
//	workers   name → Worker
//	changes   ID (u64) → Change
//	builds    builder → number (u64) → Build, running builds included
//	logs      builder → number (u64) → step \0 name \0 segment (u32) → text
//	activity  sequence (u64) → Event (Memory.Activity)
//
// A log is written in segments, one per commit that saw it grow, so a
// growing log is never rewritten. Numbers are big-endian so that keys sort
// as numbers do.
var (
	bucketMeta     = []byte("meta")
	bucketBuilders = []byte("builders")
	bucketWorkers  = []byte("workers")
	bucketChanges  = []byte("changes")
	bucketBuilds   = []byte("builds")
	bucketLogs     = []byte("logs")
	bucketActivity = []byte("activity")

	allBuckets = [][]byte{bucketMeta, bucketBuilders, bucketWorkers, bucketChanges, bucketBuilds, bucketLogs, bucketActivity}

	keyVersion = []byte("version")
	keySaved   = []byte("saved")
)

const fileVersion = "2"

// file is the persistence state of a Memory made by OpenMemory.
type file struct {
	path  string
	db    *bolt.DB
	delay time.Duration

	// Guarded by Memory.mu.
	dirty    dirtySet
	applied  uint64 // events applied so far
	closed   bool
	savedAct uint64 // activity entries up to this sequence are in the file

	since atomic.Int64  // when the oldest unwritten change was applied (Unix ns); 0: none
	kick  chan struct{} // wakes the writer; capacity 1
	urged chan struct{} // ends the writer's wait for PersistDelay; capacity 1
	stop  chan struct{} // closed by Close
	done  chan struct{} // closed when the writer has closed the file

	mu        sync.Mutex
	persisted uint64        // applied events that are in the file
	committed chan struct{} // closed after each commit, then replaced
	lastErr   error         // of the last commit; nil once one succeeds
	closeErr  error         // of closing the file
}

// dirtySet names what changed in memory since the last capture.
type dirtySet struct {
	builders, workers map[string]struct{}
	changes           map[int64]struct{}
	builds            map[buildKey]struct{}
	logs              map[logKey]struct{}
	activity          bool
}

func newDirtySet() dirtySet {
	return dirtySet{builders: map[string]struct{}{}, workers: map[string]struct{}{}, changes: map[int64]struct{}{},
		builds: map[buildKey]struct{}{}, logs: map[logKey]struct{}{}}
}

// The mark functions note, under m.mu, what the writer must write.
func (m *Memory) markBuilder(name string) {
	if m.file != nil {
		m.file.dirty.builders[name] = struct{}{}
	}
}

func (m *Memory) markWorker(name string) {
	if m.file != nil {
		m.file.dirty.workers[name] = struct{}{}
	}
}

func (m *Memory) markChange(id int64) {
	if m.file != nil {
		m.file.dirty.changes[id] = struct{}{}
	}
}

func (m *Memory) markBuild(k buildKey) {
	if m.file != nil {
		m.file.dirty.builds[k] = struct{}{}
	}
}

func (m *Memory) markLog(k logKey) {
	if m.file != nil {
		m.file.dirty.logs[k] = struct{}{}
	}
}

func (m *Memory) markActivity() {
	if m.file != nil {
		m.file.dirty.activity = true
	}
}

// wake tells the writer there is something to write; m.mu is held.
func (f *file) wake() {
	if f.since.Load() == 0 {
		f.since.Store(time.Now().UnixNano())
	}
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// urge has the writer commit now rather than PersistDelay after the first
// event of the group; m.mu is held.
func (f *file) urge() {
	f.since.Store(1) // long ago: no wait
	select {
	case f.urged <- struct{}{}:
	default:
	}
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// OpenMemory returns a Memory that keeps its history in the bbolt file at
// path as well: builders, workers, changes, builds (running ones too) with
// their logs, and the waterfall's activity, within the same retention as in
// memory. What the file holds is loaded first, so pages, mails and bots see
// the past after a restart, and build and change numbers continue.
//
// Apply never waits for the disk: a background writer commits what was
// applied in groups, PersistDelay after the first event of a group (see
// MemoryOptions.PersistDelay), and Sync waits for it. After a crash the
// file holds everything applied more than about PersistDelay before it.
// Builds of this master (MemoryOptions.Master) that were running when the
// file was last written come back finished with Result status.Exception
// and the text InterruptedText, their running steps with "interrupted"
// (Buildbot 3 marks them RETRY, since its request goes back in the queue;
// Herald cannot promise the host retries); the master then calls
// FinishInterrupted with its Hub, so its reporters learn that they ended,
// and the file records it. Running builds of other masters (a front end's)
// come back running. Workers come back disconnected; pending requests,
// build sets and users added with AddUser are not kept.
//
// The file is checked on open (its headers and size, then every page as it
// is loaded, then bbolt's consistency check, which reads the whole file):
// a damaged or truncated file is an error that names it, never a crash.
// Close the Memory after the Hub's Shutdown (a Hub does not close its
// history) to write what is left and release the file.
// Property values come back as JSON gives them (numbers as float64).
func OpenMemory(path string, o MemoryOptions) (*Memory, error) {
	if err := checkFile(path); err != nil {
		return nil, err
	}
	m := NewMemory(o)
	f := &file{path: path, delay: m.opts.PersistDelay, dirty: newDirtySet(),
		kick: make(chan struct{}, 1), urged: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), committed: make(chan struct{})}
	var osFile *os.File // bbolt's, to close should bolt.Open panic
	err := guard(path, func() error {
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second,
			OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
				f, err := os.OpenFile(name, flag, perm)
				osFile = f
				return f, err
			}})
		if errors.Is(err, berrors.ErrTimeout) {
			return fmt.Errorf("store: open %s: %w (is another process using it?)", path, err)
		} else if err != nil {
			return damaged(path, err)
		}
		f.db = db
		var fresh bool
		if err := db.View(func(tx *bolt.Tx) error {
			var err error
			if fresh, err = checkFormat(tx, path); err != nil || fresh {
				return err
			}
			if err := walk(tx); err != nil {
				return damaged(path, err)
			}
			if err := m.load(tx, f); err != nil {
				return damaged(path, err)
			}
			// bbolt checks in a goroutine of its own, where a panic or a
			// fault could not be recovered; checkFile and walk have read
			// every page it reads, without either.
			var errs []error
			for err := range tx.Check() {
				if len(errs) < 3 {
					errs = append(errs, err)
				}
			}
			if len(errs) > 0 {
				return damaged(path, errors.Join(errs...))
			}
			return nil
		}); err != nil {
			return err
		}
		if fresh {
			return db.Update(func(tx *bolt.Tx) error {
				for _, b := range allBuckets {
					if _, err := tx.CreateBucket(b); err != nil {
						return err
					}
				}
				return tx.Bucket(bucketMeta).Put(keyVersion, []byte(fileVersion))
			})
		}
		return nil
	})
	if err != nil {
		if f.db != nil {
			f.db.Close()
		} else if osFile != nil {
			osFile.Close() // releases its lock
		}
		return nil, err
	}
	m.file = f
	if len(f.dirty.builds) > 0 || f.dirty.activity { // retention to apply to the file
		f.wake()
	}
	go m.writeLoop()
	return m, nil
}

// walk reads every key and value of the file, so that a damaged page is
// met here, under guard.
func walk(tx *bolt.Tx) error {
	var walkBucket func(b *bolt.Bucket) error
	walkBucket = func(b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				if sub := b.Bucket(k); sub != nil {
					return walkBucket(sub)
				}
			}
			return nil
		})
	}
	return tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walkBucket(b) })
}

// checkFormat tells an empty file (fresh: it has no buckets yet) from one
// this Herald wrote, and refuses others.
func checkFormat(tx *bolt.Tx, path string) (fresh bool, err error) {
	var names [][]byte
	if err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		names = append(names, slices.Clone(name))
		return nil
	}); err != nil {
		return false, damaged(path, err)
	}
	if len(names) == 0 {
		return true, nil
	}
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return false, fmt.Errorf("store: history file %s was written by an older Herald, in a format this one does not read: move it aside or delete it to start with an empty history", path)
	}
	if v := string(meta.Get(keyVersion)); v != fileVersion {
		return false, fmt.Errorf("store: history file %s has format %q; this Herald reads format %q: move it aside or delete it to start with an empty history", path, v, fileVersion)
	}
	for _, n := range names {
		if !slices.ContainsFunc(allBuckets, func(b []byte) bool { return string(b) == string(n) }) {
			return false, damaged(path, fmt.Errorf("unexpected bucket %q", n))
		}
	}
	for _, b := range allBuckets {
		if tx.Bucket(b) == nil {
			return false, damaged(path, fmt.Errorf("bucket %q is missing", b))
		}
	}
	return false, nil
}

// load reads the file into m (m.file is not set yet), noting in f.dirty
// what it changed (builds past retention to delete) and, in
// m.interrupted, the builds that were running.
func (m *Memory) load(tx *bolt.Tx, f *file) error {
	meta := tx.Bucket(bucketMeta)
	var saved time.Time
	if v := meta.Get(keySaved); v != nil {
		if err := saved.UnmarshalText(v); err != nil {
			return fmt.Errorf("meta: %w", err)
		}
	}
	if err := forEachJSON(tx.Bucket(bucketBuilders), func(b *status.Builder) { m.builders[b.Name] = b }); err != nil {
		return err
	}
	if err := forEachJSON(tx.Bucket(bucketWorkers), func(w *status.Worker) {
		w.Connected = false // nobody is connected to a master that just started
		m.workers[w.Name] = w
	}); err != nil {
		return err
	}
	if err := forEachJSON(tx.Bucket(bucketChanges), func(c *status.Change) { m.addChange(*c) }); err != nil {
		return err
	}
	if err := tx.Bucket(bucketActivity).ForEach(func(k, v []byte) error {
		var e status.Event
		if len(k) != 8 || json.Unmarshal(v, &e) != nil {
			return fmt.Errorf("activity: bad entry %x", k)
		}
		seq := binary.BigEndian.Uint64(k)
		m.activity = append(m.activity, activityEntry{seq: seq, e: e})
		m.nextAct = seq + 1
		return nil
	}); err != nil {
		return err
	}
	if over := len(m.activity) - m.opts.Activity; over > 0 {
		m.activity = m.activity[over:]
		f.dirty.activity = true // trim the file at the first commit
	}
	f.savedAct = m.nextAct - 1
	builds, logs := tx.Bucket(bucketBuilds), tx.Bucket(bucketLogs)
	if err := builds.ForEachBucket(func(name []byte) error {
		var list []*status.Build
		if err := forEachJSON(builds.Bucket(name), func(b *status.Build) { list = append(list, b) }); err != nil {
			return fmt.Errorf("builds of %q: %w", name, err)
		}
		slices.SortFunc(list, func(a, b *status.Build) int { return a.Number - b.Number })
		for _, old := range list[:max(len(list)-m.opts.BuildsPerBuilder, 0)] {
			f.dirty.builds[buildKey{old.Builder, old.Number}] = struct{}{} // delete at the first commit
		}
		list = list[max(len(list)-m.opts.BuildsPerBuilder, 0):]
		for i, b := range list {
			if err := m.loadLogs(logs.Bucket(name), b); err != nil {
				return fmt.Errorf("logs of %s #%d: %w", b.Builder, b.Number, err)
			}
			switch {
			case b.Done():
			case b.Master != m.opts.Master:
				// Another master's: it may be running there still, and
				// that master's events end it.
				m.othersLeft[buildKey{b.Builder, b.Number}] = b.Master
			default:
				// Shown ended at once; the file keeps it running until
				// FinishInterrupted's BuildFinished is applied.
				b.Steps, _ = m.logSizes(b.Steps) // its logs' sizes as far as they got
				ib := interrupt(b, saved)
				m.interrupted[buildKey{b.Builder, b.Number}] = ib
				list[i] = ib.finished
			}
		}
		for _, b := range list {
			m.track(b)
		}
		m.builds[string(name)] = list
		if _, ok := m.builders[string(name)]; !ok && len(list) > 0 {
			last := list[len(list)-1]
			m.builders[string(name)] = &status.Builder{Name: last.Builder, Tags: last.Tags, Master: last.Master}
		}
		return nil
	}); err != nil {
		return err
	}
	// Logs of no build kept (an earlier Herald left those of some pruned
	// builds) go at the first commit, with the build they belonged to.
	return logs.ForEachBucket(func(name []byte) error {
		return logs.Bucket(name).ForEachBucket(func(num []byte) error {
			if len(num) != 8 {
				return nil
			}
			if k := (buildKey{string(name), int(binary.BigEndian.Uint64(num))}); m.find(k.builder, k.number) == nil {
				f.dirty.builds[k] = struct{}{}
			}
			return nil
		})
	})
}

// loadLogs reads the logs of b from bk (logs of b's builder, may be nil).
func (m *Memory) loadLogs(bk *bolt.Bucket, b *status.Build) error {
	if bk == nil {
		return nil
	}
	lb := bk.Bucket(u64key(uint64(b.Number)))
	if lb == nil {
		return nil
	}
	return lb.ForEach(func(k, v []byte) error {
		step, name, ok := splitLogKey(k)
		if !ok {
			return fmt.Errorf("bad log key %q", k)
		}
		lk := logKey{b.Builder, b.Number, step, name}
		d := m.logs[lk]
		if d == nil {
			d = &logData{done: true}
			m.addLog(lk, d)
		}
		d.chunks = append(d.chunks, string(v))
		d.size += int64(len(v))
		d.saved++
		d.segs++
		return nil
	})
}

func forEachJSON[T any](bk *bolt.Bucket, fn func(*T)) error {
	return bk.ForEach(func(k, v []byte) error {
		if v == nil {
			return fmt.Errorf("unexpected bucket %q", k)
		}
		x := new(T)
		if err := json.Unmarshal(v, x); err != nil {
			return fmt.Errorf("key %x: %w", k, err)
		}
		fn(x)
		return nil
	})
}

// Sync waits until everything applied before the call is in the file, or
// ctx ends. It does not hurry the writer: that happens within
// PersistDelay. For a Memory made by NewMemory it returns at once.
func (m *Memory) Sync(ctx context.Context) error {
	m.mu.RLock()
	f := m.file
	var target uint64
	if f != nil {
		target = f.applied
	}
	m.mu.RUnlock()
	if f == nil {
		return nil
	}
	for {
		f.mu.Lock()
		persisted, committed, lastErr := f.persisted, f.committed, f.lastErr
		f.mu.Unlock()
		if persisted >= target {
			return nil
		}
		select {
		case <-committed:
		case <-f.done:
			return fmt.Errorf("store: %s closed before everything was written (last error: %v)", f.path, lastErr)
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("store: sync %s: %w (last write failed: %v)", f.path, ctx.Err(), lastErr)
			}
			return ctx.Err()
		}
	}
}

// Close writes what is left to the file and releases it (a Memory made by
// NewMemory has nothing to do). Events applied after Close are not
// recorded. When ctx ends first Close returns ctx.Err(); the last commit
// then still finishes, and the file is released, in the background.
func (m *Memory) Close(ctx context.Context) error {
	m.mu.Lock()
	f := m.file
	if f == nil {
		m.mu.Unlock()
		return nil
	}
	first := !f.closed
	f.closed = true
	applied := f.applied
	m.mu.Unlock()
	if first {
		close(f.stop)
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.persisted < applied {
		return fmt.Errorf("store: %s: the last write failed, some events are not in the file: %w", f.path, f.lastErr)
	}
	return f.closeErr
}

// writeLoop is the background writer: it commits what was applied at most
// once per PersistDelay, and everything at Close.
func (m *Memory) writeLoop() {
	f := m.file
	defer close(f.done)
	defer func() {
		err := f.db.Close()
		f.mu.Lock()
		f.closeErr = err
		f.mu.Unlock()
	}()
	logger := m.opts.Logger
	for {
		select {
		case <-f.kick:
		case <-f.stop:
			m.finalCommit()
			return
		}
		if since := f.since.Load(); since != 0 {
			if wait := time.Until(time.Unix(0, since).Add(f.delay)); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-f.urged:
					t.Stop()
				case <-f.stop:
					t.Stop()
					m.finalCommit()
					return
				}
			}
		}
		if err := m.commit(); err != nil {
			logger.Error("store: writing the history file failed; retrying", "file", f.path, "err", err)
		}
	}
}

func (m *Memory) finalCommit() {
	if err := m.commit(); err != nil {
		m.opts.Logger.Error("store: writing the history file at Close failed", "file", m.file.path, "err", err)
	}
}

// writeSet is what one commit writes: immutable snapshots taken under m.mu,
// encoded and written outside it.
type writeSet struct {
	applied      uint64 // applied events this commit covers
	dirty        dirtySet
	builders     map[string]*status.Builder // nil: delete
	workers      map[string]*status.Worker
	changes      []status.Change
	oldestChange int64                      // changes below this ID are gone from memory
	builds       map[buildKey]*status.Build // nil: delete with its logs
	logs         []logWrite
	activity     []activityEntry
	oldestAct    uint64 // activity below this sequence is gone from memory
	problems     []error
}

type logWrite struct {
	key      logKey
	seg      int
	from, to int      // chunks[from:to] of the log
	chunks   []string // those chunks
}

// capture takes what changed since the last capture.
func (m *Memory) capture() *writeSet {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.file
	d := f.dirty
	f.dirty = newDirtySet()
	f.since.Store(0)
	w := &writeSet{applied: f.applied, dirty: d, builders: map[string]*status.Builder{},
		workers: map[string]*status.Worker{}, builds: map[buildKey]*status.Build{}}
	for name := range d.builders {
		w.builders[name] = m.builders[name]
	}
	for name := range d.workers {
		w.workers[name] = m.workers[name]
	}
	for id := range d.changes {
		if i, ok := slices.BinarySearchFunc(m.changes, id, func(x status.Change, id int64) int { return cmp.Compare(x.ID, id) }); ok {
			w.changes = append(w.changes, m.changes[i])
		}
	}
	if len(m.changes) > 0 {
		w.oldestChange = m.changes[0].ID
	}
	for k := range d.builds {
		w.builds[k] = m.find(k.builder, k.number)
	}
	for k := range d.logs {
		// A log is written only with its build: one written after its
		// build's deletion would stay in the file for good.
		if ld := m.logs[k]; ld != nil && len(ld.chunks) > ld.saved && m.find(k.builder, k.build) != nil {
			w.logs = append(w.logs, logWrite{key: k, seg: ld.segs, from: ld.saved, to: len(ld.chunks), chunks: ld.chunks[ld.saved:len(ld.chunks):len(ld.chunks)]})
		}
	}
	if d.activity {
		for _, a := range m.activity {
			if a.seq > f.savedAct {
				w.activity = append(w.activity, a)
			}
		}
		if len(m.activity) > 0 {
			w.oldestAct = m.activity[0].seq
		} else {
			w.oldestAct = m.nextAct
		}
	}
	return w
}

// commit writes what changed since the last commit in one transaction.
func (m *Memory) commit() error {
	f := m.file
	w := m.capture()
	err := guard(f.path, func() error { return f.db.Update(w.write) })
	for _, p := range w.problems {
		m.opts.Logger.Error("store: cannot write to the history file; skipped", "file", f.path, "err", p)
	}
	m.mu.Lock()
	if err != nil {
		m.remark(w.dirty)
	} else {
		for _, lw := range w.logs {
			if ld := m.logs[lw.key]; ld != nil && ld.saved == lw.from {
				ld.saved, ld.segs = lw.to, lw.seg+1
			}
		}
		if n := len(w.activity); n > 0 {
			f.savedAct = w.activity[n-1].seq
		}
	}
	m.mu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastErr = err
	if err == nil {
		f.persisted = w.applied
		close(f.committed)
		f.committed = make(chan struct{})
	}
	return err
}

// remark notes again, after a failed commit, what it should have written.
func (m *Memory) remark(d dirtySet) {
	f := m.file
	for k := range d.builders {
		f.dirty.builders[k] = struct{}{}
	}
	for k := range d.workers {
		f.dirty.workers[k] = struct{}{}
	}
	for k := range d.changes {
		f.dirty.changes[k] = struct{}{}
	}
	for k := range d.builds {
		f.dirty.builds[k] = struct{}{}
	}
	for k := range d.logs {
		f.dirty.logs[k] = struct{}{}
	}
	f.dirty.activity = f.dirty.activity || d.activity
	f.wake()
}

func (w *writeSet) write(tx *bolt.Tx) error {
	now, _ := time.Now().MarshalText()
	if err := tx.Bucket(bucketMeta).Put(keySaved, now); err != nil {
		return err
	}
	for name, b := range w.builders {
		if err := w.put(tx.Bucket(bucketBuilders), []byte(name), b); err != nil {
			return err
		}
	}
	for name, wk := range w.workers {
		if err := w.put(tx.Bucket(bucketWorkers), []byte(name), wk); err != nil {
			return err
		}
	}
	changes := tx.Bucket(bucketChanges)
	for _, c := range w.changes {
		if err := w.put(changes, u64key(uint64(c.ID)), c); err != nil {
			return err
		}
	}
	if len(w.changes) > 0 {
		if err := deleteBelow(changes, u64key(uint64(w.oldestChange))); err != nil {
			return err
		}
	}
	builds, logs := tx.Bucket(bucketBuilds), tx.Bucket(bucketLogs)
	for k, b := range w.builds {
		num := u64key(uint64(k.number))
		if b == nil {
			if bk := builds.Bucket([]byte(k.builder)); bk != nil {
				if err := bk.Delete(num); err != nil {
					return err
				}
			}
			if lk := logs.Bucket([]byte(k.builder)); lk != nil {
				if err := lk.DeleteBucket(num); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
					return err
				}
			}
			continue
		}
		bk, err := builds.CreateBucketIfNotExists([]byte(k.builder))
		if err != nil {
			return err
		}
		if err := w.put(bk, num, b); err != nil {
			return err
		}
	}
	for _, lw := range w.logs {
		lk, err := logs.CreateBucketIfNotExists([]byte(lw.key.builder))
		if err != nil {
			return err
		}
		nb, err := lk.CreateBucketIfNotExists(u64key(uint64(lw.key.build)))
		if err != nil {
			return err
		}
		if err := nb.Put(logSegKey(lw.key.step, lw.key.name, lw.seg), []byte(strings.Join(lw.chunks, ""))); err != nil {
			return err
		}
	}
	if w.oldestAct > 0 {
		act := tx.Bucket(bucketActivity)
		for _, a := range w.activity {
			if err := w.put(act, u64key(a.seq), a.e); err != nil {
				return err
			}
		}
		if err := deleteBelow(act, u64key(w.oldestAct)); err != nil {
			return err
		}
	}
	return nil
}

// put writes v as JSON under key, or deletes key when v is a nil pointer.
// A value JSON cannot encode (a property holding a func, say) is skipped
// and reported in w.problems rather than failing the whole commit.
func (w *writeSet) put(bk *bolt.Bucket, key []byte, v any) error {
	switch x := v.(type) {
	case *status.Builder:
		if x == nil {
			return bk.Delete(key)
		}
	case *status.Worker:
		if x == nil {
			return bk.Delete(key)
		}
	}
	data, err := json.Marshal(v)
	if err != nil {
		w.problems = append(w.problems, fmt.Errorf("%s %x: %w", bk, key, err))
		return nil
	}
	return bk.Put(key, data)
}

// deleteBelow deletes the keys of bk that sort before limit.
func deleteBelow(bk *bolt.Bucket, limit []byte) error {
	c := bk.Cursor()
	for k, _ := c.First(); k != nil && string(k) < string(limit); k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// u64key orders numbers as bbolt orders keys: big-endian bytes.
func u64key(n uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, n)
}

func logSegKey(step, name string, seg int) []byte {
	k := make([]byte, 0, len(step)+len(name)+6)
	k = append(append(append(append(k, step...), 0), name...), 0)
	return binary.BigEndian.AppendUint32(k, uint32(seg))
}

// splitLogKey undoes logSegKey (a step or log name holding a NUL byte is
// not told apart; it never is in practice).
func splitLogKey(k []byte) (step, name string, ok bool) {
	if len(k) < 6 || k[len(k)-5] != 0 {
		return "", "", false
	}
	rest := string(k[:len(k)-5])
	step, name, ok = strings.Cut(rest, "\x00")
	return step, name, ok
}
