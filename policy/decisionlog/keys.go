package decisionlog

import (
	"encoding/binary"
	"time"

	"callgate/e164"
)

// Bucket layout of decisions.db:
//
//	meta  "version" -> schema version (1 byte); "count" -> records stored (8 bytes BE)
//	rec   time(8) seq(8)            -> record value (record.go)
//	num   number(8) time(8) seq(8)  -> empty: one entry per distinct number of a
//	                                   record (calling, called, original called)
//
// All integers are big-endian so byte order is numeric order: rec is in time
// order (pruning deletes from its front, a time search walks it backwards),
// and num groups each number's records in time order (a number search seeks
// to the end of the number's time range and walks back). Time is Unix
// nanoseconds; seq is the bucket's sequence, so two records of the same
// nanosecond never collide.
var (
	bucketMeta = []byte("meta")
	bucketRec  = []byte("rec")
	bucketNum  = []byte("num")

	metaVersion = []byte("version")
	metaCount   = []byte("count")
)

// schemaVersion is the layout above.
const schemaVersion = 1

const (
	recKeyLen = 16
	numKeyLen = 24
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

func appendNumKey(b []byte, n e164.Number, ts, seq uint64) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(n))
	return appendRecKey(b, ts, seq)
}

// recKeyTime returns the time part of a rec key.
func recKeyTime(k []byte) uint64 { return binary.BigEndian.Uint64(k[:8]) }

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
