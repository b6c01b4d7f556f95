package decisionlog

import "encoding/binary"

// The writer encodes each record as it takes it from the queue: in its
// queue slot, straight into the value of the segment it goes in, noting
// its index entries as it goes. A record is thus read once, and its bytes
// written once before bbolt copies them to the page, where taking a
// Record copy out of the queue into a batch and encoding the batch into
// a segment builder and from there into the commit's buffer copied and
// cleared it three more times (BenchmarkWriterCPU measures the
// difference).
//
// A segment's header and offset table come before its records, and how
// many records it takes is known only when it is finished, so each
// segment in buf starts with room for the largest header (segRoom bytes,
// never written to the file); finishing the segment writes its header and
// offsets right before its records, and its value starts there. The
// bytes are those segBuilder.appendTo makes (TestBatchSegmentsAsBuilt).

// segRoom is the room a segment's header and offsets may take.
const segRoom = segHeaderLen + 4*segmentMax

// batch is the records the writer has taken from the queue and not yet
// committed, encoded. Its buffers are reused from one batch to the next.
type batch struct {
	n       int      // records
	buf     []byte   // the segment values (bbolt holds them until the commit ends)
	segs    []segRef // the finished segments, in buf
	entries []entry  // the index entries, in seq order; seq counts from 0 until putSegments

	// The segment being encoded: its first record's place in the batch,
	// where its records start in buf, their ends (relative to that) and
	// their times; prefix is the newest record time of every segment
	// before it, the file's included.
	open         bool
	rel          uint64
	recStart     int
	ends         []uint32
	minTS, maxTS uint64
	prefix       uint64
}

// segRef is a finished segment: its first record's place in the batch, its
// value (buf[start:end]) and its newest record time.
type segRef struct {
	rel        uint64
	start, end int
	maxTS      uint64
}

// add encodes r as the batch's next record (r stays the caller's).
func (w *writerState) add(r *Record) {
	if w.n == 0 {
		w.prefix = w.logState.prefixMax
	}
	b := &w.batch
	ts := nanos(r.Time)
	if !b.open {
		b.open, b.rel, b.ends = true, uint64(b.n), b.ends[:0]
		b.minTS, b.maxTS = ts, ts
		// Room for the header, left as it is (its unused part is not in
		// the value).
		start := len(b.buf)
		b.buf = growTo(b.buf, start+segRoom)
		b.recStart = len(b.buf)
	}
	b.minTS, b.maxTS = min(b.minTS, ts), max(b.maxTS, ts)
	b.buf = binary.BigEndian.AppendUint64(b.buf, ts)
	b.buf = appendRecord(b.buf, r)
	b.ends = append(b.ends, uint32(len(b.buf)-b.recStart))
	nums, k := distinctNumbers(r.Calling, r.Called, r.OriginalCalled)
	for _, x := range nums[:k] {
		b.entries = append(b.entries, entry{num: uint64(x), ts: ts, seq: uint64(b.n)})
	}
	b.n++
	if len(b.ends) >= segmentMax || len(b.buf)-b.recStart >= segmentBytes {
		b.finishSegment()
	}
}

// finishSegment writes the header of the segment being encoded, if any,
// before its records (see segBuilder.appendTo for the layout).
func (b *batch) finishSegment() {
	if !b.open {
		return
	}
	b.open = false
	n := len(b.ends)
	start := b.recStart - segHeaderLen - 4*n
	h := b.buf[start:b.recStart]
	h[0] = segFormat
	binary.BigEndian.PutUint32(h[1:5], uint32(n))
	binary.BigEndian.PutUint64(h[5:13], b.minTS)
	binary.BigEndian.PutUint64(h[13:21], b.maxTS)
	b.prefix = max(b.prefix, b.maxTS)
	binary.BigEndian.PutUint64(h[21:29], b.prefix)
	offs := h[segHeaderLen:]
	for i, e := range b.ends {
		binary.BigEndian.PutUint32(offs[4*i:], e)
	}
	b.segs = append(b.segs, segRef{rel: b.rel, start: start, end: len(b.buf), maxTS: b.maxTS})
}

// reset empties the batch, keeping its buffers.
func (b *batch) reset() {
	b.n, b.open = 0, false
	b.buf, b.segs, b.entries = b.buf[:0], b.segs[:0], b.entries[:0]
}

// growTo returns b extended to length n, its new bytes as they are.
func growTo(b []byte, n int) []byte {
	if n > cap(b) {
		nb := make([]byte, len(b), max(n, 2*cap(b)))
		copy(nb, b)
		b = nb
	}
	return b[:n]
}
