package store

import (
	"context"
	"encoding/binary"
	"encoding/json"

	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/heraldci/herald/status"
)

// Buckets of the history file. Builds are written once finished, with the
// full text of their logs; running builds are not kept across a restart
// (their master is gone with them).
var (
	bucketBuilders = []byte("builders")
	bucketWorkers  = []byte("workers")
	bucketChanges  = []byte("changes")
	bucketBuilds   = []byte("builds") // one nested bucket per builder, keyed by number
	bucketLogs     = []byte("logs")   // builder \0 number \0 step \0 name
)

// OpenMemory returns a Memory that keeps its history in the bbolt file at
// path as well: builders, workers, changes and finished builds with their
// logs, within the same retention as in memory. What the file holds is
// loaded first, so pages, mails and bots see the past after a restart.
// Close the Memory (the Hub does, at Shutdown) to release the file.
// Property values come back as JSON gives them (numbers as float64).
func OpenMemory(path string, o MemoryOptions) (*Memory, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w (is another process using it?)", path, err)
	}
	m := NewMemory(o)
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketBuilders, bucketWorkers, bucketChanges, bucketBuilds, bucketLogs} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return m.load(tx)
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: load %s: %w", path, err)
	}
	m.db = db
	return m, nil
}

// Close releases the history file of a Memory made by OpenMemory.
func (m *Memory) Close(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.db == nil {
		return nil
	}
	err := m.db.Close()
	m.db = nil
	return err
}

func (m *Memory) load(tx *bolt.Tx) error {
	if err := tx.Bucket(bucketBuilders).ForEach(func(_, v []byte) error {
		var b status.Builder
		if err := json.Unmarshal(v, &b); err != nil {
			return err
		}
		m.builders[b.Name] = &b
		return nil
	}); err != nil {
		return err
	}
	if err := tx.Bucket(bucketWorkers).ForEach(func(_, v []byte) error {
		var w status.Worker
		if err := json.Unmarshal(v, &w); err != nil {
			return err
		}
		w.Connected = false // nobody is connected to a master that just started
		m.workers[w.Name] = &w
		return nil
	}); err != nil {
		return err
	}
	if err := tx.Bucket(bucketChanges).ForEach(func(_, v []byte) error {
		var c status.Change
		if err := json.Unmarshal(v, &c); err != nil {
			return err
		}
		m.addChange(c)
		return nil
	}); err != nil {
		return err
	}
	logs := tx.Bucket(bucketLogs)
	return tx.Bucket(bucketBuilds).ForEachBucket(func(name []byte) error {
		var list []*status.Build
		if err := tx.Bucket(bucketBuilds).Bucket(name).ForEach(func(_, v []byte) error {
			b := new(status.Build)
			if err := json.Unmarshal(v, b); err != nil {
				return err
			}
			list = append(list, b)
			return nil
		}); err != nil {
			return err
		}
		list = list[max(len(list)-m.opts.BuildsPerBuilder, 0):]
		for _, b := range list {
			for _, st := range b.Steps {
				for _, l := range st.Logs {
					if text := logs.Get(logKeyBytes(l)); text != nil {
						m.logs[logKey{l.Builder, l.Build, l.Step, l.Name}] = &logData{
							chunks: []string{string(text)}, size: int64(len(text)), done: true}
					}
				}
			}
		}
		m.builds[string(name)] = list
		if _, ok := m.builders[string(name)]; !ok && len(list) > 0 {
			last := list[len(list)-1]
			m.builders[string(name)] = &status.Builder{Name: last.Builder, Tags: last.Tags, Master: last.Master}
		}
		return nil
	})
}

// persist writes what e changed, already applied in memory; m.mu is held.
func (m *Memory) persist(e status.Event) error {
	var put func(tx *bolt.Tx) error
	switch {
	case (e.Kind == status.BuilderAdded || e.Kind == status.BuilderChanged) && e.Builder != nil:
		b := m.builders[e.Builder.Name]
		put = func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bucketBuilders), []byte(b.Name), b) }
	case e.Kind == status.BuilderRemoved && e.Builder != nil:
		put = func(tx *bolt.Tx) error { return tx.Bucket(bucketBuilders).Delete([]byte(e.Builder.Name)) }
	case (e.Kind == status.WorkerConnected || e.Kind == status.WorkerDisconnected) && e.Worker != nil:
		w := m.workers[e.Worker.Name]
		put = func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bucketWorkers), []byte(w.Name), w) }
	case e.Kind == status.ChangeAdded && e.Change != nil:
		put = func(tx *bolt.Tx) error { return m.saveChange(tx, *e.Change) }
	case e.Kind == status.BuildFinished && e.Build != nil:
		b := m.find(e.Build.Builder, e.Build.Number)
		if b == nil {
			return nil
		}
		put = func(tx *bolt.Tx) error { return m.saveBuild(tx, b) }
	default:
		return nil
	}
	if err := m.db.Update(put); err != nil {
		return fmt.Errorf("store: write %v to the history file: %w", e.Kind, err)
	}
	return nil
}

func (m *Memory) saveChange(tx *bolt.Tx, c status.Change) error {
	bk := tx.Bucket(bucketChanges)
	if err := putJSON(bk, u64key(uint64(c.ID)), c); err != nil {
		return err
	}
	if len(m.changes) == 0 {
		return nil
	}
	// Drop what memory dropped: every change older than the oldest kept.
	oldest := u64key(uint64(m.changes[0].ID))
	cur := bk.Cursor()
	for k, _ := cur.First(); k != nil && string(k) < string(oldest); k, _ = cur.Next() {
		if err := cur.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func (m *Memory) saveBuild(tx *bolt.Tx, b *status.Build) error {
	bk, err := tx.Bucket(bucketBuilds).CreateBucketIfNotExists([]byte(b.Builder))
	if err != nil {
		return err
	}
	if err := putJSON(bk, u64key(uint64(b.Number)), b); err != nil {
		return err
	}
	logs := tx.Bucket(bucketLogs)
	for _, st := range b.Steps {
		for _, l := range st.Logs {
			if d := m.logs[logKey{l.Builder, l.Build, l.Step, l.Name}]; d != nil {
				if err := logs.Put(logKeyBytes(l), []byte(strings.Join(d.chunks, ""))); err != nil {
					return err
				}
			}
		}
	}
	// Drop what memory dropped: builds of this builder older than the
	// oldest kept, with their logs.
	list := m.builds[b.Builder]
	oldest := u64key(uint64(list[0].Number))
	cur := bk.Cursor()
	for k, v := cur.First(); k != nil && string(k) < string(oldest); k, v = cur.Next() {
		var old status.Build
		if json.Unmarshal(v, &old) == nil {
			for _, st := range old.Steps {
				for _, l := range st.Logs {
					if err := logs.Delete(logKeyBytes(l)); err != nil {
						return err
					}
				}
			}
		}
		if err := cur.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func putJSON(bk *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return bk.Put(key, data)
}

// u64key orders numbers as bbolt orders keys: big-endian bytes.
func u64key(n uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, n)
}

func logKeyBytes(l status.LogRef) []byte {
	return fmt.Appendf(nil, "%s\x00%d\x00%s\x00%s", l.Builder, l.Build, l.Step, l.Name)
}
