// Package boltkv is the bbolt backend of store/kv: one file, one writing
// process, the embedded default.
//
// # File format
//
// Each kv bucket ("providers" in "providers/<rest>") is a bbolt bucket
// holding <rest> -> mod revision (8 bytes, big-endian) + value. The bucket
// "_kv" holds the format version, the current revision and the set of
// ephemeral keys. A file written before this format (plain values, no
// "_kv") is upgraded in one transaction when Options.Legacy accepts it:
// every value gets mod revision 1 and each bbolt bucket sequence becomes the
// key "seq/<bucket>".
//
// # Change feed
//
// Txn commits and then, still holding the writer lock, hands the event to
// every subscriber in turn, so subscribers see events in revision order
// and a Txn that returns has been seen by all of them. Subscribers must not
// call Txn from their callback.
//
// A replica (store/etcdkv) writes with Apply and Replace instead of Txn:
// the revisions are then the system of record's.
package boltkv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"callgate/store/kv"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FormatVersion is the version of this file format, kept in "_kv".
const FormatVersion = 1

// DefaultLimits bound one Txn on bbolt: generous, since bbolt has no
// request limit; they keep one transaction's dirty pages in memory bounded.
var DefaultLimits = kv.Limits{MaxOps: 1 << 16, MaxBytes: 64 << 20}

// Errors.
var (
	// ErrBusy: another process holds the file (after Options.Timeout).
	ErrBusy = errors.New("database is in use by another process")
	// ErrNeedsUpgrade: a file in the older format opened read-only.
	ErrNeedsUpgrade = errors.New("file needs migration to the current format; open it read-write once")
	// ErrFormatNewer: the file's format is newer than this build.
	ErrFormatNewer = errors.New("kv format newer than this build supports")
)

var (
	bktKV      = []byte("_kv")
	keyFormat  = []byte("format")
	keyRev     = []byte("rev")
	ephemPfx   = []byte("e/")
	localPfx   = []byte("l/")
	bktSeqName = "seq"
	keyReplica = []byte("replica")
)

// Options tune Open.
type Options struct {
	// Timeout bounds the wait for the file lock (default 1s).
	Timeout time.Duration
	// ReadOnly opens with a shared lock; Txn then fails with kv.ErrReadOnly.
	ReadOnly bool
	// NoSync skips fsync on commit (tests and throw-away builds only).
	NoSync bool
	// Limits bound one Txn (default DefaultLimits).
	Limits kv.Limits
	// Replica marks the file as the local replica of another system of
	// record (store/etcdkv, which writes it with Apply and Replace). A
	// replica opened without Replica is read-only: changes must go through
	// the system of record, or the replica would silently diverge from it.
	Replica bool
	// Legacy is asked before a file in the older format (bbolt buckets but
	// no "_kv") is upgraded; an error refuses the file, unchanged. nil
	// refuses every such file.
	Legacy func(Legacy) error
}

// Legacy is a read-only look at a file in the older format.
type Legacy struct{ tx *bolt.Tx }

// Buckets lists the file's bucket names.
func (l Legacy) Buckets() []string {
	var out []string
	_ = l.tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		out = append(out, string(name))
		return nil
	})
	return out
}

// Get returns a value of the older format (nil if absent).
func (l Legacy) Get(bucket, key string) []byte {
	if b := l.tx.Bucket([]byte(bucket)); b != nil {
		return b.Get([]byte(key))
	}
	return nil
}

// DB is an open bbolt kv file.
type DB struct {
	db   *bolt.DB
	path string
	opts Options

	// foreignReplica: a replica opened as a plain file (read-only).
	foreignReplica bool

	// mu serialises commits and the delivery of their events.
	mu sync.Mutex
	// rev is the last committed revision: written under mu, read without
	// it, so Rev (health checks, metrics) answers while a long commit,
	// a replica's full Replace or its delivery holds mu.
	rev    atomic.Int64
	closed bool
	subs   []*subscriber
	// ephem holds the keys that carry an ephemeral marker (see writer).
	ephem map[string]bool
	// changes is the array of the last event's changes, for the next.
	changes []kv.Change
}

type subscriber struct{ fn func(kv.Event) }

var _ kv.Backend = (*DB)(nil)

// Open opens (creating if needed) the kv file at path.
func Open(path string, opts Options) (*DB, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.Limits.MaxOps == 0 {
		opts.Limits = DefaultLimits
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("create directory for %s: %w", path, err)
		}
	} else if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open %s read-only: %w", path, err)
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
			return nil, fmt.Errorf("%s: %w", path, ErrBusy)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	d := &DB{db: db, path: path, opts: opts, ephem: map[string]bool{}}
	if err := d.prepare(); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// prepare checks the format, initialises a new file, upgrades an older one
// and drops the ephemeral keys a previous process left.
func (d *DB) prepare() error {
	var state int // 0 new, 1 current, 2 legacy
	err := d.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bktKV); b != nil {
			v := b.Get(keyFormat)
			if len(v) != 4 {
				return fmt.Errorf("_kv: no format version")
			}
			if f := binary.BigEndian.Uint32(v); f > FormatVersion {
				return fmt.Errorf("format %d: %w (%d)", f, ErrFormatNewer, FormatVersion)
			}
			d.rev.Store(readRev(b))
			d.foreignReplica = b.Get(keyReplica) != nil && !d.opts.Replica
			state = 1
			return nil
		}
		if len(Legacy{tx}.Buckets()) == 0 {
			return nil
		}
		state = 2
		if d.opts.Legacy == nil {
			return fmt.Errorf("not a kv file (buckets %q, no _kv)", Legacy{tx}.Buckets())
		}
		return d.opts.Legacy(Legacy{tx})
	})
	if err != nil {
		return err
	}
	switch {
	case state == 1 && (d.opts.ReadOnly || d.foreignReplica):
		return nil
	case state == 0 && d.opts.ReadOnly:
		return fmt.Errorf("empty file; cannot initialise it read-only")
	case state == 2 && d.opts.ReadOnly:
		return ErrNeedsUpgrade
	case state == 0:
		if err := d.db.Update(initKV); err != nil {
			return err
		}
	case state == 2:
		if err := d.db.Update(upgradeLegacy); err != nil {
			return fmt.Errorf("upgrade to kv format %d: %w", FormatVersion, err)
		}
		d.rev.Store(1)
	}
	if d.opts.Replica {
		if err := d.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bktKV).Put(keyReplica, []byte{1}) }); err != nil {
			return err
		}
	}
	return d.dropEphemeral()
}

func initKV(tx *bolt.Tx) error {
	b, err := tx.CreateBucket(bktKV)
	if err != nil {
		return err
	}
	if err := b.Put(keyFormat, binary.BigEndian.AppendUint32(nil, FormatVersion)); err != nil {
		return err
	}
	return b.Put(keyRev, binary.BigEndian.AppendUint64(nil, 0))
}

// upgradeLegacy rewrites every value with mod revision 1 and turns bucket
// sequences into seq/<bucket> keys, in one transaction.
func upgradeLegacy(tx *bolt.Tx) error {
	names := Legacy{tx}.Buckets()
	seqs := map[string]uint64{}
	for _, name := range names {
		if _, ok := kv.Bucket([]byte(name + "/")); !ok || bytes.IndexByte([]byte(name), '/') >= 0 {
			return fmt.Errorf("bucket %q: not a kv bucket name", name)
		}
		b := tx.Bucket([]byte(name))
		if s := b.Sequence(); s > 0 {
			seqs[name] = s
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil; {
			if v == nil {
				return fmt.Errorf("bucket %q: nested bucket %q", name, k)
			}
			key := slices.Clone(k)
			if err := b.Put(key, wrap(1, v)); err != nil {
				return err
			}
			c.Seek(key)
			k, v = c.Next()
		}
	}
	if len(seqs) > 0 {
		sb, err := tx.CreateBucketIfNotExists([]byte(bktSeqName))
		if err != nil {
			return err
		}
		for name, s := range seqs {
			if sb.Get([]byte(name)) != nil {
				return fmt.Errorf("bucket %q: sequence and key seq/%s both present", name, name)
			}
			if err := sb.Put([]byte(name), wrap(1, binary.BigEndian.AppendUint64(nil, s))); err != nil {
				return err
			}
		}
	}
	if err := initKV(tx); err != nil {
		return err
	}
	return tx.Bucket(bktKV).Put(keyRev, binary.BigEndian.AppendUint64(nil, 1))
}

func readRev(b *bolt.Bucket) int64 {
	v := b.Get(keyRev)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

// wrap is the stored form of a value: mod revision, then the value.
func wrap(rev int64, v []byte) []byte {
	out := make([]byte, 8+len(v))
	binary.BigEndian.PutUint64(out, uint64(rev))
	copy(out[8:], v)
	return out
}

func unwrap(stored []byte) ([]byte, int64, error) {
	if len(stored) < 8 {
		return nil, 0, fmt.Errorf("stored value of %d bytes: no mod revision", len(stored))
	}
	return stored[8:], int64(binary.BigEndian.Uint64(stored)), nil
}

// split maps a kv key onto bucket name and bbolt key.
func split(key []byte) ([]byte, []byte, error) {
	i := bytes.IndexByte(key, '/')
	if i <= 0 || key[0] == '_' { // as kv.Bucket, without its allocation
		return nil, nil, fmt.Errorf("key %q: not bucket/rest", key)
	}
	if i == len(key)-1 {
		return nil, nil, fmt.Errorf("key %q: empty after the bucket", key)
	}
	return key[:i], key[i+1:], nil
}

// Path returns the file's path.
func (d *DB) Path() string { return d.path }

// String implements kv.Backend.
func (d *DB) String() string { return "bbolt " + d.path }

// Size returns the file's size in bytes.
func (d *DB) Size() (int64, error) {
	fi, err := os.Stat(d.path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Limits implements kv.Backend.
func (d *DB) Limits() kv.Limits { return d.opts.Limits }

// ReadOnly implements kv.Backend.
func (d *DB) ReadOnly() bool { return d.opts.ReadOnly || d.foreignReplica }

// ReadOnlyReason says why writes are refused ("" when they are not, or
// when the file was simply opened read-only).
func (d *DB) ReadOnlyReason() string {
	if d.foreignReplica {
		return d.path + " is the local replica of an etcd store: change it through etcd (the daemon with store.backend etcd runs operator commands)"
	}
	return ""
}

// Rev returns the last committed revision.
func (d *DB) Rev() int64 {
	return d.rev.Load()
}

// Subscribe implements kv.Backend.
func (d *DB) Subscribe(fn func(kv.Event)) func() {
	s := &subscriber{fn}
	d.mu.Lock()
	d.subs = append(d.subs, s)
	d.mu.Unlock()
	return func() {
		d.mu.Lock()
		d.subs = slices.DeleteFunc(d.subs, func(x *subscriber) bool { return x == s })
		d.mu.Unlock()
	}
}

// deliver hands ev to every subscriber. Caller holds mu.
func (d *DB) deliver(ev kv.Event) {
	for _, s := range d.subs {
		s.fn(ev)
	}
}

// Close drops this process's ephemeral keys and closes the file.
func (d *DB) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.mu.Unlock()
	var err error
	if !d.ReadOnly() {
		err = d.dropEphemeral()
	}
	d.mu.Lock()
	d.closed = true
	d.subs = nil
	d.mu.Unlock()
	if cerr := d.db.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// dropEphemeral deletes every ephemeral key (at Open: a dead process's; at
// Close: ours), as one transaction delivered like any other.
func (d *DB) dropEphemeral() error {
	var keys [][]byte
	err := d.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktKV).Cursor()
		for k, _ := c.Seek(ephemPfx); k != nil && bytes.HasPrefix(k, ephemPfx); k, _ = c.Next() {
			keys = append(keys, slices.Clone(k[len(ephemPfx):]))
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return err
	}
	ops := make([]kv.Op, len(keys))
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, k := range keys {
		ops[i] = kv.Delete(k)
		d.ephem[string(k)] = true
	}
	_, err = d.commitLocked(nil, ops)
	return err
}

// Txn implements kv.Backend.
func (d *DB) Txn(_ context.Context, cmps []kv.Cmp, ops []kv.Op) (int64, error) {
	if d.ReadOnly() {
		return 0, fmt.Errorf("%w %s", kv.ErrReadOnly, d.ReadOnlyReason())
	}
	if err := kv.CheckTxn(cmps, ops, d.opts.Limits); err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, kv.ErrClosed
	}
	return d.commitLocked(cmps, ops)
}

// TxnUnlimited is Txn without Limits, for the one-off rewrites of schema
// migrations, which must be one transaction however large the file.
func (d *DB) TxnUnlimited(_ context.Context, cmps []kv.Cmp, ops []kv.Op) (int64, error) {
	if d.opts.ReadOnly {
		return 0, kv.ErrReadOnly
	}
	if err := kv.CheckTxn(cmps, ops, kv.Limits{}); err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, kv.ErrClosed
	}
	return d.commitLocked(cmps, ops)
}

type conflictErr struct{ key []byte }

func (c conflictErr) Error() string { return fmt.Sprintf("compare %q", c.key) }

// commitLocked runs one transaction and delivers its event. Caller holds mu.
func (d *DB) commitLocked(cmps []kv.Cmp, ops []kv.Op) (int64, error) {
	next := d.rev.Load() + 1
	// The event's changes reuse one array: subscribers do not keep them
	// past the call (kv.Event).
	changes := d.changes[:0]
	if cap(changes) < len(ops) {
		changes = make([]kv.Change, 0, len(ops))
	}
	defer func() {
		clear(changes[:cap(changes)])
		if cap(changes) <= 1<<16 {
			d.changes = changes[:0]
		}
	}()
	var w *writer
	err := d.db.Update(func(tx *bolt.Tx) error {
		w = d.newWriter(tx)
		for _, c := range cmps {
			_, mod, err := w.get(c.Key)
			if err != nil {
				return err
			}
			if mod != c.ModRev {
				return conflictErr{c.Key}
			}
		}
		for _, o := range ops {
			var err error
			switch {
			case o.IsPut():
				err = w.put(o.Key, o.Value, next, o.Ephemeral)
				changes = append(changes, kv.Change{Key: o.Key, Value: o.Value, ModRev: next})
			case o.IsDelete():
				var had bool
				if had, err = w.del(o.Key); had {
					changes = append(changes, kv.Change{Key: o.Key, ModRev: next, Deleted: true})
				}
			case o.IsDeleteRange():
				changes, err = w.delRange(o.Key, o.End, next, changes)
			}
			if err != nil {
				return fmt.Errorf("%v: %w", o, err)
			}
		}
		if len(changes) == 0 {
			return nil
		}
		return w.meta.Put(keyRev, binary.BigEndian.AppendUint64(nil, uint64(next)))
	})
	var ce conflictErr
	if errors.As(err, &ce) {
		return d.rev.Load(), fmt.Errorf("%w: %v", kv.ErrConflict, ce)
	}
	if err != nil {
		return d.rev.Load(), err
	}
	d.commitMarks(w)
	if len(changes) == 0 {
		return d.rev.Load(), nil
	}
	d.rev.Store(next)
	d.deliver(kv.Event{Rev: next, Changes: changes})
	return next, nil
}

func get(tx *bolt.Tx, key []byte) ([]byte, int64, error) {
	bn, k, err := split(key)
	if err != nil {
		return nil, 0, err
	}
	b := tx.Bucket(bn)
	if b == nil {
		return nil, 0, nil
	}
	v := b.Get(k)
	if v == nil {
		return nil, 0, nil
	}
	return unwrap(v)
}

func (w *writer) get(key []byte) ([]byte, int64, error) {
	bn, k, err := split(key)
	if err != nil {
		return nil, 0, err
	}
	b, err := w.bucket(bn, false)
	if b == nil || err != nil {
		return nil, 0, err
	}
	v := b.Get(k)
	if v == nil {
		return nil, 0, nil
	}
	return unwrap(v)
}

func (w *writer) put(key, value []byte, rev int64, ephemeral bool) error {
	bn, k, err := split(key)
	if err != nil {
		return err
	}
	b, err := w.bucket(bn, true)
	if err != nil {
		return err
	}
	if err := b.Put(k, w.wrap(rev, value)); err != nil {
		return err
	}
	return w.mark(key, ephemeral)
}

func (w *writer) del(key []byte) (bool, error) {
	bn, k, err := split(key)
	if err != nil {
		return false, err
	}
	b, err := w.bucket(bn, false)
	if b == nil || err != nil || b.Get(k) == nil {
		return false, err
	}
	if err := b.Delete(k); err != nil {
		return false, err
	}
	return true, w.mark(key, false)
}

// bounds maps a kv range onto a bucket and bbolt keys [lo, hi) (hi nil =
// to the bucket's end).
func bounds(start, end []byte) (bucket, lo, hi []byte, err error) {
	name, ok := kv.Bucket(start)
	if !ok {
		return nil, nil, nil, fmt.Errorf("range start %q: not bucket/rest", start)
	}
	if !kv.InBucket(name, end) {
		return nil, nil, nil, fmt.Errorf("range [%q, %q) leaves bucket %q", start, end, name)
	}
	n := len(name) + 1
	lo = start[n:]
	if len(end) >= n && bytes.Equal(end[:n], start[:n]) {
		hi = end[n:]
	}
	return start[:n-1], lo, hi, nil
}

func (w *writer) delRange(start, end []byte, rev int64, changes []kv.Change) ([]kv.Change, error) {
	bn, lo, hi, err := bounds(start, end)
	if err != nil {
		return changes, err
	}
	b, err := w.bucket(bn, false)
	if b == nil || err != nil {
		return changes, err
	}
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(lo); k != nil && (hi == nil || bytes.Compare(k, hi) < 0); k, _ = c.Next() {
		keys = append(keys, slices.Clone(k))
	}
	prefix := append(slices.Clone(bn), '/')
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return changes, err
		}
		full := append(slices.Clip(prefix), k...)
		if err := w.mark(full, false); err != nil {
			return changes, err
		}
		changes = append(changes, kv.Change{Key: full, ModRev: rev, Deleted: true})
	}
	return changes, nil
}

// View implements kv.Backend.
func (d *DB) View(fn func(kv.Reader) error) error {
	return d.db.View(func(tx *bolt.Tx) error {
		return fn(reader{tx: tx, rev: readRev(tx.Bucket(bktKV))})
	})
}

type reader struct {
	tx  *bolt.Tx
	rev int64
}

func (r reader) Rev() int64 { return r.rev }

func (r reader) Get(key []byte) ([]byte, int64, error) { return get(r.tx, key) }

func (r reader) Range(start, end []byte, fn func(key, value []byte, modRev int64) error) error {
	bn, lo, hi, err := bounds(start, end)
	if err != nil {
		return err
	}
	b := r.tx.Bucket(bn)
	if b == nil {
		return nil
	}
	full := make([]byte, 0, 64)
	full = append(append(full, bn...), '/')
	n := len(full)
	c := b.Cursor()
	for k, sv := c.Seek(lo); k != nil && (hi == nil || bytes.Compare(k, hi) < 0); k, sv = c.Next() {
		v, mod, err := unwrap(sv)
		if err != nil {
			return fmt.Errorf("%s/%x: %w", bn, k, err)
		}
		full = append(full[:n], k...)
		if err := fn(full, v, mod); err != nil {
			return err
		}
	}
	return nil
}
