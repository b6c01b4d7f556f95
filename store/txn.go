package store

import (
	"bytes"
	"encoding/json"

	"callgate/store/kv"
)

// txn collects one kv transaction: comparisons on what the plan read and
// the writes. etcd refuses a transaction that writes one key twice, so a
// later write of a key replaces the earlier one in place.
type txn struct {
	cmps  []kv.Cmp
	ops   []kv.Op
	at    map[string]int  // key -> index in ops (single-key ops)
	cmpd  map[string]bool // keys compared, once there are many (a bulk batch)
	bytes int
	// auditRec is the change's audit record (audit.go), added to the
	// transaction by writeLocked.
	auditRec *AuditRecord
}

// cmp makes the transaction hold only if key's mod revision is still mod
// (0: key still absent).
func (t *txn) cmp(key []byte, mod int64) {
	// A scan for the few comparisons of an ordinary write; a set once a
	// bulk batch has many (a scan each would make the batch quadratic).
	if t.cmpd == nil && len(t.cmps) < 32 {
		for _, c := range t.cmps {
			if bytes.Equal(c.Key, key) {
				return
			}
		}
	} else {
		if t.cmpd == nil {
			t.cmpd = make(map[string]bool, 2*len(t.cmps))
			for _, c := range t.cmps {
				t.cmpd[string(c.Key)] = true
			}
		}
		if t.cmpd[string(key)] {
			return
		}
		t.cmpd[string(key)] = true
	}
	t.cmps = append(t.cmps, kv.Cmp{Key: key, ModRev: mod})
	t.bytes += len(key) + 8
}

func (t *txn) set(op kv.Op) {
	if t.at == nil {
		t.at = make(map[string]int)
	}
	if i, ok := t.at[string(op.Key)]; ok {
		t.bytes += op.Size() - t.ops[i].Size()
		t.ops[i] = op
		return
	}
	t.at[string(op.Key)] = len(t.ops)
	t.ops = append(t.ops, op)
	t.bytes += op.Size()
}

func (t *txn) put(key, value []byte) { t.set(kv.Put(key, value)) }

func (t *txn) putJSON(key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	t.put(key, data)
	return nil
}

func (t *txn) del(key []byte) { t.set(kv.Delete(key)) }

// delPrefix deletes every key starting with prefix. The caller makes sure
// the transaction writes no key in that range.
func (t *txn) delPrefix(prefix []byte) {
	op := kv.DeletePrefix(prefix)
	t.ops = append(t.ops, op)
	t.bytes += op.Size()
}

// bump rewrites an epoch key (meta/lists, meta/allocations): its value does
// not matter, its new mod revision does.
func (t *txn) bump(key []byte) { t.put(key, []byte{1}) }

// fits says whether the transaction is within l.
func (t *txn) fits(l kv.Limits) bool {
	return len(t.ops) <= l.MaxOps && len(t.cmps) <= l.MaxOps && t.bytes <= l.MaxBytes
}

// reset empties the transaction for reuse.
func (t *txn) reset() {
	t.cmps, t.ops, t.at, t.cmpd, t.bytes, t.auditRec = t.cmps[:0], t.ops[:0], nil, nil, 0, nil
}
