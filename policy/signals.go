package policy

import (
	"fmt"
	"strconv"
	"time"
)

// This file holds the details the signal stages (keys/, reputation/)
// hand the engine beside Call.KeyMatch and Call.Reputation: how the
// reputation band was found (for the trace and the decision log) and the
// brand of a verified enterprise.

// ReputationWhy says why a call's reputation was not looked up, or why
// the look-up gave no band. Values are persisted (decision log): append-only.
type ReputationWhy uint8

// Reasons.
const (
	WhyNone        ReputationWhy = iota // a band was found (or nothing was asked)
	WhyPrivate                          // exempt: presentation restricted or unavailable
	WhyAnonymous                        // exempt: no calling number
	WhyNonNANP                          // exempt: calling number outside the North American Numbering Plan
	WhyTimeout                          // unknown: no answer within the call's budget
	WhyError                            // unknown: the provider answered with an error
	WhyCircuitOpen                      // unknown: the provider failed repeatedly; not asked until it recovers
	WhyBusy                             // unknown: too many look-ups in flight; not asked
)

var reputationWhyNames = [...]string{"", "private", "anonymous", "non-nanp", "timeout", "error", "circuit-open", "busy"}

func (w ReputationWhy) String() string {
	if int(w) < len(reputationWhyNames) {
		return reputationWhyNames[w]
	}
	return "why(" + strconv.Itoa(int(w)) + ")"
}

// Valid reports whether w is a known reason.
func (w ReputationWhy) Valid() bool { return int(w) < len(reputationWhyNames) }

// MarshalText implements encoding.TextMarshaler.
func (w ReputationWhy) MarshalText() ([]byte, error) {
	if !w.Valid() {
		return nil, fmt.Errorf("policy: reputation reason %d has no name", uint8(w))
	}
	return []byte(reputationWhyNames[w]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (w *ReputationWhy) UnmarshalText(b []byte) error {
	i := lookupName(reputationWhyNames[:], b)
	if i < 0 {
		return fmt.Errorf("policy: unknown reputation reason %q", b)
	}
	*w = ReputationWhy(i)
	return nil
}

// CacheUse says where a reputation band came from. Persisted: append-only.
type CacheUse uint8

// Cache uses.
const (
	CacheNone  CacheUse = iota // not looked up
	CacheFresh                 // a cached answer within its freshness
	CacheStale                 // a cached answer past its freshness (a refresh was started)
	CacheMiss                  // nothing cached: the provider was asked on the call path
)

var cacheUseNames = [...]string{"", "fresh", "stale", "miss"}

func (c CacheUse) String() string {
	if int(c) < len(cacheUseNames) {
		return cacheUseNames[c]
	}
	return "cache(" + strconv.Itoa(int(c)) + ")"
}

// Valid reports whether c is a known cache use.
func (c CacheUse) Valid() bool { return int(c) < len(cacheUseNames) }

// MarshalText implements encoding.TextMarshaler.
func (c CacheUse) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("policy: cache use %d has no name", uint8(c))
	}
	return []byte(cacheUseNames[c]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *CacheUse) UnmarshalText(b []byte) error {
	i := lookupName(cacheUseNames[:], b)
	if i < 0 {
		return fmt.Errorf("policy: unknown cache use %q", b)
	}
	*c = CacheUse(i)
	return nil
}

// ReputationLookup is how Call.Reputation was found: the reason it is
// exempt or unknown, the cache's part, and the time the look-up took on
// the call path. The zero value: not looked up.
type ReputationLookup struct {
	Why     ReputationWhy `json:"why,omitzero"`
	Cache   CacheUse      `json:"cache,omitzero"`
	Latency time.Duration `json:"latency_ns,omitzero"`
}

// AppendText appends "why=timeout cache=miss latency=20ms" (the parts
// that are set).
func (l *ReputationLookup) AppendText(b []byte) []byte {
	sep := func() {
		if len(b) > 0 && b[len(b)-1] != ' ' {
			b = append(b, ' ')
		}
	}
	if l.Why != WhyNone {
		sep()
		b = append(b, "why="...)
		b = append(b, l.Why.String()...)
	}
	if l.Cache != CacheNone {
		sep()
		b = append(b, "cache="...)
		b = append(b, l.Cache.String()...)
	}
	if l.Latency > 0 {
		sep()
		b = append(b, "latency="...)
		b = append(b, l.Latency.String()...)
	}
	return b
}
