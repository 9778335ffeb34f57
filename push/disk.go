package push

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The on-disk queue is a bbolt file keyed by packet id (big-endian, so keys
// sort in queue order). A key-ordered store makes what a restart needs
// simple: Close puts the packets still in memory back in front of the disk
// ones by their ids, a packet saved twice is one key, and deleting what the
// receiver acknowledged is one transaction. Commits skip fsync (NoSync) and
// the Pusher syncs once per send cycle and at Close: a crashed process loses
// nothing written (the kernel has it), a crashed machine at most the last
// cycle. Spilled packets are written in groups of up to spillBatch per
// transaction, since one commit per packet would bound the spill rate.

var (
	bucketPackets = []byte("packets")
	bucketMeta    = []byte("meta")
	keyNextID     = []byte("next_id")
)

// DiskFile is the name of the queue file in Options.Dir.
const DiskFile = "queue.db"

// spillBatch is how many spilled packets wait in memory for one commit.
const spillBatch = 256

type disk struct {
	db        *bolt.DB
	buf       []rec  // spilled packets not yet committed, newest last
	n         int    // packets queued on disk (or in buf) and not yet read
	readAfter uint64 // packets with ids <= readAfter were read (or deleted)
	ackedTo   uint64 // packets with ids <= ackedTo are deleted
	savedID   uint64 // the last id recorded in the meta bucket
}

// openDisk opens or creates the queue in dir and returns it with the last
// id it has seen.
func openDisk(dir string) (*disk, uint64, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, 0, fmt.Errorf("push: Options.Dir: %w", err)
	}
	path := filepath.Join(dir, DiskFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, 0, fmt.Errorf("push: %s is locked by another Pusher or process: give each Pusher its own Options.Dir", path)
		}
		return nil, 0, fmt.Errorf("push: open queue %s: %w", path, err)
	}
	d := &disk{db: db}
	var last uint64
	err = db.Update(func(tx *bolt.Tx) error {
		pk, err := tx.CreateBucketIfNotExists(bucketPackets)
		if err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keyNextID); len(v) == 8 {
			last = binary.BigEndian.Uint64(v)
		}
		c := pk.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			d.n++
		}
		if k, _ := c.Last(); len(k) == 8 {
			last = max(last, binary.BigEndian.Uint64(k))
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, 0, fmt.Errorf("push: read queue %s: %w", path, err)
	}
	return d, last, nil
}

func key(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

func (d *disk) put(r rec) error {
	d.buf = append(d.buf, r)
	d.n++
	if len(d.buf) >= spillBatch {
		return d.flush()
	}
	return nil
}

// flush commits the spilled packets waiting in buf.
func (d *disk) flush() error {
	if len(d.buf) == 0 {
		return nil
	}
	err := d.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPackets)
		for _, r := range d.buf {
			if err := b.Put(key(r.id), r.data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		d.n -= len(d.buf)
		d.buf = nil
		return fmt.Errorf("push: write queue: %w", err)
	}
	clear(d.buf)
	d.buf = d.buf[:0]
	return nil
}

// read returns up to n of the oldest unread packets, leaving them in the file.
func (d *disk) read(n int) ([]rec, error) {
	if err := d.flush(); err != nil {
		return nil, err
	}
	var out []rec
	err := d.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketPackets).Cursor()
		for k, v := c.Seek(key(d.readAfter + 1)); k != nil && len(out) < n; k, v = c.Next() {
			out = append(out, rec{id: binary.BigEndian.Uint64(k), data: append([]byte(nil), v...)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("push: read queue: %w", err)
	}
	if len(out) > 0 {
		d.readAfter = out[len(out)-1].id
		d.n -= len(out)
	}
	return out, nil
}

// take removes and returns the oldest unread packet.
func (d *disk) take() (rec, error) {
	if err := d.flush(); err != nil {
		return rec{}, err
	}
	var r rec
	err := d.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketPackets).Cursor()
		k, v := c.Seek(key(d.readAfter + 1))
		if k == nil {
			return errors.New("disk queue count out of step with the file")
		}
		r = rec{id: binary.BigEndian.Uint64(k), data: append([]byte(nil), v...)}
		return c.Delete()
	})
	if err != nil {
		return rec{}, fmt.Errorf("push: take from queue: %w", err)
	}
	d.n--
	return r, nil
}

// ack deletes the packets read with ids <= upTo, and records lastID, the
// highest id handed out, so ids the receiver has seen are never reused
// after a crash.
func (d *disk) ack(upTo, lastID uint64) error {
	upTo = min(upTo, d.readAfter)
	del := upTo > d.ackedTo
	if !del && lastID == d.savedID {
		return nil
	}
	err := d.db.Update(func(tx *bolt.Tx) error {
		if del {
			b := tx.Bucket(bucketPackets)
			c := b.Cursor()
			var keys [][]byte
			for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= upTo; k, _ = c.Next() {
				keys = append(keys, k)
			}
			for _, k := range keys {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
		return tx.Bucket(bucketMeta).Put(keyNextID, key(lastID))
	})
	if err != nil {
		return fmt.Errorf("push: acknowledge in queue: %w", err)
	}
	if del {
		d.ackedTo = upTo
	}
	d.savedID = lastID
	return nil
}

// save puts packets back (the batch in flight and memory at Close): their
// ids sort them in front of the packets already on disk.
func (d *disk) save(rs []rec, lastID uint64) error {
	if err := d.flush(); err != nil {
		return err
	}
	err := d.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPackets)
		for _, r := range rs {
			if err := b.Put(key(r.id), r.data); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keyNextID, key(lastID))
	})
	if err != nil {
		return fmt.Errorf("push: save queue: %w", err)
	}
	return nil
}

func (d *disk) close() error {
	return errors.Join(d.flush(), d.db.Sync(), d.db.Close())
}
