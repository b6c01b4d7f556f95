package decisionlog

import "sync/atomic"

// ring is the bounded queue between the tiers (many producers) and the
// writer (one consumer): a fixed array of slots, each with a sequence
// number that says whose turn it is (Vyukov's bounded queue). A producer
// claims a position with one compare-and-swap and publishes the slot with
// one atomic store; nobody ever waits for anybody. Full means push fails at
// once, which is what Record needs: drop and count, never block.
//
// A channel would do the same job, but every send takes the channel's lock,
// which the writer also holds while it drains; measured, that doubled the
// cost of Record under load.
type ring struct {
	slots []slot
	mask  uint64
	_     [48]byte
	enq   atomic.Uint64 // next position to claim (producers)
	_     [56]byte
	deq   atomic.Uint64 // next position to read (the writer only; atomic for len)
	_     [56]byte
}

type slot struct {
	// seq == pos: free for the producer claiming pos.
	// seq == pos+1: holds the record of pos, for the consumer.
	seq atomic.Uint64
	r   Record
}

// newRing returns a ring holding at least n records (rounded up to a power
// of two).
func newRing(n int) *ring {
	size := 1
	for size < n {
		size <<= 1
	}
	q := &ring{slots: make([]slot, size), mask: uint64(size - 1)}
	for i := range q.slots {
		q.slots[i].seq.Store(uint64(i))
	}
	return q
}

// push copies r into the ring. It returns the position used and true, or
// false at once when the ring is full.
func (q *ring) push(r *Record) (uint64, bool) {
	s, pos, ok := q.claim()
	if !ok {
		return 0, false
	}
	s.r = *r
	s.publish(pos)
	return pos, true
}

// claim takes the slot of the next position for the caller to fill in
// place and publish. It returns the slot, its position and true, or false
// at once when the ring is full. The consumer waits at a claimed slot
// until it is published, so the caller fills it without delay.
func (q *ring) claim() (*slot, uint64, bool) {
	pos := q.enq.Load()
	for {
		s := &q.slots[pos&q.mask]
		switch seq := s.seq.Load(); {
		case seq == pos:
			if q.enq.CompareAndSwap(pos, pos+1) {
				return s, pos, true
			}
			pos = q.enq.Load()
		case seq < pos:
			// The slot still holds the record of pos-len: full.
			return nil, 0, false
		default:
			// Another producer took pos; try the current end.
			pos = q.enq.Load()
		}
	}
}

// publish hands the record of pos, claimed and filled, to the consumer.
func (s *slot) publish(pos uint64) { s.seq.Store(pos + 1) }

// pop moves the oldest published record into r. It reports false when the
// ring is empty, or when the oldest claimed slot is still being written
// (the next pop gets it). Only the writer goroutine may call pop.
func (q *ring) pop(r *Record) bool {
	pos := q.deq.Load()
	s := &q.slots[pos&q.mask]
	if s.seq.Load() != pos+1 {
		return false
	}
	*r = s.r
	s.r = Record{} // let the GC have the strings
	s.seq.Store(pos + q.mask + 1)
	q.deq.Store(pos + 1)
	return true
}

// front returns the oldest published record in its slot, for the writer
// to read in place, or nil as pop would report false. The slot stays the
// writer's until next. Only the writer goroutine may call front and next.
func (q *ring) front() *Record {
	pos := q.deq.Load()
	s := &q.slots[pos&q.mask]
	if s.seq.Load() != pos+1 {
		return nil
	}
	return &s.r
}

// next frees the slot front returned, for the producers.
func (q *ring) next() {
	pos := q.deq.Load()
	s := &q.slots[pos&q.mask]
	s.r = Record{} // let the GC have the strings
	s.seq.Store(pos + q.mask + 1)
	q.deq.Store(pos + 1)
}

// len returns how many records are claimed but not yet popped.
func (q *ring) len() int {
	d := q.deq.Load()
	e := q.enq.Load()
	if e < d {
		return 0
	}
	return int(e - d)
}

// cap returns the ring's capacity.
func (q *ring) cap() int { return len(q.slots) }
