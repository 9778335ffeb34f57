package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
)

// damaged is the error for a history file Herald cannot read.
func damaged(path string, why error) error {
	return fmt.Errorf("store: history file %s is damaged (%w): move it aside to keep it for inspection, or delete it, to start with an empty history", path, why)
}

// guard runs fn, which reads the memory-mapped file at path, turning a
// panic in bbolt or a fault on the mapping (a truncated or damaged file)
// into an error. debug.SetPanicOnFault applies to the calling goroutine
// only, so every read of the mapping runs under a guard on its own
// goroutine.
func guard(path string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = damaged(path, fmt.Errorf("reading it failed: %v", r))
		}
	}()
	return fn()
}

// The two meta pages of a bbolt file (go.etcd.io/bbolt/internal/common.Meta,
// after a 16-byte page header), in the machine's byte order.
const (
	boltMagic   = 0xED0CDAED
	boltVersion = 2
	metaOffset  = 16 // page header: id u64, flags u16, count u16, overflow u32
	metaSize    = 64 // magic, version, pageSize, flags u32; root, sequence, freelist, pgid, txid, checksum u64
)

type boltMeta struct {
	pageSize       uint32
	root, freelist uint64
	pgid, txid     uint64
	valid          bool
}

func parseMeta(b []byte) boltMeta {
	if len(b) < metaSize {
		return boltMeta{}
	}
	e := binary.NativeEndian
	h := fnv.New64a()
	h.Write(b[:56])
	return boltMeta{
		pageSize: e.Uint32(b[8:]),
		root:     e.Uint64(b[16:]),
		freelist: e.Uint64(b[32:]),
		pgid:     e.Uint64(b[40:]),
		txid:     e.Uint64(b[48:]),
		valid:    e.Uint32(b[0:]) == boltMagic && e.Uint32(b[4:]) == boltVersion && e.Uint64(b[56:]) == h.Sum64(),
	}
}

// checkFile checks the size and headers of the file at path before bbolt
// maps it, so a truncated file is an error rather than a fault: bbolt
// trusts its header's page count and reads past the end of a short file.
// A missing or empty file is fine (bbolt makes a new one).
func checkFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	size := st.Size()
	if size == 0 {
		return nil
	}
	head := make([]byte, metaOffset+metaSize)
	if _, err := f.ReadAt(head, 0); err != nil {
		return damaged(path, fmt.Errorf("it is %d bytes long, too short for a history file's header", size))
	}
	m0 := parseMeta(head[metaOffset:])
	pageSize := int64(os.Getpagesize()) // what bbolt assumes when the first header is bad
	if m0.valid {
		pageSize = int64(m0.pageSize)
	}
	if pageSize < 512 || pageSize > 1<<20 || size < 2*pageSize {
		return damaged(path, fmt.Errorf("it is %d bytes long: truncated, or not a history file", size))
	}
	if _, err := f.ReadAt(head, pageSize); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("store: read %s: %w", path, err)
	}
	m1 := parseMeta(head[metaOffset:])
	m := m0
	if !m0.valid || m1.valid && m1.txid > m0.txid {
		m = m1
	}
	switch {
	case !m.valid:
		return damaged(path, errors.New("neither of its two headers is valid: not a history file, or overwritten"))
	case m.root >= m.pgid || m.freelist >= m.pgid && m.freelist != ^uint64(0):
		return damaged(path, errors.New("its header points outside the file"))
	case int64(m.pgid)*pageSize > size:
		return damaged(path, fmt.Errorf("truncated: its header says %d bytes, the file has %d", int64(m.pgid)*pageSize, size))
	}
	// bbolt's consistency check reads these pages on a goroutine of its
	// own, where a bad page header is a panic nobody can recover: check
	// them here. (Every other page it reads, the guarded walk in
	// OpenMemory has read first.)
	pages := []uint64{0, 1}
	if m.freelist != ^uint64(0) {
		pages = append(pages, m.freelist)
	}
	hdr := make([]byte, metaOffset)
	for _, id := range pages {
		if _, err := f.ReadAt(hdr, int64(id)*pageSize); err != nil {
			return damaged(path, fmt.Errorf("page %d: %w", id, err))
		}
		e := binary.NativeEndian
		flags := e.Uint16(hdr[8:])
		if e.Uint64(hdr) != id || flags != 0x01 && flags != 0x02 && flags != 0x04 && flags != 0x10 {
			return damaged(path, fmt.Errorf("page %d has a bad header", id))
		}
	}
	return nil
}
