package decisionlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// A decision log opened for writing makes bbolt rebuild its free page list
// by walking every page of the file (NoFreelistSync, see openDB), in a
// goroutine of bbolt's own that panics on the first damaged page: one torn
// page (a power loss with no_sync, a bad sector) would stop the whole
// daemon at every start, and with it the calls, for the sake of a log.
// checkFile walks the same pages from the file, with reads that cannot
// fault, and returns errDamaged for what would make bbolt panic there
// (or read outside the file later): Open then sets the file aside
// (setAside) instead of opening it. It checks the structure bbolt walks,
// not the values (segments and blocks are checked as they are read).
//
// The layout read here is bbolt's on-disk format (version 2), in the
// machine's byte order as bbolt writes it: a 16-byte page header (id,
// flags, count, overflow), branch elements (pos, ksize, pgid) and leaf
// elements (flags, pos, ksize, vsize) of 16 bytes each, pos counted from
// the element, and two meta pages of which the valid one with the higher
// transaction id is current.

var errDamaged = errors.New("decisionlog: file damaged")

const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	boltPageHeader   = 16
	boltElementSize  = 16
	boltBranchPage   = 0x01
	boltLeafPage     = 0x02
	boltBucketLeaf   = 0x01
	boltInBucketSize = 16
	boltMetaLen      = 56 // magic .. txid, then the checksum of them
	boltMinPageSize  = 512
	boltMaxPageSize  = 1 << 20
)

// fileWalk is checkFile's state.
type fileWalk struct {
	f        io.ReaderAt
	size     int64
	pageSize int64
	hwm      uint64              // the meta's high water mark: pages at or past it are not in use
	seen     map[uint64]struct{} // pages reached, each may be reached once
}

// checkFile checks the bbolt file at path as described above. A file
// bbolt would refuse to open with an error (no valid meta page) is
// damaged too: it would stop the daemon just the same.
func checkFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("decisionlog: check %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("decisionlog: check %s: %w", path, err)
	}
	if fi.Size() == 0 {
		return nil // a new file: bbolt writes its first pages
	}
	w := fileWalk{f: f, size: fi.Size(), seen: map[uint64]struct{}{}}
	root, err := w.meta()
	if err != nil {
		return err
	}
	return w.bucket(root)
}

// meta reads the two meta pages and returns the root bucket's page of the
// current one, setting the page size and high water mark.
func (w *fileWalk) meta() (uint64, error) {
	type meta struct {
		pageSize, root, pgid, txid uint64
	}
	read := func(off int64) (meta, bool) {
		b := make([]byte, boltPageHeader+boltMetaLen+8)
		if _, err := w.f.ReadAt(b, off); err != nil {
			return meta{}, false
		}
		m := b[boltPageHeader:]
		ne := binary.NativeEndian
		h := fnv.New64a()
		h.Write(m[:boltMetaLen])
		if ne.Uint32(m[0:]) != boltMagic || ne.Uint32(m[4:]) != boltVersion || ne.Uint64(m[boltMetaLen:]) != h.Sum64() {
			return meta{}, false
		}
		return meta{pageSize: uint64(ne.Uint32(m[8:])), root: ne.Uint64(m[16:]), pgid: ne.Uint64(m[40:]), txid: ne.Uint64(m[48:])}, true
	}
	m0, ok0 := read(0)
	var m1 meta
	ok1 := false
	// Meta page 1 is one page in: its size is told by page 0, or, page 0
	// being damaged, found as bbolt finds it, trying the usual sizes.
	if ok0 {
		m1, ok1 = read(int64(m0.pageSize))
	} else {
		for ps := int64(boltMinPageSize); ps <= boltMaxPageSize && !ok1; ps *= 2 {
			if m1, ok1 = read(ps); ok1 && m1.pageSize != uint64(ps) {
				ok1 = false
			}
		}
	}
	cur := m0
	switch {
	case ok0 && ok1 && m1.txid > m0.txid, !ok0 && ok1:
		cur = m1
	case !ok0 && !ok1:
		return 0, fmt.Errorf("%w: no valid bbolt meta page", errDamaged)
	}
	if cur.pageSize < boltMinPageSize || cur.pageSize > boltMaxPageSize || cur.pageSize&(cur.pageSize-1) != 0 {
		return 0, fmt.Errorf("%w: page size %d", errDamaged, cur.pageSize)
	}
	w.pageSize, w.hwm = int64(cur.pageSize), cur.pgid
	if w.hwm < 2 || uint64(w.size)/cur.pageSize < w.hwm {
		return 0, fmt.Errorf("%w: %d pages in use in a file of %d bytes", errDamaged, w.hwm, w.size)
	}
	return cur.root, nil
}

// page reads page id with its overflow pages, checking that it is a
// branch or leaf page in use, reached once, whose elements lie inside it.
func (w *fileWalk) page(id uint64) (p []byte, flags uint16, count int, err error) {
	if id < 2 || id >= w.hwm {
		return nil, 0, 0, fmt.Errorf("%w: page %d out of bounds (%d pages in use)", errDamaged, id, w.hwm)
	}
	h := make([]byte, boltPageHeader)
	if _, err := w.f.ReadAt(h, int64(id)*w.pageSize); err != nil {
		return nil, 0, 0, fmt.Errorf("%w: read page %d: %v", errDamaged, id, err)
	}
	ne := binary.NativeEndian
	flags, count, overflow := ne.Uint16(h[8:]), int(ne.Uint16(h[10:])), uint64(ne.Uint32(h[12:]))
	switch {
	case ne.Uint64(h) != id:
		return nil, 0, 0, fmt.Errorf("%w: page %d calls itself %d", errDamaged, id, ne.Uint64(h))
	case flags != boltBranchPage && flags != boltLeafPage:
		return nil, 0, 0, fmt.Errorf("%w: page %d of type %#x in a bucket's tree", errDamaged, id, flags)
	case id+overflow >= w.hwm:
		return nil, 0, 0, fmt.Errorf("%w: page %d of %d overflow pages past the %d in use", errDamaged, id, overflow, w.hwm)
	}
	for i := id; i <= id+overflow; i++ {
		if _, dup := w.seen[i]; dup {
			return nil, 0, 0, fmt.Errorf("%w: page %d reached twice", errDamaged, i)
		}
		w.seen[i] = struct{}{}
	}
	p = make([]byte, int64(1+overflow)*w.pageSize)
	if _, err := w.f.ReadAt(p, int64(id)*w.pageSize); err != nil {
		return nil, 0, 0, fmt.Errorf("%w: read page %d: %v", errDamaged, id, err)
	}
	if boltPageHeader+count*boltElementSize > len(p) {
		return nil, 0, 0, fmt.Errorf("%w: page %d of %d elements", errDamaged, id, count)
	}
	return p, flags, count, nil
}

// span returns n bytes of p at off, if they are inside it.
func span(p []byte, off, n uint64) ([]byte, bool) {
	if off > uint64(len(p)) || n > uint64(len(p))-off {
		return nil, false
	}
	return p[off : off+n], true
}

// bucket walks the bucket tree rooted at page root (0: an inline bucket,
// which bbolt's walk skips).
func (w *fileWalk) bucket(root uint64) error {
	if root == 0 {
		return nil
	}
	_, err := w.tree(root, nil, nil)
	return err
}

// tree walks the subtree at page id, whose keys must lie in [lo, hi) (nil:
// unbounded), and every bucket its leaves hold; it returns its largest key.
func (w *fileWalk) tree(id uint64, lo, hi []byte) ([]byte, error) {
	p, flags, count, err := w.page(id)
	if err != nil {
		return nil, err
	}
	ne := binary.NativeEndian
	prev, last := lo, []byte(nil)
	for i := range count {
		e := uint64(boltPageHeader + i*boltElementSize)
		var key, val []byte
		var child uint64
		var leafFlags uint32
		var ok bool
		if flags == boltBranchPage {
			pos, ksize := uint64(ne.Uint32(p[e:])), uint64(ne.Uint32(p[e+4:]))
			child = ne.Uint64(p[e+8:])
			key, ok = span(p, e+pos, ksize)
		} else {
			leafFlags = ne.Uint32(p[e:])
			pos, ksize, vsize := uint64(ne.Uint32(p[e+4:])), uint64(ne.Uint32(p[e+8:])), uint64(ne.Uint32(p[e+12:]))
			if key, ok = span(p, e+pos, ksize); ok {
				val, ok = span(p, e+pos+ksize, vsize)
			}
		}
		if !ok {
			return nil, fmt.Errorf("%w: page %d element %d lies outside the page", errDamaged, id, i)
		}
		if prev != nil && (bytes.Compare(prev, key) > 0 || i > 0 && bytes.Equal(prev, key)) || hi != nil && bytes.Compare(key, hi) >= 0 {
			return nil, fmt.Errorf("%w: page %d key %d %x out of order", errDamaged, id, i, key)
		}
		if flags == boltBranchPage {
			next := hi
			if i+1 < count {
				ne2 := uint64(boltPageHeader + (i+1)*boltElementSize)
				if next, ok = span(p, ne2+uint64(ne.Uint32(p[ne2:])), uint64(ne.Uint32(p[ne2+4:]))); !ok {
					return nil, fmt.Errorf("%w: page %d element %d lies outside the page", errDamaged, id, i+1)
				}
			}
			if last, err = w.tree(child, key, next); err != nil {
				return nil, err
			}
			prev = last
			continue
		}
		prev, last = key, key
		if leafFlags&boltBucketLeaf != 0 {
			if len(val) < boltInBucketSize {
				return nil, fmt.Errorf("%w: page %d bucket %x of %d bytes", errDamaged, id, key, len(val))
			}
			sub := ne.Uint64(val)
			if sub == 0 && len(val) < boltInBucketSize+boltPageHeader {
				return nil, fmt.Errorf("%w: page %d inline bucket %x of %d bytes", errDamaged, id, key, len(val))
			}
			if err := w.bucket(sub); err != nil {
				return nil, err
			}
		}
	}
	return last, nil
}
