package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"callgate/e164"
	"callgate/store/boltkv"
	"callgate/store/kv"
)

// migration upgrades the key space from version from to from+1 in one
// transaction, so a crash mid-migration leaves it at version from. It
// returns the writes; the version bump is added by checkSchema.
type migration struct {
	from uint32
	what string
	up   func(r kv.Reader) ([]kv.Op, error)
}

// migrations must cover every version from 1 to SchemaVersion-1, in order.
var migrations = []migration{
	{from: 1, what: "list rows: one key per row in \"lists\" -> chunks in \"entries\" and \"notes\"", up: migrateV1},
	{from: 2, what: "lists get generations: entries/notes keys gain a generation (0)", up: migrateV2},
}

// unlimitedTxn is a backend that can commit a transaction of any size
// (boltkv): schema migrations need one. Only bbolt files predate the
// current schema; an etcd key space starts at it.
type unlimitedTxn interface {
	TxnUnlimited(ctx context.Context, cmps []kv.Cmp, ops []kv.Op) (int64, error)
}

// acceptLegacy is boltkv's check before it upgrades a file written before
// the kv format (callgate schema 1 and 2): it must be a callgate store.
func acceptLegacy(l boltkv.Legacy) error {
	v := l.Get(bMeta, "schema")
	if len(v) != 4 {
		return fmt.Errorf("bbolt file has buckets %q but no callgate schema version; not a callgate store", l.Buckets())
	}
	switch ver := binary.BigEndian.Uint32(v); {
	case ver > SchemaVersion:
		return fmt.Errorf("schema version %d: %w (%d); use a newer callgate release", ver, ErrSchemaNewer, SchemaVersion)
	case ver > 2:
		return fmt.Errorf("schema version %d without the kv format: not written by callgate", ver)
	}
	return nil
}

func (s *Store) readSchema() (version uint32, hasData bool, err error) {
	err = s.kv.View(func(r kv.Reader) error {
		v, mod, err := r.Get(keySchema)
		if err != nil {
			return err
		}
		if mod != 0 {
			if len(v) != 4 {
				return fmt.Errorf("meta/schema: %d bytes, want 4", len(v))
			}
			version = binary.BigEndian.Uint32(v)
			return nil
		}
		for _, b := range append(slices.Clone(allBuckets), "lists") {
			p := bucketPrefix(b)
			err := r.Range(p, prefixEnd(p), func([]byte, []byte, int64) error { return errStop })
			if errors.Is(err, errStop) {
				hasData = true
				return nil
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	return version, hasData, err
}

// checkSchema initialises a new key space, refuses a newer one and
// migrates an older one step by step.
func (s *Store) checkSchema() error {
	var (
		version uint32
		hasData bool
		err     error
	)
	// A new key space is initialised by the first node to get there; the
	// others see their initialisation conflict and read the schema again
	// once their replica has it.
	for attempt := 0; ; attempt++ {
		if version, hasData, err = s.readSchema(); err != nil {
			return err
		}
		if version != 0 || hasData || s.opts.ReadOnly {
			break
		}
		_, err := s.kv.Txn(context.Background(), []kv.Cmp{{Key: keySchema}},
			[]kv.Op{kv.Put(keySchema, binary.BigEndian.AppendUint32(nil, SchemaVersion))})
		if err == nil {
			return nil
		}
		if !errors.Is(err, kv.ErrConflict) || attempt == 50 {
			return fmt.Errorf("initialise the schema: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	switch {
	case version == SchemaVersion:
		return nil
	case version > SchemaVersion:
		return fmt.Errorf("schema version %d: %w (%d); use a newer callgate release", version, ErrSchemaNewer, SchemaVersion)
	case version == 0 && hasData:
		return fmt.Errorf("data but no callgate schema version; not a callgate store")
	case s.opts.ReadOnly && version == 0:
		return fmt.Errorf("not a callgate store (no schema version); cannot initialise it read-only")
	case s.opts.ReadOnly:
		return fmt.Errorf("schema version %d needs migration to %d; open it read-write once", version, SchemaVersion)
	}
	big, ok := s.kv.(unlimitedTxn)
	if !ok {
		return fmt.Errorf("schema version %d needs migration, which %s cannot do; migrate with a bbolt file", version, s.kv)
	}
	for _, m := range migrations {
		if m.from < version {
			continue
		}
		var ops []kv.Op
		var mod int64
		err := s.kv.View(func(r kv.Reader) error {
			v, m2, err := r.Get(keySchema)
			if err != nil {
				return err
			}
			if len(v) != 4 || binary.BigEndian.Uint32(v) != m.from {
				return fmt.Errorf("expected schema version %d before migration, found %x", m.from, v)
			}
			mod = m2
			ops, err = m.up(r)
			return err
		})
		if err == nil {
			ops = append(ops, kv.Put(keySchema, binary.BigEndian.AppendUint32(nil, m.from+1)))
			_, err = big.TxnUnlimited(context.Background(), []kv.Cmp{{Key: keySchema, ModRev: mod}}, ops)
		}
		if err != nil {
			return fmt.Errorf("migrate schema %d -> %d (%s): %w", m.from, m.from+1, m.what, err)
		}
		version = m.from + 1
	}
	if version != SchemaVersion {
		return fmt.Errorf("no migration from schema version %d", version)
	}
	return nil
}

type stopErr struct{}

func (stopErr) Error() string { return "stop" }

var errStop error = stopErr{}

// migrateV1 rewrites list rows from the version-1 "lists" bucket (one key
// per row: kind, owner id, list, ASCII digits -> note) into version-2
// chunks (entries/ list(6) first(8)) and notes (notes/ list(6) number(8)).
// Keys of one (owner, list) are contiguous, but ASCII order is not numeric
// order ("9" > "10"), so each run is sorted before writing. A row whose
// number does not parse fails the migration (and so leaves the file at
// version 1) rather than being dropped silently.
func migrateV1(r kv.Reader) ([]kv.Op, error) {
	type row struct {
		n    e164.Number
		note []byte
	}
	var (
		ops    = []kv.Op{kv.DeletePrefix(bucketPrefix("lists"))}
		run    []row
		prefix []byte
	)
	flush := func() {
		if len(run) == 0 {
			return
		}
		slices.SortFunc(run, func(a, b row) int { return cmpU64(uint64(a.n), uint64(b.n)) })
		nums := make([]e164.Number, 0, len(run))
		for _, rw := range run {
			if len(nums) > 0 && nums[len(nums)-1] == rw.n {
				continue // "+1..." and "1..." spellings of one number
			}
			nums = append(nums, rw.n)
			if len(rw.note) > 0 {
				ops = append(ops, kv.Put(key(bNotes, append(slices.Clone(prefix), u64(uint64(rw.n))...)...), rw.note))
			}
		}
		for len(nums) > 0 {
			n := min(len(nums), chunkTarget)
			if len(nums) <= chunkMax {
				n = len(nums)
			}
			ops = append(ops, kv.Put(key(bEntries, append(slices.Clone(prefix), u64(uint64(nums[0]))...)...), encodeChunk(nums[:n])))
			nums = nums[n:]
		}
		run = run[:0]
	}
	err := rangeBucket(r, "lists", func(k, v []byte, _ int64) error {
		if len(k) < 7 || !List(k[5]).valid() || (k[0] != kindSubscriber && k[0] != kindProvider) {
			return fmt.Errorf("lists row %x: malformed key", k)
		}
		if prefix == nil || !bytes.Equal(k[:6], prefix) {
			flush()
			prefix = slices.Clone(k[:6])
		}
		n, err := e164.Parse("+" + string(k[6:]))
		if err != nil {
			return fmt.Errorf("lists row %x: %w", k, err)
		}
		run = append(run, row{n, slices.Clone(v)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	flush()
	return ops, nil
}

// migrateV2 moves every chunk and note into generation 0: list(6) +
// first(8) becomes list(6) + gen 0(8) + first(8).
func migrateV2(r kv.Reader) ([]kv.Op, error) {
	var ops []kv.Op
	for _, b := range []string{bEntries, bNotes} {
		ops = append(ops, kv.DeletePrefix(bucketPrefix(b)))
		err := rangeBucket(r, b, func(k, v []byte, _ int64) error {
			if len(k) != 14 {
				return fmt.Errorf("%s key %x: length %d, want 14", b, k, len(k))
			}
			nk := make([]byte, 0, 22)
			nk = append(append(append(nk, k[:6]...), u64(0)...), k[6:]...)
			ops = append(ops, kv.Put(key(b, nk...), slices.Clone(v)))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return ops, nil
}
