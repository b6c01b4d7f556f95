package b2bua

// RFC 4733 telephone events, read here rather than with diago's
// RTPDtmfReader: that reader reports a digit on the event's end packet,
// and only when the event's first packet had a non-zero duration, so the
// events of peers that start with duration 0 (RFC 4733 allows it; sipp's
// dtmf_2833_*.pcap do) are lost. A digit is reported here once per event,
// on the first packet seen of it, so a lost first or end packet does not
// lose the digit either.
//
// An event is new when its RTP timestamp differs from the previous
// event's, or when it has the marker bit after the previous event ended
// (a peer replaying the same capture twice repeats the timestamp).
// Retransmitted packets of an event, and its redundant end packets, are
// not new.
type eventDetector struct {
	seen  bool
	ts    uint32
	ended bool
}

// packet takes one telephone-event payload with its RTP marker and
// timestamp and returns the digit when the packet starts a new event.
func (d *eventDetector) packet(marker bool, ts uint32, payload []byte) (rune, bool) {
	if len(payload) < 4 {
		return 0, false
	}
	end := payload[1]&0x80 != 0
	if d.seen && ts == d.ts && !(marker && d.ended) {
		if end {
			d.ended = true
		}
		return 0, false
	}
	d.seen, d.ts, d.ended = true, ts, end
	return eventDigit(payload[0])
}

// eventDigit maps an RFC 4733 §3.2 DTMF event code to its digit.
func eventDigit(ev byte) (rune, bool) {
	switch {
	case ev <= 9:
		return rune('0' + ev), true
	case ev == 10:
		return '*', true
	case ev == 11:
		return '#', true
	case ev >= 12 && ev <= 15:
		return rune('A' + ev - 12), true
	}
	return 0, false
}
