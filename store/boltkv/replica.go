package boltkv

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"callgate/store/kv"

	bolt "go.etcd.io/bbolt"
)

// This file is the replica side: a DB that mirrors another system of
// record (store/etcdkv) takes that system's events and revisions as they
// are, instead of committing its own.

// Apply writes one event of the system of record (every change at ev.Rev,
// which must be above the current revision) and delivers it to the
// subscribers.
func (d *DB) Apply(ev kv.Event) error {
	if d.opts.ReadOnly {
		return kv.ErrReadOnly
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return kv.ErrClosed
	}
	if have := d.rev.Load(); ev.Rev <= have {
		return fmt.Errorf("apply revision %d: not above the replica's %d", ev.Rev, have)
	}
	var w *writer
	err := d.db.Update(func(tx *bolt.Tx) error {
		w = d.newWriter(tx)
		for _, c := range ev.Changes {
			var err error
			if c.Deleted {
				_, err = w.del(c.Key)
			} else {
				err = w.put(c.Key, c.Value, c.ModRev, false)
			}
			if err != nil {
				return fmt.Errorf("revision %d: %q: %w", ev.Rev, c.Key, err)
			}
		}
		return w.meta.Put(keyRev, binary.BigEndian.AppendUint64(nil, uint64(ev.Rev)))
	})
	if err != nil {
		return err
	}
	d.commitMarks(w)
	d.rev.Store(ev.Rev)
	d.deliver(ev)
	return nil
}

// Replace discards every key and writes the system of record's state at rev
// (fill calls put once per key), in one transaction, then delivers a Reset
// event. Local values (SetLocal) are kept.
func (d *DB) Replace(rev int64, fill func(put func(key, value []byte, modRev int64) error) error) error {
	if d.opts.ReadOnly {
		return kv.ErrReadOnly
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return kv.ErrClosed
	}
	err := d.db.Update(func(tx *bolt.Tx) error {
		for _, name := range (Legacy{tx}).Buckets() {
			if name == string(bktKV) {
				continue
			}
			if err := tx.DeleteBucket([]byte(name)); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bktKV)
		var marks [][]byte
		c := meta.Cursor()
		for k, _ := c.Seek(ephemPfx); k != nil && bytes.HasPrefix(k, ephemPfx); k, _ = c.Next() {
			marks = append(marks, bytes.Clone(k))
		}
		for _, k := range marks {
			if err := meta.Delete(k); err != nil {
				return err
			}
		}
		w := &writer{tx: tx, meta: meta} // every marker is gone: none to look for
		err := fill(func(key, value []byte, modRev int64) error {
			return w.put(key, value, modRev, false)
		})
		if err != nil {
			return err
		}
		return meta.Put(keyRev, binary.BigEndian.AppendUint64(nil, uint64(rev)))
	})
	if err != nil {
		return err
	}
	d.rev.Store(rev)
	clear(d.ephem)
	d.deliver(kv.Event{Rev: rev, Reset: true})
	return nil
}

// SetLocal stores a value that belongs to this file, not to the key space
// (a replica's notes about its source). It is not a change: no revision,
// no event.
func (d *DB) SetLocal(name string, value []byte) error {
	return d.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bktKV).Put(append(bytes.Clone(localPfx), name...), value)
	})
}

// Local returns a value stored with SetLocal (nil if none).
func (d *DB) Local(name string) ([]byte, error) {
	var out []byte
	err := d.db.View(func(tx *bolt.Tx) error {
		out = bytes.Clone(tx.Bucket(bktKV).Get(append(bytes.Clone(localPfx), name...)))
		return nil
	})
	return out, err
}
