package decisionlog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
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
// A summary of up to lay.plainMax bytes (a block of some 770 entries in
// a file of 4 KiB pages, 3,200 of 16 KiB) is one plain value; a larger one
// is cut in parts (schema 5): the first, with the header, under the
// block's key, the others under the block's key and their 2-byte BE
// number (1, 2, ...), all of one length but the last. They sort together,
// right after the block's key, and are at most a quarter page each, so
// flt's leaves never span pages (blob.go): a summary of a commit of 8,192
// records is some 21 KiB, and one plain value of that size made bbolt
// write flt's last leaf, with up to three such neighbours, from a buffer
// made afresh at every commit. A search walking flt backwards reads the
// parts of each block as it passes them (summaryWalk), without a seek.
const (
	summaryFormat     = 1
	summaryHeaderLen  = 1 + 4 + 8 + 8
	summaryPartKeyLen = recKeyLen + 2
	bloomBitsPerEntry = 10
	bloomProbes       = 4
)

// summary is a parsed summary value. It aliases the bytes it was parsed
// from.
type summary struct {
	n       int
	minTime uint64
	maxSeq  uint64
	filter  []byte   // the filter, when the summary is one value
	parts   [][]byte // the summary's parts otherwise, each partLen bytes but the last
	partLen int
	flen    int // bytes of filter
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

// summaryLen returns the length of the summary of a block of n entries.
func summaryLen(n uint64) uint64 {
	return summaryHeaderLen + 8*((n*bloomBitsPerEntry+63)/64)
}

// parseSummaryHeader reads the header of the summary (or its first part)
// v, without checking the filter.
func parseSummaryHeader(v []byte) (summary, error) {
	if len(v) < summaryHeaderLen {
		return summary{}, fmt.Errorf("%w: block summary of %d bytes", errCorrupt, len(v))
	}
	if v[0] != summaryFormat {
		return summary{}, fmt.Errorf("%w: block summary format %d, this build reads %d", errCorrupt, v[0], summaryFormat)
	}
	return summary{
		n:       int(binary.BigEndian.Uint32(v[1:5])),
		minTime: binary.BigEndian.Uint64(v[5:13]),
		maxSeq:  binary.BigEndian.Uint64(v[13:21]),
	}, nil
}

// parseSummary checks the framing of v, a summary in one value.
func parseSummary(v []byte) (summary, error) {
	s, err := parseSummaryHeader(v)
	if err != nil {
		return summary{}, err
	}
	if uint64(len(v)) != summaryLen(uint64(s.n)) {
		return summary{}, fmt.Errorf("%w: block summary of %d entries with a filter of %d bytes", errCorrupt, s.n, len(v)-summaryHeaderLen)
	}
	s.filter, s.flen = v[summaryHeaderLen:], len(v)-summaryHeaderLen
	return s, nil
}

// parseSummaryParts checks the framing of the summary in parts (parts[0]
// with the header).
func parseSummaryParts(parts [][]byte) (summary, error) {
	if len(parts) == 1 {
		return parseSummary(parts[0])
	}
	s, err := parseSummaryHeader(parts[0])
	if err != nil {
		return summary{}, err
	}
	s.partLen = len(parts[0])
	total := 0
	for i, p := range parts {
		if len(p) == 0 || len(p) > s.partLen || i < len(parts)-1 && len(p) != s.partLen {
			return summary{}, fmt.Errorf("%w: block summary part %d of %d bytes, parts of %d", errCorrupt, i, len(p), s.partLen)
		}
		total += len(p)
	}
	if uint64(total) != summaryLen(uint64(s.n)) {
		return summary{}, fmt.Errorf("%w: block summary of %d entries in %d bytes", errCorrupt, s.n, total)
	}
	s.parts, s.flen = parts, total-summaryHeaderLen
	return s, nil
}

// summaryPartKey returns the flt key of part j (1 or more) of the summary
// of block k.
func summaryPartKey(k []byte, j int) [summaryPartKeyLen]byte {
	var pk [summaryPartKeyLen]byte
	copy(pk[:], k)
	binary.BigEndian.PutUint16(pk[recKeyLen:], uint16(j))
	return pk
}

// putSummary stores the summary sv of block k in flt: one plain value if
// small, else in parts (see above). sv must stay unchanged until the
// commit.
func putSummary(flt *bolt.Bucket, k, sv []byte, lay blobLayout) error {
	// A part's key is 2 bytes longer than the block's.
	partLen := lay.plainMax - (summaryPartKeyLen - recKeyLen)
	if len(sv) <= lay.plainMax {
		partLen = len(sv)
	}
	if (len(sv)+partLen-1)/partLen > math.MaxUint16 {
		return fmt.Errorf("block summary of %d bytes: more parts than a key numbers", len(sv))
	}
	if err := flt.Put(k, sv[:partLen:partLen]); err != nil {
		return err
	}
	for j := 1; j*partLen < len(sv); j++ {
		pk := summaryPartKey(k, j)
		end := min((j+1)*partLen, len(sv))
		// bbolt copies the key; the value stays ours until the commit.
		if err := flt.Put(pk[:], sv[j*partLen:end:end]); err != nil {
			return err
		}
	}
	return nil
}

// deleteSummary deletes the summary of block k from flt, with its parts;
// a missing one is no error. A key that is not a block's (a part, or
// damage) is deleted alone.
func deleteSummary(flt *bolt.Bucket, k []byte) error {
	if len(k) == recKeyLen {
		if s, err := parseSummaryHeader(flt.Get(k)); err == nil {
			partLen, size := uint64(len(flt.Get(k))), summaryLen(uint64(s.n))
			for j := uint64(1); j*partLen < size && j <= math.MaxUint16; j++ {
				pk := summaryPartKey(k, int(j))
				if err := flt.Delete(pk[:]); err != nil {
					return fmt.Errorf("delete %x: %w", pk, err)
				}
			}
		}
	}
	return deleteBlob(flt, k)
}

// summaryWalk walks flt's summaries newest first, gathering the parts of
// each as the cursor passes them.
type summaryWalk struct {
	c       *bolt.Cursor
	started bool
	k, v    []byte   // the cursor's position, not yet walked
	rev     [][]byte // the parts after the first, last first
	parts   [][]byte // the parts in order
}

func newSummaryWalk(flt *bolt.Bucket) summaryWalk { return summaryWalk{c: flt.Cursor()} }

// prev returns the key of the next block back (the last one first) and
// its summary, or a nil key at the start of flt. err is set for a damaged
// summary or a key this package did not write (returned as it is). The
// summary aliases the walk's buffers: it is valid until the next call.
func (sw *summaryWalk) prev() ([]byte, summary, error) {
	if !sw.started {
		sw.k, sw.v = sw.c.Last()
		sw.started = true
	}
	k, v := sw.k, sw.v
	sw.rev = sw.rev[:0]
	var prefix []byte
	want, ok := -1, true
	for len(k) == summaryPartKeyLen {
		j := int(binary.BigEndian.Uint16(k[recKeyLen:]))
		if want >= 0 && (j != want || !bytes.Equal(k[:recKeyLen], prefix)) {
			ok = false
		}
		prefix, want = k[:recKeyLen], j-1
		sw.rev = append(sw.rev, v)
		k, v = sw.c.Prev()
	}
	if k == nil {
		return nil, summary{}, nil
	}
	sw.k, sw.v = sw.c.Prev()
	if len(k) != recKeyLen {
		return k, summary{}, fmt.Errorf("%w: block summary key %x", errCorrupt, k)
	}
	if !ok || len(sw.rev) > 0 && (want != 0 || !bytes.Equal(k, prefix)) {
		return k, summary{}, fmt.Errorf("%w: block summary %x: parts missing", errCorrupt, k)
	}
	if v == nil {
		return k, summary{}, fmt.Errorf("%w: block summary %x is not a value", errCorrupt, k)
	}
	sw.parts = append(sw.parts[:0], v)
	for i := len(sw.rev) - 1; i >= 0; i-- {
		sw.parts = append(sw.parts, sw.rev[i])
	}
	s, err := parseSummaryParts(sw.parts)
	return k, s, err
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

// filterByte returns byte i of the filter.
func (s *summary) filterByte(i int) byte {
	if s.parts == nil {
		return s.filter[i]
	}
	off := summaryHeaderLen + i
	return s.parts[off/s.partLen][off%s.partLen]
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
