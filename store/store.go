// Package store is callgate's list and tenant store: one bbolt file holding
// the tenants (platform > service providers > subscribers, plus enterprises),
// their numbers, VIP and Blocked lists, PINs, treatment settings and the
// platform's egress routes.
//
// Writes go through typed methods that name things the way operators do
// (provider name, subscriber name or number) and validate every number with
// e164.Parse. Each write is one bbolt transaction; after it commits, the
// in-memory index that serves the read side (store.View, used by the decision
// engine on the hot path) is updated, so reads never touch the disk, never
// allocate and take a read lock for a few tens of nanoseconds.
//
// A Store is safe for concurrent use. Only one process may open a file for
// writing at a time (bbolt holds an exclusive file lock); see Open.
package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"golang.org/x/crypto/bcrypt"
)

// Options tune Open. The zero value is a sensible production default.
type Options struct {
	// Timeout bounds the wait for the file lock (default 1s). Another
	// process holding the file makes Open fail after this long.
	Timeout time.Duration
	// ReadOnly opens the file with a shared lock; every write method then
	// fails with ErrReadOnly. A file that needs migration cannot be opened
	// read-only.
	ReadOnly bool
	// NoSync skips fsync on commit. Only for tests and throw-away bulk
	// builds: a crash can then lose or corrupt committed data.
	NoSync bool
	// PINCost is the bcrypt cost for new PIN hashes (default
	// bcrypt.DefaultCost; tests use bcrypt.MinCost to stay fast).
	PINCost int
	// Now supplies timestamps for records (default time.Now).
	Now func() time.Time
}

// Errors callers may test with errors.Is. Returned errors wrap them with
// what was being looked up or changed.
var (
	ErrNotFound     = errors.New("not found")
	ErrExists       = errors.New("already exists")
	ErrInvalid      = errors.New("invalid")
	ErrLocked       = errors.New("locked by the service provider")
	ErrForbidden    = errors.New("not permitted for this actor")
	ErrInUse        = errors.New("in use")
	ErrReadOnly     = errors.New("store opened read-only")
	ErrClosed       = errors.New("store closed")
	ErrSchemaNewer  = errors.New("schema version newer than this callgate supports")
	ErrDatabaseBusy = errors.New("database is in use by another process")
)

// Store is an open callgate store. It implements View.
type Store struct {
	db   *bolt.DB
	path string
	opts Options

	// wmu serialises writers around "commit, then update the index", so the
	// index applies changes in commit order.
	wmu    sync.Mutex
	closed bool

	ix index
}

var _ View = (*Store)(nil)

// Open opens (creating if needed) the store at path, checks its schema
// version, migrates an older file and builds the in-memory index.
//
// A file newer than this build is refused with ErrSchemaNewer; a file locked
// by another process fails with ErrDatabaseBusy after opts.Timeout.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.PINCost == 0 {
		opts.PINCost = bcrypt.DefaultCost
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if !opts.ReadOnly {
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("store: create directory for %s: %w", path, err)
			}
		}
	} else if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: open %s read-only: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      opts.Timeout,
		ReadOnly:     opts.ReadOnly,
		NoSync:       opts.NoSync,
		NoGrowSync:   opts.NoSync,
		FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("store: database %s is in use by another process (is `callgate serve` running?): %w", path, ErrDatabaseBusy)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &Store{db: db, path: path, opts: opts}
	if err := s.checkSchema(); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	if err := s.rebuildIndex(); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: build index: %w", path, err)
	}
	return s, nil
}

// Path returns the file the store was opened from.
func (s *Store) Path() string { return s.path }

// Close waits for an in-flight write to finish and closes the file. Reads
// through View keep answering from the index afterwards; writes fail with
// ErrClosed.
func (s *Store) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", s.path, err)
	}
	return nil
}

// FileSize returns the size of the database file in bytes.
func (s *Store) FileSize() (int64, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// update runs fn in a write transaction while holding the writer lock; after
// a successful commit it runs apply (also under the writer lock) to bring the
// in-memory index in step. apply must not fail: everything that can go wrong
// is checked inside fn.
func (s *Store) update(fn func(tx *bolt.Tx) error, apply func()) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	if err := s.db.Update(fn); err != nil {
		return err
	}
	if apply != nil {
		apply()
	}
	return nil
}

func (s *Store) writable() error {
	if s.closed {
		return ErrClosed
	}
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	return nil
}

// view runs fn in a read transaction.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	return s.db.View(fn)
}
