package sccp

import (
	"errors"
	"fmt"
)

// Optional-part parameter names (Q.713 3.1, T1.112.3).
const (
	paramEndOfOptional = 0x00
	paramSegmentation  = 0x10
	paramImportance    = 0x12
)

// DefaultHopCounter is what we put in XUDT/XUDTS/LUDT(S) we originate: the
// maximum Q.714 allows, so that our messages survive any number of
// intermediate translations.
const DefaultHopCounter = 15

// Segmentation is the optional segmentation parameter of XUDT/XUDTS/LUDT(S)
// (Q.713 3.17): first-segment indication, the class to use for delivery,
// remaining segments and the segmentation local reference.
type Segmentation struct {
	Present   bool
	First     bool   // bit 8: this is the first segment
	Class     uint8  // bit 7: protocol class (0 or 1) requested for the segments
	Spare     uint8  // bits 6-5, kept so that re-encoding is exact
	Remaining uint8  // bits 4-1: segments still to come
	LocalRef  uint32 // 24-bit local reference (first octet least significant)
}

// Message is one connectionless SCCP message. Which fields are meaningful
// depends on Type: Class for UDT/XUDT/LUDT, Cause for the service messages,
// HopCounter and the optional part for everything but UDT/UDTS.
//
// Decoding keeps Variant, overwrites every other field and makes Data (and
// global-title digits, and OtherOptional) alias the input.
type Message struct {
	Variant    Variant
	Type       MsgType
	Class      ProtocolClass // UDT, XUDT, LUDT
	Cause      ReturnCause   // UDTS, XUDTS, LUDTS
	HopCounter uint8         // XUDT, XUDTS, LUDT, LUDTS (1-15)
	Called     Address
	Calling    Address
	Data       []byte

	// Optional part (XUDT, XUDTS, LUDT, LUDTS).
	Segmentation  Segmentation
	HasImportance bool
	Importance    uint8 // 0-7 (ITU)
	// OtherOptional holds optional parameters this package does not
	// interpret (e.g. ANSI ISNI/INS) verbatim, type-length-value, without
	// the end-of-optional-parameters octet. They are re-encoded after the
	// known ones.
	OtherOptional []byte
}

// NeedsReassembly reports whether the message is one segment of a longer
// message (segmentation parameter present and not a sole first segment).
// We do not reassemble: such a message is answered, when it asks for
// return, with CauseCannotReassemble (see Return), else discarded.
func (m *Message) NeedsReassembly() bool {
	s := &m.Segmentation
	return s.Present && !(s.First && s.Remaining == 0)
}

// layout returns the fixed part size, the number of pointers and the
// pointer size for the message type.
func layout(t MsgType) (fixed, nptr, psize int) {
	switch t {
	case UDT, UDTS:
		return 2, 3, 1
	case XUDT, XUDTS:
		return 3, 4, 1
	default: // LUDT, LUDTS
		return 3, 4, 2
	}
}

// UnmarshalBinary decodes b in the format selected by m.Variant.
func (m *Message) UnmarshalBinary(b []byte) error { return m.Decode(b, m.Variant) }

// Decode decodes b as a connectionless message in variant v.
func (m *Message) Decode(b []byte, v Variant) error {
	*m = Message{Variant: v}
	if len(b) == 0 {
		return errAt(0, 0, "empty message")
	}
	t := MsgType(b[0])
	if !t.known() {
		return errAt(0, 0, "message type 0x%02x is not a connectionless message", b[0])
	}
	m.Type = t
	if t.long() && v != ITU {
		return errAt(t, 0, "LUDT/LUDTS exist in ITU Q.713 only")
	}
	fixed, nptr, ps := layout(t)
	if len(b) < fixed+nptr*ps {
		return errAt(t, len(b), "message of %d octets too short for the fixed part and pointers (%d)", len(b), fixed+nptr*ps)
	}
	if t.IsService() {
		m.Cause = ReturnCause(b[1])
	} else {
		m.Class = ProtocolClass(b[1])
	}
	if t.hasHopCounter() {
		m.HopCounter = b[2]
	}
	// Mandatory variable part: called, calling, data.
	for k := 0; k < 3; k++ {
		pos := fixed + k*ps
		ptr := int(b[pos])
		if ps == 2 {
			ptr |= int(b[pos+1]) << 8
		}
		name := [3]string{"called party address", "calling party address", "data"}[k]
		if ptr == 0 {
			return errAt(t, pos, "pointer to %s is zero", name)
		}
		// A long (two-octet) pointer counts from its second octet, as
		// Wireshark's SCCP dissector reads it.
		at := pos + ptr + ps - 1
		lenLen := 1
		if k == 2 && ps == 2 {
			lenLen = 2
		}
		if at+lenLen > len(b) {
			return errAt(t, pos, "pointer to %s (%d) points past the end (%d octets)", name, ptr, len(b))
		}
		l := int(b[at])
		if lenLen == 2 {
			l |= int(b[at+1]) << 8
		}
		start := at + lenLen
		if start+l > len(b) {
			return errAt(t, at, "%s of %d octets runs past the end (%d left)", name, l, len(b)-start)
		}
		val := b[start : start+l : start+l]
		switch k {
		case 0:
			if err := m.Called.Decode(val, v, start); err != nil {
				return withType(err, t, "called party address")
			}
		case 1:
			if err := m.Calling.Decode(val, v, start); err != nil {
				return withType(err, t, "calling party address")
			}
		case 2:
			m.Data = val
		}
	}
	if nptr == 4 {
		pos := fixed + 3*ps
		ptr := int(b[pos])
		if ps == 2 {
			ptr |= int(b[pos+1]) << 8
		}
		if ptr != 0 {
			at := pos + ptr + ps - 1
			if at > len(b) {
				return errAt(t, pos, "pointer to optional part (%d) points past the end (%d octets)", ptr, len(b))
			}
			if err := m.decodeOptional(b, at); err != nil {
				return err
			}
		}
	}
	return nil
}

func withType(err error, t MsgType, what string) error {
	if e, ok := err.(*Error); ok {
		e.Type = t
		e.What = what + ": " + e.What
	}
	return err
}

func (m *Message) decodeOptional(b []byte, i int) error {
	t := m.Type
	otherStart, otherEnd := -1, -1
	var gathered []byte
	for {
		if i >= len(b) {
			// Q.713 requires the end-of-optional-parameters octet; tolerate
			// its absence when the part ends exactly at the message end.
			break
		}
		pt := b[i]
		if pt == paramEndOfOptional {
			i++
			break
		}
		if i+2 > len(b) {
			return errAt(t, i, "optional parameter 0x%02x has no length octet", pt)
		}
		l := int(b[i+1])
		if i+2+l > len(b) {
			return errAt(t, i+1, "optional parameter 0x%02x of %d octets runs past the end", pt, l)
		}
		val := b[i+2 : i+2+l]
		switch pt {
		case paramSegmentation:
			if l != 4 {
				return errAt(t, i+1, "segmentation parameter length %d, want 4", l)
			}
			s := &m.Segmentation
			s.Present = true
			s.First = val[0]&0x80 != 0
			s.Class = val[0] >> 6 & 1
			s.Spare = val[0] >> 4 & 3
			s.Remaining = val[0] & 0x0F
			s.LocalRef = uint32(val[1]) | uint32(val[2])<<8 | uint32(val[3])<<16
		case paramImportance:
			if l != 1 {
				return errAt(t, i+1, "importance parameter length %d, want 1", l)
			}
			m.HasImportance = true
			m.Importance = val[0] & 0x07
		default:
			// Unknown parameters are kept verbatim, aliasing the input
			// while they are contiguous (the usual case); interleaved with
			// known ones they are gathered into a copy.
			switch {
			case otherStart < 0:
				otherStart, otherEnd = i, i+2+l
			case gathered == nil && otherEnd == i:
				otherEnd = i + 2 + l
			default:
				if gathered == nil {
					gathered = append([]byte(nil), b[otherStart:otherEnd]...)
				}
				gathered = append(gathered, b[i:i+2+l]...)
			}
		}
		i += 2 + l
	}
	if gathered != nil {
		m.OtherOptional = gathered
	} else if otherStart >= 0 {
		m.OtherOptional = b[otherStart:otherEnd:otherEnd]
	}
	if i < len(b) {
		return errAt(t, i, "%d octets after the end of the optional part", len(b)-i)
	}
	return nil
}

// optionalLen returns the encoded size of the optional part (0 if none).
func (m *Message) optionalLen() int {
	n := 0
	if m.Segmentation.Present {
		n += 6
	}
	if m.HasImportance {
		n += 3
	}
	n += len(m.OtherOptional)
	if n > 0 {
		n++ // end of optional parameters
	}
	return n
}

// MarshalLen returns the encoded size of m.
func (m *Message) MarshalLen() int {
	fixed, nptr, ps := layout(m.Type)
	n := fixed + nptr*ps
	n += 1 + m.Called.Len(m.Variant)
	n += 1 + m.Calling.Len(m.Variant)
	if m.Type.long() {
		n += 2 + len(m.Data)
	} else {
		n += 1 + len(m.Data)
	}
	if nptr == 4 {
		n += m.optionalLen()
	}
	return n
}

// MarshalBinary returns the encoding of m in a new buffer.
func (m *Message) MarshalBinary() ([]byte, error) {
	return m.AppendTo(make([]byte, 0, m.MarshalLen()))
}

// AppendTo appends the encoding of m to dst.
func (m *Message) AppendTo(dst []byte) ([]byte, error) {
	first := byte(m.Class)
	if m.Type.IsService() {
		first = byte(m.Cause)
	}
	return appendMessage(dst, m.Variant, m.Type, first, m.HopCounter, &m.Called, &m.Calling, m.Data, m)
}

// AppendAnswer appends the message Answer builds to carry data back to
// m's sender (the same bytes as Answer followed by AppendTo), encoded
// straight from m: the answer to every query is encoded without building
// its Message. It returns ErrNotAnswerable for what Answer refuses.
func (m *Message) AppendAnswer(dst, data []byte) ([]byte, error) {
	if m.Type.IsService() || !m.Type.known() {
		return dst, ErrNotAnswerable
	}
	var hop uint8
	if m.Type.hasHopCounter() {
		hop = DefaultHopCounter
	}
	return appendMessage(dst, m.Variant, m.Type, byte(m.Class), hop, &m.Calling, &m.Called, data, nil)
}

// ErrNotAnswerable is AppendAnswer's error for a service message (or one
// of unknown type): such messages are never answered.
var ErrNotAnswerable = errors.New("sccp: a service message is not answered")

// appendMessage appends a message of type t: first is the protocol class
// or, for a service message, the return cause; hop the hop counter (for
// the types that carry one); opt, when not nil, the message whose
// optional part is encoded (none when nil).
func appendMessage(dst []byte, v Variant, t MsgType, first, hop uint8, called, calling *Address, data []byte, opt *Message) ([]byte, error) {
	if !t.known() {
		return dst, errAt(t, 0, "cannot encode message type 0x%02x", uint8(t))
	}
	if t.long() && v != ITU {
		return dst, errAt(t, 0, "LUDT/LUDTS exist in ITU Q.713 only")
	}
	fixed, nptr, ps := layout(t)
	lc, lg := called.Len(v), calling.Len(v)
	if lc > 255 || lg > 255 {
		return dst, errAt(t, 0, "address longer than 255 octets")
	}
	maxData := 255
	if t.long() {
		maxData = 0xFFFF
	}
	if len(data) > maxData {
		return dst, errAt(t, 0, "data of %d octets exceeds %d", len(data), maxData)
	}
	maxPtr := 255
	if ps == 2 {
		maxPtr = 0xFFFF
	}
	dataLenLen := 1
	if t.long() {
		dataLenLen = 2
	}
	// Offsets (from the message start) of each variable part.
	ptrArea := fixed
	calledAt := fixed + nptr*ps
	callingAt := calledAt + 1 + lc
	dataAt := callingAt + 1 + lg
	optAt := dataAt + dataLenLen + len(data)
	// Pointer k sits at ptrArea+k*ps and counts from its last octet.
	from := func(k int) int { return ptrArea + k*ps + ps - 1 }
	ptrs := [4]int{calledAt - from(0), callingAt - from(1), dataAt - from(2), 0}
	optLen := 0
	if nptr == 4 && opt != nil {
		optLen = opt.optionalLen()
		if optLen > 0 {
			ptrs[3] = optAt - from(3)
		}
	}
	for k := 0; k < nptr; k++ {
		if ptrs[k] > maxPtr {
			return dst, errAt(t, ptrArea+k*ps, "message too long for %d-octet pointers (pointer %d = %d)", ps, k+1, ptrs[k])
		}
	}
	if optLen > 0 && opt.Segmentation.Present && opt.Segmentation.LocalRef > 0xFFFFFF {
		return dst, errAt(t, optAt, "segmentation local reference %d exceeds 24 bits", opt.Segmentation.LocalRef)
	}
	if hop > 15 && t.hasHopCounter() {
		return dst, errAt(t, 2, "hop counter %d exceeds 15", hop)
	}

	dst = append(dst, byte(t), first)
	if t.hasHopCounter() {
		dst = append(dst, hop)
	}
	for k := 0; k < nptr; k++ {
		if ps == 2 {
			dst = append(dst, byte(ptrs[k]), byte(ptrs[k]>>8))
		} else {
			dst = append(dst, byte(ptrs[k]))
		}
	}
	var err error
	dst = append(dst, byte(lc))
	if dst, err = called.Append(dst, v); err != nil {
		return dst, withType(&Error{Offset: calledAt, What: err.Error()}, t, "called party address")
	}
	dst = append(dst, byte(lg))
	if dst, err = calling.Append(dst, v); err != nil {
		return dst, withType(&Error{Offset: callingAt, What: err.Error()}, t, "calling party address")
	}
	if t.long() {
		dst = append(dst, byte(len(data)), byte(len(data)>>8))
	} else {
		dst = append(dst, byte(len(data)))
	}
	dst = append(dst, data...)
	if optLen > 0 {
		if s := &opt.Segmentation; s.Present {
			o := s.Remaining&0x0F | (s.Spare&3)<<4 | (s.Class&1)<<6
			if s.First {
				o |= 0x80
			}
			dst = append(dst, paramSegmentation, 4, o, byte(s.LocalRef), byte(s.LocalRef>>8), byte(s.LocalRef>>16))
		}
		if opt.HasImportance {
			dst = append(dst, paramImportance, 1, opt.Importance&0x07)
		}
		dst = append(dst, opt.OtherOptional...)
		dst = append(dst, paramEndOfOptional)
	}
	return dst, nil
}

// String summarises the message for logs.
func (m *Message) String() string {
	s := fmt.Sprintf("%v %v called{%s} calling{%s} data %d octets", m.Variant, m.Type,
		m.Called.Format(m.Variant), m.Calling.Format(m.Variant), len(m.Data))
	if m.Type.IsService() {
		s += fmt.Sprintf(" cause %q", m.Cause.String())
	} else {
		s += " " + m.Class.String()
	}
	if m.Type.hasHopCounter() {
		s += fmt.Sprintf(" hops %d", m.HopCounter)
	}
	if m.Segmentation.Present {
		s += fmt.Sprintf(" segment(first=%v remaining=%d ref=%d)", m.Segmentation.First, m.Segmentation.Remaining, m.Segmentation.LocalRef)
	}
	return s
}

// Return builds in dst the service message that returns m to its sender
// with the given cause: UDTS for UDT, XUDTS for XUDT, LUDTS for LUDT. The
// called and calling addresses are swapped and the original user data is
// returned (dst.Data aliases m.Data). It returns false, leaving dst
// untouched, when m must not be returned: it is itself a service message
// or its sender did not set "return message on error" (Q.714 4.2; the
// message is then simply discarded).
func (m *Message) Return(dst *Message, cause ReturnCause) bool {
	if m.Type.IsService() || !m.Class.ReturnOnError() {
		return false
	}
	r := Message{
		Variant: m.Variant,
		Cause:   cause,
		Called:  m.Calling,
		Calling: m.Called,
		Data:    m.Data,
	}
	switch m.Type {
	case UDT:
		r.Type = UDTS
	case XUDT:
		r.Type = XUDTS
	case LUDT:
		r.Type = LUDTS
	default:
		return false
	}
	if r.Type != UDTS {
		r.HopCounter = DefaultHopCounter
		// Q.714 4.2: the service message carries the segmentation and
		// importance of the message it returns, so the originator can
		// relate it to the segmented message.
		r.Segmentation = m.Segmentation
		r.HasImportance = m.HasImportance
		r.Importance = m.Importance
	}
	*dst = r
	return true
}

// Answer builds in dst the message that carries the reply to m (e.g. the
// TCAP Response to a Query): same message family (UDT for UDT, XUDT with a
// fresh hop counter for XUDT, LUDT for LUDT), same protocol class, called
// and calling addresses swapped, data as given (aliased). It returns false
// for service messages, which are never answered.
func (m *Message) Answer(dst *Message, data []byte) bool {
	if m.Type.IsService() || !m.Type.known() {
		return false
	}
	*dst = Message{Variant: m.Variant, Type: m.Type, Class: m.Class, Called: m.Calling, Calling: m.Called, Data: data}
	if m.Type.hasHopCounter() {
		dst.HopCounter = DefaultHopCounter
	}
	return true
}
