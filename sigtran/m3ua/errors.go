package m3ua

import (
	"errors"
	"fmt"
)

// ErrorCode is the value of the Error Code parameter of an ERR message
// (RFC 4666 §3.8.1).
type ErrorCode uint32

// Error codes (RFC 4666 §3.8.1). Values the RFC leaves unused are omitted.
const (
	CodeInvalidVersion           ErrorCode = 0x01
	CodeUnsupportedMessageClass  ErrorCode = 0x03
	CodeUnsupportedMessageType   ErrorCode = 0x04
	CodeUnsupportedTrafficMode   ErrorCode = 0x05
	CodeUnexpectedMessage        ErrorCode = 0x06
	CodeProtocolError            ErrorCode = 0x07
	CodeInvalidStreamIdentifier  ErrorCode = 0x09
	CodeRefusedManagementBlocked ErrorCode = 0x0d
	CodeASPIdentifierRequired    ErrorCode = 0x0e
	CodeInvalidASPIdentifier     ErrorCode = 0x0f
	CodeInvalidParameterValue    ErrorCode = 0x11
	CodeParameterFieldError      ErrorCode = 0x12
	CodeUnexpectedParameter      ErrorCode = 0x13
	CodeDestinationStatusUnknown ErrorCode = 0x14
	CodeInvalidNetworkAppearance ErrorCode = 0x15
	CodeMissingParameter         ErrorCode = 0x16
	CodeInvalidRoutingContext    ErrorCode = 0x19
	CodeNoConfiguredASForASP     ErrorCode = 0x1a
)

func (c ErrorCode) String() string {
	switch c {
	case CodeInvalidVersion:
		return "Invalid Version"
	case CodeUnsupportedMessageClass:
		return "Unsupported Message Class"
	case CodeUnsupportedMessageType:
		return "Unsupported Message Type"
	case CodeUnsupportedTrafficMode:
		return "Unsupported Traffic Mode Type"
	case CodeUnexpectedMessage:
		return "Unexpected Message"
	case CodeProtocolError:
		return "Protocol Error"
	case CodeInvalidStreamIdentifier:
		return "Invalid Stream Identifier"
	case CodeRefusedManagementBlocked:
		return "Refused - Management Blocking"
	case CodeASPIdentifierRequired:
		return "ASP Identifier Required"
	case CodeInvalidASPIdentifier:
		return "Invalid ASP Identifier"
	case CodeInvalidParameterValue:
		return "Invalid Parameter Value"
	case CodeParameterFieldError:
		return "Parameter Field Error"
	case CodeUnexpectedParameter:
		return "Unexpected Parameter"
	case CodeDestinationStatusUnknown:
		return "Destination Status Unknown"
	case CodeInvalidNetworkAppearance:
		return "Invalid Network Appearance"
	case CodeMissingParameter:
		return "Missing Parameter"
	case CodeInvalidRoutingContext:
		return "Invalid Routing Context"
	case CodeNoConfiguredASForASP:
		return "No Configured AS for ASP"
	}
	return fmt.Sprintf("error code 0x%02x", uint32(c))
}

// Error is a decoding (or validation) failure. Offset counts octets from the
// start of the message (the version octet). Code is the ERR error code the
// message should be answered with; Tag is the parameter involved, if any.
type Error struct {
	Offset int
	Code   ErrorCode
	Tag    Tag
	What   string
}

func (e *Error) Error() string {
	if e.Tag != 0 {
		return fmt.Sprintf("m3ua: %s (parameter %s) at offset %d [%s]", e.What, e.Tag, e.Offset, e.Code)
	}
	return fmt.Sprintf("m3ua: %s at offset %d [%s]", e.What, e.Offset, e.Code)
}

func errAt(off int, code ErrorCode, format string, args ...any) *Error {
	return &Error{Offset: off, Code: code, What: fmt.Sprintf(format, args...)}
}

func errParam(off int, code ErrorCode, tag Tag, format string, args ...any) *Error {
	return &Error{Offset: off, Code: code, Tag: tag, What: fmt.Sprintf(format, args...)}
}

// CodeOf returns the ERR error code that answers err, when err is (or
// wraps) an *Error.
func CodeOf(err error) (ErrorCode, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code, true
	}
	return 0, false
}

// ErrEncode is wrapped by encoding errors (a field that does not fit its
// wire format).
var ErrEncode = errors.New("m3ua: cannot encode")

func encodeErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrEncode, fmt.Sprintf(format, args...))
}
