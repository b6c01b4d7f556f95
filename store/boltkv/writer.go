package boltkv

import (
	"encoding/binary"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// writer is one write transaction's view of the file. It keeps the bbolt
// buckets it has opened (a bulk transaction puts tens of thousands of keys
// into a handful of buckets) and knows which keys carry an ephemeral
// marker, so a plain put or delete does not look for a marker that cannot
// be there: the markers are written by this process alone (the file is
// locked) and those of a dead one are dropped at Open, so DB.ephem, updated
// when a transaction commits, is exact.
type writer struct {
	tx      *bolt.Tx
	meta    *bolt.Bucket
	buckets map[string]*bolt.Bucket
	marked  map[string]bool // the DB's markers before this transaction (read only)
	changed map[string]bool // markers this transaction sets (true) or removes (false)
	scratch []byte          // marker keys are built here
	arena   []byte          // stored values are built here (bbolt keeps them until the commit)
}

// wrap is the stored form of value (see the package's wrap), in the
// transaction's arena: one allocation for many values.
func (w *writer) wrap(rev int64, value []byte) []byte {
	n := 8 + len(value)
	if cap(w.arena)-len(w.arena) < n {
		if n > 4096 {
			return wrap(rev, value)
		}
		w.arena = make([]byte, 0, 256<<10)
	}
	start := len(w.arena)
	w.arena = binary.BigEndian.AppendUint64(w.arena, uint64(rev))
	w.arena = append(w.arena, value...)
	return w.arena[start:len(w.arena):len(w.arena)]
}

func (d *DB) newWriter(tx *bolt.Tx) *writer {
	return &writer{tx: tx, meta: tx.Bucket(bktKV), marked: d.ephem}
}

// bucket returns bucket name, creating it if create is set (nil if absent).
func (w *writer) bucket(name []byte, create bool) (*bolt.Bucket, error) {
	if b := w.buckets[string(name)]; b != nil {
		return b, nil
	}
	var b *bolt.Bucket
	if create {
		var err error
		if b, err = w.tx.CreateBucketIfNotExists(name); err != nil {
			return nil, err
		}
	} else if b = w.tx.Bucket(name); b == nil {
		return nil, nil
	}
	if w.buckets == nil {
		w.buckets = make(map[string]*bolt.Bucket)
	}
	w.buckets[string(name)] = b
	return b, nil
}

func (w *writer) hasMark(key []byte) bool {
	if on, ok := w.changed[string(key)]; ok {
		return on
	}
	return w.marked[string(key)]
}

// mark sets or removes key's ephemeral marker.
func (w *writer) mark(key []byte, on bool) error {
	if on == w.hasMark(key) {
		return nil
	}
	if w.changed == nil {
		w.changed = make(map[string]bool)
	}
	w.changed[string(key)] = on
	w.scratch = append(append(w.scratch[:0], ephemPfx...), key...)
	if on {
		return w.meta.Put(slices.Clone(w.scratch), nil)
	}
	return w.meta.Delete(w.scratch)
}

// commitMarks records the markers of a committed transaction. Caller
// holds d.mu.
func (d *DB) commitMarks(w *writer) {
	for k, on := range w.changed {
		if on {
			d.ephem[k] = true
		} else {
			delete(d.ephem, k)
		}
	}
}
