package decisionlog

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
)

// The number index is a sequence of immutable blocks, one per commit (see
// keys.go for where they live). A block holds the index entries of a set
// of records — one entry per distinct number of each record — sorted by
// (number, time, seq), so finding a number in a block is a binary search
// and its records come out in time order.
//
// Why blocks rather than one bbolt key per entry (schema 1): callers and
// called numbers are random, so a per-entry index turns every record into
// up to three inserts at random places in a large B+tree, and every commit
// rewrites one 4 KiB page per entry. A block is written once, sequentially,
// whatever the numbers; the price is that a number search visits every
// block instead of one seek, which the merge policy below keeps cheap by
// bounding the number of blocks.
//
// Block value layout (blockFormat 1):
//
//	format   1 byte
//	minTime  8 bytes BE: the oldest record time in the block (lets a search
//	         skip blocks entirely newer than its range)
//	entries  n x 24 bytes: number(8) time(8) seq(8), all BE, ascending
const (
	blockFormat    = 1
	blockHeaderLen = 1 + 8
	entryLen       = 24
)

// mergeLimit bounds merging of small blocks: the newest block is merged
// into the one being written while it is no bigger than the new one and
// the result stays within mergeLimit entries (the "logarithmic method").
// Under load every commit is large and nothing is merged; at a trickle the
// tail of small blocks is merged in a binary-counter pattern, so each entry
// is rewritten at most log2(mergeLimit) times and the file holds about one
// block per mergeLimit entries, which bounds what a number search visits.
const mergeLimit = 16384

// entry is one index entry: the record (time, seq) has number num.
type entry struct {
	num, ts, seq uint64
}

func cmpEntry(a, b entry) int {
	if c := cmp.Compare(a.num, b.num); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ts, b.ts); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// recKeyLess reports whether the record key (ts1, seq1) sorts before
// (ts2, seq2).
func recKeyLess(ts1, seq1, ts2, seq2 uint64) bool {
	return ts1 < ts2 || ts1 == ts2 && seq1 < seq2
}

// appendBlock appends the block value of es (sorted by cmpEntry) to b.
func appendBlock(b []byte, es []entry) []byte {
	minTime := uint64(0)
	for i, e := range es {
		if i == 0 || e.ts < minTime {
			minTime = e.ts
		}
	}
	b = append(b, blockFormat)
	b = binary.BigEndian.AppendUint64(b, minTime)
	for _, e := range es {
		b = binary.BigEndian.AppendUint64(b, e.num)
		b = binary.BigEndian.AppendUint64(b, e.ts)
		b = binary.BigEndian.AppendUint64(b, e.seq)
	}
	return b
}

// block is a parsed block value. It aliases the bytes it was parsed from
// (in a bbolt read, valid for the transaction only).
type block struct {
	minTime uint64
	b       []byte // the entries
}

// parseBlock checks v's framing. The order of the entries is not checked
// here (that would read the whole block); a misordered block only makes
// searches in it miss entries, never fail.
func parseBlock(v []byte) (block, error) {
	if len(v) < blockHeaderLen {
		return block{}, fmt.Errorf("%w: index block of %d bytes", errCorrupt, len(v))
	}
	if v[0] != blockFormat {
		return block{}, fmt.Errorf("%w: index block format %d, this build reads %d", errCorrupt, v[0], blockFormat)
	}
	if (len(v)-blockHeaderLen)%entryLen != 0 {
		return block{}, fmt.Errorf("%w: index block of %d bytes is not whole entries", errCorrupt, len(v))
	}
	return block{minTime: binary.BigEndian.Uint64(v[1:9]), b: v[blockHeaderLen:]}, nil
}

func (bl block) len() int { return len(bl.b) / entryLen }

func (bl block) at(i int) entry {
	p := bl.b[i*entryLen : (i+1)*entryLen]
	return entry{
		num: binary.BigEndian.Uint64(p[0:8]),
		ts:  binary.BigEndian.Uint64(p[8:16]),
		seq: binary.BigEndian.Uint64(p[16:24]),
	}
}

// lowerBound returns the index of the first entry not below e.
func (bl block) lowerBound(e entry) int {
	return sort.Search(bl.len(), func(i int) bool { return cmpEntry(bl.at(i), e) >= 0 })
}

// appendEntries appends the block's entries whose records are not below
// the record key (liveTS, liveSeq), i.e. not pruned, to dst.
func (bl block) appendEntries(dst []entry, liveTS, liveSeq uint64) []entry {
	for i := range bl.len() {
		if e := bl.at(i); !recKeyLess(e.ts, e.seq, liveTS, liveSeq) {
			dst = append(dst, e)
		}
	}
	return dst
}

// newestKey returns the largest record key (time, seq) among es.
func newestKey(es []entry) (ts, seq uint64) {
	for i, e := range es {
		if i == 0 || recKeyLess(ts, seq, e.ts, e.seq) {
			ts, seq = e.ts, e.seq
		}
	}
	return ts, seq
}

// radixMin is the size from which sortByNum uses a radix sort; below it a
// comparison sort is cheaper than clearing the counters.
const radixMin = 256

// sortByNum sorts es by number, stably, and returns the sorted entries (in
// es or in tmp, whose storage it may reuse). Entries already in record-key
// order (time, seq) thus come out in cmpEntry order. It is a least
// significant digit radix sort, 11 bits a pass, skipping the passes where
// every number has the same digit (numbers share their high digits), so a
// batch costs a few linear passes instead of n log n comparisons.
func sortByNum(es, tmp []entry) ([]entry, []entry) {
	if len(es) < radixMin {
		slices.SortStableFunc(es, func(a, b entry) int { return cmp.Compare(a.num, b.num) })
		return es, tmp
	}
	const bits = 11
	const size = 1 << bits
	var hi uint64
	for _, e := range es {
		hi |= e.num
	}
	tmp = slices.Grow(tmp[:0], len(es))[:len(es)]
	var count [size]int
	for shift := 0; shift < 64 && hi>>shift != 0; shift += bits {
		clear(count[:])
		for _, e := range es {
			count[(e.num>>shift)&(size-1)]++
		}
		if count[(es[0].num>>shift)&(size-1)] == len(es) {
			continue // one digit for all: this pass would change nothing
		}
		pos := 0
		for d, c := range count {
			count[d] = pos
			pos += c
		}
		for _, e := range es {
			d := (e.num >> shift) & (size - 1)
			tmp[count[d]] = e
			count[d]++
		}
		es, tmp = tmp, es
	}
	return es, tmp
}
