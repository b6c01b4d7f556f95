package decisionlog

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/e164"
	"callgate/policy"
)

// DefaultLimit is the number of records Search returns when Query.Limit is 0.
const DefaultLimit = 100

// Query selects records. The zero Query returns the newest DefaultLimit
// records.
type Query struct {
	Number e164.Number   // calling, called or original called; 0 = any
	From   time.Time     // inclusive lower bound; zero = none
	To     time.Time     // exclusive upper bound; zero = none
	Action policy.Action // only this action; 0 = any (unless NoAction)
	// NoAction selects only the records without an action ("none"): the
	// B2BUA's record of each call to the subscribers' IVR, which asks the
	// engine nothing. Action must then be 0.
	NoAction bool
	Limit    int // most records returned; 0 = DefaultLimit
	// After, when set, is the place of a record an earlier search
	// returned (SearchPos): only records after it in the answer's order,
	// that is older, are returned. It pages where a time bound (To) cannot
	// through records that share a time: the SCP stamps every query of
	// one read from the association with the time of the read.
	After Pos
}

// Pos is a record's place in the log: its time (Unix nanoseconds) and its
// seq, its place in commit order. Records are answered in descending Pos.
// The zero Pos is none.
type Pos struct {
	Time int64
	Seq  uint64
}

// Search returns the records matching q, newest first (by time, then by
// commit order). With a Number it reads that number's index entries only
// (a Bloom filter test per index block, and a binary search in the blocks
// that may hold the number); otherwise it walks the segments
// backwards from the newest. Either way it stops as soon as nothing older
// can make the answer (an Action filter may make it read more records
// than it returns). Records still queued are not visible until written
// (see Flush). A damaged segment, block or record is skipped.
func (l *Log) Search(q Query) ([]Record, error) {
	recs, _, err := l.SearchPos(q)
	return recs, err
}

// SearchPos is Search, with the Pos of each record returned.
func (l *Log) SearchPos(q Query) ([]Record, []Pos, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	from := uint64(0)
	if !q.From.IsZero() {
		from = nanos(q.From)
	}
	to := uint64(math.MaxUint64)
	if !q.To.IsZero() {
		to = nanos(q.To)
	}
	if q.NoAction && q.Action != 0 {
		return nil, nil, fmt.Errorf("decisionlog: query for action %s and for no action at once: set one of Action and NoAction", q.Action)
	}
	h := hits{limit: limit}
	if q.After != (Pos{}) {
		if q.After.Time < 0 {
			return nil, nil, nil // nothing is older
		}
		h.after, h.afterTS, h.afterSeq = true, uint64(q.After.Time), q.After.Seq
		to = min(to, h.afterTS+1)
	}
	if from >= to {
		return nil, nil, nil
	}
	var out []Record
	var pos []Pos
	err := l.view(func(tx *bolt.Tx) error {
		seg, idx, flt := tx.Bucket(bucketSeg), tx.Bucket(bucketIdx), tx.Bucket(bucketFlt)
		if seg == nil || idx == nil || flt == nil {
			return fmt.Errorf("decisionlog: %s: buckets missing", l.path)
		}
		if q.Number != 0 {
			searchNumber(&h, seg, idx, flt, q, from, to)
		} else {
			searchTime(&h, seg, q.actionFilter(), from, to)
		}
		out, pos = h.records()
		return nil
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return nil, nil, ErrClosed
	}
	return out, pos, err
}

// actionFilter is a Query's action filter: when on, only records whose
// action is a (0 for NoAction).
type actionFilter struct {
	on bool
	a  policy.Action
}

func (q *Query) actionFilter() actionFilter {
	return actionFilter{on: q.Action != 0 || q.NoAction, a: q.Action}
}

// hit is a record found, with its key for ordering.
type hit struct {
	ts, seq uint64
	r       Record
}

// hits are the best records found so far: newest first by (time, seq),
// at most limit.
type hits struct {
	limit int
	h     []hit
	// Only records before (afterTS, afterSeq) (Query.After).
	after             bool
	afterTS, afterSeq uint64
}

// full reports whether hits holds limit records.
func (h *hits) full() bool { return len(h.h) >= h.limit }

// older reports whether hits is full and the record (ts, seq) is older
// than all of them, so it cannot make the answer.
func (h *hits) older(ts, seq uint64) bool {
	if !h.full() {
		return false
	}
	last := &h.h[len(h.h)-1]
	return recKeyLess(ts, seq, last.ts, last.seq)
}

// add decodes the record body of (ts, seq) and keeps it if it passes the
// action filter and is among the newest limit. It reports false for a
// record that does not decode.
func (h *hits) add(ts, seq uint64, body []byte, action actionFilter) bool {
	if h.older(ts, seq) || h.after && !recKeyLess(ts, seq, h.afterTS, h.afterSeq) {
		return true
	}
	if action.on {
		a, err := decodeAction(body)
		if err != nil {
			return false
		}
		if a != action.a {
			return true
		}
	}
	var r Record
	if err := decodeRecord(body, &r); err != nil {
		return false
	}
	r.Time = time.Unix(0, int64(ts))
	// Insert in key order (newest first), keeping at most limit. Walks
	// go newest first, so this is nearly always an append.
	at := len(h.h)
	for at > 0 && recKeyLess(h.h[at-1].ts, h.h[at-1].seq, ts, seq) {
		at--
	}
	h.h = slices.Insert(h.h, at, hit{ts: ts, seq: seq, r: r})
	if len(h.h) > h.limit {
		h.h = h.h[:h.limit]
	}
	return true
}

func (h *hits) records() ([]Record, []Pos) {
	if len(h.h) == 0 {
		return nil, nil
	}
	out, pos := make([]Record, len(h.h)), make([]Pos, len(h.h))
	for i := range h.h {
		out[i], pos[i] = h.h[i].r, Pos{Time: int64(h.h[i].ts), Seq: h.h[i].seq}
	}
	return out, pos
}

// searchTime finds the records in [from, to) with no number given. It
// walks the segments newest first. Segments overlap in time (a commit can
// hold late records), but each carries prefixMaxTS, the newest time of it
// and every segment before it, so the walk stops exactly when that drops
// below from, or below the oldest hit once hits are full: no older
// segment can then change the answer. Inside a segment, each record's
// time is read first and only records that can enter the hits are
// decoded.
func searchTime(h *hits, seg *bolt.Bucket, action actionFilter, from, to uint64) {
	c := seg.Cursor()
	for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
		s, err := readSegment(seg, k)
		if err != nil {
			continue // damaged: its records cannot be read
		}
		if s.prefixMaxTS < from {
			break
		}
		if h.full() && s.prefixMaxTS < h.h[len(h.h)-1].ts {
			break
		}
		if s.maxTS < from || s.minTS >= to {
			continue
		}
		for i := s.n - 1; i >= 0; i-- {
			ts, body, err := s.record(i)
			if err != nil || ts < from || ts >= to {
				continue
			}
			h.add(ts, s.first+uint64(i), body, action)
		}
	}
}

// searchNumber finds q.Number's records in [from, to), newest first. The
// index blocks are visited newest first (by their newest record), through
// their summaries; each block whose range and filter may hold the number
// is binary-searched for it and its entries in range are read newest
// first. Blocks may overlap in time (a batch can hold a late
// record), so the walk stops only when the next block's newest record is
// older than the limit-th hit, or than from: then no older block can
// change the answer.
func searchNumber(h *hits, seg, idx, flt *bolt.Bucket, q Query, from, to uint64) {
	num := uint64(q.Number)
	// Entries of num below (num, to, 0) are before to: seq 0 is never
	// assigned. Without an upper bound, everything of num.
	upper := entry{num: num, ts: to}
	if to == math.MaxUint64 {
		upper = entry{num: num + 1}
	}
	f := fetcher{seg: seg, c: seg.Cursor()}
	sw := newSummaryWalk(flt)
	for {
		k, sum, err := sw.prev()
		if k == nil {
			break
		}
		if len(k) != recKeyLen {
			continue // not a key this package wrote
		}
		newestTS, newestSeq := recKeyTime(k), recKeySeq(k)
		if newestTS < from || h.older(newestTS, newestSeq) {
			break // this block and every older one are out of reach
		}
		// A damaged summary only costs the filter: the block is read.
		if err == nil && (sum.minTime >= to || !sum.mayContain(num)) {
			continue // entirely after the range, or certainly not there
		}
		bl, err := readBlock(idx, k)
		if err != nil || bl.minTime >= to {
			continue // damaged, or entirely after the range
		}
		for i := bl.lowerBound(upper) - 1; i >= 0; i-- {
			e := bl.at(i)
			if e.num != num || e.ts < from {
				break
			}
			if h.older(e.ts, e.seq) {
				break // the rest of this block's run is older still
			}
			body, ok := f.get(e.ts, e.seq)
			if !ok {
				continue // pruned (its block is not gone yet) or damaged
			}
			h.add(e.ts, e.seq, body, q.actionFilter())
		}
	}
}

// fetcher reads records by seq, keeping the last segment parsed: a
// number's records are often close together.
type fetcher struct {
	seg *bolt.Bucket
	c   *bolt.Cursor
	s   segment
	has bool
}

// get returns the encoding of record seq if it is stored with time ts.
func (f *fetcher) get(ts, seq uint64) ([]byte, bool) {
	if !f.has || !f.s.contains(seq) {
		f.has = false
		// The segment holding seq is the one with the largest firstSeq
		// not above it.
		sk := segKey(seq + 1)
		k, _ := f.c.Seek(sk[:])
		if k == nil {
			k, _ = f.c.Last()
		} else {
			k, _ = f.c.Prev()
		}
		s, err := readSegment(f.seg, k)
		if err != nil || !s.contains(seq) {
			return nil, false
		}
		f.s, f.has = s, true
	}
	rts, body, err := f.s.record(int(seq - f.s.first))
	if err != nil || rts != ts {
		return nil, false // damaged, or not the record the entry is for
	}
	return body, true
}
