package fraud

import (
	"slices"
	"strings"
	"sync"
)

// State is where the monitor keeps what must outlive a restart and be the
// same on every node: lockdowns, the audit log, each group's daily spend
// (the history the thresholds learn from, and today's running total), the
// rate table and the CDR files' read offsets. It is a small key-value
// seam, so the monitor does not depend on how the tenant store lays out
// its files; StoreState puts it in the tenant store.
//
// Keys (values are JSON unless said otherwise):
//
//	lock/GROUP               Lock: the group is locked down
//	audit/SEQ                Event: alerts, lockdowns, unlocks, rate imports (SEQ: 16 digits)
//	audit/SEQ/NODE           the same, numbered by each node of a cluster (Config.Node)
//	meta/audit_seq[/NODE]    the last SEQ given
//	day/GROUP/YYYY-MM-DD     dayRecord: completed calls' spend that day; today's doubling
//	day/GROUP/YYYY-MM-DD/NODE  the same, one node's share (a cluster: cluster.go)
//	live/GROUP/NODE          shareRecord: one node's share of the group's today, calls in progress included
//	rates/meta               RateMeta of the table in force
//	rates/rows/NNNNNN        the table's rows, CSV, in chunks
//	rates/version/NNNNNNNN   RateMeta of every version imported
//	offset/PATH              a CDR file's read position
//	cdr/SEQ[/NODE]           a chunk of the CDR journal: CDRs counted, calls closed, counts
//	                         taken back, binary (journal.go); each node's, for the dedup window
//
// GROUP is GroupID.Key ("s12", "e3").
type State interface {
	// Get returns the value under key; ok is false when there is none.
	Get(key string) (value []byte, ok bool, err error)
	// Scan calls fn for every key starting with prefix, in key order.
	// fn must not keep value.
	Scan(prefix string, fn func(key string, value []byte) error) error
	// Write applies ops in one transaction: all or none.
	Write(ops []Op) error
}

// Audited is a State that also keeps the platform's audit log (the tenant
// store): WriteEvent applies ops and records e there in the same
// transaction, so lockdowns, unlocks and rate imports are found by
// `callgate audit search` beside every other change, with who did them.
type Audited interface {
	WriteEvent(ops []Op, e *Event) error
}

// Limited is a State whose Write takes at most ops operations and bytes
// bytes of keys and values at once (the store over etcd). The monitor
// splits its checkpoints to fit; its other writes are a few keys.
type Limited interface {
	WriteLimits() (ops, bytes int)
}

// Op is one write: Value under Key, or Key deleted.
type Op struct {
	Key    string
	Value  []byte
	Delete bool
}

// MemState is a State in memory, for tests and a monitor without a store.
type MemState struct {
	mu sync.Mutex
	m  map[string][]byte
	// Fail, when set, fails every Write (tests of what a broken store does).
	Fail error
}

// NewMemState returns an empty MemState.
func NewMemState() *MemState { return &MemState{m: map[string][]byte{}} }

// Get implements State.
func (s *MemState) Get(key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return slices.Clone(v), ok, nil
}

// Scan implements State.
func (s *MemState) Scan(prefix string, fn func(string, []byte) error) error {
	s.mu.Lock()
	var keys []string
	for k := range s.m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = slices.Clone(s.m[k])
	}
	s.mu.Unlock()
	for i, k := range keys {
		if err := fn(k, vals[i]); err != nil {
			return err
		}
	}
	return nil
}

// Write implements State.
func (s *MemState) Write(ops []Op) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return s.Fail
	}
	for _, op := range ops {
		if op.Delete {
			delete(s.m, op.Key)
		} else {
			s.m[op.Key] = slices.Clone(op.Value)
		}
	}
	return nil
}

// Len is the number of keys (tests).
func (s *MemState) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
