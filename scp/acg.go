package scp

import (
	"callgate/scp/ain"
	"callgate/scp/overload"
)

// The AIN side of the overload control (scp/overload decides which codes
// to gap and for how long): the code of a query, and the acg component
// that tells the switch to gap it.

// codeKey packs the first n digits of d (fewer if d is shorter) into a
// key for the overload control: the digit count in the top 4 bits, the
// digits as nibbles below. 0 means "no code".
func codeKey(d *ain.Digits, n int) uint64 {
	k := min(n, d.Len(), 15)
	if k == 0 {
		return 0
	}
	var v uint64
	for i := 0; i < k; i++ {
		v = v<<4 | uint64(d.Digit(i)&0x0F)
	}
	return uint64(k)<<60 | v
}

// appendCodeBCD appends the digits of a code key as packed BCD, first
// digit in the low nibble, an odd count padded with a 0 filler (the
// AINDigits digit order; GR-1299's GlobalTitleAddress layout could not be
// checked, the reference vector P-05R uses this one).
func appendCodeBCD(dst []byte, key uint64) []byte {
	k := int(key >> 60)
	v := key & (1<<60 - 1)
	digit := func(i int) byte { return byte(v>>(4*uint(k-1-i))) & 0x0F }
	for i := 0; i < k; i += 2 {
		b := digit(i)
		if i+1 < k {
			b |= digit(i+1) << 4
		}
		dst = append(dst, b)
	}
	return dst
}

// acgFor returns the acg the answer to a query for code from peer
// carries, if any: a load-driven safe answer gaps its code (Shed); any
// other answer gaps it if it is a controlled code (Control), or, once the
// overload is over, removes the gap that switch still applies to it
// (Remove; never on a shed answer, which is load).
func (s *Service) acgFor(code, peer uint64, now int64, why safeReason) (overload.Gap, bool) {
	if why.load() {
		return s.ovl.Shed(code, peer, now)
	}
	if g, ok := s.ovl.Control(code, peer, now); ok {
		return g, true
	}
	return s.ovl.Remove(code, peer, now)
}

// encodeACG appends the acg Parameter Set for code.
func (s *Service) encodeACG(w *worker, dst []byte, code uint64, g *overload.Gap) []byte {
	arg := ain.AcgArg{
		ControlCauseIndicator: s.cfg.Overload.ControlCause,
		GapDuration:           g.Duration,
		GapInterval:           g.Interval,
		TranslationType:       s.cfg.Overload.TranslationType,
		GlobalTitleAddress:    appendCodeBCD(w.gta[:0], code),
	}
	return arg.Marshal(dst)
}
