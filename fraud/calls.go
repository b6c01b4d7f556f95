package fraud

import (
	"sync"

	"callgate/e164"
)

// The calls in progress: each originating call the engine let through is
// opened here (by the decision hook, Wrap) with the price a minute of its
// destination, and valued up to now at every recompute until its CDR
// closes it. A call whose CDR never comes is dropped after
// Config.MaxCallDuration (counted: the CDR feed should report unanswered
// attempts too, with duration 0, so they do not count as in progress).
//
// Calls are matched to their CDR by (calling, called): the oldest open
// call of the pair that started before the CDR's call ended. The table is
// sharded by that pair so concurrent decisions rarely meet on one lock; a
// shard keeps its calls in a slab with a free list, so opening and closing
// calls in steady state does not allocate.

const callShards = 16

type callKey struct{ calling, called e164.Number }

func (k callKey) shard() int {
	h := uint64(k.calling)*0x9E3779B97F4A7C15 ^ uint64(k.called)*0xC2B2AE3D27D4EB4F
	return int(h >> 60)
}

type openCall struct {
	key   callKey
	group GroupID
	start int64 // unix nanoseconds
	price Money // a minute, as rated when the call started
	next  int32 // next newer open call of the same key; free-list link when free; -1 none
}

// chain is the first (oldest) and last open call of one key: a trunk
// presenting one number for many concurrent calls to one destination (a
// PBX pumping a premium number) makes long chains, so opening appends at
// the tail in constant time.
type chain struct{ first, last int32 }

type callShard struct {
	mu   sync.Mutex
	head map[callKey]chain // each key's open calls, oldest first
	slab []openCall
	free int32
	n    int
	_    [40]byte // keep shards' locks on separate cache lines
}

type openCalls struct {
	shards [callShards]callShard
	max    int // per shard
}

func (t *openCalls) init(maxCalls int) {
	t.max = max(1, maxCalls/callShards)
	for i := range t.shards {
		s := &t.shards[i]
		s.head = make(map[callKey]chain, 256)
		s.slab = make([]openCall, 0, 256)
		s.free = -1
	}
}

// open records a call; false when the shard is full (the call is not
// tracked: counted by the caller).
func (t *openCalls) open(k callKey, g GroupID, start int64, price Money) bool {
	s := &t.shards[k.shard()]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n >= t.max {
		return false
	}
	i := s.alloc(openCall{key: k, group: g, start: start, price: price})
	if c, ok := s.head[k]; ok {
		s.slab[c.last].next = i
		s.head[k] = chain{c.first, i}
	} else {
		s.head[k] = chain{i, i}
	}
	return true
}

// close removes the oldest open call of k that started at or before end
// and returns it.
func (t *openCalls) close(k callKey, end int64) (openCall, bool) {
	s := &t.shards[k.shard()]
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.head[k]
	if !ok {
		return openCall{}, false
	}
	prev := int32(-1)
	for i := c.first; i >= 0; prev, i = i, s.slab[i].next {
		c := s.slab[i]
		if c.start > end {
			continue
		}
		s.unlink(k, prev, i)
		return c, true
	}
	return openCall{}, false
}

// reopen puts back a call closed before (close returned it), in its
// place by start among the open calls of its key; false when the shard
// is full.
func (t *openCalls) reopen(c openCall) bool {
	k := c.key
	s := &t.shards[k.shard()]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n >= t.max {
		return false
	}
	i := s.alloc(c)
	ch, ok := s.head[k]
	if !ok {
		s.head[k] = chain{i, i}
		return true
	}
	prev := int32(-1)
	for j := ch.first; j >= 0 && s.slab[j].start <= c.start; j = s.slab[j].next {
		prev = j
	}
	switch {
	case prev < 0:
		s.slab[i].next = ch.first
		ch.first = i
	default:
		s.slab[i].next = s.slab[prev].next
		s.slab[prev].next = i
		if ch.last == prev {
			ch.last = i
		}
	}
	s.head[k] = ch
	return true
}

// alloc puts c in a free slab entry (or a new one), linked to nothing,
// and returns its index.
func (s *callShard) alloc(c openCall) int32 {
	var i int32
	if s.free >= 0 {
		i = s.free
		s.free = s.slab[i].next
	} else {
		s.slab = append(s.slab, openCall{})
		i = int32(len(s.slab) - 1)
	}
	c.next = -1
	s.slab[i] = c
	s.n++
	return i
}

// unlink removes slab entry i (after prev in k's chain) and frees it.
func (s *callShard) unlink(k callKey, prev, i int32) {
	next := s.slab[i].next
	c := s.head[k]
	switch {
	case prev < 0 && next < 0:
		delete(s.head, k)
	case prev < 0:
		c.first = next
		s.head[k] = c
	default:
		s.slab[prev].next = next
		if c.last == i {
			c.last = prev
			s.head[k] = c
		}
	}
	s.slab[i] = openCall{next: s.free}
	s.free = i
	s.n--
}

// value calls fn with the value up to now of every open call, and drops
// (and counts) those open longer than maxAge.
func (t *openCalls) value(now int64, maxAge int64, fn func(GroupID, Money)) (open, expired int) {
	for si := range t.shards {
		s := &t.shards[si]
		s.mu.Lock()
		for k, c := range s.head {
			prev := int32(-1)
			for i := c.first; i >= 0; {
				c := &s.slab[i]
				next := c.next
				age := now - c.start
				if age > maxAge {
					s.unlink(k, prev, i)
					expired++
					i = next
					continue
				}
				if age > 0 {
					fn(c.group, c.price.PerMinute(ceilSeconds(age)))
				}
				open++
				prev, i = i, next
			}
		}
		s.mu.Unlock()
	}
	return open, expired
}

// len is the number of open calls.
func (t *openCalls) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += s.n
		s.mu.Unlock()
	}
	return n
}

// ceilSeconds is nanoseconds as whole seconds, rounded up (billing rounds
// a started second up).
func ceilSeconds(ns int64) int64 { return (ns + 1e9 - 1) / 1e9 }
