package tcap

// The peer index maps (peer, peer's TID) to a dialogue of the shard, for
// an Abort a peer addressed with its own TID instead of ours. Every Query
// enters its dialogue and every release takes it out again, so the index
// is an open-addressed table with linear probing and backward-shift
// deletion (no tombstones to build up): an entry is the key's hash and the
// dialogue's slot, and the key itself is compared on the dialogue, which
// holds it.
//
// A key maps to one dialogue: a second dialogue with the same key (a peer
// reusing a TID while the first is open) takes the entry over, and the
// first one's release leaves it alone.

// peerEntry is one position of the peer index: slot is the dialogue's slot
// index plus one, 0 for an empty position.
type peerEntry struct {
	hash uint32
	slot int32
}

// minPeerBits is log2 of a shard's initial peer index size.
const minPeerBits = 6

// peerHome is where a hash's probe sequence starts. The hash's low bits
// chose the shard and are the same for every key in it, so the position
// comes from the high bits of a further multiplicative mix.
func (s *shard) peerHome(hash uint32) uint32 {
	return (hash * 0x9E3779B1) >> s.peerShift
}

// peerFind returns the position holding key (peer, tid), or the empty
// position where it would go, and whether it was found.
func (s *shard) peerFind(hash uint32, peer PeerKey, tid TID) (uint32, bool) {
	m := uint32(len(s.peers) - 1)
	for j := s.peerHome(hash); ; j = (j + 1) & m {
		e := &s.peers[j]
		if e.slot == 0 {
			return j, false
		}
		if e.hash == hash {
			if d := &s.slots[e.slot-1]; d.peer == peer && d.peerTID == tid {
				return j, true
			}
		}
	}
}

// peerGet finds the dialogue of key (peer, tid), whose hash is hash.
func (s *shard) peerGet(hash uint32, peer PeerKey, tid TID) *dialogue {
	if j, ok := s.peerFind(hash, peer, tid); ok {
		return &s.slots[s.peers[j].slot-1]
	}
	return nil
}

// peerSet enters dialogue d (its peerTID set, its peerHash its key's hash).
func (s *shard) peerSet(d *dialogue) {
	if 2*(s.npeers+1) > len(s.peers) {
		s.growPeers()
	}
	j, ok := s.peerFind(d.peerHash, d.peer, d.peerTID)
	if !ok {
		s.npeers++
	}
	s.peers[j] = peerEntry{d.peerHash, d.self + 1}
}

// peerDelete takes dialogue d out, if the entry of its key is d's.
func (s *shard) peerDelete(d *dialogue) {
	j, ok := s.peerFind(d.peerHash, d.peer, d.peerTID)
	if !ok || s.peers[j].slot != d.self+1 {
		return
	}
	// Backward shift: later entries of the cluster that may sit at j (their
	// home is not in (j, k]) move into the hole, which moves on to where
	// they were, until the cluster ends.
	m := uint32(len(s.peers) - 1)
	for k := (j + 1) & m; s.peers[k].slot != 0; k = (k + 1) & m {
		if (k-s.peerHome(s.peers[k].hash))&m >= (k-j)&m {
			s.peers[j] = s.peers[k]
			j = k
		}
	}
	s.peers[j] = peerEntry{}
	s.npeers--
}

// growPeers doubles the peer index. Keys are distinct, so entries are
// re-entered without comparing them.
func (s *shard) growPeers() {
	old := s.peers
	s.peers = make([]peerEntry, 2*len(old))
	s.peerShift--
	m := uint32(len(s.peers) - 1)
	for _, e := range old {
		if e.slot == 0 {
			continue
		}
		j := s.peerHome(e.hash)
		for s.peers[j].slot != 0 {
			j = (j + 1) & m
		}
		s.peers[j] = e
	}
}
