package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"callgate/e164"

	bolt "go.etcd.io/bbolt"
)

// Lists are stored as chunks: one bbolt key per run of up to chunkMax
// numbers of one (owner, list), key = prefix(6) + first number(8), value =
// the run's numbers as 8-byte big-endian values in ascending order. Runs of
// one list are disjoint and ordered by their keys. Compared with a key per
// row this stores 8 bytes a row instead of ~35, loads the index with one
// value decode per chunk, and lets an import rewrite a list with a few
// thousand puts instead of one per row.
//
// Notes live in the notes bucket under the row's 14-byte entry key, only for
// rows that have one.
const (
	chunkTarget = 256 // numbers per chunk when (re)writing: 2 KiB values
	chunkMax    = 480 // a chunk that grows beyond this is split (stays under one 4 KiB page)
)

func chunkFirst(k []byte) e164.Number { return e164.Number(binary.BigEndian.Uint64(k[6:14])) }

func encodeChunk(nums []e164.Number) []byte {
	v := make([]byte, 8*len(nums))
	for i, n := range nums {
		binary.BigEndian.PutUint64(v[8*i:], uint64(n))
	}
	return v
}

// appendChunk decodes a chunk value onto dst, checking it is well formed
// and continues the ascending run in dst.
func appendChunk(dst []e164.Number, k, v []byte) ([]e164.Number, error) {
	if len(k) != 14 || len(v) == 0 || len(v)%8 != 0 {
		return dst, fmt.Errorf("list chunk %x: key %d bytes, value %d bytes", k, len(k), len(v))
	}
	if binary.BigEndian.Uint64(v) != binary.BigEndian.Uint64(k[6:]) {
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

// putChunks writes nums (sorted) as fresh chunks of chunkTarget numbers.
func putChunks(b *bolt.Bucket, prefix []byte, nums []e164.Number) (int, error) {
	puts := 0
	for len(nums) > 0 {
		n := min(len(nums), chunkTarget)
		if len(nums) <= chunkMax {
			n = len(nums) // do not leave a tiny tail chunk
		}
		key := make([]byte, 14)
		putEntryKey(key, prefix[0], binary.BigEndian.Uint32(prefix[1:5]), List(prefix[5]), nums[0])
		if err := b.Put(key, encodeChunk(nums[:n])); err != nil {
			return puts, err
		}
		puts++
		nums = nums[n:]
	}
	return puts, nil
}

// rewriteList changes the stored chunks of one list from old (exactly what
// is stored; the index holds it) to updated, rewriting only chunks whose
// content changes. Chunk i owns the numbers from its first number up to the
// next chunk's; chunk 0 also owns everything below it. It returns the number
// of chunks written.
func rewriteList(b *bolt.Bucket, prefix []byte, old, updated []e164.Number) (int, error) {
	var firsts []e164.Number
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) != 14 {
			return 0, fmt.Errorf("list chunk %x: bad key length", k)
		}
		firsts = append(firsts, chunkFirst(k))
	}
	if len(firsts) == 0 {
		return putChunks(b, prefix, updated)
	}
	puts := 0
	key := make([]byte, 14)
	for i, first := range firsts {
		lo := e164.Number(0)
		if i > 0 {
			lo = first
		}
		oseg, nseg := segment(old, lo, firsts, i), segment(updated, lo, firsts, i)
		if slices.Equal(oseg, nseg) {
			continue
		}
		putEntryKey(key, prefix[0], binary.BigEndian.Uint32(prefix[1:5]), List(prefix[5]), first)
		if err := b.Delete(key); err != nil {
			return puts, err
		}
		n, err := putChunks(b, prefix, nseg)
		puts += n
		if err != nil {
			return puts, err
		}
	}
	return puts, nil
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

// hasKeyWithPrefix reports whether any key in b starts with prefix.
func hasKeyWithPrefix(b *bolt.Bucket, prefix []byte) bool {
	k, _ := b.Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}
