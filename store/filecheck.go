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
	want := map[uint64]uint16{0: metaPage, 1: metaPage}
	if m.freelist != ^uint64(0) {
		want[m.freelist] = freelistPage
	}
	hdr := make([]byte, pageHeader)
	e := binary.NativeEndian
	for id, flags := range want {
		if _, err := f.ReadAt(hdr, int64(id)*pageSize); err != nil {
			return damaged(path, fmt.Errorf("page %d: %w", id, err))
		}
		if e.Uint64(hdr) != id || e.Uint16(hdr[8:]) != flags {
			return damaged(path, fmt.Errorf("page %d has a bad header", id))
		}
	}
	if m.freelist != ^uint64(0) {
		if err := checkFreelist(f, m.freelist, pageSize, m.pgid); err != nil {
			return damaged(path, err)
		}
	}
	c := treeCheck{f: f, pageSize: pageSize, hwm: m.pgid, seen: map[uint64]bool{}}
	if err := c.bucket(m.root, nil, 0); err != nil {
		return damaged(path, err)
	}
	return nil
}

// checkFreelist checks that the freelist at page id fits its pages and
// names pages of the file: bbolt reads it when it opens the file.
func checkFreelist(f *os.File, id uint64, pageSize int64, hwm uint64) error {
	e := binary.NativeEndian
	hdr := make([]byte, pageHeader+8)
	if _, err := f.ReadAt(hdr, int64(id)*pageSize); err != nil {
		return fmt.Errorf("freelist: %w", err)
	}
	overflow := uint64(e.Uint32(hdr[12:]))
	if id+overflow >= hwm {
		return errors.New("the freelist runs past the end of the file")
	}
	first, count := uint64(0), uint64(e.Uint16(hdr[10:]))
	if count == 0xFFFF {
		first, count = 1, e.Uint64(hdr[pageHeader:])
	}
	if pageHeader+(first+count)*8 > (overflow+1)*uint64(pageSize) {
		return errors.New("the freelist does not fit its pages")
	}
	ids := make([]byte, count*8)
	if _, err := f.ReadAt(ids, int64(id)*pageSize+pageHeader+int64(first)*8); err != nil {
		return fmt.Errorf("freelist: %w", err)
	}
	for i := uint64(0); i < count; i++ {
		if free := e.Uint64(ids[i*8:]); free < 2 || free >= hwm {
			return fmt.Errorf("the freelist names page %d, outside the file's %d pages", free, hwm)
		}
	}
	return nil
}

// treeCheck walks the B+ trees of a bbolt file with plain reads, checking
// that every page a tree references lies inside the file, is referenced
// once, has a sane header, and holds its elements. bbolt trusts all of
// this: a page that points at itself makes its cursors loop forever, and
// its consistency check reads pages on a goroutine where a bad one is an
// unrecoverable crash. After treeCheck, bbolt's reads stay in bounds.
type treeCheck struct {
	f        *os.File
	pageSize int64
	hwm      uint64 // pages in use: ids below this
	seen     map[uint64]bool
}

const (
	pageHeader   = 16 // id u64, flags u16, count u16, overflow u32
	elemSize     = 16 // branch: pos, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	branchPage   = 0x01
	leafPage     = 0x02
	metaPage     = 0x04
	freelistPage = 0x10
	bucketLeaf   = 0x01 // a leaf element that is a nested bucket
)

// bucket checks the tree of a bucket: rooted at page root, or inline (the
// leaf page in inline) when root is 0.
func (c *treeCheck) bucket(root uint64, inline []byte, depth int) error {
	if root == 0 {
		if len(inline) < pageHeader || binary.NativeEndian.Uint16(inline[8:]) != leafPage {
			return errors.New("an inline bucket is malformed")
		}
		return c.node(inline, 0, depth)
	}
	p, err := c.page(root)
	if err != nil {
		return err
	}
	return c.node(p, root, depth)
}

// page reads page id (with its overflow pages), marking it seen.
func (c *treeCheck) page(id uint64) ([]byte, error) {
	if id < 2 || id >= c.hwm {
		return nil, fmt.Errorf("a reference to page %d, outside the file's %d pages", id, c.hwm)
	}
	hdr := make([]byte, pageHeader)
	if _, err := c.f.ReadAt(hdr, int64(id)*c.pageSize); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	e := binary.NativeEndian
	overflow := uint64(e.Uint32(hdr[12:]))
	if e.Uint64(hdr) != id || id+overflow >= c.hwm {
		return nil, fmt.Errorf("page %d has a bad header", id)
	}
	for i := id; i <= id+overflow; i++ {
		if c.seen[i] {
			return nil, fmt.Errorf("page %d is referenced twice", i)
		}
		c.seen[i] = true
	}
	p := make([]byte, int64(overflow+1)*c.pageSize)
	if _, err := c.f.ReadAt(p, int64(id)*c.pageSize); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	return p, nil
}

// node checks a branch or leaf page p (page id, 0 when inline) and what it
// references.
func (c *treeCheck) node(p []byte, id uint64, depth int) error {
	if depth > 64 {
		return fmt.Errorf("page %d: trees nested too deep", id)
	}
	e := binary.NativeEndian
	flags, count := e.Uint16(p[8:]), uint64(e.Uint16(p[10:]))
	size := uint64(len(p))
	if pageHeader+count*elemSize > size {
		return fmt.Errorf("page %d: %d elements do not fit", id, count)
	}
	for i := range count {
		el := pageHeader + i*elemSize
		switch flags {
		case branchPage:
			pos, ksize, child := uint64(e.Uint32(p[el:])), uint64(e.Uint32(p[el+4:])), e.Uint64(p[el+8:])
			if el+pos+ksize > size {
				return fmt.Errorf("page %d: element %d is out of bounds", id, i)
			}
			cp, err := c.page(child)
			if err != nil {
				return err
			}
			if err := c.node(cp, child, depth+1); err != nil {
				return err
			}
		case leafPage:
			lflags, pos, ksize, vsize := e.Uint32(p[el:]), uint64(e.Uint32(p[el+4:])), uint64(e.Uint32(p[el+8:])), uint64(e.Uint32(p[el+12:]))
			end := el + pos + ksize + vsize
			if end > size {
				return fmt.Errorf("page %d: element %d is out of bounds", id, i)
			}
			if lflags&bucketLeaf == 0 {
				continue
			}
			value := p[el+pos+ksize : end]
			if len(value) < 16 {
				return fmt.Errorf("page %d: element %d is a malformed bucket", id, i)
			}
			if err := c.bucket(e.Uint64(value), value[16:], depth+1); err != nil {
				return err
			}
		}
	}
	switch {
	case flags == branchPage && count == 0:
		return fmt.Errorf("page %d: an empty branch", id)
	case flags != branchPage && flags != leafPage:
		return fmt.Errorf("page %d is neither a branch nor a leaf", id)
	}
	return nil
}
