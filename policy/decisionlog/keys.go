package decisionlog

import (
	"encoding/binary"
	"time"

	"callgate/e164"
)

// Bucket layout of decisions.db (schema 2):
//
//	meta  "version" -> schema version (1 byte); "count" -> records stored (8 bytes BE)
//	rec   time(8) seq(8)  -> record value (record.go)
//	idx   time(8) seq(8)  -> index block (index.go): the index entries of a
//	                         set of records, keyed by the newest of them
//
// All integers are big-endian so byte order is numeric order: rec is in time
// order (pruning deletes from its front, a time search walks it backwards),
// and idx is in order of each block's newest record, so a number search
// walks the blocks newest first and stops once no older block can hold
// anything newer than what it has, and pruning deletes the blocks whose
// newest record is gone, from idx's front. Time is Unix nanoseconds; seq is
// rec's bucket sequence, so two records of the same nanosecond never
// collide.
//
// Schema 1 had, instead of idx, a bucket num with one empty-valued key
// number(8) time(8) seq(8) per index entry. Open converts such a file in
// place (migrate.go); rec is the same in both.
var (
	bucketMeta = []byte("meta")
	bucketRec  = []byte("rec")
	bucketIdx  = []byte("idx")
	bucketNum  = []byte("num") // schema 1 only

	metaVersion = []byte("version")
	metaCount   = []byte("count")
)

// schemaVersion is the layout above.
const schemaVersion = 2

const (
	recKeyLen = 16
	numKeyLen = 24 // schema 1's num keys
)

// nanos converts t to the key's time, clamping times before 1970 (invalid
// for a call) to 0.
func nanos(t time.Time) uint64 {
	n := t.UnixNano()
	if n < 0 {
		return 0
	}
	return uint64(n)
}

func appendRecKey(b []byte, ts, seq uint64) []byte {
	b = binary.BigEndian.AppendUint64(b, ts)
	return binary.BigEndian.AppendUint64(b, seq)
}

// recKeyTime returns the time part of a rec key.
func recKeyTime(k []byte) uint64 { return binary.BigEndian.Uint64(k[:8]) }

// recKeySeq returns the seq part of a rec key.
func recKeySeq(k []byte) uint64 { return binary.BigEndian.Uint64(k[8:16]) }

// distinctNumbers returns the non-zero numbers of a record without
// repeats, in a fixed-size array (no allocation).
func distinctNumbers(calling, called, original e164.Number) ([3]e164.Number, int) {
	var out [3]e164.Number
	n := 0
	for _, x := range [3]e164.Number{calling, called, original} {
		if x == 0 {
			continue
		}
		dup := false
		for _, y := range out[:n] {
			dup = dup || y == x
		}
		if !dup {
			out[n] = x
			n++
		}
	}
	return out, n
}
