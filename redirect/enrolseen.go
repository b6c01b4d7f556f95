package redirect

import (
	"hash/maphash"
	"sync"
	"time"
)

// Retransmitted enrolments. Over UDP the enterprise's proxy resends an
// INVITE it has no final answer to (RFC 3261 §17.1.1.2: after T1, 2·T1,
// ... until Timer B, 64·T1 = 32 s), and a stateless server answers each
// copy anew. For an enrolment that would register the key again, with a
// window a little later, and in single-use mode leave a spare key that
// lets one more call between the two numbers through. So the server
// remembers, for Timer B, the enrolments it answered with a 302 by their
// transaction (top Via branch, Call-ID, CSeq) and answers a copy with the
// same 302 without registering anything. At most enrolRememberMax are
// kept, the oldest forgotten first (a copy of a forgotten one registers
// again, as every copy did before). The stateful path needs none of this:
// sipgo's transactions absorb retransmissions.

const (
	enrolRemember    = 32 * time.Second
	enrolRememberMax = 1 << 16
)

type enrolSeen struct {
	seed maphash.Seed

	mu   sync.Mutex
	byID map[uint64]seenEnrol
	ring []seenID // insertion order; head is the oldest
	head int
	n    int
}

type seenEnrol struct {
	onward string // the 302's Contact URI
	at     int64  // unix ns
}

type seenID struct {
	id uint64
	at int64
}

func newEnrolSeen() *enrolSeen {
	return &enrolSeen{seed: maphash.MakeSeed(), byID: make(map[uint64]seenEnrol), ring: make([]seenID, enrolRememberMax)}
}

// id names v's transaction.
func (e *enrolSeen) id(v *reqView) uint64 {
	h := maphash.String(e.seed, v.branch)
	h = h*0x9e3779b97f4a7c15 ^ maphash.String(e.seed, v.callID)
	return h*0x9e3779b97f4a7c15 ^ uint64(v.cseqSeq)
}

// get returns the Contact URI of the enrolment id answered within
// enrolRemember of now.
func (e *enrolSeen) get(id uint64, now time.Time) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.byID[id]
	if !ok || now.UnixNano()-s.at >= int64(enrolRemember) {
		return "", false
	}
	return s.onward, true
}

// put remembers the enrolment id answered at now with a 302 to onward.
func (e *enrolSeen) put(id uint64, onward string, now time.Time) {
	at := now.UnixNano()
	e.mu.Lock()
	defer e.mu.Unlock()
	for e.n > 0 && (e.n == len(e.ring) || at-e.ring[e.head].at >= int64(enrolRemember)) {
		old := e.ring[e.head]
		if s, ok := e.byID[old.id]; ok && s.at == old.at {
			delete(e.byID, old.id)
		}
		e.head = (e.head + 1) % len(e.ring)
		e.n--
	}
	e.byID[id] = seenEnrol{onward: onward, at: at}
	e.ring[(e.head+e.n)%len(e.ring)] = seenID{id: id, at: at}
	e.n++
}
