package ain

import (
	"errors"
	"fmt"
)

// ErrIncorrectParameter is matched (errors.Is) by every error that says an
// argument's parameters are missing or malformed: the SCP answers it with a
// TCAP Reject, problem 2/3 (invoke, incorrect parameter).
var ErrIncorrectParameter = errors.New("ain: incorrect parameter")

// ErrUnknownOperation is returned by Decode for an operation code that is not
// an AIN 0.2 operation (TCAP Reject 2/2, unrecognised operation code).
var ErrUnknownOperation = errors.New("ain: unrecognized operation code")

// ErrUnknownError is returned by DecodeError for an error code that is not an
// AIN error (TCAP Reject 4/3, unrecognised error).
var ErrUnknownError = errors.New("ain: unrecognized error code")

// ParameterError reports a malformed parameter, or a Parameter Set whose
// TLV framing is broken, with the octet offset where the problem starts.
type ParameterError struct {
	In     string // the operation or error being decoded ("terminationAttempt")
	Tag    uint32 // context tag of the parameter; 0 when the set's framing is broken
	Offset int    // offset of the parameter's (or the broken element's) identifier octet
	What   string
	Err    error // underlying cause, e.g. a *ber.Error; may be nil
}

func (e *ParameterError) Error() string {
	if e.Tag == 0 && e.Err != nil {
		return fmt.Sprintf("ain: %s: parameter set: %v", e.In, e.Err)
	}
	name := ParamName(e.Tag)
	if name == "" {
		name = "parameter"
	}
	return fmt.Sprintf("ain: %s: %s [%d] at offset %d: %s", e.In, name, e.Tag, e.Offset, e.What)
}

// Unwrap returns ErrIncorrectParameter and the underlying cause.
func (e *ParameterError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrIncorrectParameter, e.Err}
	}
	return []error{ErrIncorrectParameter}
}

// MissingParameterError reports that a mandatory parameter is absent.
type MissingParameterError struct {
	In  string // the operation or error being decoded
	Tag uint32 // context tag of the missing parameter
}

func (e *MissingParameterError) Error() string {
	return fmt.Sprintf("ain: %s: mandatory parameter %s [%d] missing", e.In, ParamName(e.Tag), e.Tag)
}

// Unwrap returns ErrIncorrectParameter.
func (e *MissingParameterError) Unwrap() error { return ErrIncorrectParameter }
