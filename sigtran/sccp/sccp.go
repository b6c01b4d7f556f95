// Package sccp encodes and decodes the connectionless SCCP messages that carry
// TCAP: UDT, XUDT, UDTS and XUDTS (and, for ITU, LUDT and LUDTS) in both the
// ANSI T1.112 and the ITU-T Q.713 formats.
//
// The two formats differ in the called/calling party address only: ANSI uses
// 24-bit point codes, puts the SSN before the point code and swaps the
// point-code and SSN indicator bits; ITU uses 14-bit point codes and four
// global title formats. A Variant selects the format.
//
// Decoding never copies: the Data field and global title digits of a decoded
// Message alias the input buffer. Encoding appends to a caller-supplied
// buffer (AppendTo) so that a steady-state SCP does not allocate. The answer
// to a message is encoded straight from it (AppendAnswer), and an
// AnswerCache keeps the answer's header for the next message with the same
// addresses: a switch's queries all carry the same.
package sccp

import "fmt"

// Variant selects the address format.
type Variant uint8

// Variants. The zero value is ANSI because callgate's switches speak ANSI.
const (
	ANSI Variant = iota // ANSI T1.112: 24-bit PC, field order SSN, PC, GT
	ITU                 // ITU-T Q.713: 14-bit PC, field order PC, SSN, GT
)

func (v Variant) String() string {
	switch v {
	case ANSI:
		return "ANSI"
	case ITU:
		return "ITU"
	}
	return fmt.Sprintf("Variant(%d)", uint8(v))
}

// MsgType is the SCCP message type code (first octet).
type MsgType uint8

// Connectionless message types (Q.713 Table 1, T1.112.3 Table 1).
const (
	UDT   MsgType = 0x09 // Unitdata
	UDTS  MsgType = 0x0A // Unitdata Service
	XUDT  MsgType = 0x11 // Extended Unitdata
	XUDTS MsgType = 0x12 // Extended Unitdata Service
	LUDT  MsgType = 0x13 // Long Unitdata (ITU)
	LUDTS MsgType = 0x14 // Long Unitdata Service (ITU)
)

func (t MsgType) String() string {
	switch t {
	case UDT:
		return "UDT"
	case UDTS:
		return "UDTS"
	case XUDT:
		return "XUDT"
	case XUDTS:
		return "XUDTS"
	case LUDT:
		return "LUDT"
	case LUDTS:
		return "LUDTS"
	}
	return fmt.Sprintf("MsgType(0x%02x)", uint8(t))
}

// IsService reports whether t is a service (returned) message, which carries
// a return cause instead of a protocol class and is never itself returned.
func (t MsgType) IsService() bool { return t == UDTS || t == XUDTS || t == LUDTS }

// hasHopCounter reports whether t carries a hop counter and an optional part.
func (t MsgType) hasHopCounter() bool { return t != UDT && t != UDTS }

// long reports whether t uses two-octet pointers and a two-octet data length.
func (t MsgType) long() bool { return t == LUDT || t == LUDTS }

func (t MsgType) known() bool {
	switch t {
	case UDT, UDTS, XUDT, XUDTS, LUDT, LUDTS:
		return true
	}
	return false
}

// ProtocolClass is the protocol class octet: bits 4-1 the class (0 basic,
// 1 in-sequence), bits 8-5 message handling (8 = return message on error).
type ProtocolClass uint8

// ReturnOnError is the message-handling value "return message on error"
// already shifted into the protocol class octet.
const ReturnOnError ProtocolClass = 0x80

// Protocol classes 0 and 1 with and without the return option.
const (
	Class0       ProtocolClass = 0x00
	Class1       ProtocolClass = 0x01
	Class0Return               = Class0 | ReturnOnError
	Class1Return               = Class1 | ReturnOnError
)

// NewProtocolClass builds the octet.
func NewProtocolClass(class uint8, returnOnError bool) ProtocolClass {
	p := ProtocolClass(class & 0x0F)
	if returnOnError {
		p |= ReturnOnError
	}
	return p
}

// Class returns the protocol class (bits 4-1).
func (p ProtocolClass) Class() uint8 { return uint8(p) & 0x0F }

// ReturnOnError reports whether the sender asked for the message back when
// it cannot be delivered.
func (p ProtocolClass) ReturnOnError() bool { return uint8(p)>>4 == 0x8 }

func (p ProtocolClass) String() string {
	if p.ReturnOnError() {
		return fmt.Sprintf("class %d, return on error", p.Class())
	}
	return fmt.Sprintf("class %d", p.Class())
}

// ReturnCause is the cause in a UDTS/XUDTS/LUDTS (Q.713 3.12, T1.112.3).
type ReturnCause uint8

// Return causes. Values 0-14 are common to ITU and ANSI; 0xF7-0xFE are ANSI
// only.
const (
	CauseNoTranslationNature      ReturnCause = 0x00 // no translation for an address of such nature
	CauseNoTranslationAddress     ReturnCause = 0x01 // no translation for this specific address
	CauseSubsystemCongestion      ReturnCause = 0x02
	CauseSubsystemFailure         ReturnCause = 0x03
	CauseUnequippedUser           ReturnCause = 0x04 // e.g. unknown SSN
	CauseMTPFailure               ReturnCause = 0x05
	CauseNetworkCongestion        ReturnCause = 0x06
	CauseUnqualified              ReturnCause = 0x07
	CauseErrorInTransport         ReturnCause = 0x08
	CauseErrorInLocalProcessing   ReturnCause = 0x09
	CauseCannotReassemble         ReturnCause = 0x0A // destination cannot perform reassembly
	CauseSCCPFailure              ReturnCause = 0x0B
	CauseHopCounterViolation      ReturnCause = 0x0C
	CauseSegmentationNotSupported ReturnCause = 0x0D
	CauseSegmentationFailure      ReturnCause = 0x0E

	CauseMessageChangeFailure     ReturnCause = 0xF7 // ANSI
	CauseInvalidINSRouting        ReturnCause = 0xF8 // ANSI
	CauseInvalidISNIRouting       ReturnCause = 0xF9 // ANSI
	CauseUnauthorizedMessage      ReturnCause = 0xFA // ANSI
	CauseMessageIncompatibility   ReturnCause = 0xFB // ANSI
	CauseCannotISNIConstrained    ReturnCause = 0xFC // ANSI
	CauseRedundantISNIConstrained ReturnCause = 0xFD // ANSI
	CauseUnableISNIIdentification ReturnCause = 0xFE // ANSI
)

var causeNames = map[ReturnCause]string{
	CauseNoTranslationNature:      "no translation for an address of such nature",
	CauseNoTranslationAddress:     "no translation for this specific address",
	CauseSubsystemCongestion:      "subsystem congestion",
	CauseSubsystemFailure:         "subsystem failure",
	CauseUnequippedUser:           "unequipped user",
	CauseMTPFailure:               "MTP failure",
	CauseNetworkCongestion:        "network congestion",
	CauseUnqualified:              "unqualified",
	CauseErrorInTransport:         "error in message transport",
	CauseErrorInLocalProcessing:   "error in local processing",
	CauseCannotReassemble:         "destination cannot perform reassembly",
	CauseSCCPFailure:              "SCCP failure",
	CauseHopCounterViolation:      "hop counter violation",
	CauseSegmentationNotSupported: "segmentation not supported",
	CauseSegmentationFailure:      "segmentation failure",
	CauseMessageChangeFailure:     "message change failure",
	CauseInvalidINSRouting:        "invalid INS routing request",
	CauseInvalidISNIRouting:       "invalid ISNI routing request",
	CauseUnauthorizedMessage:      "unauthorized message",
	CauseMessageIncompatibility:   "message incompatibility",
	CauseCannotISNIConstrained:    "cannot perform ISNI constrained routing",
	CauseRedundantISNIConstrained: "redundant ISNI constrained routing",
	CauseUnableISNIIdentification: "unable to perform ISNI identification",
}

func (c ReturnCause) String() string {
	if n, ok := causeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("return cause 0x%02x", uint8(c))
}

// Error is a decoding or encoding failure: what failed and the octet offset
// in the SCCP message where it was found.
type Error struct {
	Type   MsgType // message type, when it could be read
	Offset int
	What   string
}

func (e *Error) Error() string {
	if e.Type != 0 {
		return fmt.Sprintf("sccp %v: %s at offset %d", e.Type, e.What, e.Offset)
	}
	return fmt.Sprintf("sccp: %s at offset %d", e.What, e.Offset)
}

func errAt(t MsgType, off int, format string, args ...any) *Error {
	if len(args) == 0 {
		return &Error{Type: t, Offset: off, What: format}
	}
	return &Error{Type: t, Offset: off, What: fmt.Sprintf(format, args...)}
}
