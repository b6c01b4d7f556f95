package m3ua

import (
	"encoding/binary"
	"fmt"
)

// Version is the only M3UA protocol version (RFC 4666 §3.1.1).
const Version = 1

// HeaderLen is the length of the common message header.
const HeaderLen = 8

// Class is the message class octet of the common header.
type Class uint8

// Message classes (RFC 4666 §3.1.2). RKM is decoded always but only
// answered by an endpoint with a Config.Registrar.
const (
	ClassMGMT     Class = 0
	ClassTransfer Class = 1
	ClassSSNM     Class = 2
	ClassASPSM    Class = 3
	ClassASPTM    Class = 4
	ClassRKM      Class = 9
)

func (c Class) String() string {
	switch c {
	case ClassMGMT:
		return "MGMT"
	case ClassTransfer:
		return "Transfer"
	case ClassSSNM:
		return "SSNM"
	case ClassASPSM:
		return "ASPSM"
	case ClassASPTM:
		return "ASPTM"
	case ClassRKM:
		return "RKM"
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// Message types, per class (RFC 4666 §3.1.2).
const (
	// MGMT
	TypeERR  uint8 = 0
	TypeNTFY uint8 = 1
	// Transfer
	TypeDATA uint8 = 1
	// SSNM
	TypeDUNA uint8 = 1
	TypeDAVA uint8 = 2
	TypeDAUD uint8 = 3
	TypeSCON uint8 = 4
	TypeDUPU uint8 = 5
	TypeDRST uint8 = 6
	// ASPSM
	TypeASPUp      uint8 = 1
	TypeASPDown    uint8 = 2
	TypeBEAT       uint8 = 3
	TypeASPUpAck   uint8 = 4
	TypeASPDownAck uint8 = 5
	TypeBEATAck    uint8 = 6
	// ASPTM
	TypeASPActive      uint8 = 1
	TypeASPInactive    uint8 = 2
	TypeASPActiveAck   uint8 = 3
	TypeASPInactiveAck uint8 = 4
	// RKM
	TypeRegReq   uint8 = 1
	TypeRegRsp   uint8 = 2
	TypeDeregReq uint8 = 3
	TypeDeregRsp uint8 = 4
)

// MessageName returns the RFC name of a class/type pair ("ASPUP ACK"), or
// a numeric form when the pair is not defined.
func MessageName(c Class, t uint8) string {
	if n := messageName(c, t); n != "" {
		return n
	}
	return fmt.Sprintf("%s/%d", c, t)
}

func messageName(c Class, t uint8) string {
	switch c {
	case ClassMGMT:
		switch t {
		case TypeERR:
			return "ERR"
		case TypeNTFY:
			return "NTFY"
		}
	case ClassTransfer:
		if t == TypeDATA {
			return "DATA"
		}
	case ClassSSNM:
		switch t {
		case TypeDUNA:
			return "DUNA"
		case TypeDAVA:
			return "DAVA"
		case TypeDAUD:
			return "DAUD"
		case TypeSCON:
			return "SCON"
		case TypeDUPU:
			return "DUPU"
		case TypeDRST:
			return "DRST"
		}
	case ClassASPSM:
		switch t {
		case TypeASPUp:
			return "ASPUP"
		case TypeASPDown:
			return "ASPDN"
		case TypeBEAT:
			return "BEAT"
		case TypeASPUpAck:
			return "ASPUP ACK"
		case TypeASPDownAck:
			return "ASPDN ACK"
		case TypeBEATAck:
			return "BEAT ACK"
		}
	case ClassASPTM:
		switch t {
		case TypeASPActive:
			return "ASPAC"
		case TypeASPInactive:
			return "ASPIA"
		case TypeASPActiveAck:
			return "ASPAC ACK"
		case TypeASPInactiveAck:
			return "ASPIA ACK"
		}
	case ClassRKM:
		switch t {
		case TypeRegReq:
			return "REG REQ"
		case TypeRegRsp:
			return "REG RSP"
		case TypeDeregReq:
			return "DEREG REQ"
		case TypeDeregRsp:
			return "DEREG RSP"
		}
	}
	return ""
}

// Header is the common message header.
type Header struct {
	Version uint8
	Class   Class
	Type    uint8
	Length  uint32 // whole message, header and padding included
}

// ParseHeader reads and checks the common header at the start of b: the
// version must be 1, the length at least 8 and no more than len(b).
// Octets after Length are not looked at. Class and type are not checked
// here (see Decode).
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, errAt(0, CodeProtocolError, "message shorter than the %d-octet common header (%d octets)", HeaderLen, len(b))
	}
	h := Header{Version: b[0], Class: Class(b[2]), Type: b[3], Length: binary.BigEndian.Uint32(b[4:8])}
	if h.Version != Version {
		return h, errAt(0, CodeInvalidVersion, "version %d, want %d", h.Version, Version)
	}
	if h.Length < HeaderLen {
		return h, errAt(4, CodeProtocolError, "message length %d shorter than the common header", h.Length)
	}
	if uint64(h.Length) > uint64(len(b)) {
		return h, errAt(4, CodeProtocolError, "message length %d exceeds the %d octets available", h.Length, len(b))
	}
	return h, nil
}

func appendHeader(b []byte, c Class, t uint8, length int) []byte {
	return append(b, Version, 0, uint8(c), t,
		byte(length>>24), byte(length>>16), byte(length>>8), byte(length))
}

// checkHeader parses the header and checks it names the expected message;
// it returns the message body (parameters) without the header.
func checkHeader(b []byte, c Class, t uint8) ([]byte, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if h.Class != c || h.Type != t {
		return nil, errAt(2, CodeUnsupportedMessageType, "message is %s, not %s", MessageName(h.Class, h.Type), MessageName(c, t))
	}
	return b[HeaderLen:h.Length], nil
}
