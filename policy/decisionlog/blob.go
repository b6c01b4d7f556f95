package decisionlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Each segment is kept as the one value of a bucket of its own, nested in
// seg under the segment's key, rather than as a value of seg itself.
//
// Why: bbolt never splits a leaf of four keys or fewer, however large
// their values, so large values share leaves two to four at a time. Every
// commit that appends one then rewrites — and bbolt allocates afresh —
// the whole rightmost leaf with its neighbours, and every prune rewrites
// what is left of the front leaf. Measured on 1,000-record commits
// (BenchmarkCommit) that made bbolt allocate and write about eleven times
// the bytes committed. A nested bucket's value lives on pages of its own,
// written once and freed once; seg's leaves hold only a 16-byte header per
// segment. (A small segment, under a quarter page, is stored inline in
// seg's leaf, which is as cheap as a plain value.)
//
// A value larger than one page is stored in chunks, each a key of the
// nested bucket (schema 5), so that every node bbolt writes fits one page.
// Why: bbolt writes each dirty node from a buffer of the node's size; a
// one-page buffer comes from a pool and goes back after the commit, but a
// node of several pages gets a buffer made for it, garbage once the commit
// ends. A value of one piece is one node of as many pages as the value,
// and segments (up to segmentBytes) and index blocks are tens to hundreds
// of KiB: at 200,000 records/s that was some 120 heap bytes a record, a
// garbage collection every few seconds, and a stall of the query path at
// each. In chunks, the nested bucket is a tree of one-page leaves (and a
// one-page branch above them), all from the pool.
//
// How the chunks are cut follows from how bbolt splits a node when it
// writes it: never one of four keys or fewer, and otherwise into nodes
// filled up to the bucket's FillPercent (set to 1 for these buckets) but
// of at least two keys, the last of at least two. So the chunks are big
// (two fill a page) except the last four, which are small (four fill a
// page): the nodes cut by the fill are at most a page, and the node left
// at the end, of four keys or fewer, holds small chunks only. A value
// stored whole that bbolt would put inline in its parent's leaf, but that
// makes the parent's element over a quarter page, gets a pad key (see
// putBlob). Block summaries are plain values of flt, cut in parts of at
// most a quarter page when larger (summary.go). TestPutBlobLayout and
// TestLogPagesFit check that no node spans pages; filePageSize (log.go)
// is why new files have 16 KiB pages.
//
// Layout of a blob's nested bucket: a value of up to wholeMax bytes (one
// page with its node and bucket headers) is the value of key 0x00 (as
// schemas 3 and 4 store every value); a larger one is in chunks, each
// under the 4-byte BE offset of its first byte in the value, the first at
// offset 0. Readers read a chunked value in place (blob.slice), copying
// only the few bytes that straddle two chunks.
var blobKey = []byte{0}

const (
	chunkKeyLen = 4
	// Sizes of bbolt's page header, of a leaf element's header (the
	// element also holds its key and value) and of a bucket's header:
	// bbolt's layout, fixed by its file format.
	pageHeaderLen   = 16
	leafElemLen     = 16
	bucketHeaderLen = 16
)

// padKey holds padding in a blob's nested bucket that would otherwise be
// stored inline and be too large for its parent's leaf (see putBlob).
var padKey = []byte{1}

// blobLayout is how values are cut for a file of pageSize-byte pages.
type blobLayout struct {
	wholeMax  int    // largest value stored whole: one leaf of one key
	plainMax  int    // largest plain value of a bucket of 16-byte keys (summary.go), four to a page
	big       int    // chunk size, two to a page
	small     int    // size of the last four chunks at most, four to a page
	quarter   int    // largest leaf element four of which fit a page
	inlineMax int    // largest nested bucket bbolt stores inline: a quarter page
	pad       []byte // inlineMax zeros (see putBlob)
}

func layoutFor(pageSize int) blobLayout {
	quarter := (pageSize - pageHeaderLen) / 4
	return blobLayout{
		wholeMax:  pageSize - pageHeaderLen - leafElemLen - len(blobKey),
		plainMax:  quarter - leafElemLen - recKeyLen,
		big:       (pageSize-pageHeaderLen)/2 - leafElemLen - chunkKeyLen,
		small:     quarter - leafElemLen - chunkKeyLen,
		quarter:   quarter,
		inlineMax: pageSize / 4,
		pad:       make([]byte, pageSize/4),
	}
}

// putBlob stores value under key in b, as a nested bucket's value (in
// chunks if it is larger than a page, see above). value must stay
// unchanged until the transaction commits.
func putBlob(b *bolt.Bucket, key, value []byte, lay blobLayout) error {
	child, err := b.CreateBucket(key)
	if errors.Is(err, bolt.ErrBucketExists) || errors.Is(err, bolt.ErrIncompatibleValue) {
		// Only damage gets here (keys are never reused); replace it.
		if err := deleteBlob(b, key); err != nil {
			return err
		}
		child, err = b.CreateBucket(key)
	}
	if err != nil {
		return err
	}
	if len(value) <= lay.wholeMax {
		if err := child.Put(blobKey, value); err != nil {
			return err
		}
		// bbolt stores a nested bucket of up to a quarter page inline, as
		// its parent's leaf element. One just under that size makes an
		// element over a quarter page, and four such at the end of a leaf
		// would be a node of two pages (see above). Padding moves the
		// value to a page of its own; readers read key 0x00 only.
		inline := pageHeaderLen + leafElemLen + len(blobKey) + len(value)
		if inline <= lay.inlineMax && leafElemLen+len(key)+bucketHeaderLen+inline > lay.quarter {
			return child.Put(padKey, lay.pad)
		}
		return nil
	}
	// Pages are filled whole: the chunks are written once, in key order.
	child.FillPercent = 1
	// Big chunks first, then the rest in four small ones of at most
	// lay.small each: more than 4*lay.small-lay.big is left for them, so
	// each is over a quarter of what a big one is.
	nBig := 0
	if rest := len(value) - 4*lay.small; rest > 0 {
		nBig = (rest + lay.big - 1) / lay.big
	}
	off := 0
	put := func(n int) error {
		var k [chunkKeyLen]byte
		binary.BigEndian.PutUint32(k[:], uint32(off))
		// bbolt copies the key; the value stays ours until the commit.
		if err := child.Put(k[:], value[off:off+n:off+n]); err != nil {
			return err
		}
		off += n
		return nil
	}
	for range nBig {
		if err := put(lay.big); err != nil {
			return err
		}
	}
	tail := len(value) - off
	for i := range 4 {
		// Cut the tail in four near-equal parts (none empty: the tail is
		// over four bytes).
		if err := put(tail*(i+1)/4 - tail*i/4); err != nil {
			return err
		}
	}
	return nil
}

// blob is a value stored by putBlob, read in place: whole in b, or in
// chunks through ch. It aliases the transaction's memory.
type blob struct {
	b  []byte
	ch *chunks
}

// chunks reads a value stored in chunks: a cursor over the nested
// bucket, the chunk read last, and a buffer for reads across two chunks.
type chunks struct {
	c        *bolt.Cursor
	size     int // the value's length; -1 until asked for (it takes a seek)
	cur      []byte
	curStart int
	buf      []byte
}

// openBlob opens the value stored under key by putBlob; false if there
// is none or it is damaged.
func openBlob(b *bolt.Bucket, key []byte) (blob, bool) {
	child := b.Bucket(key)
	if child == nil {
		return blob{}, false
	}
	c := child.Cursor()
	k, v := c.First()
	switch {
	case len(k) == len(blobKey) && k[0] == blobKey[0] && v != nil:
		return blob{b: v}, true
	case len(k) == chunkKeyLen && binary.BigEndian.Uint32(k) == 0 && len(v) > 0:
		return blob{ch: &chunks{c: c, size: -1, cur: v}}, true
	}
	return blob{}, false
}

// len returns the value's length.
func (v blob) len() int {
	if v.ch != nil {
		return v.ch.length()
	}
	return len(v.b)
}

func (ch *chunks) length() int {
	if ch.size < 0 {
		// The last chunk ends the value.
		ch.size = 0
		if k, v := ch.c.Last(); len(k) == chunkKeyLen {
			ch.size = int(binary.BigEndian.Uint32(k)) + len(v)
		}
		ch.cur, ch.curStart = nil, 0 // the cursor moved
	}
	return ch.size
}

// slice returns the value's bytes [off, off+n): in place if they are in
// one chunk, else a copy valid until the next slice of this blob. false
// if they are out of range or a chunk is missing (damage).
func (v blob) slice(off, n int) ([]byte, bool) {
	if v.ch != nil && n > 0 {
		// A read past the end finds no chunk holding it: no need to
		// know the length.
		if off < 0 {
			return nil, false
		}
		return v.ch.slice(off, n)
	}
	if off < 0 || n < 0 || off > v.len()-n {
		return nil, false
	}
	if n == 0 {
		return nil, true
	}
	return v.b[off : off+n : off+n], true
}

func (ch *chunks) slice(off, n int) ([]byte, bool) {
	if !ch.seek(off) {
		return nil, false
	}
	o := off - ch.curStart
	if o+n <= len(ch.cur) {
		return ch.cur[o : o+n : o+n], true
	}
	ch.buf = ch.buf[:0]
	for n > 0 {
		if !ch.seek(off) {
			return nil, false
		}
		part := ch.cur[off-ch.curStart:]
		part = part[:min(n, len(part))]
		ch.buf = append(ch.buf, part...)
		off += len(part)
		n -= len(part)
	}
	return ch.buf, true
}

// seek makes the chunk holding byte off the current one.
func (ch *chunks) seek(off int) bool {
	if off >= ch.curStart && off < ch.curStart+len(ch.cur) {
		return true
	}
	var want [chunkKeyLen]byte
	binary.BigEndian.PutUint32(want[:], uint32(off)+1)
	// The chunk holding off is the last one starting at or before it.
	k, v := ch.c.Seek(want[:])
	if k == nil {
		k, v = ch.c.Last()
	} else {
		k, v = ch.c.Prev()
	}
	if len(k) != chunkKeyLen {
		return false
	}
	start := int(binary.BigEndian.Uint32(k))
	if off < start || off >= start+len(v) {
		return false // a chunk is missing
	}
	ch.cur, ch.curStart = v, start
	return true
}

// getBlob returns the value stored under key by putBlob (a copy if it is
// in chunks), or nil.
func getBlob(b *bolt.Bucket, key []byte) []byte {
	v, ok := openBlob(b, key)
	if !ok {
		return nil
	}
	if v.ch == nil {
		return v.b
	}
	out, ok := v.slice(0, v.len())
	if !ok {
		return nil
	}
	return bytes.Clone(out)
}

// deleteBlob deletes key from b, whether it holds a blob or (damage) a
// plain value; a missing key is no error.
func deleteBlob(b *bolt.Bucket, key []byte) error {
	err := b.DeleteBucket(key)
	switch {
	case err == nil || errors.Is(err, bolt.ErrBucketNotFound):
		return nil
	case errors.Is(err, bolt.ErrIncompatibleValue):
		err = b.Delete(key)
	}
	if err != nil {
		return fmt.Errorf("delete %x: %w", key, err)
	}
	return nil
}
