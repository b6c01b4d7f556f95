package store

import (
	"callgate/e164"
	"callgate/store/kv"
)

// A subscriber's numbers are in its record, which the index reads; the
// numbers/<n> keys only guard them in the kv (an assignment compares the
// key absent). Taking many numbers away (deleting a PBX with a DID block
// of a thousand, or unassigning part of it) would delete more keys than
// one transaction may carry within etcd's limits (kv.EtcdDefaults; on
// every backend, so a change behaves the same everywhere). So their keys
// go first, in transactions that each compare the subscriber's record
// unchanged, and the change itself (record, name, lists, audit) then
// commits in one transaction with the few keys left. A process that dies
// in between leaves the subscriber whole: its numbers are still in its
// record, so the index still refuses them to anybody else (every
// assignment also moves the allocation epoch, which catches other nodes'
// races), and the change, tried again, finishes.

// numberKeysInPlace is how many number keys the change's own transaction
// deletes at most; numberKeyChunk how many a preparatory one does.
func (s *Store) numberKeysInPlace() int { return s.atomicLimits().MaxOps / 2 }
func (s *Store) numberKeyChunk() int    { return s.atomicLimits().MaxOps - 8 }

// existingNumberKeys returns the keys of nums the kv holds.
func (s *Store) existingNumberKeys(nums []e164.Number) ([][]byte, error) {
	var keys [][]byte
	err := s.kv.View(func(r kv.Reader) error {
		for _, n := range nums {
			k := numberKey(n)
			if v, _, err := r.Get(k); err != nil {
				return err
			} else if v != nil {
				keys = append(keys, k)
			}
		}
		return nil
	})
	return keys, err
}

// dropNumberKeys deletes the keys of the numbers that find names, beyond
// numberKeysInPlace, in transactions that each hold only while the
// subscriber's record is as find read it. find runs under applyMu, for
// each transaction, and checks what the change itself will check.
func (s *Store) dropNumberKeys(find func() (*subState, []e164.Number, error)) error {
	for {
		more := false
		err := s.write(func(t *txn) error {
			st, nums, err := find()
			if err != nil {
				return err
			}
			keys, err := s.existingNumberKeys(nums)
			if err != nil || len(keys) <= s.numberKeysInPlace() {
				return err
			}
			keys = keys[:min(len(keys)-s.numberKeysInPlace(), s.numberKeyChunk())]
			t.cmp(idKey(bSubscribers, st.rec.ID), st.mod)
			for _, k := range keys {
				t.del(k)
			}
			more = true
			return nil
		})
		if err != nil || !more {
			return err
		}
	}
}
