package pcap

import "github.com/gopacket/gopacket/layers"

// sctpDir is one direction of an SCTP association: its ports and the
// verification tag its packets carry (RFC 9260 §8.5), not its addresses,
// which a multi-homed endpoint changes when it retransmits on another
// path.
type sctpDir struct {
	src, dst layers.SCTPPort
	vtag     uint32
}

type tsnKey struct {
	sctpDir
	tsn uint32
}

// fragKey is where the fragments of one user message come in: an
// ordered message's fragments are consecutive on its stream (RFC 9260
// §6.9); unordered ones are kept apart from them.
type fragKey struct {
	sctpDir
	stream    uint16
	unordered bool
}

// sctpAssoc reads DATA chunks as the receiving endpoint does: a chunk with
// a TSN already received is a retransmission and not delivered again
// (RFC 9260 §6.2; tshark marks it "retransmission"), and the fragments of
// a user message (B and E flags, §6.9) are delivered as one message.
type sctpAssoc struct {
	seen    map[tsnKey]bool
	partial map[fragKey][]byte // the fragments so far of a message begun (nil: a B fragment is awaited)
}

// data returns the user message a DATA chunk delivers, if it completes one.
func (a *sctpAssoc) data(h *layers.SCTP, c *layers.SCTPData) ([]byte, bool) {
	dir := sctpDir{h.SrcPort, h.DstPort, h.VerificationTag}
	if k := (tsnKey{dir, c.TSN}); a.seen[k] {
		return nil, false
	} else {
		a.seen[k] = true
	}
	if c.BeginFragment && c.EndFragment {
		return append([]byte(nil), c.Payload...), true
	}
	k := fragKey{dir, c.StreamId, c.Unordered}
	if c.BeginFragment {
		a.partial[k] = append([]byte(nil), c.Payload...)
		return nil, false
	}
	got, ok := a.partial[k]
	if !ok {
		return nil, false // its first fragment was not captured
	}
	got = append(got, c.Payload...)
	if !c.EndFragment {
		a.partial[k] = got
		return nil, false
	}
	delete(a.partial, k)
	return got, true
}
