package decisionlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
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
// walks that number's index entries only; otherwise it walks the records
// backwards from q.To. Either way it stops after q.From or at q.Limit
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
		rec, num := tx.Bucket(bucketRec), tx.Bucket(bucketNum)
		if rec == nil || num == nil {
			return fmt.Errorf("decisionlog: %s: buckets missing", l.path)
		}
		keep := func(k, v []byte) error {
			var r Record
			if err := decodeRecord(v, &r); err != nil {
				return fmt.Errorf("decisionlog: %s: record %x: %w", l.path, k, err)
			}
			if q.Action != 0 && r.Action != q.Action {
				return nil
			}
			r.Time = time.Unix(0, int64(recKeyTime(k)))
			out = append(out, r)
			return nil
		}
		if q.Number == 0 {
			c := rec.Cursor()
			for k, v := seekBefore(c, timeBound(to)); k != nil && len(out) < limit; k, v = c.Prev() {
				if len(k) != recKeyLen {
					continue
				}
				if recKeyTime(k) < from {
					break
				}
				if err := keep(k, v); err != nil {
					return err
				}
			}
			return nil
		}
		var prefix [8]byte
		binary.BigEndian.PutUint64(prefix[:], uint64(q.Number))
		var upper []byte
		if to == math.MaxUint64 {
			upper = binary.BigEndian.AppendUint64(nil, uint64(q.Number)+1)
		} else {
			upper = appendNumKey(nil, q.Number, to, 0)
		}
		c := num.Cursor()
		for k, _ := seekBefore(c, upper); k != nil && len(out) < limit; k, _ = c.Prev() {
			if !bytes.HasPrefix(k, prefix[:]) {
				break
			}
			if len(k) != numKeyLen {
				continue
			}
			rk := k[8:]
			if recKeyTime(rk) < from {
				break
			}
			v := rec.Get(rk)
			if v == nil {
				continue // pruned record whose index entry could not be read
			}
			if err := keep(rk, v); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return nil, ErrClosed
	}
	return out, err
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
