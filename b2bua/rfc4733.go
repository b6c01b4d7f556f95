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
// not new. Nor is the next segment of a long-duration event (RFC 4733
// §2.5.1.3: a key held past the duration field's 0xFFFF units, 8.2 s at
// 8 kHz, goes on under a new timestamp, without the marker bit and
// without an end packet before it): a packet of the same event code,
// without the marker bit, while the previous event has not ended, whose
// timestamp is within 0xFFFF of a segment that had lasted at least
// longSegment. The bound keeps two presses of one digit apart when all
// the end packets of the first were lost (a human does not hold a key
// for seconds and press it again at once).
type eventDetector struct {
	seen  bool
	ts    uint32
	code  byte
	dur   uint16 // the longest duration seen of the event at ts
	ended bool
}

// longSegment is the duration (in 8 kHz units: 4 s) a segment must have
// reached for a packet after it to be read as the event going on.
const longSegment = 0x8000

// packet takes one telephone-event payload with its RTP marker and
// timestamp and returns the digit when the packet starts a new event.
func (d *eventDetector) packet(marker bool, ts uint32, payload []byte) (rune, bool) {
	if len(payload) < 4 {
		return 0, false
	}
	end := payload[1]&0x80 != 0
	dur := uint16(payload[2])<<8 | uint16(payload[3])
	if d.seen && ts == d.ts && !(marker && d.ended) {
		if end {
			d.ended = true
		}
		d.dur = max(d.dur, dur)
		return 0, false
	}
	next := d.seen && !marker && !d.ended && payload[0] == d.code && d.dur >= longSegment && ts-d.ts <= 0xFFFF
	d.seen, d.ts, d.code, d.dur, d.ended = true, ts, payload[0], dur, end
	if next {
		return 0, false
	}
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
