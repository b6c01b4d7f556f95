package tcap

// A shard finds a dialogue by our TID with one array read. We choose our
// TIDs, so we choose them to index a table directly: the TID's counter bits
// (the bits above the shard index) taken modulo the table size are the
// dialogue's position, and alloc skips counter values whose position is
// taken. Two open dialogues therefore never share a position, and a lookup
// is a read of the position plus a check that the dialogue there has the
// TID asked for (a late package for a released dialogue finds either an
// empty position or a dialogue with another TID).
//
// The counter still only moves forward, so a TID is not reused until the
// counter wraps, whatever the table size. The table doubles when it would
// be more than half full, so a free position is on average within two
// counter values; doubling keeps positions distinct (distinct modulo n
// implies distinct modulo 2n).
//
// A peer using 1-3 octet TIDs gets ours in as many octets, so its TID comes
// from a small counter range that cannot skip freely: when such a TID is
// free but its position is taken, the dialogue goes to an overflow map,
// looked at only while it is not empty.

// minPositions is a shard's initial position table size.
const minPositions = 64

// posOf is the position of our TID tid in the shard's table.
func (s *shard) posOf(tid uint32) *int32 {
	return &s.pos[(tid>>s.bits)&uint32(len(s.pos)-1)]
}

// get finds the open dialogue whose TID is tid.
func (s *shard) get(tid uint32) *dialogue {
	if p := *s.posOf(tid); p != 0 {
		if d := &s.slots[p-1]; d.ourTID == tid {
			return d
		}
	}
	if len(s.overflow) != 0 {
		if i, ok := s.overflow[tid]; ok {
			return &s.slots[i]
		}
	}
	return nil
}

// open is the number of open dialogues in the shard.
func (s *shard) open() int { return s.placed + len(s.overflow) }

// pickTID advances the shard's counter to the next TID that fits space
// counter values (see alloc) and is free, and reserves a place for it:
// the position it indexes, or for a short TID (short) the overflow map.
// It returns the TID and the pointer to fill with the dialogue's slot
// index plus one (nil for overflow); ok false when no TID is free.
func (s *shard) pickTID(si uint32, space uint64, short bool) (tid uint32, at *int32, ok bool) {
	if s.placed >= len(s.pos)/2 && len(s.pos) < s.maxPositions {
		s.growPositions()
	}
	for k := uint64(0); k < space; k++ {
		n := uint64(s.next) % space
		// Compared in 64 bits: with one shard the counter has all 32
		// bits, and 1<<32 as a uint32 is 0.
		if s.next++; uint64(s.next) >= 1<<(32-s.bits) || s.next == 0 {
			s.next = 1
		}
		if n == 0 {
			continue
		}
		tid = uint32(n)<<s.bits | si
		at = s.posOf(tid)
		if *at == 0 {
			if _, used := s.overflow[tid]; !used {
				return tid, at, true
			}
			continue
		}
		if short && s.get(tid) == nil {
			return tid, nil, true
		}
	}
	return 0, nil, false
}

// place records the dialogue in slot i under the TID pickTID chose.
func (s *shard) place(tid uint32, at *int32, i int32) {
	if at != nil {
		*at = i + 1
		s.placed++
		return
	}
	if s.overflow == nil {
		s.overflow = make(map[uint32]int32)
	}
	s.overflow[tid] = i
}

// unplace forgets the dialogue's TID.
func (s *shard) unplace(d *dialogue) {
	if p := s.posOf(d.ourTID); *p == d.self+1 {
		*p = 0
		s.placed--
		return
	}
	delete(s.overflow, d.ourTID)
}

// growPositions doubles the position table and re-places every dialogue;
// an overflowed one moves into the table if its new position is free.
func (s *shard) growPositions() {
	old := s.pos
	s.pos = make([]int32, 2*len(old))
	for _, p := range old {
		if p != 0 {
			*s.posOf(s.slots[p-1].ourTID) = p
		}
	}
	for tid, i := range s.overflow {
		if p := s.posOf(tid); *p == 0 {
			*p = i + 1
			s.placed++
			delete(s.overflow, tid)
		}
	}
}
