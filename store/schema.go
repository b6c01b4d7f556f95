package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"callgate/e164"

	bolt "go.etcd.io/bbolt"
)

// File layout, schema version 2. All integers are big-endian so keys sort
// numerically and a cursor walks them in order.
//
//	meta          "schema" -> uint32 version; "default_route" -> route name
//	providers     id(4) -> JSON Provider
//	subscribers   id(4) -> JSON Subscriber
//	enterprises   id(4) -> JSON Enterprise
//	names         kind(1) name -> id(4)            (kind 'P', 'S', 'E')
//	numbers       number(8) -> subscriber id(4)
//	allocations   lo(8) -> hi(8) provider id(4)      (inclusive ranges, disjoint)
//	pins          subscriber id(4) -> bcrypt hash
//	routes        name -> JSON Route
//	entries       kind(1) owner id(4) list(1) first(8) -> chunk of numbers (see chunks.go)
//	notes         kind(1) owner id(4) list(1) number(8) -> note (rows with a note only)
//
// IDs come from the tenant buckets' sequences: dense, starting at 1, never
// reused after a delete. The in-memory index is a pure function of these
// buckets and is rebuilt at every Open.
//
// Version 1 (the first development layout) kept one key per list row in a
// bucket named "lists": kind(1) owner id(4) list(1) + the number's ASCII
// digits -> note. That cost ~35 bytes a row and one bbolt put per imported
// row; migrateV1 converts it to chunks and notes.
const SchemaVersion = 2

var (
	bktMeta        = []byte("meta")
	bktProviders   = []byte("providers")
	bktSubscribers = []byte("subscribers")
	bktEnterprises = []byte("enterprises")
	bktNames       = []byte("names")
	bktNumbers     = []byte("numbers")
	bktAllocations = []byte("allocations")
	bktPINs        = []byte("pins")
	bktRoutes      = []byte("routes")
	bktEntries     = []byte("entries")
	bktNotes       = []byte("notes")

	keySchema       = []byte("schema")
	keyDefaultRoute = []byte("default_route")

	allBuckets = [][]byte{bktMeta, bktProviders, bktSubscribers, bktEnterprises,
		bktNames, bktNumbers, bktAllocations, bktPINs, bktRoutes, bktEntries, bktNotes}
)

// Owner kinds as stored in the first byte of names and entries keys.
const (
	kindProvider   byte = 'P'
	kindSubscriber byte = 'S'
	kindEnterprise byte = 'E'
)

// migration upgrades a file from version from to from+1 inside one
// transaction, so a crash mid-migration leaves the file at version from.
type migration struct {
	from uint32
	what string
	up   func(tx *bolt.Tx) error
}

// migrations must cover every version from 1 to SchemaVersion-1, in order.
var migrations = []migration{
	{from: 1, what: "list rows: one key per row in \"lists\" -> chunks in \"entries\" and \"notes\"", up: migrateV1},
}

// checkSchema initialises a new file, refuses a newer one and migrates an
// older one step by step.
func (s *Store) checkSchema() error {
	var version uint32
	err := s.db.View(func(tx *bolt.Tx) error {
		version = readVersion(tx)
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case version == SchemaVersion:
		return nil
	case version > SchemaVersion:
		return fmt.Errorf("schema version %d: %w (%d); use a newer callgate release", version, ErrSchemaNewer, SchemaVersion)
	case s.opts.ReadOnly:
		if version == 0 {
			return fmt.Errorf("not a callgate store (no schema version); cannot initialise it read-only")
		}
		return fmt.Errorf("schema version %d needs migration to %d; open it read-write once", version, SchemaVersion)
	case version == 0:
		return s.db.Update(func(tx *bolt.Tx) error {
			if readVersion(tx) != 0 {
				return fmt.Errorf("schema appeared while initialising")
			}
			if err := checkEmpty(tx); err != nil {
				return err
			}
			for _, b := range allBuckets {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return fmt.Errorf("create bucket %s: %w", b, err)
				}
			}
			return writeVersion(tx, SchemaVersion)
		})
	}
	for _, m := range migrations {
		if m.from < version {
			continue
		}
		err := s.db.Update(func(tx *bolt.Tx) error {
			if v := readVersion(tx); v != m.from {
				return fmt.Errorf("expected schema version %d before migration, found %d", m.from, v)
			}
			if err := m.up(tx); err != nil {
				return err
			}
			if m.from+1 == SchemaVersion {
				for _, b := range allBuckets {
					if _, err := tx.CreateBucketIfNotExists(b); err != nil {
						return fmt.Errorf("create bucket %s: %w", b, err)
					}
				}
			}
			return writeVersion(tx, m.from+1)
		})
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

// checkEmpty refuses to initialise a bbolt file that holds someone else's data.
func checkEmpty(tx *bolt.Tx) error {
	var name []byte
	_ = tx.ForEach(func(n []byte, _ *bolt.Bucket) error {
		name = n
		return errStop
	})
	if name != nil {
		return fmt.Errorf("bbolt file has bucket %q but no callgate schema version; not a callgate store", name)
	}
	return nil
}

func readVersion(tx *bolt.Tx) uint32 {
	m := tx.Bucket(bktMeta)
	if m == nil {
		return 0
	}
	v := m.Get(keySchema)
	if len(v) != 4 {
		return 0
	}
	return binary.BigEndian.Uint32(v)
}

func writeVersion(tx *bolt.Tx, v uint32) error {
	m, err := tx.CreateBucketIfNotExists(bktMeta)
	if err != nil {
		return err
	}
	return m.Put(keySchema, binary.BigEndian.AppendUint32(nil, v))
}

// migrateV1 rewrites list rows from the version-1 "lists" bucket (one key
// per row: kind, owner id, list, ASCII digits -> note) into version-2 chunks
// and notes. Keys of one (owner, list) are contiguous, but ASCII order is
// not numeric order ("9" > "10"), so each run is sorted before writing. A
// row whose number does not parse fails the migration (and so leaves the
// file at version 1) rather than being dropped silently.
func migrateV1(tx *bolt.Tx) error {
	old := tx.Bucket([]byte("lists"))
	entries, err := tx.CreateBucketIfNotExists(bktEntries)
	if err != nil {
		return err
	}
	notes, err := tx.CreateBucketIfNotExists(bktNotes)
	if err != nil {
		return err
	}
	if old == nil {
		return nil
	}
	type row struct {
		n    e164.Number
		note []byte
	}
	var (
		run    []row
		prefix []byte
	)
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		slices.SortFunc(run, func(a, b row) int { return cmpU64(uint64(a.n), uint64(b.n)) })
		nums := make([]e164.Number, 0, len(run))
		for _, r := range run {
			if len(nums) > 0 && nums[len(nums)-1] == r.n {
				continue // "+1..." and "1..." spellings of one number
			}
			nums = append(nums, r.n)
			if len(r.note) > 0 {
				k := entryKey(prefix[0], binary.BigEndian.Uint32(prefix[1:5]), List(prefix[5]), r.n)
				if err := notes.Put(k, r.note); err != nil {
					return err
				}
			}
		}
		_, err := putChunks(entries, prefix, nums)
		run = run[:0]
		return err
	}
	c := old.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) < 7 || !List(k[5]).valid() || (k[0] != kindSubscriber && k[0] != kindProvider) {
			return fmt.Errorf("lists row %x: malformed key", k)
		}
		if prefix == nil || !bytes.Equal(k[:6], prefix) {
			if err := flush(); err != nil {
				return err
			}
			prefix = slices.Clone(k[:6])
		}
		n, err := e164.Parse("+" + string(k[6:]))
		if err != nil {
			return fmt.Errorf("lists row %x: %w", k, err)
		}
		run = append(run, row{n, slices.Clone(v)})
	}
	if err := flush(); err != nil {
		return err
	}
	return tx.DeleteBucket([]byte("lists"))
}

type stopErr struct{}

func (stopErr) Error() string { return "stop" }

var errStop error = stopErr{}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(make([]byte, 0, 4), v) }

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v) }

// entryKey is the entries bucket key of one list row.
func entryKey(kind byte, owner uint32, list List, n e164.Number) []byte {
	k := make([]byte, 14)
	putEntryKey(k, kind, owner, list, n)
	return k
}

func putEntryKey(k []byte, kind byte, owner uint32, list List, n e164.Number) {
	k[0] = kind
	binary.BigEndian.PutUint32(k[1:5], owner)
	k[5] = byte(list)
	binary.BigEndian.PutUint64(k[6:14], uint64(n))
}

// entryPrefix is the key prefix of one (owner, list).
func entryPrefix(kind byte, owner uint32, list List) []byte {
	k := make([]byte, 6)
	k[0] = kind
	binary.BigEndian.PutUint32(k[1:5], owner)
	k[5] = byte(list)
	return k
}

func nameKey(kind byte, name string) []byte {
	return append([]byte{kind}, name...)
}
