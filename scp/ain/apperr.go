package ain

import "callgate/sigtran/ber"

// ApplicationError is the parameter of the AIN applicationError (private
// error code 1): SEQUENCE { applicationErrorString ApplicationErrorString,
// extensionParameter ExtensionParameter OPTIONAL }, where
// ApplicationErrorString ::= [55] IMPLICIT SEQUENCE { errorCause [56],
// failedMessage [57] OPTIONAL, userID [53] OPTIONAL }.
//
// Example: BF 37 04 9F 38 01 06 = errorCause unexpectedParameterSequence.
type ApplicationError struct {
	Cause         ErrorCause
	FailedMessage Opt[FailedMessage]
	UserID        Opt[UserID]
	// Other keeps the extensionParameter (untagged SEQUENCE in
	// AIN-Errors.asn, so 30 on the wire; a [84] BF 54 one is kept too) and
	// unknown parameters.
	Other RawParams
}

// Code returns ErrCodeApplicationError.
func (p *ApplicationError) Code() ErrorCode { return ErrCodeApplicationError }

// Unmarshal decodes the Return Error's Parameter Set contents.
func (p *ApplicationError) Unmarshal(b []byte) error { return p.UnmarshalAt(b, 0) }

// UnmarshalAt decodes Parameter Set contents starting at offset base.
func (p *ApplicationError) UnmarshalAt(b []byte, base int) error {
	*p = ApplicationError{}
	d := decoder{in: "applicationError"}
	err := d.each(b, base, &p.Other, func(t ber.TLV) (bool, error) {
		if t.Tag != TagApplicationErrorString {
			return false, nil
		}
		if err := d.enter(t, true); err != nil {
			return true, err
		}
		in := decoder{in: "applicationErrorString"}
		var inner RawParams // unknown elements inside the string are ignored
		err := in.each(t.Value, t.Offset+t.HeaderLen, &inner, func(c ber.TLV) (bool, error) {
			var err error
			switch c.Tag {
			case TagErrorCause:
				p.Cause, err = enum8[ErrorCause](&in, c)
			case TagFailedMessage:
				p.FailedMessage, err = in.failedMessage(c)
			case TagUserID:
				err = in.optUserID(c, &p.UserID)
			default:
				return false, nil
			}
			return true, err
		})
		if err == nil && !in.has(TagErrorCause) {
			err = in.missing(TagErrorCause)
		}
		return true, err
	})
	if err != nil {
		return err
	}
	if !d.has(TagApplicationErrorString) {
		return d.missing(TagApplicationErrorString)
	}
	return nil
}

func (d *decoder) failedMessage(t ber.TLV) (Opt[FailedMessage], error) {
	var o Opt[FailedMessage]
	if err := d.enter(t, true); err != nil {
		return o, err
	}
	it := t.Children()
	haveOp := false
	for c, ok := it.Next(); ok; c, ok = it.Next() {
		switch {
		case c.Is(ber.Universal, false, 2):
			v, ok := ber.Uint(c.Value)
			if !ok || v > 1<<62 || c.Value[0]&0x80 != 0 { // ber.Uint ignores the sign bit
				return o, d.fail(t, "failedMessage opCode is not a small non-negative INTEGER")
			}
			o.V.OpCode, haveOp = int64(v), true
		case c.Is(ber.Universal, false, 4):
			o.V.Parameter = c.Value
		case c.Is(ber.Context, true, 1):
			o.V.InvParms = c.Value
		default:
			return o, d.fail(t, "unknown element in failedMessage")
		}
	}
	if err := it.Err(); err != nil {
		return o, d.failErr(t, err)
	}
	if !haveOp {
		return o, d.fail(t, "failedMessage without opCode")
	}
	o.Set = true
	return o, nil
}

// Marshal appends the Parameter Set contents.
func (p *ApplicationError) Marshal(dst []byte) []byte {
	var inner [64]byte
	e := encoder{b: inner[:0]}
	e.uint(TagErrorCause, uint64(p.Cause))
	if p.FailedMessage.Set {
		f := &p.FailedMessage.V
		n := ber.ElementLen(2, ber.UintLen(uint64(f.OpCode)))
		if f.Parameter != nil {
			n += ber.ElementLen(4, len(f.Parameter))
		}
		if f.InvParms != nil {
			n += ber.ElementLen(1, len(f.InvParms))
		}
		e.hdr(TagFailedMessage, true, n)
		e.b = ber.AppendHeader(e.b, ber.Universal, false, 2, ber.UintLen(uint64(f.OpCode)))
		e.b = ber.AppendUint(e.b, uint64(f.OpCode))
		if f.Parameter != nil {
			e.b = ber.AppendTLV(e.b, ber.Universal, false, 4, f.Parameter)
		}
		if f.InvParms != nil {
			e.b = ber.AppendTLV(e.b, ber.Context, true, 1, f.InvParms)
		}
	}
	e.optUserID(&p.UserID)
	dst = ber.AppendTLV(dst, ber.Context, true, TagApplicationErrorString, e.b)
	out := encoder{b: dst}
	out.rest(&p.Other, nil)
	return out.b
}

// FailureReport is the parameter of the AIN failureReport (private error
// code 2): SEQUENCE { failureCause [32], failureCauseData [112] OPTIONAL,
// extensionParameter OPTIONAL }.
type FailureReport struct {
	Cause            FailureCause
	FailureCauseData []byte
	Other            RawParams // extensionParameter and unknown parameters
}

// Code returns ErrCodeFailureReport.
func (p *FailureReport) Code() ErrorCode { return ErrCodeFailureReport }

// Unmarshal decodes the Return Error's Parameter Set contents.
func (p *FailureReport) Unmarshal(b []byte) error { return p.UnmarshalAt(b, 0) }

// UnmarshalAt decodes Parameter Set contents starting at offset base.
func (p *FailureReport) UnmarshalAt(b []byte, base int) error {
	*p = FailureReport{}
	d := decoder{in: "failureReport"}
	err := d.each(b, base, &p.Other, func(t ber.TLV) (bool, error) {
		var err error
		switch t.Tag {
		case TagFailureCause:
			p.Cause, err = enum8[FailureCause](&d, t)
		case TagFailureCauseData:
			p.FailureCauseData, err = d.octets(t)
		default:
			return false, nil
		}
		return true, err
	})
	if err != nil {
		return err
	}
	if !d.has(TagFailureCause) {
		return d.missing(TagFailureCause)
	}
	return nil
}

// Marshal appends the Parameter Set contents.
func (p *FailureReport) Marshal(dst []byte) []byte {
	e := encoder{b: dst}
	e.uint(TagFailureCause, uint64(p.Cause))
	e.octets(TagFailureCauseData, p.FailureCauseData)
	e.rest(&p.Other, nil)
	return e.b
}
