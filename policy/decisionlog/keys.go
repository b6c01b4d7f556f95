package decisionlog

import (
	"encoding/binary"
	"time"

	"callgate/e164"
)

// Bucket layout of decisions.db (schema 5):
//
//	meta  "version" -> schema version (1 byte); "count" -> records stored (8 bytes BE)
//	seg   firstSeq(8)     -> segment (segment.go): the records firstSeq,
//	                         firstSeq+1, ... of (part of) one commit
//	idx   time(8) seq(8)  -> index block (index.go): the index entries of a
//	                         set of records, keyed by the newest of them
//	flt   time(8) seq(8)  -> the summary of the idx block of the same key
//	                         (summary.go): its header and a Bloom filter of
//	                         its numbers, so searches and the writer
//	                         decide without opening the block; one larger
//	                         than a quarter page goes on in parts under
//	                         time(8) seq(8) part(2), part 1, 2, ...
//
// All integers are big-endian so byte order is numeric order. A record's
// seq is its place in commit order: seg's bucket sequence hands out one
// contiguous run per commit, so seg's keys are contiguous too (each
// segment's firstSeq is the previous one's plus its record count), pruning
// deletes whole segments from seg's front, and the first key left is the
// oldest live seq. A time search walks seg backwards; each segment carries
// the newest time of every record up to it, so the walk stops exactly
// where nothing older can matter. idx is in order of each block's newest
// record (time, seq), so a number search walks the blocks newest first and
// stops once no older block can hold anything newer than what it has.
// Time is Unix nanoseconds. Segments and index blocks are each the value
// of a nested bucket of their own (blob.go), in one piece or, larger than
// a page, in chunks.
//
// Why segments and not one key per record (schemas 1 and 2, bucket rec,
// key time(8) seq(8)): a Put and a Delete per record made bbolt allocate
// and search per record, which at 50,000 records/s was most of the
// server's garbage. A segment is one Put and, when pruned, one Delete.
//
// Schema 1 also had, instead of idx, a bucket num with one empty-valued
// key number(8) time(8) seq(8) per index entry; schema 2 had idx blocks
// without maxSeq (block format 1). Open converts either in place
// (migrate.go). Schema 3 is schema 4 with every idx block in format 2
// (fixed 24-byte entries); schema 4 writes format 3 (index.go) and reads
// both, so a schema 3 file is searched as it is and Open only marks it 4,
// keeping a build that reads format 2 only from taking its new blocks for
// damage. Schema 5 is schema 4 with segments and blocks larger than a
// page stored in chunks (blob.go) and summaries larger than a quarter
// page in parts (summary.go), so that no node bbolt writes spans pages;
// this build reads both layouts, so a schema 3 or 4 file is searched as
// it is and Open only marks it 5, keeping a schema 4 build from taking
// chunked values for damage. (An old file keeps its page size, 4 KiB,
// where new files have 16 KiB: see filePageSize.)
var (
	bucketMeta = []byte("meta")
	bucketSeg  = []byte("seg")
	bucketIdx  = []byte("idx")
	bucketFlt  = []byte("flt")
	bucketRec  = []byte("rec") // schemas 1 and 2
	bucketNum  = []byte("num") // schema 1

	metaVersion = []byte("version")
	metaCount   = []byte("count")
)

// schemaVersion is the layout above; readableSchema the oldest this build
// searches without converting it (OpenReadOnly).
const (
	schemaVersion  = 5
	readableSchema = 3
)

const (
	recKeyLen = 16 // idx keys, and schemas 1 and 2's rec keys
	segKeyLen = 8
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

// recKeyTime returns the time part of a rec or idx key.
func recKeyTime(k []byte) uint64 { return binary.BigEndian.Uint64(k[:8]) }

// recKeySeq returns the seq part of a rec or idx key.
func recKeySeq(k []byte) uint64 { return binary.BigEndian.Uint64(k[8:16]) }

// segKey returns the seg key of the segment starting at seq first.
func segKey(first uint64) [segKeyLen]byte {
	var k [segKeyLen]byte
	binary.BigEndian.PutUint64(k[:], first)
	return k
}

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
