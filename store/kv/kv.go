// Package kv is the narrow key-value seam under callgate's store: what the
// store needs from a database, and nothing it does not. Two backends
// implement it: store/boltkv (one bbolt file, the embedded default) and
// store/etcdkv (etcd as the shared system of record, with a local bbolt
// replica for reads).
//
// # Model
//
// A backend holds byte keys with byte values, like etcd. Every committed
// transaction that changes something gets the next revision (a positive,
// increasing int64), and every key remembers the revision that last changed
// it (its mod revision). Keys are written "bucket/rest": the bucket is the
// key up to its first '/', an ASCII name that does not start with '_'
// (boltkv keeps each bucket in a bbolt bucket). Ranges and range deletes
// stay within one bucket.
//
// Writes go through Txn: a list of comparisons (each holds when a key's mod
// revision is the given one, 0 meaning the key is absent) and a list of
// operations, applied all or none. A failed comparison returns ErrConflict:
// the optimistic-concurrency loop of the caller then catches up and tries
// again.
//
// Reads go through View, which gives a consistent snapshot at one revision.
// For etcd the snapshot is the node's replica, so reads never wait on the
// network.
//
// # Change feed
//
// Subscribe delivers every committed change as an Event, in revision order,
// to each subscriber, one event at a time (the next is not delivered before
// the subscriber returns). A subscriber that loads a snapshot with View
// after subscribing and skips events at or below the snapshot's revision
// misses nothing and sees nothing twice. The store's in-memory index
// advances from this feed only, so any number of stores over one backend
// (or over one etcd cluster) converge.
//
// A Reset event means the backend replaced its whole state (an etcd replica
// that fell behind a compaction resynchronised from scratch): the
// subscriber rebuilds from a fresh View.
package kv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// Errors callers test with errors.Is.
var (
	// ErrConflict: a comparison of the transaction failed; nothing was
	// written. Txn returns the revision at which it was checked.
	ErrConflict = errors.New("kv: conflict (a compared key changed)")
	// ErrReadOnly: the backend was opened read-only.
	ErrReadOnly = errors.New("kv: read-only")
	// ErrClosed: the backend was closed.
	ErrClosed = errors.New("kv: closed")
	// ErrTooLarge: the transaction exceeds the backend's Limits.
	ErrTooLarge = errors.New("kv: transaction too large")
	// ErrUnavailable: the system of record cannot be reached; reads still
	// answer from the local snapshot.
	ErrUnavailable = errors.New("kv: unavailable")
)

// Limits bound one transaction: at most MaxOps comparisons and at most
// MaxOps operations, and at most MaxBytes of keys and values.
type Limits struct {
	MaxOps   int
	MaxBytes int
}

// EtcdDefaults are etcd's default request limits (--max-txn-ops 128,
// --max-request-bytes 1.5 MiB), less a margin for the request's framing.
// The store treats a change as atomic-in-one-transaction only if it fits
// these, on every backend, so a change behaves the same on bbolt and etcd.
var EtcdDefaults = Limits{MaxOps: 128, MaxBytes: 1536<<10 - 64<<10}

// Min returns the tighter of two limits.
func (l Limits) Min(o Limits) Limits {
	return Limits{MaxOps: min(l.MaxOps, o.MaxOps), MaxBytes: min(l.MaxBytes, o.MaxBytes)}
}

type opKind uint8

const (
	opPut opKind = iota + 1
	opDelete
	opDeleteRange
)

// Op is one write of a transaction. Build it with Put, PutEphemeral,
// Delete, DeleteRange or DeletePrefix.
type Op struct {
	kind      opKind
	Key       []byte
	End       []byte // DeleteRange: exclusive end
	Value     []byte
	Ephemeral bool // Put: the key lives only while the writer's session does
}

// Put sets key to value.
func Put(key, value []byte) Op { return Op{kind: opPut, Key: key, Value: value} }

// PutEphemeral sets key to value for as long as the writing process holds
// the backend open (etcd: while its session lease is kept alive; bbolt:
// until Close or the next Open). Used for records that must disappear
// with a writer that dies, like an import's staging record.
func PutEphemeral(key, value []byte) Op {
	return Op{kind: opPut, Key: key, Value: value, Ephemeral: true}
}

// Delete removes key (no error if absent).
func Delete(key []byte) Op { return Op{kind: opDelete, Key: key} }

// DeleteRange removes every key in [start, end). Both lie in one bucket.
func DeleteRange(start, end []byte) Op { return Op{kind: opDeleteRange, Key: start, End: end} }

// DeletePrefix removes every key starting with prefix.
func DeletePrefix(prefix []byte) Op { return DeleteRange(prefix, PrefixEnd(prefix)) }

// IsPut reports whether o sets a key.
func (o Op) IsPut() bool { return o.kind == opPut }

// IsDelete reports whether o removes one key.
func (o Op) IsDelete() bool { return o.kind == opDelete }

// IsDeleteRange reports whether o removes a range of keys.
func (o Op) IsDeleteRange() bool { return o.kind == opDeleteRange }

// Size is what o costs against Limits.MaxBytes.
func (o Op) Size() int { return len(o.Key) + len(o.End) + len(o.Value) }

func (o Op) String() string {
	switch o.kind {
	case opPut:
		return fmt.Sprintf("put %q (%d bytes)", o.Key, len(o.Value))
	case opDelete:
		return fmt.Sprintf("delete %q", o.Key)
	case opDeleteRange:
		return fmt.Sprintf("delete [%q, %q)", o.Key, o.End)
	}
	return "invalid op"
}

// Cmp holds when Key's mod revision equals ModRev; ModRev 0 means "Key is
// absent".
type Cmp struct {
	Key    []byte
	ModRev int64
}

// Change is one key's change within an Event.
type Change struct {
	Key     []byte
	Value   []byte // nil when Deleted
	ModRev  int64  // the revision of the change
	Deleted bool
}

// Event is what one committed transaction changed, in the order the
// backend applied it. Slices are the subscriber's to read but not to keep
// beyond the call unless copied.
type Event struct {
	Rev     int64
	Changes []Change
	// Reset: the backend replaced its whole state at Rev; rebuild from View.
	Reset bool
}

// Reader reads one consistent snapshot. Values passed to callbacks and
// returned by Get are valid only until the View function returns.
type Reader interface {
	// Rev is the snapshot's revision.
	Rev() int64
	// Get returns key's value and mod revision; nil and 0 if absent.
	Get(key []byte) (value []byte, modRev int64, err error)
	// Range calls fn for every key in [start, end) (one bucket) in key
	// order, until fn returns an error, which Range then returns.
	Range(start, end []byte, fn func(key, value []byte, modRev int64) error) error
}

// Backend is a key-value store with transactions and a change feed.
// Implementations are safe for concurrent use.
type Backend interface {
	// View runs fn on a consistent snapshot of the local state.
	View(fn func(Reader) error) error
	// Txn applies ops if every comparison holds, atomically, and returns
	// the revision it committed at. A failed comparison returns
	// ErrConflict and the current revision. When Txn returns without
	// error every subscriber of this backend has been (bbolt) or will
	// soon be (etcd, through its watch) given the change.
	Txn(ctx context.Context, cmps []Cmp, ops []Op) (rev int64, err error)
	// Subscribe registers fn for every event committed from now on and
	// returns a function that unregisters it.
	Subscribe(fn func(Event)) (cancel func())
	// Limits are what one Txn may carry.
	Limits() Limits
	// ReadOnly reports whether writes are refused.
	ReadOnly() bool
	// String names the backend for messages ("bbolt /var/lib/x.db").
	String() string
	// Close releases the backend. Subscribers get no further events.
	Close() error
}

// PrefixEnd returns the smallest key greater than every key starting with
// prefix (etcd's GetPrefixRangeEnd).
func PrefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return []byte{0} // all 0xff: to the end of the key space
}

// Bucket returns the bucket name of key (up to the first '/') and whether
// key is well formed.
func Bucket(key []byte) (string, bool) {
	i := bytes.IndexByte(key, '/')
	if i <= 0 || key[0] == '_' {
		return "", false
	}
	return string(key[:i]), true
}

// bucketLen is the length of key's bucket name, 0 if key is not well
// formed (Bucket without the string: a bulk transaction checks a hundred
// thousand keys).
func bucketLen(key []byte) int {
	i := bytes.IndexByte(key, '/')
	if i <= 0 || key[0] == '_' {
		return 0
	}
	return i
}

// CheckTxn checks cmps and ops against limits (MaxOps 0 = unlimited) and
// that every key is well formed.
func CheckTxn(cmps []Cmp, ops []Op, l Limits) error {
	if l.MaxOps > 0 && (len(cmps) > l.MaxOps || len(ops) > l.MaxOps) {
		return fmt.Errorf("%w: %d comparisons, %d operations (limit %d each)", ErrTooLarge, len(cmps), len(ops), l.MaxOps)
	}
	size := 0
	for _, c := range cmps {
		if bucketLen(c.Key) == 0 {
			return fmt.Errorf("kv: compare key %q: not bucket/rest", c.Key)
		}
		size += len(c.Key) + 8
	}
	for _, o := range ops {
		if o.kind == 0 {
			return fmt.Errorf("kv: zero Op")
		}
		n := bucketLen(o.Key)
		if n == 0 {
			return fmt.Errorf("kv: %v: key not bucket/rest", o)
		}
		if o.kind == opDeleteRange && !InBucket(string(o.Key[:n]), o.End) {
			return fmt.Errorf("kv: %v: range leaves bucket %q", o, o.Key[:n])
		}
		size += o.Size()
	}
	if l.MaxBytes > 0 && size > l.MaxBytes {
		return fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, size, l.MaxBytes)
	}
	return nil
}

// InBucket reports whether end, as the exclusive end of a range starting in
// bucket b, keeps the range inside b.
func InBucket(b string, end []byte) bool {
	lo := []byte(b + "/")
	return bytes.Compare(end, lo) > 0 && bytes.Compare(end, PrefixEnd(lo)) <= 0
}
