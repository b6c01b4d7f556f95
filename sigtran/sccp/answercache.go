package sccp

import "bytes"

// AnswerCache makes AppendAnswer cheaper for a stream of messages from
// the same sender: the answer's header (everything before the data's
// length) depends only on the message's variant, type, protocol class and
// its two addresses, which a switch repeats query after query. The cache
// keeps the last header built and the fields it was built from; a message
// with the same fields gets the header copied, the data length and the
// data appended, the same bytes AppendAnswer writes (the answer carries
// no optional part, and its pointers do not depend on the data's length).
// The zero value is an empty cache. It is not safe for concurrent use:
// each goroutine that answers keeps its own.
type AnswerCache struct {
	valid   bool
	variant Variant
	typ     MsgType
	class   ProtocolClass
	called  Address // the message's, GT digits in calledGT
	calling Address // the message's, GT digits in callingGT
	// The GT digits are copied: the message's alias its input buffer.
	calledGT, callingGT []byte
	hdr                 []byte // the answer's octets before the data length
}

// AppendAnswer appends the answer to m carrying data, as m.AppendAnswer
// does, using and refreshing the cached header.
func (c *AnswerCache) AppendAnswer(dst []byte, m *Message, data []byte) ([]byte, error) {
	long := m.Type.long()
	maxData := 255
	if long {
		maxData = 0xFFFF
	}
	if c.valid && len(data) <= maxData && c.matches(m) {
		dst = append(dst, c.hdr...)
		if long {
			dst = append(dst, byte(len(data)), byte(len(data)>>8))
		} else {
			dst = append(dst, byte(len(data)))
		}
		return append(dst, data...), nil
	}
	start := len(dst)
	dst, err := m.AppendAnswer(dst, data)
	if err != nil {
		return dst, err
	}
	lenLen := 1
	if long {
		lenLen = 2
	}
	c.remember(m, dst[start:len(dst)-len(data)-lenLen])
	return dst, nil
}

// matches reports whether m's answer has the cached header.
func (c *AnswerCache) matches(m *Message) bool {
	return m.Variant == c.variant && m.Type == c.typ && m.Class == c.class &&
		sameAddress(&m.Called, &c.called) && sameAddress(&m.Calling, &c.calling)
}

// remember caches hdr as the answer header for m's fields.
func (c *AnswerCache) remember(m *Message, hdr []byte) {
	c.variant, c.typ, c.class = m.Variant, m.Type, m.Class
	c.calledGT = append(c.calledGT[:0], m.Called.GT.Digits...)
	c.callingGT = append(c.callingGT[:0], m.Calling.GT.Digits...)
	c.called, c.calling = m.Called, m.Calling
	c.called.GT.Digits, c.calling.GT.Digits = c.calledGT, c.callingGT
	c.hdr = append(c.hdr[:0], hdr...)
	c.valid = true
}

// sameAddress reports whether a and b are the same address field for
// field (GT digits compared by content).
func sameAddress(a, b *Address) bool {
	return a.National == b.National && a.Routing == b.Routing &&
		a.HasPC == b.HasPC && a.PC == b.PC && a.HasSSN == b.HasSSN && a.SSN == b.SSN &&
		a.GT.Indicator == b.GT.Indicator && a.GT.TT == b.GT.TT && a.GT.NP == b.GT.NP &&
		a.GT.ES == b.GT.ES && a.GT.NAI == b.GT.NAI && a.GT.Odd == b.GT.Odd &&
		bytes.Equal(a.GT.Digits, b.GT.Digits)
}
