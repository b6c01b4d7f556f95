package store

import (
	"fmt"

	"callgate/store/kv"
)

// The fraud signal's state (lockdowns, its audit log, daily spend, the rate
// table; see package fraud, State) lives in this store, so it is kept and
// replicated with the tenants it is about (over etcd, every node's replica
// has it; each node's monitor reads the locks back from there every
// second: fraud/cluster.go). The store does not interpret it: it
// holds opaque values under the signal's own keys, in the bucket "fraud",
// and the index skips them.

// FraudOp is one write of FraudWrite: Value under Key, or Key deleted.
type FraudOp struct {
	Key    string
	Value  []byte
	Delete bool
}

func fraudKey(key string) []byte { return append([]byte(bFraud+"/"), key...) }

// FraudGet returns the value under key (a copy).
func (s *Store) FraudGet(key string) ([]byte, bool, error) {
	var out []byte
	var ok bool
	err := s.kv.View(func(r kv.Reader) error {
		v, _, err := r.Get(fraudKey(key))
		if err != nil || v == nil {
			return err
		}
		out, ok = append([]byte{}, v...), true
		return nil
	})
	return out, ok, err
}

// FraudScan calls fn for every key starting with prefix, in key order,
// inside one consistent snapshot; fn must not keep value.
func (s *Store) FraudScan(prefix string, fn func(key string, value []byte) error) error {
	start := fraudKey(prefix)
	n := len(bFraud) + 1
	return s.kv.View(func(r kv.Reader) error {
		return r.Range(start, kv.PrefixEnd(start), func(k, v []byte, _ int64) error {
			return fn(string(k[n:]), v)
		})
	})
}

// FraudAudit is the audit record a fraud write carries: the signal's
// lockdowns, unlocks and rate imports are changes like any other, found by
// `callgate audit search` and GET /api/v1/audit beside them.
type FraudAudit struct {
	Actor  Actor
	Op     string // "fraud.unlock"
	Object string // "subscriber dave", "rate table"
	// Provider is the service provider whose group it is ("" for the
	// platform's own), so that provider's audit search finds it.
	Provider string
	After    any
}

// FraudWriteAudited applies ops and a's audit record in one transaction:
// neither is stored without the other.
func (s *Store) FraudWriteAudited(a FraudAudit, ops []FraudOp) error {
	if len(ops) == 0 {
		return fmt.Errorf("fraud state: an audited write with nothing to write: %w", ErrInvalid)
	}
	return s.write(func(t *txn) error {
		var sc auditScope
		if a.Provider != "" {
			if p, err := s.ix.providerByName(a.Provider); err == nil {
				sc = provScope(p.rec)
			}
		}
		if err := t.audit(a.Actor, a.Op, a.Object, sc, nil, a.After); err != nil {
			return err
		}
		return fraudOps(t, ops)
	})
}

// FraudWrite applies ops in one transaction.
func (s *Store) FraudWrite(ops []FraudOp) error {
	for _, op := range ops {
		if op.Key == "" {
			return fmt.Errorf("fraud state: empty key: %w", ErrInvalid)
		}
	}
	return s.write(func(t *txn) error { return fraudOps(t, ops) })
}

func fraudOps(t *txn, ops []FraudOp) error {
	for _, op := range ops {
		if op.Key == "" {
			return fmt.Errorf("fraud state: empty key: %w", ErrInvalid)
		}
		if op.Delete {
			t.del(fraudKey(op.Key))
		} else {
			t.put(fraudKey(op.Key), op.Value)
		}
	}
	return nil
}
