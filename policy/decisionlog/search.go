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
	Action policy.Action // only this action; 0 = any
	Limit  int           // most records returned; 0 = DefaultLimit
}

// Search returns the records matching q, newest first. With a Number it
// reads that number's index entries only (a binary search in each index
// block); otherwise it walks the records backwards from q.To. Either way it stops after q.From or at q.Limit
// (an Action filter may make it read more records than it returns).
// Records still queued are not visible until written (see Flush).
func (l *Log) Search(q Query) ([]Record, error) {
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
	if from >= to {
		return nil, nil
	}
	var out []Record
	err := l.db.View(func(tx *bolt.Tx) error {
		rec, idx := tx.Bucket(bucketRec), tx.Bucket(bucketIdx)
		if rec == nil || idx == nil {
			return fmt.Errorf("decisionlog: %s: buckets missing", l.path)
		}
		if q.Number != 0 {
			var err error
			out, err = l.searchNumber(rec, idx, q, from, to, limit)
			return err
		}
		c := rec.Cursor()
		for k, v := seekBefore(c, timeBound(to)); k != nil && len(out) < limit; k, v = c.Prev() {
			if len(k) != recKeyLen {
				continue
			}
			if recKeyTime(k) < from {
				break
			}
			r, ok, err := l.decode(k, v, q.Action)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, r)
			}
		}
		return nil
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return nil, ErrClosed
	}
	return out, err
}

// decode decodes the record at rec key k with value v, and reports
// whether it passes the action filter.
func (l *Log) decode(k, v []byte, action policy.Action) (Record, bool, error) {
	var r Record
	if err := decodeRecord(v, &r); err != nil {
		return r, false, fmt.Errorf("decisionlog: %s: record %x: %w", l.path, k, err)
	}
	if action != 0 && r.Action != action {
		return r, false, nil
	}
	r.Time = time.Unix(0, int64(recKeyTime(k)))
	return r, true, nil
}

// hit is a record found by searchNumber, with its key for ordering.
type hit struct {
	ts, seq uint64
	r       Record
}

// searchNumber finds q.Number's records in [from, to), newest first. The
// index blocks are visited newest first (by their newest record); each
// block is binary-searched for the number and its entries in range are
// read newest first. Blocks may overlap in time (a batch can hold a late
// record), so hits are kept in key order and the walk stops only when the
// next block's newest record is older than the limit-th hit, or than from:
// then no older block can change the answer.
func (l *Log) searchNumber(rec, idx *bolt.Bucket, q Query, from, to uint64, limit int) ([]Record, error) {
	num := uint64(q.Number)
	// Entries of num below (num, to, 0) are before to: seq 0 is never
	// assigned. Without an upper bound, everything of num.
	upper := entry{num: num, ts: to}
	if to == math.MaxUint64 {
		upper = entry{num: num + 1}
	}
	var hits []hit // newest first, at most limit
	// older reports whether hits is full and record key (ts, seq) is older
	// than all of them, so it cannot make the answer.
	older := func(ts, seq uint64) bool {
		if len(hits) < limit {
			return false
		}
		last := &hits[len(hits)-1]
		return recKeyLess(ts, seq, last.ts, last.seq)
	}
	c := idx.Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		if len(k) != recKeyLen {
			continue // not a key this package wrote
		}
		newestTS, newestSeq := recKeyTime(k), recKeySeq(k)
		if newestTS < from || older(newestTS, newestSeq) {
			break // this block and every older one are out of reach
		}
		bl, err := parseBlock(v)
		if err != nil {
			return nil, fmt.Errorf("decisionlog: %s: index block %x: %w", l.path, k, err)
		}
		if bl.minTime >= to {
			continue // entirely after the range
		}
		var rk [recKeyLen]byte
		for i := bl.lowerBound(upper) - 1; i >= 0; i-- {
			e := bl.at(i)
			if e.num != num || e.ts < from {
				break
			}
			if older(e.ts, e.seq) {
				break // the rest of this block's run is older still
			}
			appendRecKey(rk[:0], e.ts, e.seq)
			v := rec.Get(rk[:])
			if v == nil {
				continue // pruned record whose block is not gone yet
			}
			r, ok, err := l.decode(rk[:], v, q.Action)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			// Insert in key order (newest first), keeping at most limit.
			at, _ := slices.BinarySearchFunc(hits, e, func(h hit, e entry) int {
				switch {
				case recKeyLess(e.ts, e.seq, h.ts, h.seq):
					return -1 // h is newer: it goes first
				case h.ts == e.ts && h.seq == e.seq:
					return 0
				}
				return 1
			})
			hits = slices.Insert(hits, at, hit{ts: e.ts, seq: e.seq, r: r})
			if len(hits) > limit {
				hits = hits[:limit]
			}
		}
	}
	if len(hits) == 0 {
		return nil, nil
	}
	out := make([]Record, len(hits))
	for i := range hits {
		out[i] = hits[i].r
	}
	return out, nil
}

// timeBound is the rec key just below every record at time ts: seq 0 is
// never assigned (bucket sequences start at 1).
func timeBound(ts uint64) []byte {
	if ts == math.MaxUint64 {
		return nil
	}
	return appendRecKey(nil, ts, 0)
}

// seekBefore positions c on the last key below target (nil target: the
// last key) and returns it.
func seekBefore(c *bolt.Cursor, target []byte) ([]byte, []byte) {
	if target == nil {
		return c.Last()
	}
	k, _ := c.Seek(target)
	if k == nil {
		return c.Last()
	}
	return c.Prev()
}
