package decisionlog

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"

	bolt "go.etcd.io/bbolt"
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
// bounding the number of blocks, and each block's summary (summary.go)
// cheaper still: a block whose Bloom filter rules the number out is not
// even opened.
//
// Block value layout (blockFormat 3, schemas 4 and 5):
//
//	format   1 byte
//	minTime  8 bytes BE: the oldest record time in the block (lets a search
//	         skip blocks entirely newer than its range)
//	maxSeq   8 bytes BE: the highest record seq in the block. Records are
//	         pruned in seq order, so once the oldest live seq is above it,
//	         every record of the block is gone and so can the block be.
//	minNum   8 bytes BE: the smallest number in the block
//	minSeq   8 bytes BE: the smallest record seq in the block
//	widths   3 bytes: wn, wt, ws, each 1 to 8
//	entries  n x (wn+wt+ws) bytes: number-minNum (wn bytes), time-minTime
//	         (wt bytes), seq-minSeq (ws bytes), all BE; ascending by
//	         (number, time, seq)
//
// Each field takes the bytes its range in the block needs: a default batch
// of AIN-like records (numbers of one region, 40 ms, 8,192 seqs) has 4+4+2
// byte entries where format 2 had 8+8+8, and the index was some 40% of
// the bytes a commit writes (which bbolt allocates, copies, writes and
// frees page by page).
//
// Format 2 (schema 3) is the same without minNum, minSeq and widths, its
// entries 8+8+8 bytes of number, time and seq: such blocks are still read
// (parseBlock) and merged into new ones, and leave with pruning. Format 1
// (schema 2) had no maxSeq; such blocks are rebuilt, not read.
const (
	blockFormat     = 3
	blockHeaderLen  = 1 + 8 + 8 + 8 + 8 + 3
	blockFormat2    = 2
	block2HeaderLen = 1 + 8 + 8
	entry2Len       = 24
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

// blockSpan is what a block's header and key say about its entries.
type blockSpan struct {
	minTime, maxTime    uint64 // the oldest and newest record times
	newestTS, newestSeq uint64 // the newest record key: the block's key
	minSeq, maxSeq      uint64 // the lowest and highest record seqs
}

// spanOf returns the span of es (zero if es is empty).
func spanOf(es []entry) blockSpan {
	if len(es) == 0 {
		return blockSpan{}
	}
	sp := blockSpan{minTime: es[0].ts, maxTime: es[0].ts, newestTS: es[0].ts, newestSeq: es[0].seq,
		minSeq: es[0].seq, maxSeq: es[0].seq}
	for _, e := range es[1:] {
		sp.minTime, sp.maxTime = min(sp.minTime, e.ts), max(sp.maxTime, e.ts)
		sp.minSeq, sp.maxSeq = min(sp.minSeq, e.seq), max(sp.maxSeq, e.seq)
		if recKeyLess(sp.newestTS, sp.newestSeq, e.ts, e.seq) {
			sp.newestTS, sp.newestSeq = e.ts, e.seq
		}
	}
	return sp
}

// appendBlock appends the block value of es (sorted by cmpEntry) to b.
func appendBlock(b []byte, es []entry) []byte {
	return appendBlockSpan(b, es, spanOf(es))
}

// appendBlockSpan is appendBlock with es's span already computed.
func appendBlockSpan(b []byte, es []entry, sp blockSpan) []byte {
	var minNum, maxNum uint64
	if len(es) > 0 {
		minNum, maxNum = es[0].num, es[len(es)-1].num // sorted by number
	}
	wn, wt, ws := widthOf(maxNum-minNum), widthOf(sp.maxTime-sp.minTime), widthOf(sp.maxSeq-sp.minSeq)
	b = append(b, blockFormat)
	b = binary.BigEndian.AppendUint64(b, sp.minTime)
	b = binary.BigEndian.AppendUint64(b, sp.maxSeq)
	b = binary.BigEndian.AppendUint64(b, minNum)
	b = binary.BigEndian.AppendUint64(b, sp.minSeq)
	b = append(b, byte(wn), byte(wt), byte(ws))
	// Each field is written as 8 bytes, its value in the high ones, and
	// the unused low ones are cut: the next field overwrites them.
	b = slices.Grow(b, len(es)*(wn+wt+ws)+8)
	sn, st, ss := uint(64-8*wn), uint(64-8*wt), uint(64-8*ws)
	for _, e := range es {
		b = binary.BigEndian.AppendUint64(b, (e.num-minNum)<<sn)[:len(b)+wn]
		b = binary.BigEndian.AppendUint64(b, (e.ts-sp.minTime)<<st)[:len(b)+wt]
		b = binary.BigEndian.AppendUint64(b, (e.seq-sp.minSeq)<<ss)[:len(b)+ws]
	}
	return b
}

// widthOf returns the bytes v needs, at least 1.
func widthOf(v uint64) int { return max(1, (bits.Len64(v)+7)/8) }

// block is a parsed block value, of either format. It aliases the bytes
// it was parsed from (in a bbolt read, valid for the transaction only).
type block struct {
	minTime uint64
	maxSeq  uint64
	b       []byte // the entries, when the value is whole (not in chunks)

	// The value when it is in chunks (blob.go): its entries are nb bytes
	// from byte base.
	ch       blob
	base, nb int

	// How entries are stored: entry i is b[i*w:(i+1)*w], its fields wn,
	// wt and ws bytes from minNum, tsBase and minSeq (format 2: 8 bytes
	// each from 0).
	minNum, tsBase, minSeq uint64
	wn, wt, ws, w          int
}

// parseBlock checks v's framing. The order of the entries is not checked
// here (that would read the whole block); a misordered block only makes
// searches in it miss entries, never fail.
func parseBlock(v []byte) (block, error) {
	return parseBlockBlob(blob{b: v})
}

// parseBlockBlob is parseBlock for a value read in place (blob.go).
func parseBlockBlob(v blob) (block, error) {
	size := v.len()
	h, ok := v.slice(0, min(size, blockHeaderLen))
	if !ok || len(h) == 0 {
		return block{}, fmt.Errorf("%w: empty index block", errCorrupt)
	}
	var bl block
	switch h[0] {
	case blockFormat2:
		if len(h) < block2HeaderLen {
			return block{}, fmt.Errorf("%w: index block of %d bytes", errCorrupt, size)
		}
		if (size-block2HeaderLen)%entry2Len != 0 {
			return block{}, fmt.Errorf("%w: index block of %d bytes is not whole entries", errCorrupt, size)
		}
		bl = block{minTime: binary.BigEndian.Uint64(h[1:9]), maxSeq: binary.BigEndian.Uint64(h[9:17]),
			base: block2HeaderLen, wn: 8, wt: 8, ws: 8, w: entry2Len}
	case blockFormat:
		if len(h) < blockHeaderLen {
			return block{}, fmt.Errorf("%w: index block of %d bytes", errCorrupt, size)
		}
		bl = block{
			minTime: binary.BigEndian.Uint64(h[1:9]), maxSeq: binary.BigEndian.Uint64(h[9:17]),
			minNum: binary.BigEndian.Uint64(h[17:25]), minSeq: binary.BigEndian.Uint64(h[25:33]),
			wn: int(h[33]), wt: int(h[34]), ws: int(h[35]), base: blockHeaderLen,
		}
		bl.tsBase = bl.minTime
		for _, w := range [3]int{bl.wn, bl.wt, bl.ws} {
			if w < 1 || w > 8 {
				return block{}, fmt.Errorf("%w: index block field of %d bytes", errCorrupt, w)
			}
		}
		bl.w = bl.wn + bl.wt + bl.ws
		if (size-blockHeaderLen)%bl.w != 0 {
			return block{}, fmt.Errorf("%w: index block of %d bytes is not whole entries of %d", errCorrupt, size, bl.w)
		}
	default:
		return block{}, fmt.Errorf("%w: index block format %d, this build reads %d and %d", errCorrupt, h[0], blockFormat2, blockFormat)
	}
	bl.nb = size - bl.base
	if v.ch == nil {
		bl.b = v.b[bl.base:]
	} else {
		bl.ch = v
	}
	return bl, nil
}

// readBlock reads and parses the block at idx key k (see blob.go).
func readBlock(idx *bolt.Bucket, k []byte) (block, error) {
	if len(k) != recKeyLen {
		return block{}, fmt.Errorf("%w: index block key %x", errCorrupt, k)
	}
	v, ok := openBlob(idx, k)
	if !ok {
		return block{}, fmt.Errorf("%w: index key %x holds no block", errCorrupt, k)
	}
	return parseBlockBlob(v)
}

// field reads the w-byte BE integer at p (1 <= w <= 8).
func field(p []byte, w int) uint64 {
	if len(p) >= 8 {
		return binary.BigEndian.Uint64(p) >> uint(64-8*w)
	}
	var v uint64
	for _, c := range p[:w] {
		v = v<<8 | uint64(c)
	}
	return v
}

func (bl block) len() int {
	if bl.w == 0 {
		return 0
	}
	return bl.nb / bl.w
}

// entryBytes returns the first n bytes of entry i: in place, or for a
// block in chunks possibly a copy, valid until the next read of the
// block. A chunk missing (damage) reads as zeros.
func (bl block) entryBytes(i, n int) []byte {
	if bl.ch.ch == nil {
		return bl.b[i*bl.w:]
	}
	p, ok := bl.ch.slice(bl.base+i*bl.w, n)
	if !ok {
		return zeroEntry[:n]
	}
	return p
}

// zeroEntry is what an entry in a missing chunk reads as.
var zeroEntry [3 * 8]byte

// num returns entry i's number.
func (bl block) num(i int) uint64 { return bl.minNum + field(bl.entryBytes(i, bl.wn), bl.wn) }

func (bl block) at(i int) entry {
	p := bl.entryBytes(i, bl.w)
	return entry{
		num: bl.minNum + field(p, bl.wn),
		ts:  bl.tsBase + field(p[bl.wn:], bl.wt),
		seq: bl.minSeq + field(p[bl.wn+bl.wt:], bl.ws),
	}
}

// lowerBound returns the index of the first entry not below e. It reads
// each probe's number alone unless that equals e's: a search visits every
// block, so this loop is most of what a number search costs.
func (bl block) lowerBound(e entry) int {
	lo, hi := 0, bl.len()
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		below := false
		switch num := bl.num(m); {
		case num != e.num:
			below = num < e.num
		default:
			below = cmpEntry(bl.at(m), e) < 0
		}
		if below {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// appendEntries appends the block's entries of records not pruned (seq
// liveSeq or above) to dst.
func (bl block) appendEntries(dst []entry, liveSeq uint64) []entry {
	for i := range bl.len() {
		if e := bl.at(i); e.seq >= liveSeq {
			dst = append(dst, e)
		}
	}
	return dst
}

// mergeEntries appends to dst the entries of a and of b, both sorted by
// cmpEntry, in cmpEntry order, without those of records pruned (below
// liveSeq): one linear pass, where sorting the two together would cost
// n log n comparisons. A misordered (damaged) b gives a misordered
// result, never a failure.
func mergeEntries(dst, a, b []entry, liveSeq uint64) []entry {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if cmpEntry(a[i], b[j]) <= 0 {
			if a[i].seq >= liveSeq {
				dst = append(dst, a[i])
			}
			i++
			continue
		}
		if b[j].seq >= liveSeq {
			dst = append(dst, b[j])
		}
		j++
	}
	for ; i < len(a); i++ {
		if a[i].seq >= liveSeq {
			dst = append(dst, a[i])
		}
	}
	for ; j < len(b); j++ {
		if b[j].seq >= liveSeq {
			dst = append(dst, b[j])
		}
	}
	return dst
}

// sortEntries sorts es by cmpEntry and returns the sorted entries (in es
// or in tmp, whose storage it may reuse). es is in seq order, which is
// nearly time order: a stable radix sort by number, then an insertion sort
// of each run of one number by (time, seq), which is short and almost
// sorted already, so the whole costs a few linear passes.
func sortEntries(es, tmp []entry) ([]entry, []entry) {
	es, tmp = sortByNum(es, tmp)
	for start := 0; start < len(es); {
		end := start + 1
		for end < len(es) && es[end].num == es[start].num {
			end++
		}
		run := es[start:end]
		for i := 1; i < len(run); i++ {
			e := run[i]
			j := i
			for ; j > 0 && recKeyLess(e.ts, e.seq, run[j-1].ts, run[j-1].seq); j-- {
				run[j] = run[j-1]
			}
			run[j] = e
		}
		start = end
	}
	return es, tmp
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
