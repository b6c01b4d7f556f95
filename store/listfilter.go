package store

import (
	"slices"

	"callgate/e164"
)

// A published list is its sorted rows (the source of truth: exports,
// pages, counts, merges all read them) and a membership filter built from
// exactly those rows when the index builds or replaces the list. Published
// lists are never modified in place, so the filter never goes stale: it is
// swapped together with its rows (memberList is one value).
//
// Why: in a load run every caller the engine checks is usually on no list,
// and with 100,000 subscribers' lists scattered over 80 MB a binary search
// over a 100-row list costs about five dependent cache misses. The filter
// answers "not on the list" from one 64-byte block: one miss. A caller the
// filter lets through (on the list, or a false positive) is binary-searched
// as before, so the answer is always the rows' answer.
//
// The filter is a blocked Bloom filter: the number's hash picks one block
// of 512 bits (a cache line, [8]uint64) and sets one bit in each of its
// eight words (the split-block layout of Parquet's bloom filters, with
// 64-bit words). Sized at filterBitsPerRow bits a row, rounded up to whole
// blocks, the false-positive rate is about 1 % (TestListFilterFalsePositives
// measures it: 1.0-1.2 % from 51 to 100,000 rows).
// Memory: 64 bytes a block, about 1.3 bytes a row (10M rows: ~13 MB on top
// of their 80 MB), and 32 bytes a list for the filter's slice header and
// the small filter below (bench/store/README.md has the measured totals).
// Lists of at most filterMinRows rows (8 numbers: one cache line) get no
// block filter: their binary search costs the one miss a block would.
// They get a 64-bit Bloom filter (small, 3 bits a row) in the list header
// itself instead, which the look-up reads anyway: a caller on no short
// list (a VIP list of a few numbers, typically) costs no miss beyond the
// header. False positives: 0.01 % for one row, ~3 % for 8 (also measured).

// memberList is one published list: rows sorted ascending without
// duplicates, and the filter newMemberList built from them: filt for long
// lists, small for short ones (0 for an empty list).
type memberList struct {
	rows  []e164.Number
	filt  listFilter
	small uint64
}

const (
	filterBitsPerRow = 10
	filterMinRows    = 8 // lists this short have no filter
)

// filterBlock is one 64-byte block of a listFilter.
type filterBlock [8]uint64

// listFilter is an immutable blocked Bloom filter over a list's rows.
type listFilter []filterBlock

// filterSalts pick each word's bit from the hash's low 32 bits
// (odd multipliers; the top 6 bits of the product are the bit number).
var filterSalts = [8]uint32{
	0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d,
	0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31,
}

// newMemberList publishes rows (sorted, duplicate-free, never modified
// afterwards) with its filter.
func newMemberList(rows []e164.Number) memberList {
	return memberList{rows: rows, filt: newListFilter(rows), small: newSmallFilter(rows)}
}

// contains reports whether n is one of the rows.
func (l *memberList) contains(n e164.Number) bool {
	if l.filt != nil {
		if !l.filt.mayContain(n) {
			return false
		}
	} else if !smallMayContain(l.small, n) {
		return false // also every empty list
	}
	_, found := slices.BinarySearch(l.rows, n)
	return found
}

// newSmallFilter builds the in-header filter of a short list (0 for an
// empty or a long one).
func newSmallFilter(rows []e164.Number) uint64 {
	if len(rows) > filterMinRows {
		return 0
	}
	var f uint64
	for _, n := range rows {
		f |= smallBits(n)
	}
	return f
}

// smallMayContain is false when n is certainly not in the short list
// whose small filter is f.
func smallMayContain(f uint64, n e164.Number) bool {
	b := smallBits(n)
	return f&b == b
}

// smallBits are n's 3 bits of a small filter: 6-bit fields of the hash.
func smallBits(n e164.Number) uint64 {
	h := filterHash(n)
	return 1<<(h&63) | 1<<(h>>6&63) | 1<<(h>>12&63)
}

// newListFilter builds the filter of rows; nil when rows are short.
func newListFilter(rows []e164.Number) listFilter {
	if len(rows) <= filterMinRows {
		return nil
	}
	f := make(listFilter, (len(rows)*filterBitsPerRow+511)/512)
	for _, n := range rows {
		h := filterHash(n)
		b := &f[f.block(h)]
		for i, salt := range filterSalts {
			b[i] |= 1 << (uint32(h) * salt >> 26)
		}
	}
	return f
}

// mayContain is false when n is certainly not in the rows the filter was
// built from.
func (f listFilter) mayContain(n e164.Number) bool {
	h := filterHash(n)
	return f[f.block(h)].mayContain(h)
}

// mayContain is false when the number hashed to h is certainly not in the
// rows of the filter whose block for h is b.
func (b *filterBlock) mayContain(h uint64) bool {
	var miss uint64
	for i, salt := range filterSalts {
		miss |= ^b[i] & (1 << (uint32(h) * salt >> 26))
	}
	return miss == 0
}

// block maps the hash's high 32 bits onto the blocks (multiply-shift, no
// division).
func (f listFilter) block(h uint64) uint64 {
	return blockOf(h, len(f))
}

// blockOf is the block for hash h of a filter of n blocks.
func blockOf(h uint64, n int) uint64 {
	return (h >> 32) * uint64(n) >> 32
}

// filterHash mixes a number's bits (numbers of one list share most of
// their digits) with the 64-bit finalizer of MurmurHash3.
func filterHash(n e164.Number) uint64 {
	h := uint64(n)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
