package ain

import "callgate/sigtran/ber"

// Arg is a decoded or to-be-encoded operation argument.
type Arg interface {
	// Op returns the operation the argument belongs to.
	Op() OpCode
	// Marshal appends the Parameter Set contents (without the F2 header),
	// parameters in ASN.1 declaration order, shortest definite lengths.
	Marshal(dst []byte) []byte
	// UnmarshalAt decodes Parameter Set contents whose first octet is at
	// offset base of the caller's message (offsets in errors use it).
	UnmarshalAt(b []byte, base int) error
}

// each walks a Parameter Set: context-class parameters go to f, which
// reports whether it models the tag; everything else is kept raw.
func (d *decoder) each(b []byte, base int, other *RawParams, f func(t ber.TLV) (bool, error)) error {
	it := ber.NewIter(b, base)
	var t ber.TLV
	for it.NextInto(&t) {
		if t.Class == ber.Context {
			handled, err := f(t)
			if err != nil {
				return err
			}
			if handled {
				continue
			}
		}
		other.Add(toRaw(t))
	}
	if err := it.Err(); err != nil {
		return d.framing(err)
	}
	return nil
}

// Billing holds the AMA (billing) parameters that the SCP's answers share.
// The rest of the AMA block (billing indicators, AMA line numbers, service
// provider IDs, ...) is passed through raw in the argument's Other list.
type Billing struct {
	AMAslpID           Opt[AMAslpID]
	Amp1               []byte
	Amp2               []byte // SEQUENCE contents, raw
	AMASequenceNumber  Opt[uint16]
	ExtensionParameter []byte // SEQUENCE contents, raw
}

// isZero reports whether b holds no parameter.
func (b *Billing) isZero() bool {
	return !b.AMAslpID.Set && b.Amp1 == nil && b.Amp2 == nil && !b.AMASequenceNumber.Set && b.ExtensionParameter == nil
}

func (b *Billing) decode(d *decoder, t ber.TLV) (handled bool, err error) {
	switch t.Tag {
	case TagAMAslpID:
		b.AMAslpID, err = d.optAMAslpID(t)
	case TagAmp1:
		b.Amp1, err = d.octets(t)
	case TagAmp2:
		b.Amp2, err = d.constructed(t)
	case TagAMASequenceNumber:
		b.AMASequenceNumber, err = d.optUint16(t)
	case TagExtensionParameter:
		b.ExtensionParameter, err = d.constructed(t)
	default:
		return false, nil
	}
	return true, err
}

func (b *Billing) encode(e *encoder, k uint32) bool {
	switch k {
	case TagAMAslpID:
		e.optAMAslpID(&b.AMAslpID)
	case TagAmp1:
		e.octets(k, b.Amp1)
	case TagAmp2:
		e.constructed(k, b.Amp2)
	case TagAMASequenceNumber:
		e.optUint16(k, b.AMASequenceNumber)
	case TagExtensionParameter:
		e.constructed(k, b.ExtensionParameter)
	default:
		return false
	}
	return true
}

// amaBlock is the AMA block in declaration order, as AuthorizeTermination,
// Disconnect and Continue declare it.
var amaBlock = []uint32{TagPrimaryBillingIndicator, TagAMAAlternateBillingNumber,
	TagAMABusinessCustomerID, keyAMALineNumberList, TagAMAslpID, keyAMADigitsDialedWCList,
	TagAmp1, TagAmp2, TagOcn, TagMsrID, TagServiceContext, TagAMABillingFeature,
	TagAMASequenceNumber, TagExtensionParameter, TagAMAServiceProviderID}

func cat(parts ...[]uint32) []uint32 {
	var o []uint32
	for _, p := range parts {
		o = append(o, p...)
	}
	return o
}
