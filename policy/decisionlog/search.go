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
	// Subscriber, when set, keeps only the records whose subscriber it
	// accepts (the tenants an API caller may see): the filter is applied
	// in the walk, before a record is decoded and before it counts
	// towards Limit, so a page of one tenant's records is one pass
	// however many records of other tenants lie between them. It must be
	// safe to call from the search (it runs inside the log's read
	// transaction) and must not call the log.
	Subscriber func(id uint32) bool
	Limit      int // most records returned; 0 = DefaultLimit
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

// Result is what a search found, and what it could not read.
type Result struct {
	Records []Record // newest first
	Pos     []Pos    // each record's place (Query.After pages from the last)
	Damage  Damage   // what the search had to skip or read another way
}

// Search returns the records matching q, newest first (by time, then by
// commit order). With a Number it reads that number's index entries only
// (a Bloom filter test per index block, and a binary search in the blocks
// that may hold the number); otherwise it walks the segments
// backwards from the newest. Either way it stops as soon as nothing older
// can make the answer (an Action filter may make it read more records
// than it returns). Records still queued are not visible until written
// (see Flush). What a search cannot read (damage.go) is counted in Stats
// only: callers that show the answer to a person use Find, which says.
func (l *Log) Search(q Query) ([]Record, error) {
	res, err := l.Find(q)
	return res.Records, err
}

// Find is Search with each record's Pos and the damage the search met: a
// damaged segment or record is skipped and counted; the records of a
// damaged index block are looked for in the segments instead (a time walk
// over the block's time span, filtered by number), and the block counted.
// A Result with Damage is an answer that may miss records, never an
// error: the rest of the log is still worth reading.
func (l *Log) Find(q Query) (Result, error) {
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
		return Result{}, fmt.Errorf("decisionlog: query for action %s and for no action at once: set one of Action and NoAction", q.Action)
	}
	h := hits{limit: limit}
	if q.After != (Pos{}) {
		if q.After.Time < 0 {
			return Result{}, nil // nothing is older
		}
		h.after, h.afterTS, h.afterSeq = true, uint64(q.After.Time), q.After.Seq
		to = min(to, h.afterTS+1)
	}
	if from >= to {
		return Result{}, nil
	}
	var res Result
	err := l.view(func(tx *bolt.Tx) error {
		seg, idx, flt := tx.Bucket(bucketSeg), tx.Bucket(bucketIdx), tx.Bucket(bucketFlt)
		if seg == nil || idx == nil || flt == nil {
			return fmt.Errorf("decisionlog: %s: buckets missing", l.path)
		}
		if q.Number != 0 {
			searchNumber(&h, seg, idx, flt, q, from, to)
		} else {
			searchTime(&h, seg, q.actionFilter(), 0, from, to)
		}
		res.Records, res.Pos = h.records()
		res.Damage = h.dmg.result()
		return nil
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return Result{}, ErrClosed
	}
	l.countDamage(res.Damage)
	return res, err
}

// actionFilter is a Query's filters on a record's head: when on, only
// records whose action is a (0 for NoAction); when sub is set, only
// records whose subscriber it accepts.
type actionFilter struct {
	on  bool
	a   policy.Action
	sub func(uint32) bool
}

func (q *Query) actionFilter() actionFilter {
	return actionFilter{on: q.Action != 0 || q.NoAction, a: q.Action, sub: q.Subscriber}
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
	dmg               damage // what the search could not read (damage.go)
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
// action filter and is among the newest limit. A record that does not
// decode is counted as damage. A record already kept (found again by the
// segment walk that stands in for a damaged index block) is not added
// twice.
func (h *hits) add(ts, seq uint64, body []byte, action actionFilter) {
	if h.older(ts, seq) || h.after && !recKeyLess(ts, seq, h.afterTS, h.afterSeq) {
		return
	}
	if action.on || action.sub != nil {
		a, sub, err := decodeHead(body)
		if err != nil {
			h.dmg.record(seq)
			return
		}
		if action.on && a != action.a || action.sub != nil && !action.sub(sub) {
			return
		}
	}
	// Insert in key order (newest first), keeping at most limit. Walks
	// go newest first, so this is nearly always an append.
	at := len(h.h)
	for at > 0 && recKeyLess(h.h[at-1].ts, h.h[at-1].seq, ts, seq) {
		at--
	}
	if at > 0 && h.h[at-1].ts == ts && h.h[at-1].seq == seq {
		return // kept already
	}
	var r Record
	if err := decodeRecord(body, &r); err != nil {
		h.dmg.record(seq)
		return
	}
	r.Time = time.Unix(0, int64(ts))
	h.h = slices.Insert(h.h, at, hit{ts: ts, seq: seq, r: r})
	if len(h.h) > h.limit {
		h.h = h.h[:h.limit]
	}
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

// searchTime finds the records in [from, to), of number num if it is not
// 0 (the walk that stands in for a damaged index block; a number search
// otherwise goes through the index). It walks the segments newest first. Segments overlap in time (a commit can
// hold late records), but each carries prefixMaxTS, the newest time of it
// and every segment before it, so the walk stops exactly when that drops
// below from, or below the oldest hit once hits are full: no older
// segment can then change the answer. Inside a segment, each record's
// time is read first and only records that can enter the hits are
// decoded.
func searchTime(h *hits, seg *bolt.Bucket, action actionFilter, num, from, to uint64) {
	c := seg.Cursor()
	for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
		s, err := readSegment(seg, k)
		if err != nil {
			h.dmg.segment(k) // its records cannot be read
			continue
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
			seq := s.first + uint64(i)
			ts, body, err := s.record(i)
			if err != nil {
				h.dmg.record(seq)
				continue
			}
			if ts < from || ts >= to {
				continue
			}
			if num != 0 {
				calling, called, original, err := decodeNumbers(body)
				if err != nil {
					h.dmg.record(seq)
					continue
				}
				if uint64(calling) != num && uint64(called) != num && uint64(original) != num {
					continue
				}
			}
			h.add(ts, seq, body, action)
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
// change the answer. A block that cannot be read is stood in for by a
// walk of the segments over its time span (from its summary's minTime,
// when that is readable, to its key's time), keeping the records of
// the number: slower, but every record still in a segment is found.
func searchNumber(h *hits, seg, idx, flt *bolt.Bucket, q Query, from, to uint64) {
	num := uint64(q.Number)
	// Entries of num below (num, to, 0) are before to: seq 0 is never
	// assigned. Without an upper bound, everything of num.
	upper := entry{num: num, ts: to}
	if to == math.MaxUint64 {
		upper = entry{num: num + 1}
	}
	f := fetcher{seg: seg, c: seg.Cursor(), dmg: &h.dmg}
	sw := newSummaryWalk(flt)
	for {
		k, sum, err := sw.prev()
		if k == nil {
			break
		}
		if len(k) != recKeyLen {
			// Not a key this package wrote: the summary of some block,
			// whose span is unknown. Every segment in range is walked.
			h.dmg.Blocks++
			searchTime(h, seg, q.actionFilter(), num, from, to)
			continue
		}
		newestTS, newestSeq := recKeyTime(k), recKeySeq(k)
		if newestTS < from || h.older(newestTS, newestSeq) {
			break // this block and every older one are out of reach
		}
		// A damaged summary only costs the filter: the block is read.
		if err == nil && (sum.minTime >= to || !sum.mayContain(num)) {
			continue // entirely after the range, or certainly not there
		}
		bl, berr := readBlock(idx, k)
		if berr != nil {
			h.dmg.Blocks++
			lo := from
			if err == nil {
				lo = max(lo, sum.minTime)
			}
			searchTime(h, seg, q.actionFilter(), num, lo, min(to, newestTS+1))
			continue
		}
		if bl.minTime >= to {
			continue // entirely after the range
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
				continue // pruned (its block is not gone yet), or damaged (counted)
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
	dmg *damage
}

// get returns the encoding of record seq if it is stored with time ts.
// A record pruned (below the first segment) is not found and is no
// damage; one whose segment, or itself, cannot be read, or stored with
// another time than its index entry says, is counted as damage.
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
		if k == nil {
			return nil, false // pruned
		}
		s, err := readSegment(f.seg, k)
		if err != nil {
			f.dmg.segment(k)
			return nil, false
		}
		if !s.contains(seq) {
			// Between two segments: pruning takes segments from the
			// front only, so the one holding seq is gone by damage.
			f.dmg.record(seq)
			return nil, false
		}
		f.s, f.has = s, true
	}
	rts, body, err := f.s.record(int(seq - f.s.first))
	if err != nil || rts != ts {
		f.dmg.record(seq) // damaged, or not the record the entry is for
		return nil, false
	}
	return body, true
}
