package ain

import "callgate/sigtran/ber"

// AcgOverflowArg is the argument of acgOverflow (0x6904): a switch
// reports that it could not place the acg control for GlobalTitleAddress
// under TranslationType (its table of controls is full), so the code is
// not being gapped there. Every parameter except ExtensionParameter is
// mandatory (AIN-Operations.asn).
type AcgOverflowArg struct {
	ControlCauseIndicator uint8
	TranslationType       uint8
	GlobalTitleAddress    []byte // as in AcgArg
	ExtensionParameter    []byte
	Other                 RawParams
}

var acgOverflowOrder = []uint32{TagControlCauseIndicator, TagTranslationType, TagGlobalTitleAddress, TagExtensionParameter}

// Op returns OpACGOverflow.
func (a *AcgOverflowArg) Op() OpCode { return OpACGOverflow }

// Unmarshal decodes Parameter Set contents (offsets relative to b).
func (a *AcgOverflowArg) Unmarshal(b []byte) error { return a.UnmarshalAt(b, 0) }

// UnmarshalAt decodes Parameter Set contents starting at offset base.
func (a *AcgOverflowArg) UnmarshalAt(b []byte, base int) error {
	*a = AcgOverflowArg{}
	d := decoder{in: "acgOverflow"}
	err := d.each(b, base, &a.Other, func(t ber.TLV) (bool, error) {
		var err error
		switch t.Tag {
		case TagControlCauseIndicator:
			var v Opt[uint8]
			v, err = d.optOctet(t)
			a.ControlCauseIndicator = v.V
		case TagTranslationType:
			a.TranslationType, err = enum8[uint8](&d, t)
		case TagGlobalTitleAddress:
			a.GlobalTitleAddress, err = d.octets(t)
		case TagExtensionParameter:
			a.ExtensionParameter, err = d.constructed(t)
		default:
			return false, nil
		}
		return true, err
	})
	if err != nil {
		return err
	}
	for _, tag := range [...]uint32{TagControlCauseIndicator, TagTranslationType, TagGlobalTitleAddress} {
		if !d.has(tag) {
			return d.missing(tag)
		}
	}
	return nil
}

// Marshal appends the Parameter Set contents.
func (a *AcgOverflowArg) Marshal(dst []byte) []byte {
	e := encoder{b: dst}
	for _, k := range acgOverflowOrder {
		switch k {
		case TagControlCauseIndicator:
			e.optOctet(k, Some(a.ControlCauseIndicator))
		case TagTranslationType:
			e.uint(k, uint64(a.TranslationType))
		case TagGlobalTitleAddress:
			e.hdr(k, false, len(a.GlobalTitleAddress))
			e.b = append(e.b, a.GlobalTitleAddress...)
		case TagExtensionParameter:
			e.constructed(k, a.ExtensionParameter)
		}
	}
	e.rest(&a.Other, acgOverflowOrder)
	return e.b
}
