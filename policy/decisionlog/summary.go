package decisionlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	bolt "go.etcd.io/bbolt"
)

// Each index block has a summary in bucket flt, under the block's key: a
// plain value a cursor reads in place, where reading the block itself
// means opening its nested bucket (blob.go), which costs more than
// searching it. The summary holds what the writer and the searches need
// to decide whether to touch the block at all: its header and a Bloom
// filter of its numbers. A number search tests the filter and opens only
// the blocks that may hold the number (all of them would be every block
// for a number called rarely or never); merging and pruning decide from
// the header.
//
// Summary value layout (summaryFormat 1):
//
//	format    1 byte
//	n         4 bytes BE: entries in the block
//	minTime   8 bytes BE: as the block's
//	maxSeq    8 bytes BE: as the block's
//	filter    a multiple of 8 bytes: a Bloom filter of the entries' numbers,
//	          bloomBitsPerEntry bits an entry, bloomProbes probes a number
//
// With 10 bits and 4 probes per entry, a number not in the block passes
// the filter about once in 85 blocks.
//
// A summary of up to lay.plainMax bytes (a block of some 770 entries) is
// a plain value of flt; a larger one is stored like a block, as the value
// of a nested bucket, in chunks if larger than a page (blob.go, schema 5):
// a plain value of several KiB would make flt's leaves span pages, which
// bbolt writes from buffers it makes afresh (garbage) at every commit.
// Reading it then costs opening the nested bucket and a chunk per probe;
// searches pay that only for the large blocks that big commits write,
// which are few.
const (
	summaryFormat     = 1
	summaryHeaderLen  = 1 + 4 + 8 + 8
	bloomBitsPerEntry = 10
	bloomProbes       = 4
)

// summary is a parsed summary value. It aliases the bytes it was parsed
// from.
type summary struct {
	n       int
	minTime uint64
	maxSeq  uint64
	filter  []byte // the filter, when the value is whole (not in chunks)
	v       blob   // the value, read through when in chunks
	flen    int    // bytes of filter
}

// appendSummary appends the summary of es (the block's entries) with
// span sp to dst.
func appendSummary(dst []byte, es []entry, sp blockSpan) []byte {
	dst = append(dst, summaryFormat)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(es)))
	dst = binary.BigEndian.AppendUint64(dst, sp.minTime)
	dst = binary.BigEndian.AppendUint64(dst, sp.maxSeq)
	words := (len(es)*bloomBitsPerEntry + 63) / 64
	start := len(dst)
	dst = append(dst, make([]byte, 8*words)...)
	f := dst[start:]
	m := uint64(len(f) * 8)
	var last uint64
	for i, e := range es {
		if i > 0 && e.num == last {
			continue // es is sorted by number: each number once
		}
		last = e.num
		h1, h2 := bloomHash(e.num)
		for p := range uint64(bloomProbes) {
			bit := bloomBit(h1+p*h2, m)
			f[bit>>3] |= 1 << (bit & 7)
		}
	}
	return dst
}

// parseSummary checks v's framing.
func parseSummary(v []byte) (summary, error) { return parseSummaryBlob(blob{b: v}) }

// parseSummaryBlob checks v's framing.
func parseSummaryBlob(v blob) (summary, error) {
	size := v.len()
	h, ok := v.slice(0, min(size, summaryHeaderLen))
	if !ok || len(h) < summaryHeaderLen {
		return summary{}, fmt.Errorf("%w: block summary of %d bytes", errCorrupt, size)
	}
	if h[0] != summaryFormat {
		return summary{}, fmt.Errorf("%w: block summary format %d, this build reads %d", errCorrupt, h[0], summaryFormat)
	}
	s := summary{
		n:       int(binary.BigEndian.Uint32(h[1:5])),
		minTime: binary.BigEndian.Uint64(h[5:13]),
		maxSeq:  binary.BigEndian.Uint64(h[13:21]),
		flen:    size - summaryHeaderLen,
	}
	if s.flen%8 != 0 || uint64(s.flen) != 8*((uint64(s.n)*bloomBitsPerEntry+63)/64) {
		return summary{}, fmt.Errorf("%w: block summary of %d entries with a filter of %d bytes", errCorrupt, s.n, s.flen)
	}
	if v.ch == nil {
		s.filter = v.b[summaryHeaderLen:]
	} else {
		s.v = v
	}
	return s, nil
}

// readSummary parses the summary at flt key k, v being its value as a
// cursor gives it: the summary if it is a plain value, nil if it is in a
// nested bucket.
func readSummary(flt *bolt.Bucket, k, v []byte) (summary, error) {
	if v != nil {
		return parseSummary(v)
	}
	b, ok := openBlob(flt, k)
	if !ok {
		return summary{}, fmt.Errorf("%w: block summary %x missing", errCorrupt, k)
	}
	return parseSummaryBlob(b)
}

// putSummary stores the summary sv under k in flt: a plain value if small,
// else a blob (see above). sv must stay unchanged until the commit.
func putSummary(flt *bolt.Bucket, k, sv []byte, lay blobLayout) error {
	if len(sv) > lay.plainMax {
		return putBlob(flt, k, sv, lay)
	}
	err := flt.Put(k, sv)
	if errors.Is(err, bolt.ErrIncompatibleValue) {
		// Only damage gets here (a blob under a new block's key).
		if err := deleteBlob(flt, k); err != nil {
			return err
		}
		err = flt.Put(k, sv)
	}
	return err
}

// mayContain reports whether the block may hold entries of num: false
// means it certainly holds none.
func (s *summary) mayContain(num uint64) bool {
	if s.flen == 0 {
		return false // no entries
	}
	m := uint64(s.flen * 8)
	h1, h2 := bloomHash(num)
	for p := range uint64(bloomProbes) {
		bit := bloomBit(h1+p*h2, m)
		if s.filterByte(int(bit>>3))&(1<<(bit&7)) == 0 {
			return false
		}
	}
	return true
}

// filterByte returns byte i of the filter; a chunk missing (damage) reads
// as all ones, so the block is read rather than skipped.
func (s *summary) filterByte(i int) byte {
	if s.v.ch == nil {
		return s.filter[i]
	}
	b, ok := s.v.slice(summaryHeaderLen+i, 1)
	if !ok {
		return 0xff
	}
	return b[0]
}

// bloomHash derives the two hashes of double hashing from num (the
// splitmix64 finalizer: numbers share most of their digits, and every
// input bit must reach every output bit). bloomBit uses a hash's high
// bits, so h2 must be a full 64-bit step: its low half rotated up.
func bloomHash(num uint64) (h1, h2 uint64) {
	z := num + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return z, bits.RotateLeft64(z, 32) | 1
}

// bloomBit maps hash h to a bit below m, without a division.
func bloomBit(h, m uint64) uint64 {
	hi, _ := bits.Mul64(h, m)
	return hi
}
