package decisionlog

import (
	"encoding/binary"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"
)

// A segment is one seg value: the records of (part of) one commit, with
// contiguous seqs firstSeq (the key) .. firstSeq+n-1 in the order they
// were queued. The seq of record i is firstSeq+i, so it is not stored, and
// record i is found in O(1) through the offset table.
//
// Segment value layout (segFormat 1):
//
//	format       1 byte
//	n            4 bytes BE: records in the segment (at least 1)
//	minTS        8 bytes BE: the oldest record time in the segment
//	maxTS        8 bytes BE: the newest record time in the segment
//	prefixMaxTS  8 bytes BE: the newest record time in this segment and
//	             every segment written before it. It never decreases in
//	             key order, so a time search walking backwards stops
//	             exactly when it drops below what it looks for.
//	offsets      n x 4 bytes BE: the end of each record in the record area
//	records      each time(8 BE) then the record encoding (record.go)
//
// A segment holds at most segmentMax records and, past segmentBytes of
// records, takes no more: a catch-up batch makes several segments, never
// one value of megabytes (bbolt copies a value whole whenever its page
// is rewritten).
const (
	segFormat    = 1
	segHeaderLen = 1 + 4 + 8 + 8 + 8
	segTimeLen   = 8 // each record's time, before its encoding

	segmentMax   = 1024
	segmentBytes = 256 << 10
)

// segment is a parsed segment value. It aliases the bytes it was parsed
// from (in a bbolt read, valid for the transaction only).
type segment struct {
	first       uint64 // seq of record 0 (the key)
	n           int
	minTS       uint64
	maxTS       uint64
	prefixMaxTS uint64
	areaLen     int    // bytes of records
	offs        []byte // n x 4, when the value is whole (not in chunks)
	area        []byte // the records, when the value is whole
	v           blob   // the value, read through when in chunks (blob.go)
}

// parseSegment checks v's framing as the segment starting at seq first.
func parseSegment(first uint64, v []byte) (segment, error) {
	return parseSegmentBlob(first, blob{b: v})
}

// parseSegmentBlob checks v's framing as the segment starting at seq
// first. The offsets are checked one by one as records are read (record),
// not all here, so parsing costs the same whatever the segment's size.
func parseSegmentBlob(first uint64, v blob) (segment, error) {
	size := v.len()
	h, ok := v.slice(0, min(size, segHeaderLen))
	if !ok || len(h) < segHeaderLen {
		return segment{}, fmt.Errorf("%w: segment of %d bytes", errCorrupt, size)
	}
	if h[0] != segFormat {
		return segment{}, fmt.Errorf("%w: segment format %d, this build reads %d", errCorrupt, h[0], segFormat)
	}
	n := uint64(binary.BigEndian.Uint32(h[1:5]))
	if n == 0 || n*4 > uint64(size-segHeaderLen) {
		return segment{}, fmt.Errorf("%w: segment of %d records in %d bytes", errCorrupt, n, size)
	}
	if first == 0 || first > math.MaxUint64-n {
		return segment{}, fmt.Errorf("%w: segment at seq %d of %d records", errCorrupt, first, n)
	}
	s := segment{
		first:       first,
		n:           int(n),
		minTS:       binary.BigEndian.Uint64(h[5:13]),
		maxTS:       binary.BigEndian.Uint64(h[13:21]),
		prefixMaxTS: binary.BigEndian.Uint64(h[21:29]),
		areaLen:     size - segHeaderLen - 4*int(n),
	}
	if s.minTS > s.maxTS || s.maxTS > s.prefixMaxTS {
		return segment{}, fmt.Errorf("%w: segment times %d..%d, newest so far %d", errCorrupt, s.minTS, s.maxTS, s.prefixMaxTS)
	}
	if v.ch == nil {
		s.offs, s.area = v.b[segHeaderLen:segHeaderLen+4*n], v.b[segHeaderLen+4*n:]
	} else {
		s.v = v
	}
	end, ok := s.offset(s.n - 1)
	if !ok || uint64(end) != uint64(s.areaLen) {
		return segment{}, fmt.Errorf("%w: segment records end at %d of %d bytes", errCorrupt, end, s.areaLen)
	}
	return s, nil
}

// offset returns the end of record i in the record area (0 for i = -1).
func (s *segment) offset(i int) (uint32, bool) {
	if i < 0 {
		return 0, true
	}
	if s.v.ch == nil {
		return binary.BigEndian.Uint32(s.offs[4*i:]), true
	}
	b, ok := s.v.slice(segHeaderLen+4*i, 4)
	if !ok {
		return 0, false
	}
	return binary.BigEndian.Uint32(b), true
}

// readSegment reads and parses the segment at seg key k (see blob.go).
func readSegment(seg *bolt.Bucket, k []byte) (segment, error) {
	if len(k) != segKeyLen {
		return segment{}, fmt.Errorf("%w: segment key %x", errCorrupt, k)
	}
	v, ok := openBlob(seg, k)
	if !ok {
		return segment{}, fmt.Errorf("%w: segment %x holds no segment", errCorrupt, k)
	}
	return parseSegmentBlob(binary.BigEndian.Uint64(k), v)
}

// contains reports whether the record seq is in the segment.
func (s *segment) contains(seq uint64) bool {
	return seq >= s.first && seq-s.first < uint64(s.n)
}

// bytesOf returns record i's bytes (time and encoding). For a segment in
// chunks they may be a copy, valid until the next read of the segment.
func (s *segment) bytesOf(i int) ([]byte, error) {
	if i < 0 || i >= s.n {
		return nil, fmt.Errorf("%w: record %d of a segment of %d", errCorrupt, i, s.n)
	}
	start, ok1 := s.offset(i - 1)
	end, ok2 := s.offset(i)
	if !ok1 || !ok2 || start > end || uint64(end) > uint64(s.areaLen) || end-start < segTimeLen {
		return nil, fmt.Errorf("%w: record %d of segment %d at bytes %d..%d of %d", errCorrupt, i, s.first, start, end, s.areaLen)
	}
	if s.v.ch == nil {
		return s.area[start:end], nil
	}
	b, ok := s.v.slice(segHeaderLen+4*s.n+int(start), int(end-start))
	if !ok {
		return nil, fmt.Errorf("%w: record %d of segment %d: a chunk is missing", errCorrupt, i, s.first)
	}
	return b, nil
}

// time returns record i's time without decoding it.
func (s *segment) time(i int) (uint64, error) {
	b, err := s.bytesOf(i)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b), nil
}

// record returns record i's time and encoding.
func (s *segment) record(i int) (ts uint64, body []byte, err error) {
	b, err := s.bytesOf(i)
	if err != nil {
		return 0, nil, err
	}
	return binary.BigEndian.Uint64(b), b[segTimeLen:], nil
}

// segBuilder collects the records of one segment. Its buffers are reused
// from one segment to the next.
type segBuilder struct {
	area         []byte
	ends         []uint32
	minTS, maxTS uint64
}

func (sb *segBuilder) reset() {
	sb.area, sb.ends = sb.area[:0], sb.ends[:0]
	sb.minTS, sb.maxTS = 0, 0
}

func (sb *segBuilder) len() int { return len(sb.ends) }

// full reports whether the segment takes no more records.
func (sb *segBuilder) full() bool {
	return len(sb.ends) >= segmentMax || len(sb.area) >= segmentBytes
}

// addRecord appends r, at time ts, to the segment.
func (sb *segBuilder) addRecord(ts uint64, r *Record) {
	sb.noteTime(ts)
	sb.area = binary.BigEndian.AppendUint64(sb.area, ts)
	sb.area = appendRecord(sb.area, r)
	sb.ends = append(sb.ends, uint32(len(sb.area)))
}

// addEncoded appends a record already encoded (body), at time ts.
func (sb *segBuilder) addEncoded(ts uint64, body []byte) {
	sb.noteTime(ts)
	sb.area = binary.BigEndian.AppendUint64(sb.area, ts)
	sb.area = append(sb.area, body...)
	sb.ends = append(sb.ends, uint32(len(sb.area)))
}

func (sb *segBuilder) noteTime(ts uint64) {
	if len(sb.ends) == 0 {
		sb.minTS, sb.maxTS = ts, ts
		return
	}
	sb.minTS, sb.maxTS = min(sb.minTS, ts), max(sb.maxTS, ts)
}

// appendTo appends the segment value to dst, prefixMax being the newest
// record time of every segment before this one.
func (sb *segBuilder) appendTo(dst []byte, prefixMax uint64) []byte {
	dst = append(dst, segFormat)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(sb.ends)))
	dst = binary.BigEndian.AppendUint64(dst, sb.minTS)
	dst = binary.BigEndian.AppendUint64(dst, sb.maxTS)
	dst = binary.BigEndian.AppendUint64(dst, max(prefixMax, sb.maxTS))
	for _, e := range sb.ends {
		dst = binary.BigEndian.AppendUint32(dst, e)
	}
	return append(dst, sb.area...)
}
