package keys

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/bits"
	"sync"

	"callgate/e164"
)

// The table holds every live key in memory: shards of fixed-size
// open-addressing arrays (linear probing), sized once from the configured
// bound, so a key costs 32 bytes of memory whatever the load and a lookup
// neither allocates nor chases a pointer per key. A key is two numbers, a
// window and the internal ID of the enterprise that registered it; which
// enterprise owns a number now is the registry's business (registry.go),
// the table only compares IDs.
//
// Times are unix seconds (uint32, good until 2106): a window has second
// resolution, its first and last second both inclusive.

// slot is one key. calling == 0 marks an empty slot (a calling number is
// never 0: registration refuses it).
type slot struct {
	calling, called e164.Number
	notBefore       uint32 // first second the key matches
	notAfter        uint32 // last second the key matches
	usedEnd         uint32 // 0 unused; else used (single-use) or revoked, and matches through this second only
	// ent is the enterprise that registered the key (store ID, never 0 in
	// the table): the key matches only while that enterprise enrols the
	// calling number, so a number moved to another enterprise does not
	// carry the old one's keys (and brand) with it.
	ent uint32
}

// revokedEnd is usedEnd of a revoked key: matching through the first
// second of 1970 is matching never. Being the earliest end there is, it
// wins over any use when uses and revocations meet (replay, replication),
// and a node that knows only uses (an older version reading the log or
// etcd) reads it as used up, which is what a revocation means.
const revokedEnd = 1

// ErrRevoked is returned when a key registered again (the same numbers,
// window and enterprise) was revoked: a revocation is not undone by a
// retried registration; register a new window.
var ErrRevoked = errors.New("keys: this key was revoked")

// gone reports whether the key's window has passed: its slot may be
// reused. A used single-use key is kept until then (it matches no more, but
// registering it again must not revive it).
func (s *slot) gone(now uint32) bool { return s.notAfter < now }

func (s *slot) sameKey(k *slot) bool {
	return s.calling == k.calling && s.called == k.called && s.notBefore == k.notBefore && s.notAfter == k.notAfter && s.ent == k.ent
}

// ErrFull is returned when the table holds its configured maximum of live
// keys.
var ErrFull = errors.New("keys: the key table is full")

// maxLoad is the share of a shard's slots that may hold keys (live or
// expired and not yet swept): linear probing stays short below it.
const maxLoadNum, maxLoadDen = 3, 4

type shard struct {
	mu    sync.Mutex
	slots []slot
	n     uint64 // len(slots)
	used  int    // slots holding a key (live, or ended and not yet swept)
	max   int    // most slots that may hold a key
	// pend are log records (recordSize bytes each) of changes to this
	// shard the writer has not taken yet. Appended under mu, so the log
	// keeps each key's changes in order.
	pend []byte
	_    [40]byte // keep neighbouring shards' locks off one cache line
}

// table is the sharded key table.
type table struct {
	shards    []shard
	shift     uint // 64 - log2(len(shards))
	singleUse bool
	grace     uint32 // seconds a used single-use key still matches (retransmissions)
	// skew is how many seconds the enterprise's clock, which set a key's
	// window, may be off ours: a key matches from skew before its first
	// second through skew after its last (Config.ClockSkew), and is kept
	// until then.
	skew    uint32
	persist bool // append log records to pend
	// onUse, when set (Registry.Replicate), hears of every use of a
	// single-use key, under the shard's lock: it must not block.
	onUse func(slot)
}

// newTable sizes a table for at most maxKeys live keys over nShards shards
// (a power of two).
func newTable(maxKeys, nShards int, singleUse bool, grace uint32, persist bool) *table {
	if nShards < 1 || nShards&(nShards-1) != 0 {
		panic("keys: shard count must be a power of two")
	}
	per := (maxKeys + nShards - 1) / nShards
	if per < 8 {
		per = 8
	}
	// Keys spread over the shards unevenly: give each shard room for its
	// share plus a margin of several standard deviations (sqrt(per)), so
	// the bound is reached as a whole, not by one unlucky shard first.
	per += 4*int(math.Sqrt(float64(per))) + 8
	// Room for per keys at maxLoad. Any size will do (home uses a
	// multiply-shift, not a mask), so no power-of-two rounding wastes
	// memory.
	n := per*maxLoadDen/maxLoadNum + 1
	t := &table{shards: make([]shard, nShards), shift: uint(64 - bits.TrailingZeros(uint(nShards))),
		singleUse: singleUse, grace: grace, persist: persist}
	for i := range t.shards {
		s := &t.shards[i]
		s.slots = make([]slot, n)
		s.n = uint64(n)
		s.max = min(per, n*maxLoadNum/maxLoadDen)
	}
	return t
}

// hash mixes the two numbers of a key (a multiply-xorshift finaliser).
func hash(calling, called e164.Number) uint64 {
	h := uint64(calling)*0x9E3779B97F4A7C15 ^ uint64(called)*0xC2B2AE3D27D4EB4F
	h ^= h >> 29
	h *= 0xBF58476D1CE4E5B9
	h ^= h >> 32
	return h
}

// home is the slot where a key of hash h starts probing: the low 32 bits
// scaled onto the shard (the high bits pick the shard).
func (s *shard) home(h uint64) uint64 { return uint64(uint32(h)) * s.n >> 32 }

func (s *shard) next(i uint64) uint64 {
	if i++; i == s.n {
		return 0
	}
	return i
}

func (t *table) shardOf(h uint64) *shard {
	if t.shift == 64 {
		return &t.shards[0]
	}
	return &t.shards[h>>t.shift]
}

// past is the latest second a key may have ended and still match at now
// (its skew tail): keys that ended before it are gone.
func (t *table) past(now uint32) uint32 {
	if now < t.skew {
		return 0
	}
	return now - t.skew
}

// add inserts a key unless the same key (numbers, window, enterprise) is
// there: adding is idempotent, so a retried registration is one key and a
// replayed log record changes nothing. It reports whether the key is new;
// ErrRevoked when the same key is there, revoked.
func (t *table) add(calling, called e164.Number, ent, nb, na, now uint32) (bool, error) {
	h := hash(calling, called)
	s := t.shardOf(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	added, err := s.insert(h, slot{calling: calling, called: called, notBefore: nb, notAfter: na, ent: ent}, t.past(now))
	if added != 0 && t.persist {
		s.pend = appendRecord(s.pend, recAdd, &s.slots[added.pos()])
	}
	return added != 0, err
}

// placed is where insert put a key: 0 = nowhere, else position+1.
type placed int

func (p placed) pos() int { return int(p) - 1 }

// insert places k (an exact duplicate is left alone). A slot whose key
// ended before past is reused; when the shard is full those keys are
// swept first.
func (s *shard) insert(h uint64, k slot, past uint32) (placed, error) {
	for attempt := 0; ; attempt++ {
		reuse := -1
		i := s.home(h)
		for {
			cur := &s.slots[i]
			if cur.calling == 0 {
				break
			}
			if cur.sameKey(&k) {
				if cur.usedEnd == revokedEnd {
					return 0, ErrRevoked
				}
				return 0, nil
			}
			if reuse < 0 && cur.gone(past) {
				reuse = int(i)
			}
			i = s.next(i)
		}
		switch {
		case reuse >= 0:
			s.slots[reuse] = k
			return placed(reuse + 1), nil
		case s.used < s.max:
			s.slots[i] = k
			s.used++
			return placed(i + 1), nil
		case attempt == 0 && s.sweep(past) > 0:
			continue
		}
		return 0, ErrFull
	}
}

// check looks for a key of calling -> called registered by enterprise ent
// matching at now: within its window widened by the clock skew at both
// ends. In single-use mode the
// first match uses the key up (when use is set: a what-if question,
// Registry.Peek, leaves it as it is): it goes on matching only for the
// grace period (a retransmitted INVITE, a re-asked query; our clock, no
// skew), and the use is logged so a restart does not revive it.
func (t *table) check(calling, called e164.Number, ent, now uint32, use bool) bool {
	h := hash(calling, called)
	s := t.shardOf(h)
	s.mu.Lock()
	i := s.home(h)
	found := false
	for {
		cur := &s.slots[i]
		if cur.calling == 0 {
			break
		}
		if cur.calling == calling && cur.called == called && cur.ent == ent && t.matches(cur, now) {
			found = true
			if use && t.singleUse && cur.usedEnd == 0 {
				// It matches through second now+grace; with no grace, not
				// even for the rest of this second.
				cur.usedEnd = now + t.grace
				if t.grace == 0 {
					cur.usedEnd = now - 1
				}
				if last := satAdd(cur.notAfter, t.skew); cur.usedEnd > last {
					cur.usedEnd = last
				}
				if cur.usedEnd <= revokedEnd { // 0 means unused, 1 revoked; those seconds are long past anyway
					cur.usedEnd = revokedEnd + 1
				}
				if t.persist {
					s.pend = appendRecord(s.pend, recUse, cur)
				}
				if t.onUse != nil {
					t.onUse(*cur)
				}
			}
			break
		}
		i = s.next(i)
	}
	s.mu.Unlock()
	return found
}

// matches reports whether k matches at now: from skew before its first
// second through skew after its last, and through its grace once used.
func (t *table) matches(k *slot, now uint32) bool {
	if k.notBefore > satAdd(now, t.skew) || k.notAfter < t.past(now) {
		return false
	}
	return k.usedEnd == 0 || now <= k.usedEnd
}

// satAdd is a+b, saturating at the uint32 range's end (2106).
func satAdd(a, b uint32) uint32 {
	if a > math.MaxUint32-b {
		return math.MaxUint32
	}
	return a + b
}

// use applies a logged use to the key it names (replay). Like add it is
// idempotent: the earliest end wins.
func (t *table) use(k *slot) {
	h := hash(k.calling, k.called)
	s := t.shardOf(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := s.home(h); s.slots[i].calling != 0; i = s.next(i) {
		cur := &s.slots[i]
		if cur.sameKey(k) {
			if cur.usedEnd == 0 || k.usedEnd < cur.usedEnd {
				cur.usedEnd = k.usedEnd
			}
			return
		}
	}
}

// revokePair revokes the keys of calling -> called registered by
// enterprise ent that could still match at now (every window) and logs
// each revocation. It appends to out every revoked key whose window has
// not ended, those revoked before included (publishing them again is how
// a revocation that did not reach the cluster is retried), and returns
// how many it revoked now.
func (t *table) revokePair(calling, called e164.Number, ent, now uint32, out []slot) ([]slot, int) {
	h := hash(calling, called)
	s := t.shardOf(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	past, n := t.past(now), 0
	for i := s.home(h); s.slots[i].calling != 0; i = s.next(i) {
		if cur := &s.slots[i]; cur.calling == calling && cur.called == called && cur.ent == ent {
			out = t.revokeSlot(s, cur, now, past, out, &n)
		}
	}
	return out, n
}

// revokeAll is revokePair for every key of enterprise ent: a scan of the
// whole table, one shard lock at a time (an operator's action, not the
// call path).
func (t *table) revokeAll(ent, now uint32, out []slot) ([]slot, int) {
	past, n := t.past(now), 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for j := range s.slots {
			if cur := &s.slots[j]; cur.calling != 0 && cur.ent == ent {
				out = t.revokeSlot(s, cur, now, past, out, &n)
			}
		}
		s.mu.Unlock()
	}
	return out, n
}

// revokeSlot revokes cur (of shard s, whose lock the caller holds) unless
// it can no longer match (ended, or used with its grace over), counting it
// in n; a key revoked before is appended to out but not counted.
func (t *table) revokeSlot(s *shard, cur *slot, now, past uint32, out []slot, n *int) []slot {
	switch {
	case cur.gone(past):
		return out
	case cur.usedEnd == revokedEnd:
		return append(out, *cur)
	case cur.usedEnd != 0 && cur.usedEnd < now:
		return out
	}
	cur.usedEnd = revokedEnd
	if t.persist {
		s.pend = appendRecord(s.pend, recUse, cur)
	}
	*n++
	return append(out, *cur)
}

// sweep removes the keys of s that ended before now (backward-shift
// deletion keeps every probe chain whole) and returns how many. The
// caller holds s.mu.
func (s *shard) sweep(now uint32) int {
	n := 0
	for i := 0; i < len(s.slots); {
		cur := &s.slots[i]
		if cur.calling != 0 && cur.gone(now) {
			s.remove(uint64(i))
			n++
			continue // a key may have moved into i: look again
		}
		i++
	}
	s.used -= n
	return n
}

// remove empties slot i and shifts the rest of its probe chain back.
func (s *shard) remove(i uint64) {
	j := i
	for {
		j = s.next(j)
		nxt := &s.slots[j]
		if nxt.calling == 0 {
			break
		}
		home := s.home(hash(nxt.calling, nxt.called))
		// nxt stays when its home lies cyclically in (i, j].
		if i <= j {
			if i < home && home <= j {
				continue
			}
		} else if i < home || home <= j {
			continue
		}
		s.slots[i] = *nxt
		i = j
	}
	s.slots[i] = slot{}
}

// sweepAll sweeps every shard, one lock at a time, of the keys that can
// no longer match at now; it returns the keys removed.
func (t *table) sweepAll(now uint32) int {
	n, past := 0, t.past(now)
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += s.sweep(past)
		s.mu.Unlock()
	}
	return n
}

// live counts the keys that have not ended at now (a full scan; for
// stats and tests, not the call path).
func (t *table) live(now uint32) (live, used, capacity int) {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for j := range s.slots {
			if c := &s.slots[j]; c.calling != 0 && !c.gone(now) {
				live++
			}
		}
		used += s.used
		capacity += s.max
		s.mu.Unlock()
	}
	return live, used, capacity
}

// ---- log records ----

// A log record is one change to the table, fixed-size. Version 2 (kinds
// recAdd 'a', recUse 'u'; what this version writes):
//
//	kind       1 byte
//	calling    8 bytes little-endian
//	called     8
//	notBefore  4
//	notAfter   4
//	usedEnd    4 (a use: the end of its grace; a revocation: revokedEnd)
//	enterprise 4 (store ID of the registering enterprise)
//	crc32c     4 over the bytes before it
//
// Version 1 (kinds 'A', 'U', 33 bytes, written before keys were bound to
// an enterprise) is the same without the enterprise; it is still read, and
// the key is bound on loading to the enterprise that enrols its calling
// number then (the one that registered it, unless the number moved since:
// a window of at most keys.max_window). The kind byte tells the versions
// apart, so a log may hold both. A snapshot keeps the slots as add records
// (with usedEnd) of the version its magic names.
const (
	recordSize   = 37
	recordSizeV1 = 33
)

const (
	recAdd   byte = 'a'
	recUse   byte = 'u'
	recAddV1 byte = 'A'
	recUseV1 byte = 'U'
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recordLen is the size of a record of kind, 0 for no known kind.
func recordLen(kind byte) int {
	switch kind {
	case recAdd, recUse:
		return recordSize
	case recAddV1, recUseV1:
		return recordSizeV1
	}
	return 0
}

func appendRecord(b []byte, kind byte, s *slot) []byte {
	start := len(b)
	b = append(b, kind)
	b = binary.LittleEndian.AppendUint64(b, uint64(s.calling))
	b = binary.LittleEndian.AppendUint64(b, uint64(s.called))
	b = binary.LittleEndian.AppendUint32(b, s.notBefore)
	b = binary.LittleEndian.AppendUint32(b, s.notAfter)
	b = binary.LittleEndian.AppendUint32(b, s.usedEnd)
	if kind == recAdd || kind == recUse {
		b = binary.LittleEndian.AppendUint32(b, s.ent)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// decodeRecord reads one record of either version (its kind, the first
// byte, gives its size); an error says what is wrong with it. The kind is
// returned as of version 2 (recAdd, recUse); a version 1 record has
// enterprise 0 (unknown: the caller binds it).
func decodeRecord(b []byte) (kind byte, s slot, err error) {
	if len(b) == 0 {
		return 0, s, fmt.Errorf("short record (0 bytes)")
	}
	kind = b[0]
	n := recordLen(kind)
	if n == 0 {
		return 0, s, fmt.Errorf("unknown record kind %q", kind)
	}
	if len(b) < n {
		return 0, s, fmt.Errorf("short record (%d of %d bytes)", len(b), n)
	}
	if got, want := binary.LittleEndian.Uint32(b[n-4:]), crc32.Checksum(b[:n-4], castagnoli); got != want {
		return 0, s, fmt.Errorf("checksum %08x, want %08x", got, want)
	}
	s.calling = e164.Number(binary.LittleEndian.Uint64(b[1:]))
	s.called = e164.Number(binary.LittleEndian.Uint64(b[9:]))
	s.notBefore = binary.LittleEndian.Uint32(b[17:])
	s.notAfter = binary.LittleEndian.Uint32(b[21:])
	s.usedEnd = binary.LittleEndian.Uint32(b[25:])
	switch kind {
	case recAddV1:
		kind = recAdd
	case recUseV1:
		kind = recUse
	default:
		if s.ent = binary.LittleEndian.Uint32(b[29:]); s.ent == 0 {
			return 0, s, fmt.Errorf("record of key %d -> %d names no enterprise", s.calling, s.called)
		}
	}
	switch {
	case s.calling == 0 || s.called == 0 || s.calling >= 1e15 || s.called >= 1e15:
		return 0, s, fmt.Errorf("record with number %d -> %d is not an E.164 key", s.calling, s.called)
	case s.notAfter < s.notBefore:
		return 0, s, fmt.Errorf("record with window %d..%d ending before it begins", s.notBefore, s.notAfter)
	}
	return kind, s, nil
}
