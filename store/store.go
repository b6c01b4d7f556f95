// Package store is callgate's list and tenant store: the tenants (platform >
// service providers > subscribers, plus enterprises), their numbers, VIP
// and Blocked lists, PINs, treatment settings and the platform's egress
// routes.
//
// Writes go through typed methods that name things the way operators do
// (provider name, subscriber name or number), validate every number with
// e164.Parse and check the actor's permissions. Below them is a narrow
// key-value seam (store/kv): a write plans its keys from the in-memory
// index and commits them in one kv transaction whose comparisons make sure
// what it read has not changed since (optimistic concurrency: on a
// conflict it catches up and plans again). The key layout is in keys.go.
//
// The read side is the in-memory index behind store.View, used by the
// decision engine on the hot path: reads never touch the disk or the
// network, never allocate and take a read lock for a few tens of
// nanoseconds (one per look-up, or one per call through LookupCall, the
// store.CallViewer the engine uses). The index is laid out for few
// dependent cache misses per call (index.go, numtable.go, listfilter.go:
// about four when nothing is cached), and a large index is put on huge
// pages when it is built (hugepages.go), so those misses do not also miss
// the TLB. The index advances only from the backend's change feed, in
// revision order (apply.go), never from the writer's own bookkeeping, so
// any number of stores over one backend (or one etcd cluster) converge on
// the same content. A write returns once its own change has been applied
// here, so a caller reads what it wrote.
//
// A subscriber's effective settings are per setting its own value, else
// its provider's default, else the platform's. Its permissions govern
// what it may change itself: an own value its provider or the platform
// owner set applies regardless, one it set itself only while it holds the
// permission (the record marks which: setby.go).
//
// A change too large for one etcd transaction (a DID block of a thousand
// numbers) writes its number keys first; a writer that dies between
// leaves keys no record claims, which are harmless and not swept
// (numberkeys.go says why).
//
// Every change of tenant data is audited (audit.go): the write's Actor
// carries who (Principal) and the path (Via), and the record with the
// object before and after goes into the same transaction as the change.
//
// Beside the tenants, outside the index, the store keeps what other
// packages need shared by every node: the fraud signal's state (fraud.go),
// API tokens, web logins, and the B2BUA's count of wrong PINs per
// subscriber with the PIN locks it imposes (pinlock.go).
//
// Backends: store/boltkv, one bbolt file that one process opens (Open, the
// default); store/etcdkv, etcd as the shared system of record with a local
// bbolt replica on each node (New with an etcdkv backend).
//
// A Store is safe for concurrent use.
package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"callgate/store/boltkv"
	"callgate/store/kv"

	"golang.org/x/crypto/bcrypt"
)

// Options tune Open and New. The zero value is a sensible production default.
type Options struct {
	// Timeout bounds the wait for the file lock (Open; default 1s).
	// Another process holding the file makes Open fail after this long.
	Timeout time.Duration
	// ReadOnly opens the file with a shared lock (Open); every write method
	// then fails with ErrReadOnly. A file that needs migration cannot be
	// opened read-only.
	ReadOnly bool
	// NoSync skips fsync on commit (Open). Only for tests and throw-away
	// bulk builds: a crash can then lose or corrupt committed data.
	NoSync bool
	// PINCost is the bcrypt cost for new PIN hashes (default
	// bcrypt.DefaultCost; tests use bcrypt.MinCost to stay fast).
	PINCost int
	// Now supplies timestamps for records (default time.Now).
	Now func() time.Time
	// ApplyTimeout bounds how long a write waits for its own change to come
	// back through the change feed (default 10s; only etcd can be slow).
	ApplyTimeout time.Duration
	// GCInterval is how often garbage of dead or shadowed imports is
	// collected (default 10 minutes; negative: never in the background).
	GCInterval time.Duration
	// AuditMax and AuditMaxAge bound the audit log (audit.go): garbage
	// collection deletes the oldest records beyond either (defaults
	// DefaultAuditMax, DefaultAuditMaxAge).
	AuditMax    int
	AuditMaxAge time.Duration
	// OnError, if set, is told about problems the store handles itself but
	// an operator should see: a change-feed event it could not apply, a
	// failed background garbage collection.
	OnError func(error)
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
	// ErrContention: a write kept conflicting with concurrent writes (of
	// other nodes) and gave up; retrying later usually succeeds.
	ErrContention = errors.New("concurrent changes kept conflicting")
	// ErrUnavailable: the system of record (etcd) did not answer a write:
	// nothing was written, unless etcd committed the transaction (whole)
	// just before the connection dropped. Reads still answer from this
	// node's replica; retry once etcd answers.
	ErrUnavailable = kv.ErrUnavailable
	// ErrTooLarge: one change needs more keys or bytes than one
	// transaction of the backend may carry (etcd: --max-txn-ops,
	// --max-request-bytes); nothing was written. Split it (fewer numbers
	// per request).
	ErrTooLarge = kv.ErrTooLarge
	// ErrNotApplied: a write committed but its change did not come back
	// through the change feed within Options.ApplyTimeout, so this node
	// does not show it yet.
	ErrNotApplied = errors.New("committed but not yet applied on this node")
)

// Store is an open callgate store. It implements View.
type Store struct {
	kv     kv.Backend
	huge   HugePageReport // of the last index build (hugepages.go); under ix.mu
	ownsKV bool           // opened by Open: Close closes it
	opts   Options

	// wmu serialises this process's writers, so they do not conflict with
	// each other; conflicts with other processes are caught by the
	// transactions' comparisons.
	wmu    writerLock
	closed bool

	// applyMu is held by the change-feed applier and by writers while they
	// plan: the index is stable under it. Only the applier changes the
	// index (under ix.mu.Lock for what readers see).
	applyMu sync.Mutex
	ix      index
	// handoff is the subscribers an import of this store is committing
	// (under applyMu; subimport_stage.go).
	handoff *subHandoff

	// applied is the revision the index has reached; appliedCh is closed
	// and replaced whenever it advances.
	appMu     sync.Mutex
	applied   int64
	appliedCh chan struct{}

	feedErrs feedErrors
	unsub    func()
	stopGC   chan struct{}
	gcDone   chan struct{}
	// bg is the backend work a bounded write left running when its
	// caller's time was up (writebound.go); Close waits for it.
	bg        sync.WaitGroup
	closeOnce sync.Once
}

var _ View = (*Store)(nil)

// Open opens (creating if needed) the bbolt store file at path, checks its
// schema version, migrates an older file and builds the in-memory index.
//
// A file newer than this build is refused with ErrSchemaNewer; a file locked
// by another process fails with ErrDatabaseBusy after opts.Timeout.
func Open(path string, opts Options) (*Store, error) {
	db, err := boltkv.Open(path, boltkv.Options{
		Timeout:  opts.Timeout,
		ReadOnly: opts.ReadOnly,
		NoSync:   opts.NoSync,
		Legacy:   acceptLegacy,
	})
	if err != nil {
		switch {
		case errors.Is(err, boltkv.ErrBusy):
			return nil, fmt.Errorf("store: database %s is in use by another process (is `callgate serve` running?): %w", path, ErrDatabaseBusy)
		case errors.Is(err, boltkv.ErrNeedsUpgrade):
			return nil, fmt.Errorf("store: %s: schema needs migration to version %d; open it read-write once: %w", path, SchemaVersion, err)
		}
		return nil, fmt.Errorf("store: %w", err)
	}
	s, err := New(db, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.ownsKV = true
	return s, nil
}

// New opens a store over a kv backend: it checks (or initialises, or
// migrates) the schema, builds the index from a snapshot and follows the
// backend's change feed from there. Any number of stores may share one
// backend; the caller closes it after closing them.
func New(b kv.Backend, opts Options) (*Store, error) {
	if opts.PINCost == 0 {
		opts.PINCost = bcrypt.DefaultCost
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ApplyTimeout <= 0 {
		opts.ApplyTimeout = 10 * time.Second
	}
	if opts.GCInterval == 0 {
		opts.GCInterval = 10 * time.Minute
	}
	if opts.AuditMax <= 0 {
		opts.AuditMax = DefaultAuditMax
	}
	if opts.AuditMaxAge <= 0 {
		opts.AuditMaxAge = DefaultAuditMaxAge
	}
	opts.ReadOnly = opts.ReadOnly || b.ReadOnly()
	s := &Store{kv: b, opts: opts, wmu: newWriterLock(), appliedCh: make(chan struct{})}
	if err := s.checkSchema(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", b, err)
	}
	// Subscribe first, then load a snapshot: events at or below the
	// snapshot's revision are skipped, later ones applied in order.
	s.applyMu.Lock()
	s.unsub = b.Subscribe(s.onEvent)
	err := s.rebuildIndex()
	s.applyMu.Unlock()
	if err != nil {
		s.unsub()
		return nil, fmt.Errorf("store: %s: build index: %w", b, err)
	}
	if !opts.ReadOnly && opts.GCInterval > 0 {
		s.stopGC, s.gcDone = make(chan struct{}), make(chan struct{})
		go s.gcLoop()
	}
	return s, nil
}

// Path returns the bbolt file the store was opened from, or the backend's
// description.
func (s *Store) Path() string {
	if p, ok := s.kv.(interface{ Path() string }); ok {
		return p.Path()
	}
	return s.kv.String()
}

// Backend returns the kv backend under the store.
func (s *Store) Backend() kv.Backend { return s.kv }

// Close waits for an in-flight write to finish, stops following the
// change feed and, if Open opened the backend, closes it.
// Reads through View keep answering from the index afterwards; writes fail
// with ErrClosed.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.stopGC != nil {
			close(s.stopGC)
			<-s.gcDone
		}
		s.bg.Wait()
		s.wmu.Lock()
		defer s.wmu.Unlock()
		s.closed = true
		s.unsub()
		if !s.ownsKV {
			return
		}
		if cerr := s.kv.Close(); cerr != nil {
			err = fmt.Errorf("store: close %s: %w", s.kv, cerr)
		}
	})
	return err
}

// FileSize returns the size of the database file in bytes (bbolt backends;
// etcd: the replica's).
func (s *Store) FileSize() (int64, error) {
	if f, ok := s.kv.(interface{ Size() (int64, error) }); ok {
		return f.Size()
	}
	return 0, fmt.Errorf("store: %s has no file size", s.kv)
}

// Revision returns the backend revision the index has applied.
func (s *Store) Revision() int64 {
	s.appMu.Lock()
	defer s.appMu.Unlock()
	return s.applied
}

func (s *Store) writable() error {
	if s.closed {
		return ErrClosed
	}
	if s.opts.ReadOnly {
		if r, ok := s.kv.(interface{ ReadOnlyReason() string }); ok && r.ReadOnlyReason() != "" {
			return fmt.Errorf("%w: %s", ErrReadOnly, r.ReadOnlyReason())
		}
		return ErrReadOnly
	}
	return nil
}

// maxAttempts bounds the optimistic-concurrency loop of one write;
// unavailableAttempts the tries while the backend cannot be reached.
const (
	maxAttempts         = 16
	unavailableAttempts = 3
)

// write plans a change and commits it: plan runs under applyMu (the index
// is stable) and fills a transaction; on a conflict the store waits for
// the change feed to bring the index up to the conflicting revision and
// plans again. It returns once the change is applied here. A plan that
// adds no operation commits nothing.
func (s *Store) write(plan func(t *txn) error) error {
	return s.writeCtx(context.Background(), plan)
}

// writeCtx is write given up once ctx ends: while it waits for this
// process's other writers, for the backend, or to try again (writebound.go).
func (s *Store) writeCtx(ctx context.Context, plan func(t *txn) error) error {
	if err := s.wmu.lockCtx(ctx); err != nil {
		return err
	}
	defer s.wmu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	return s.writeLockedCtx(ctx, plan)
}

// writeLocked is write for a caller that holds wmu.
func (s *Store) writeLocked(plan func(t *txn) error) error {
	return s.writeLockedCtx(context.Background(), plan)
}

// writeLockedCtx is writeLocked given up once ctx ends (writebound.go).
func (s *Store) writeLockedCtx(ctx context.Context, plan func(t *txn) error) error {
	for attempt := 1; ; attempt++ {
		var t txn
		s.applyMu.Lock()
		err := plan(&t)
		s.applyMu.Unlock()
		if err == nil {
			err = t.sealAudit(s.opts.Now())
		}
		if err != nil {
			return err
		}
		if len(t.ops) == 0 {
			return nil
		}
		rev, err := s.commitCtx(ctx, &t)
		if errors.Is(err, kv.ErrConflict) && attempt < maxAttempts {
			if werr := s.waitApplied(ctx, rev); werr != nil {
				return werr
			}
			continue
		}
		// The system of record did not answer (an etcd member died under
		// the request). Trying again is safe: the comparisons make a write
		// that did land conflict, and the plan then sees it. Not when the
		// backend has had no quorum for a while: the operator would wait
		// every try's timeout for the same answer.
		if errors.Is(err, kv.ErrUnavailable) && attempt < unavailableAttempts && !s.inOutage() && pause(ctx, time.Duration(attempt)*200*time.Millisecond) {
			continue
		}
		if errors.Is(err, kv.ErrConflict) {
			return fmt.Errorf("%w (%d attempts): %v", ErrContention, attempt, err)
		}
		return err
	}
}

// inOutage reports whether the backend knows its system of record has
// been out of reach for a while (etcdkv: no quorum for stale_after).
func (s *Store) inOutage() bool {
	o, ok := s.kv.(interface{ Outage() (time.Duration, bool) })
	if !ok {
		return false
	}
	_, out := o.Outage()
	return out
}

// commit sends t to the backend and waits until the index has applied it.
// On a conflict it returns the backend's revision with the error.
func (s *Store) commit(t *txn) (int64, error) { return s.commitCtx(context.Background(), t) }

// commitCtx is commit given up once ctx ends.
func (s *Store) commitCtx(ctx context.Context, t *txn) (int64, error) {
	rev, err := s.kv.Txn(ctx, t.cmps, t.ops)
	if err != nil {
		switch {
		case errors.Is(err, kv.ErrConflict):
			return rev, err
		case errors.Is(err, kv.ErrReadOnly):
			return 0, ErrReadOnly
		case errors.Is(err, kv.ErrClosed):
			return 0, ErrClosed
		}
		return 0, err
	}
	return rev, s.waitApplied(ctx, rev)
}

// waitApplied waits until the index has applied revision rev, or ctx
// ends.
func (s *Store) waitApplied(ctx context.Context, rev int64) error {
	timer := time.NewTimer(s.opts.ApplyTimeout)
	defer timer.Stop()
	for {
		s.appMu.Lock()
		have, ch := s.applied, s.appliedCh
		s.appMu.Unlock()
		if have >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return fmt.Errorf("revision %d (index at %d after %v): %w", rev, have, s.opts.ApplyTimeout, ErrNotApplied)
		case <-ctx.Done():
			return fmt.Errorf("revision %d (index at %d; %v): %w", rev, have, context.Cause(ctx), ErrNotApplied)
		}
	}
}

// setApplied publishes the index's revision. Caller holds applyMu.
func (s *Store) setApplied(rev int64) {
	s.ix.rev = rev
	s.appMu.Lock()
	if rev > s.applied {
		s.applied = rev
		close(s.appliedCh)
		s.appliedCh = make(chan struct{})
	}
	s.appMu.Unlock()
}

// report hands a problem the store handled itself to Options.OnError.
func (s *Store) report(err error) {
	if s.opts.OnError != nil {
		s.opts.OnError(err)
	}
}
