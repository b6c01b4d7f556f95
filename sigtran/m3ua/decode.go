package m3ua

import "encoding"

// Message is implemented by every M3UA message type of this package.
type Message interface {
	MessageClass() Class
	MessageType() uint8
	MarshalLen() int
	AppendTo(b []byte) ([]byte, error)
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// New returns an empty message of the given class and type, or an *Error
// with Unsupported Message Class / Type.
func New(c Class, t uint8) (Message, error) {
	var m Message
	switch c {
	case ClassMGMT:
		switch t {
		case TypeERR:
			m = new(Err)
		case TypeNTFY:
			m = new(Notify)
		}
	case ClassTransfer:
		if t == TypeDATA {
			m = new(Data)
		}
	case ClassSSNM:
		switch t {
		case TypeDUNA:
			m = new(DUNA)
		case TypeDAVA:
			m = new(DAVA)
		case TypeDAUD:
			m = new(DAUD)
		case TypeSCON:
			m = new(SCON)
		case TypeDUPU:
			m = new(DUPU)
		case TypeDRST:
			m = new(DRST)
		}
	case ClassASPSM:
		switch t {
		case TypeASPUp:
			m = new(ASPUp)
		case TypeASPDown:
			m = new(ASPDown)
		case TypeBEAT:
			m = new(Beat)
		case TypeASPUpAck:
			m = new(ASPUpAck)
		case TypeASPDownAck:
			m = new(ASPDownAck)
		case TypeBEATAck:
			m = new(BeatAck)
		}
	case ClassASPTM:
		switch t {
		case TypeASPActive:
			m = new(ASPActive)
		case TypeASPInactive:
			m = new(ASPInactive)
		case TypeASPActiveAck:
			m = new(ASPActiveAck)
		case TypeASPInactiveAck:
			m = new(ASPInactiveAck)
		}
	case ClassRKM:
		switch t {
		case TypeRegReq:
			m = new(RegReq)
		case TypeRegRsp:
			m = new(RegRsp)
		case TypeDeregReq:
			m = new(DeregReq)
		case TypeDeregRsp:
			m = new(DeregRsp)
		}
	default:
		// The other classes belong to other adaptation layers (IUA, SUA,
		// ...) or are reserved.
		return nil, errAt(2, CodeUnsupportedMessageClass, "message class %s not supported", c)
	}
	if m == nil {
		return nil, errAt(3, CodeUnsupportedMessageType, "message type %d not supported in class %s", t, c)
	}
	return m, nil
}

// Decode decodes one message from the start of b (b may hold more octets
// after it; the header's length says where the message ends). Byte slices
// in the result alias b.
func Decode(b []byte) (Message, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	m, err := New(h.Class, h.Type)
	if err != nil {
		return nil, err
	}
	if err := m.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return m, nil
}
