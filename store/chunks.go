package store

import (
	"encoding/binary"
	"fmt"
	"slices"

	"callgate/e164"
	"callgate/store/kv"
)

// Lists are stored as chunks: one key per run of up to chunkMax numbers of
// one list in one generation, key = entries/ list(6) gen(8) first
// number(8), value = the run's numbers as 8-byte big-endian values in
// ascending order. Runs of one list are disjoint and ordered by their keys.
// Compared with a key per row this stores 8 bytes a row instead of ~35,
// loads the index with one value decode per chunk, and lets an import
// rewrite a list with a few thousand puts instead of one per row.
//
// Notes live under notes/ with the row's number in place of the chunk's
// first number, only for rows that have one.
const (
	chunkTarget = 256 // numbers per chunk when (re)writing: 2 KiB values
	chunkMax    = 480 // a chunk that grows beyond this is split (stays under one 4 KiB page)
)

func encodeChunk(nums []e164.Number) []byte {
	v := make([]byte, 8*len(nums))
	for i, n := range nums {
		binary.BigEndian.PutUint64(v[8*i:], uint64(n))
	}
	return v
}

// appendChunk decodes a chunk value onto dst, checking it is well formed
// and continues the ascending run in dst. k ends in the chunk's first
// number.
func appendChunk(dst []e164.Number, k, v []byte) ([]e164.Number, error) {
	if len(k) < 8 || len(v) == 0 || len(v)%8 != 0 {
		return dst, fmt.Errorf("list chunk %x: key %d bytes, value %d bytes", k, len(k), len(v))
	}
	if binary.BigEndian.Uint64(v) != binary.BigEndian.Uint64(k[len(k)-8:]) {
		return dst, fmt.Errorf("list chunk %x: first number does not match key", k)
	}
	for i := 0; i < len(v); i += 8 {
		n := e164.Number(binary.BigEndian.Uint64(v[i:]))
		if len(dst) > 0 && n <= dst[len(dst)-1] {
			return dst, fmt.Errorf("list chunk %x: numbers not ascending at %d", k, i/8)
		}
		dst = append(dst, n)
	}
	return dst, nil
}

// chunkCount is how many chunks putChunks writes for n numbers.
func chunkCount(n int) int {
	c := 0
	for n > 0 {
		if n <= chunkMax {
			return c + 1
		}
		n -= chunkTarget
		c++
	}
	return c
}

// putChunks adds puts of nums (sorted) as fresh chunks of chunkTarget
// numbers of list l in generation gen.
func putChunks(t *txn, l listKey, gen uint64, nums []e164.Number) {
	for len(nums) > 0 {
		n := min(len(nums), chunkTarget)
		if len(nums) <= chunkMax {
			n = len(nums) // do not leave a tiny tail chunk
		}
		t.put(rowKey(bEntries, l, gen, nums[0]), encodeChunk(nums[:n]))
		nums = nums[n:]
	}
}

// chunkFirsts returns the first numbers of the stored chunks of list l in
// generation gen.
func chunkFirsts(r kv.Reader, l listKey, gen uint64) ([]e164.Number, error) {
	var firsts []e164.Number
	p := listGenPrefix(bEntries, l, gen)
	err := r.Range(p, prefixEnd(p), func(k, _ []byte, _ int64) error {
		if len(k) != len(p)+8 {
			return fmt.Errorf("list chunk %x: bad key length", k)
		}
		firsts = append(firsts, rowNumber(k))
		return nil
	})
	return firsts, err
}

// rewriteList adds the writes that change the stored chunks of list l in
// generation gen (first numbers firsts) from old (exactly what is stored;
// the index holds it) to updated, rewriting only chunks whose content
// changes. Chunk i owns the numbers from its first number up to the next
// chunk's; chunk 0 also owns everything below it.
func rewriteList(t *txn, l listKey, gen uint64, firsts, old, updated []e164.Number) {
	if len(firsts) == 0 {
		putChunks(t, l, gen, updated)
		return
	}
	for i, first := range firsts {
		lo := e164.Number(0)
		if i > 0 {
			lo = first
		}
		oseg, nseg := segment(old, lo, firsts, i), segment(updated, lo, firsts, i)
		if slices.Equal(oseg, nseg) {
			continue
		}
		t.del(rowKey(bEntries, l, gen, first))
		putChunks(t, l, gen, nseg)
	}
}

// segment returns the part of list owned by chunk i: numbers >= lo and
// below the next chunk's first number.
func segment(list []e164.Number, lo e164.Number, firsts []e164.Number, i int) []e164.Number {
	from, _ := slices.BinarySearch(list, lo)
	to := len(list)
	if i+1 < len(firsts) {
		to, _ = slices.BinarySearch(list, firsts[i+1])
	}
	if to < from {
		to = from
	}
	return list[from:to]
}
