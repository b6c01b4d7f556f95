package store

import (
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// The fraud signal's state (lockdowns, its audit log, daily spend, the rate
// table; see package fraud, State) lives in this store, so it is kept and
// replicated with the tenants it is about. The store does not read it: it
// holds opaque values under the signal's own keys, in the bucket "fraud",
// created by the first write (a file without it reads as empty).

var bktFraud = []byte("fraud")

// FraudOp is one write of FraudWrite: Value under Key, or Key deleted.
type FraudOp struct {
	Key    string
	Value  []byte
	Delete bool
}

// FraudGet returns the value under key (a copy).
func (s *Store) FraudGet(key string) ([]byte, bool, error) {
	var out []byte
	var ok bool
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktFraud)
		if b == nil {
			return nil
		}
		if v := b.Get([]byte(key)); v != nil {
			out, ok = append([]byte{}, v...), true
		}
		return nil
	})
	return out, ok, err
}

// FraudScan calls fn for every key starting with prefix, in key order,
// inside one read transaction; fn must not keep value.
func (s *Store) FraudScan(prefix string, fn func(key string, value []byte) error) error {
	return s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktFraud)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix); k, v = c.Next() {
			if err := fn(string(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// FraudWrite applies ops in one transaction.
func (s *Store) FraudWrite(ops []FraudOp) error {
	return s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bktFraud)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if op.Key == "" {
				return fmt.Errorf("fraud state: empty key: %w", ErrInvalid)
			}
			if op.Delete {
				err = b.Delete([]byte(op.Key))
			} else {
				err = b.Put([]byte(op.Key), op.Value)
			}
			if err != nil {
				return fmt.Errorf("fraud state %s: %w", op.Key, err)
			}
		}
		return nil
	}, nil)
}
