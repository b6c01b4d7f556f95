package keys

import (
	"errors"
	"fmt"
)

// FieldError is a registration error about one member of the key (the
// REST body's name for it: calling, called, not_before, not_after), so
// that the REST answer can name the field at fault (RFC 9457 problem
// details, as the management API does) and a client can point at it.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// FieldOf is the field err is about, "" when it names none.
func FieldOf(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

// invalid is ErrInvalid about field, with the details.
func invalid(field, format string, a ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)}
}
