package tcap

import (
	"errors"
	"fmt"
)

// Error is a decoding or encoding failure: what failed, at which octet
// offset of the TCAP message, and how a receiver should answer it: with an
// Abort carrying Cause (transaction or dialogue portion problems) or with a
// Reject carrying Problem (component problems).
type Error struct {
	Offset int
	What   string
	// Cause is set for transaction/dialogue portion problems.
	Cause PAbortCause
	// Problem is set for component portion problems.
	Problem Problem
	// Component is the index of the failing component (-1 if none).
	Component int
	// ID is the component ID the Reject must carry (the invoke ID of a
	// rejected Invoke, the correlation ID of a rejected Return Result or
	// Error); HasID is false when no ID could be read (Reject with "cf 00").
	ID    uint8
	HasID bool
}

func (e *Error) Error() string {
	switch {
	case e.Cause != 0:
		return fmt.Sprintf("tcap: %s at offset %d (abort: %v)", e.What, e.Offset, e.Cause)
	case e.Problem != 0:
		return fmt.Sprintf("tcap: component %d: %s at offset %d (reject: %v)", e.Component, e.What, e.Offset, e.Problem)
	}
	return fmt.Sprintf("tcap: %s at offset %d", e.What, e.Offset)
}

// ProblemFor returns the Reject problem code that answers err, if err is a
// component-level TCAP error.
func ProblemFor(err error) (Problem, bool) {
	var e *Error
	if errors.As(err, &e) && e.Problem != 0 {
		return e.Problem, true
	}
	return 0, false
}

// AbortCauseFor returns the P-Abort cause that answers err, if err is a
// transaction- or dialogue-level TCAP error.
func AbortCauseFor(err error) (PAbortCause, bool) {
	var e *Error
	if errors.As(err, &e) && e.Cause != 0 {
		return e.Cause, true
	}
	return 0, false
}

func abortErr(cause PAbortCause, off int, format string, args ...any) *Error {
	return &Error{Offset: off, What: fmt.Sprintf(format, args...), Cause: cause, Component: -1}
}

func encodeErr(format string, args ...any) *Error {
	return &Error{Offset: -1, What: fmt.Sprintf(format, args...), Component: -1}
}
