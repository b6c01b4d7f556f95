package store

import (
	"encoding/json"
	"fmt"
	"slices"

	"callgate/e164"
	"callgate/store/kv"
)

// A subscriber's numbers are in its record, which the index reads; the
// numbers/<n> keys only guard them in the kv (an assignment compares the
// key as it found it: absent, but for what a dead writer left, below).
// Taking many numbers away (deleting a PBX with a DID block of a
// thousand, or unassigning part of it) would delete more keys than
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

// Giving many numbers (creating a PBX with a DID block, assigning a block
// to one) is the same in reverse: the keys beyond numberKeysInPlace are
// written first, in transactions that each check again what the change
// will check (the numbers free in the index, the subscriber's record
// unchanged or its name still free) and compare and move the allocation
// epoch, so another writer's assignment makes the next one fail; the
// change itself then commits with the few keys left, and only then does
// the index, which reads the records, give the numbers to anybody. A
// change that fails between takes its keys back (releaseNumberKeys). A
// process that dies between leaves keys naming a subscriber whose record
// does not hold the number: nothing reads them, and the next assignment
// of such a number (the same change tried again, or any other) compares
// the key as it finds it and overwrites it, since the index and the epoch
// it compares say the number is free.
//
// Such left-over keys are harmless, so nothing sweeps them. The index,
// and through it every look-up, count, list, export and API answer,
// follows the subscriber records only (the applier skips numbers/); no
// write compares a number key absent: CreateSubscriber, AssignNumbers and
// the bulk loader take it over as found (claimNumberKeys), a subscriber
// import writes its keys over whatever is there, and unassigning or
// deleting reads which keys exist. What they cost is their bytes (about
// 30 a number, bounded by the changes that died, reused when one is tried
// again; an etcd snapshot carries them, as harmless after a restore). A sweep would have to tell them from the keys a live
// writer has prepared and not yet committed, which name a subscriber
// whose record does not hold them either; a change's last transaction
// does not compare its own prepared keys, so a sweep that took one would
// leave an assigned number without its key: more harm than the bytes.

// claimNumberKeys adds to t the writes that give the keys of nums to
// subscriber id, comparing each as it is now (absent, or left behind as
// above), except those that are id's already (a preparatory transaction
// wrote them; whoever took one since moved the epoch t compares). Caller
// holds applyMu and checked every number free in the index.
func (s *Store) claimNumberKeys(t *txn, nums []e164.Number, id uint32) error {
	return s.kv.View(func(r kv.Reader) error {
		for _, n := range nums {
			k := numberKey(n)
			v, mod, err := r.Get(k)
			if err != nil {
				return err
			}
			if v != nil && string(v) == string(u32(id)) {
				continue
			}
			t.cmp(k, mod)
			t.put(k, u32(id))
		}
		return nil
	})
}

// unclaimedNumbers returns the numbers of nums whose key is not id's.
func (s *Store) unclaimedNumbers(nums []e164.Number, id uint32) ([]e164.Number, error) {
	var out []e164.Number
	err := s.kv.View(func(r kv.Reader) error {
		for _, n := range nums {
			v, _, err := r.Get(numberKey(n))
			if err != nil {
				return err
			}
			if v == nil || string(v) != string(u32(id)) {
				out = append(out, n)
			}
		}
		return nil
	})
	return out, err
}

// putNumberKeys writes the keys of the numbers check names, beyond
// numberKeysInPlace, in transactions of at most numberKeyChunk. check runs
// under applyMu for each transaction: it checks what the change will
// check, adding its comparisons to t, and returns the subscriber's ID (0:
// none yet: a creation, which takes one in t) and the numbers it gains.
// taken is told the ID each committed transaction wrote keys for. It
// returns whether it wrote any key.
func (s *Store) putNumberKeys(check func(t *txn, id uint32) (uint32, []e164.Number, error), taken func(id uint32)) (bool, error) {
	var id uint32
	wrote := false
	for {
		more := false
		var planned uint32
		err := s.write(func(t *txn) error {
			var nums []e164.Number
			var err error
			planned, nums, err = check(t, id)
			if err != nil {
				return err
			}
			free, err := s.unclaimedNumbers(nums, planned)
			if err != nil {
				return err
			}
			if len(free) <= s.numberKeysInPlace() {
				t.reset() // nothing to prepare: the change does the rest
				return nil
			}
			if err := s.claimNumberKeys(t, free[:min(len(free)-s.numberKeysInPlace(), s.numberKeyChunk())], planned); err != nil {
				return err
			}
			more = true
			return nil
		})
		if err != nil || !more {
			return wrote, err
		}
		wrote, id = true, planned
		taken(id)
	}
}

// releaseNumberKeys deletes the keys of nums that name subscriber id
// while its record (as the kv holds it: the change may have committed
// and not yet come back through the feed) does not hold the number: what
// putNumberKeys wrote for a change that then failed. Best effort: what it
// leaves is taken over by the next assignment of the number.
func (s *Store) releaseNumberKeys(id uint32, nums []e164.Number) {
	for len(nums) > 0 {
		part := nums[:min(len(nums), s.numberKeyChunk())]
		nums = nums[len(part):]
		err := s.write(func(t *txn) error {
			return s.kv.View(func(r kv.Reader) error {
				v, mod, err := r.Get(idKey(bSubscribers, id))
				if err != nil {
					return err
				}
				var rec struct {
					Numbers []e164.Number `json:"numbers"`
				}
				if v != nil {
					if err := json.Unmarshal(v, &rec); err != nil {
						return fmt.Errorf("subscriber id %d: %w", id, err)
					}
				}
				t.cmp(idKey(bSubscribers, id), mod)
				for _, n := range part {
					k := numberKey(n)
					v, mod, err := r.Get(k)
					if err != nil {
						return err
					}
					if v == nil || string(v) != string(u32(id)) || slices.Contains(rec.Numbers, n) {
						continue
					}
					t.cmp(k, mod)
					t.del(k)
				}
				return nil
			})
		})
		if err != nil {
			s.report(fmt.Errorf("take back the number keys of a failed assignment to subscriber id %d: %w (the next assignment of those numbers overwrites them)", id, err))
			return
		}
	}
}
