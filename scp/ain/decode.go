package ain

import "callgate/sigtran/ber"

// RawArg is the argument of an AIN operation this package does not model
// (tBusy, oDisconnect, ...): its parameters are kept raw, in order.
type RawArg struct {
	Code   OpCode
	Params RawParams
}

// Op returns the operation code.
func (a *RawArg) Op() OpCode { return a.Code }

// UnmarshalAt keeps every parameter of the set (only TLV framing is checked).
func (a *RawArg) UnmarshalAt(b []byte, base int) error {
	a.Params = RawParams{}
	d := decoder{in: a.Code.String()}
	return d.each(b, base, &a.Params, func(ber.TLV) (bool, error) { return false, nil })
}

// Marshal appends the kept parameters in the order received.
func (a *RawArg) Marshal(dst []byte) []byte {
	e := encoder{b: dst}
	e.rest(&a.Params, nil)
	return e.b
}

// NewArg returns an empty argument of the type that models op: a
// *TerminationAttemptArg for OpTerminationAttempt, ..., a *RawArg for the
// other AIN operations, and nil for codes that are not AIN operations.
func NewArg(op OpCode) Arg {
	switch op {
	case OpTerminationAttempt:
		return new(TerminationAttemptArg)
	case OpInfoAnalyzed:
		return new(InfoAnalyzedArg)
	case OpInfoCollected:
		return new(InfoCollectedArg)
	case OpAuthorizeTermination:
		return new(AuthorizeTerminationArg)
	case OpDisconnect:
		return new(DisconnectArg)
	case OpForwardCall:
		return new(ForwardCallArg)
	case OpSendToResource:
		return new(SendToResourceArg)
	case OpAnalyzeRoute:
		return new(AnalyzeRouteArg)
	case OpContinue:
		return new(ContinueArg)
	case OpACG:
		return new(AcgArg)
	case OpACGOverflow:
		return new(AcgOverflowArg)
	case OpResourceClear:
		return new(ResourceClearArg)
	case OpCallInfoFromResource:
		return new(CallInfoFromResourceArg)
	case OpClose:
		return new(CloseArg)
	}
	if op.Known() {
		return &RawArg{Code: op}
	}
	return nil
}

// Decode decodes the Parameter Set contents of an Invoke of operation op.
// It allocates the argument; the SCP's hot path instead calls Unmarshal on a
// reused value of the concrete type. An unknown op gives ErrUnknownOperation
// (and a *RawArg with the parameters, so a simulator can still show them).
func Decode(op OpCode, params []byte) (Arg, error) {
	a := NewArg(op)
	if a == nil {
		r := &RawArg{Code: op}
		if err := r.UnmarshalAt(params, 0); err != nil {
			return r, err
		}
		return r, ErrUnknownOperation
	}
	return a, a.UnmarshalAt(params, 0)
}

// ErrorParam is a decoded AIN error parameter: *ApplicationError or
// *FailureReport.
type ErrorParam interface {
	Code() ErrorCode
	Marshal(dst []byte) []byte
	UnmarshalAt(b []byte, base int) error
}

// DecodeError decodes the Parameter Set contents of a Return Error with the
// given private error code.
func DecodeError(code ErrorCode, params []byte) (ErrorParam, error) {
	var p ErrorParam
	switch code {
	case ErrCodeApplicationError:
		p = new(ApplicationError)
	case ErrCodeFailureReport:
		p = new(FailureReport)
	default:
		return nil, ErrUnknownError
	}
	return p, p.UnmarshalAt(params, 0)
}
