package ain

import "callgate/sigtran/ber"

// AuthorizeTerminationArg is the argument of authorizeTermination (0x6502):
// let the call ring, optionally changing what the called party is shown.
// All parameters are optional; the zero value is a valid empty argument.
type AuthorizeTerminationArg struct {
	CallingPartyID          Opt[Digits]
	ControllingLegTreatment Opt[ControllingLegTreatment]
	DisplayText             Opt[DisplayText]
	Billing
	GenericName Opt[GenericName]
	Other       RawParams // tcm, billing indicators, ..., unknown
}

var authorizeTerminationOrder = cat([]uint32{TagCallingPartyID, TagTcm,
	TagControllingLegTreatment, TagDisplayText}, amaBlock, []uint32{TagGenericName})

// Op returns OpAuthorizeTermination.
func (a *AuthorizeTerminationArg) Op() OpCode { return OpAuthorizeTermination }

// Unmarshal decodes Parameter Set contents (offsets relative to b).
func (a *AuthorizeTerminationArg) Unmarshal(b []byte) error { return a.UnmarshalAt(b, 0) }

// UnmarshalAt decodes Parameter Set contents starting at offset base.
func (a *AuthorizeTerminationArg) UnmarshalAt(b []byte, base int) error {
	*a = AuthorizeTerminationArg{}
	d := decoder{in: "authorizeTermination"}
	return d.each(b, base, &a.Other, func(t ber.TLV) (bool, error) {
		var err error
		switch t.Tag {
		case TagCallingPartyID:
			err = d.optDigits(t, &a.CallingPartyID)
		case TagControllingLegTreatment:
			a.ControllingLegTreatment, err = optEnum8[ControllingLegTreatment](&d, t)
		case TagDisplayText:
			a.DisplayText, err = d.displayText(t)
		case TagGenericName:
			a.GenericName, err = d.genericName(t)
		default:
			return a.Billing.decode(&d, t)
		}
		return true, err
	})
}

// Marshal appends the Parameter Set contents.
func (a *AuthorizeTerminationArg) Marshal(dst []byte) []byte {
	e := encoder{b: dst}
	for _, k := range authorizeTerminationOrder {
		switch k {
		case TagCallingPartyID:
			e.optDigits(k, &a.CallingPartyID)
		case TagControllingLegTreatment:
			encEnum(&e, k, a.ControllingLegTreatment)
		case TagDisplayText:
			e.displayText(&a.DisplayText)
		case TagGenericName:
			e.genericName(&a.GenericName)
		default:
			if !a.Billing.encode(&e, k) {
				e.raw(&a.Other, k)
			}
		}
	}
	e.rest(&a.Other, authorizeTerminationOrder)
	return e.b
}

// DisconnectArg is the argument of disconnect (0x6503): clear the call. It
// carries only billing parameters (no cause: the SSP applies its own
// treatment); the zero value is the usual empty argument (F2 00).
type DisconnectArg struct {
	Billing
	Other RawParams // billing indicators, rTPReroutingNumber, ..., unknown
}

var disconnectOrder = cat(amaBlock, []uint32{TagRTPReroutingNumber})

// Op returns OpDisconnect.
func (a *DisconnectArg) Op() OpCode { return OpDisconnect }

// Unmarshal decodes Parameter Set contents (offsets relative to b).
func (a *DisconnectArg) Unmarshal(b []byte) error { return a.UnmarshalAt(b, 0) }

// UnmarshalAt decodes Parameter Set contents starting at offset base.
func (a *DisconnectArg) UnmarshalAt(b []byte, base int) error {
	*a = DisconnectArg{}
	d := decoder{in: "disconnect"}
	return d.each(b, base, &a.Other, func(t ber.TLV) (bool, error) {
		return a.Billing.decode(&d, t)
	})
}

// Marshal appends the Parameter Set contents.
func (a *DisconnectArg) Marshal(dst []byte) []byte {
	e := encoder{b: dst}
	for _, k := range disconnectOrder {
		if !a.Billing.encode(&e, k) {
			e.raw(&a.Other, k)
		}
	}
	e.rest(&a.Other, disconnectOrder)
	return e.b
}

// ContinueArg is the argument of continue (0x650D): resume call processing
// unchanged. Billing parameters only, all optional.
type ContinueArg struct {
	Billing
	Other RawParams
}

// Op returns OpContinue.
func (a *ContinueArg) Op() OpCode { return OpContinue }

// Unmarshal decodes Parameter Set contents (offsets relative to b).
func (a *ContinueArg) Unmarshal(b []byte) error { return a.UnmarshalAt(b, 0) }

// UnmarshalAt decodes Parameter Set contents starting at offset base.
func (a *ContinueArg) UnmarshalAt(b []byte, base int) error {
	*a = ContinueArg{}
	d := decoder{in: "continue"}
	return d.each(b, base, &a.Other, func(t ber.TLV) (bool, error) {
		return a.Billing.decode(&d, t)
	})
}

// Marshal appends the Parameter Set contents.
func (a *ContinueArg) Marshal(dst []byte) []byte {
	e := encoder{b: dst}
	for _, k := range amaBlock {
		if !a.Billing.encode(&e, k) {
			e.raw(&a.Other, k)
		}
	}
	e.rest(&a.Other, amaBlock)
	return e.b
}

// ForwardCallArg is the argument of forwardCall (0x6A01): route the call to
// CalledPartyID (the forward-to / routing number) instead of the dialled
// number. All parameters are optional. ForwardCallIndicator is not part of
// ForwardCallArg (it belongs to analyzeRoute). When the SCP forwards a
// subscriber's call, RedirectingPartyID (the subscriber's number) and
// RedirectionInformation tell the far end which number was originally called.
type ForwardCallArg struct {
	CallingPartyID         Opt[Digits]
	ChargeNumber           Opt[Digits]
	ChargePartyStationType Opt[uint8]
	CalledPartyID          Opt[Digits]
	OutpulseNumber         Opt[Digits]
	Billing
	RedirectingPartyID     Opt[Digits]
	RedirectionInformation []byte
	DisplayText            Opt[DisplayText]
	GenericName            Opt[GenericName]
	Other                  RawParams // trunk groups, carriers, ..., unknown
}

var forwardCallOrder = []uint32{TagCallingPartyID, TagChargeNumber, TagChargePartyStationType,
	TagCalledPartyID, TagOutpulseNumber, TagTcm, TagPrimaryTrunkGroup, TagAlternateTrunkGroup,
	TagSecondAlternateTrunkGroup, TagCarrier, TagAlternateCarrier, TagSecondAlternateCarrier,
	TagPassiveLegTreatment, TagPrimaryBillingIndicator, TagAlternateBillingIndicator,
	TagSecondAlternateBillingIndicator, TagOverflowBillingIndicator,
	TagAMAAlternateBillingNumber, TagAMABusinessCustomerID, keyAMALineNumberList, TagAMAslpID,
	keyAMADigitsDialedWCList, TagAmp1, TagAmp2, TagOcn, TagMsrID, TagServiceContext,
	TagAMABillingFeature, TagAMASequenceNumber, TagRedirectingPartyID,
	TagRedirectionInformation, TagCarrierUsage, TagExtensionParameter,
	TagAMAServiceProviderID, TagPrefix, TagApplyRestrictions, TagDisplayText, TagGenericName}

// Op returns OpForwardCall.
func (a *ForwardCallArg) Op() OpCode { return OpForwardCall }

// Unmarshal decodes Parameter Set contents (offsets relative to b).
func (a *ForwardCallArg) Unmarshal(b []byte) error { return a.UnmarshalAt(b, 0) }

// UnmarshalAt decodes Parameter Set contents starting at offset base.
func (a *ForwardCallArg) UnmarshalAt(b []byte, base int) error {
	*a = ForwardCallArg{}
	d := decoder{in: "forwardCall"}
	return d.each(b, base, &a.Other, func(t ber.TLV) (bool, error) {
		var err error
		switch t.Tag {
		case TagCallingPartyID:
			err = d.optDigits(t, &a.CallingPartyID)
		case TagChargeNumber:
			err = d.optDigits(t, &a.ChargeNumber)
		case TagChargePartyStationType:
			a.ChargePartyStationType, err = optEnum8[uint8](&d, t)
		case TagCalledPartyID:
			err = d.optDigits(t, &a.CalledPartyID)
		case TagOutpulseNumber:
			err = d.optDigits(t, &a.OutpulseNumber)
		case TagRedirectingPartyID:
			err = d.optDigits(t, &a.RedirectingPartyID)
		case TagRedirectionInformation:
			a.RedirectionInformation, err = d.octets(t)
		case TagDisplayText:
			a.DisplayText, err = d.displayText(t)
		case TagGenericName:
			a.GenericName, err = d.genericName(t)
		default:
			return a.Billing.decode(&d, t)
		}
		return true, err
	})
}

// Marshal appends the Parameter Set contents.
func (a *ForwardCallArg) Marshal(dst []byte) []byte {
	if a.Other.n == 0 && a.Billing.isZero() {
		return a.marshalTyped(dst)
	}
	return a.marshalWalk(dst)
}

// marshalTyped is Marshal for an argument with nothing but its typed
// parameters (what the SCP sends): those, in forwardCallOrder, without
// walking the order's forty tags.
func (a *ForwardCallArg) marshalTyped(dst []byte) []byte {
	e := encoder{b: dst}
	e.optDigits(TagCallingPartyID, &a.CallingPartyID)
	e.optDigits(TagChargeNumber, &a.ChargeNumber)
	encEnum(&e, TagChargePartyStationType, a.ChargePartyStationType)
	e.optDigits(TagCalledPartyID, &a.CalledPartyID)
	e.optDigits(TagOutpulseNumber, &a.OutpulseNumber)
	e.optDigits(TagRedirectingPartyID, &a.RedirectingPartyID)
	e.octets(TagRedirectionInformation, a.RedirectionInformation)
	e.displayText(&a.DisplayText)
	e.genericName(&a.GenericName)
	return e.b
}

// marshalWalk is Marshal for any argument: every parameter, raw ones
// included, in forwardCallOrder.
func (a *ForwardCallArg) marshalWalk(dst []byte) []byte {
	e := encoder{b: dst}
	for _, k := range forwardCallOrder {
		switch k {
		case TagCallingPartyID:
			e.optDigits(k, &a.CallingPartyID)
		case TagChargeNumber:
			e.optDigits(k, &a.ChargeNumber)
		case TagChargePartyStationType:
			encEnum(&e, k, a.ChargePartyStationType)
		case TagCalledPartyID:
			e.optDigits(k, &a.CalledPartyID)
		case TagOutpulseNumber:
			e.optDigits(k, &a.OutpulseNumber)
		case TagRedirectingPartyID:
			e.optDigits(k, &a.RedirectingPartyID)
		case TagRedirectionInformation:
			e.octets(k, a.RedirectionInformation)
		case TagDisplayText:
			e.displayText(&a.DisplayText)
		case TagGenericName:
			e.genericName(&a.GenericName)
		default:
			if !a.Billing.encode(&e, k) {
				e.raw(&a.Other, k)
			}
		}
	}
	e.rest(&a.Other, forwardCallOrder)
	return e.b
}

// SendToResourceArg is the argument of sendToResource (0x6601): connect the
// caller to an announcement / digit-collection resource. ResourceType and
// StrParameterBlock are mandatory. With DisconnectFlag the SSP releases the
// call after the announcement (the SCP can end the transaction); without it
// the SSP reports back with resourceClear.
type SendToResourceArg struct {
	ResourceType      ResourceType
	StrParameterBlock StrParameterBlock
	DisconnectFlag    bool
	AnswerIndicator   bool
	Billing
	ChargeNumber           Opt[Digits]
	ChargePartyStationType Opt[uint8]
	CalledPartyID          Opt[Digits]
	Other                  RawParams
}

// Tag 146 (extendedRinging and partyOnHold share it in the ASN.1) is listed
// once, at its first position, so a raw copy is written exactly once.
var sendToResourceOrder = []uint32{TagResourceType, TagStrParameterBlock, TagDisconnectFlag,
	TagAnswerIndicator, TagPrimaryBillingIndicator, TagAMAAlternateBillingNumber,
	TagAMABusinessCustomerID, keyAMALineNumberList, TagAMAslpID, keyAMADigitsDialedWCList,
	TagAmp1, TagAmp2, TagDestinationAddress, TagDPConverter, TagAMAMeasure, TagOcn, TagMsrID,
	TagServiceContext, TagAMABillingFeature, TagAMASequenceNumber, TagExtensionParameter,
	TagAMAServiceProviderID, TagExtendedRinging, TagCarrier, TagAlternateCarrier,
	TagSecondAlternateCarrier, TagCarrierUsage, TagChargeNumber, TagChargePartyStationType,
	TagTSTRCTimer, TagPartyID, TagCalledPartyID}

// Op returns OpSendToResource.
func (a *SendToResourceArg) Op() OpCode { return OpSendToResource }

// Unmarshal decodes Parameter Set contents (offsets relative to b).
func (a *SendToResourceArg) Unmarshal(b []byte) error { return a.UnmarshalAt(b, 0) }

// UnmarshalAt decodes Parameter Set contents starting at offset base.
func (a *SendToResourceArg) UnmarshalAt(b []byte, base int) error {
	*a = SendToResourceArg{}
	d := decoder{in: "sendToResource"}
	err := d.each(b, base, &a.Other, func(t ber.TLV) (bool, error) {
		var err error
		switch t.Tag {
		case TagResourceType:
			var v uint64
			v, err = d.uint(t, 127)
			a.ResourceType = ResourceType(v)
		case TagStrParameterBlock:
			a.StrParameterBlock, err = d.strBlock(t)
		case TagDisconnectFlag:
			a.DisconnectFlag, err = d.null(t)
		case TagAnswerIndicator:
			a.AnswerIndicator, err = d.null(t)
		case TagChargeNumber:
			err = d.optDigits(t, &a.ChargeNumber)
		case TagChargePartyStationType:
			a.ChargePartyStationType, err = optEnum8[uint8](&d, t)
		case TagCalledPartyID:
			err = d.optDigits(t, &a.CalledPartyID)
		default:
			return a.Billing.decode(&d, t)
		}
		return true, err
	})
	if err != nil {
		return err
	}
	if !d.has(TagResourceType) {
		return d.missing(TagResourceType)
	}
	if !d.has(TagStrParameterBlock) {
		return d.missing(TagStrParameterBlock)
	}
	return nil
}

// Marshal appends the Parameter Set contents.
func (a *SendToResourceArg) Marshal(dst []byte) []byte {
	e := encoder{b: dst}
	for _, k := range sendToResourceOrder {
		switch k {
		case TagResourceType:
			e.uint(k, uint64(a.ResourceType))
		case TagStrParameterBlock:
			e.str(&a.StrParameterBlock)
		case TagDisconnectFlag:
			e.null(k, a.DisconnectFlag)
		case TagAnswerIndicator:
			e.null(k, a.AnswerIndicator)
		case TagChargeNumber:
			e.optDigits(k, &a.ChargeNumber)
		case TagChargePartyStationType:
			encEnum(&e, k, a.ChargePartyStationType)
		case TagCalledPartyID:
			e.optDigits(k, &a.CalledPartyID)
		default:
			if !a.Billing.encode(&e, k) {
				e.raw(&a.Other, k)
			}
		}
	}
	e.rest(&a.Other, sendToResourceOrder)
	return e.b
}

// AnalyzeRouteArg is the argument of analyzeRoute (0x6501): route the call
// with the given numbers. AMAslpID is mandatory here.
type AnalyzeRouteArg struct {
	ChargeNumber           Opt[Digits]
	CallingPartyID         Opt[Digits]
	ChargePartyStationType Opt[uint8]
	CalledPartyID          Opt[Digits]
	OutpulseNumber         Opt[Digits]
	RedirectingPartyID     Opt[Digits]
	AMAslpID               AMAslpID
	Amp1                   []byte
	Amp2                   []byte
	AMASequenceNumber      Opt[uint16]
	RedirectionInformation []byte
	ExtensionParameter     []byte
	ForwardCallIndicator   []byte // OCTET STRING(SIZE(2)), raw
	DisplayText            Opt[DisplayText]
	GenericName            Opt[GenericName]
	Other                  RawParams
}

var analyzeRouteOrder = []uint32{TagChargeNumber, TagCallingPartyID, TagChargePartyStationType,
	TagCalledPartyID, TagOutpulseNumber, TagTcm, TagPrimaryTrunkGroup, TagAlternateTrunkGroup,
	TagSecondAlternateTrunkGroup, TagCarrier, TagAlternateCarrier, TagSecondAlternateCarrier,
	TagPassiveLegTreatment, TagRedirectingPartyID, TagPrimaryBillingIndicator,
	TagAlternateBillingIndicator, TagSecondAlternateBillingIndicator,
	TagOverflowBillingIndicator, TagAMAAlternateBillingNumber, TagAMABusinessCustomerID,
	keyAMALineNumberList, TagAMAslpID, keyAMADigitsDialedWCList, TagAmp1, TagAmp2, TagOcn,
	TagMsrID, TagServiceContext, TagAMABillingFeature, TagAMASequenceNumber,
	TagRedirectionInformation, TagCarrierUsage, TagExtensionParameter, TagGenericAddressList,
	TagNetworkSpecificFacilities, TagCallingPartyBGID, TagForwardCallIndicator,
	TagAMAServiceProviderID, TagPrefix, TagGenericDigitsList, TagApplyRestrictions,
	TagDisplayText, TagGenericName}

// Op returns OpAnalyzeRoute.
func (a *AnalyzeRouteArg) Op() OpCode { return OpAnalyzeRoute }

// Unmarshal decodes Parameter Set contents (offsets relative to b).
func (a *AnalyzeRouteArg) Unmarshal(b []byte) error { return a.UnmarshalAt(b, 0) }

// UnmarshalAt decodes Parameter Set contents starting at offset base.
func (a *AnalyzeRouteArg) UnmarshalAt(b []byte, base int) error {
	*a = AnalyzeRouteArg{}
	d := decoder{in: "analyzeRoute"}
	err := d.each(b, base, &a.Other, func(t ber.TLV) (bool, error) {
		var err error
		switch t.Tag {
		case TagChargeNumber:
			err = d.optDigits(t, &a.ChargeNumber)
		case TagCallingPartyID:
			err = d.optDigits(t, &a.CallingPartyID)
		case TagChargePartyStationType:
			a.ChargePartyStationType, err = optEnum8[uint8](&d, t)
		case TagCalledPartyID:
			err = d.optDigits(t, &a.CalledPartyID)
		case TagOutpulseNumber:
			err = d.optDigits(t, &a.OutpulseNumber)
		case TagRedirectingPartyID:
			err = d.optDigits(t, &a.RedirectingPartyID)
		case TagAMAslpID:
			a.AMAslpID, err = d.amaslpID(t)
		case TagAmp1:
			a.Amp1, err = d.octets(t)
		case TagAmp2:
			a.Amp2, err = d.constructed(t)
		case TagAMASequenceNumber:
			a.AMASequenceNumber, err = d.optUint16(t)
		case TagRedirectionInformation:
			a.RedirectionInformation, err = d.octets(t)
		case TagExtensionParameter:
			a.ExtensionParameter, err = d.constructed(t)
		case TagForwardCallIndicator:
			a.ForwardCallIndicator, err = d.octets(t)
		case TagDisplayText:
			a.DisplayText, err = d.displayText(t)
		case TagGenericName:
			a.GenericName, err = d.genericName(t)
		default:
			return false, nil
		}
		return true, err
	})
	if err != nil {
		return err
	}
	if !d.has(TagAMAslpID) {
		return d.missing(TagAMAslpID)
	}
	return nil
}

// Marshal appends the Parameter Set contents.
func (a *AnalyzeRouteArg) Marshal(dst []byte) []byte {
	e := encoder{b: dst}
	for _, k := range analyzeRouteOrder {
		switch k {
		case TagChargeNumber:
			e.optDigits(k, &a.ChargeNumber)
		case TagCallingPartyID:
			e.optDigits(k, &a.CallingPartyID)
		case TagChargePartyStationType:
			encEnum(&e, k, a.ChargePartyStationType)
		case TagCalledPartyID:
			e.optDigits(k, &a.CalledPartyID)
		case TagOutpulseNumber:
			e.optDigits(k, &a.OutpulseNumber)
		case TagRedirectingPartyID:
			e.optDigits(k, &a.RedirectingPartyID)
		case TagAMAslpID:
			e.amaslpID(&a.AMAslpID)
		case TagAmp1:
			e.octets(k, a.Amp1)
		case TagAmp2:
			e.constructed(k, a.Amp2)
		case TagAMASequenceNumber:
			e.optUint16(k, a.AMASequenceNumber)
		case TagRedirectionInformation:
			e.octets(k, a.RedirectionInformation)
		case TagExtensionParameter:
			e.constructed(k, a.ExtensionParameter)
		case TagForwardCallIndicator:
			e.octets(k, a.ForwardCallIndicator)
		case TagDisplayText:
			e.displayText(&a.DisplayText)
		case TagGenericName:
			e.genericName(&a.GenericName)
		default:
			e.raw(&a.Other, k)
		}
	}
	e.rest(&a.Other, analyzeRouteOrder)
	return e.b
}

// AcgArg is the argument of acg (0x6901), automatic code gapping: for
// GapDuration, let at most one query per GapInterval through for the
// controlled code (GlobalTitleAddress under TranslationType). Every
// parameter except ExtensionParameter is mandatory.
type AcgArg struct {
	ControlCauseIndicator uint8 // OCTET STRING(SIZE(1)); bit meanings per GR-1299
	GapDuration           GapDuration
	GapInterval           GapInterval
	TranslationType       uint8
	GlobalTitleAddress    []byte // OCTET STRING: BCD digits of the controlled code, low nibble first
	ExtensionParameter    []byte
	Other                 RawParams
}

var acgOrder = []uint32{TagControlCauseIndicator, TagGapDuration, TagNationalGapInterval,
	TagPrivateGapInterval, TagTranslationType, TagGlobalTitleAddress, TagExtensionParameter}

// Op returns OpACG.
func (a *AcgArg) Op() OpCode { return OpACG }

// Unmarshal decodes Parameter Set contents (offsets relative to b).
func (a *AcgArg) Unmarshal(b []byte) error { return a.UnmarshalAt(b, 0) }

// UnmarshalAt decodes Parameter Set contents starting at offset base.
func (a *AcgArg) UnmarshalAt(b []byte, base int) error {
	*a = AcgArg{}
	d := decoder{in: "acg"}
	err := d.each(b, base, &a.Other, func(t ber.TLV) (bool, error) {
		var err error
		switch t.Tag {
		case TagControlCauseIndicator:
			var v Opt[uint8]
			v, err = d.optOctet(t)
			a.ControlCauseIndicator = v.V
		case TagGapDuration:
			a.GapDuration, err = enum8[GapDuration](&d, t)
		case TagNationalGapInterval, TagPrivateGapInterval:
			if d.has(TagNationalGapInterval) || d.has(TagPrivateGapInterval) {
				return true, d.fail(t, "more than one gapInterval")
			}
			a.GapInterval, err = d.gapInterval(t)
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
	for _, tag := range [...]uint32{TagControlCauseIndicator, TagGapDuration, TagTranslationType, TagGlobalTitleAddress} {
		if !d.has(tag) {
			return d.missing(tag)
		}
	}
	if !d.has(TagNationalGapInterval) && !d.has(TagPrivateGapInterval) {
		return d.missing(TagNationalGapInterval)
	}
	return nil
}

// Marshal appends the Parameter Set contents.
func (a *AcgArg) Marshal(dst []byte) []byte {
	e := encoder{b: dst}
	for _, k := range acgOrder {
		switch k {
		case TagControlCauseIndicator:
			e.optOctet(k, Some(a.ControlCauseIndicator))
		case TagGapDuration:
			e.uint(k, uint64(a.GapDuration))
		case TagNationalGapInterval:
			if !a.GapInterval.Private {
				e.uint(k, uint64(a.GapInterval.Value))
			}
		case TagPrivateGapInterval:
			if a.GapInterval.Private {
				e.uint(k, uint64(a.GapInterval.Value))
			}
		case TagTranslationType:
			e.uint(k, uint64(a.TranslationType))
		case TagGlobalTitleAddress: // mandatory: written even when empty
			e.hdr(k, false, len(a.GlobalTitleAddress))
			e.b = append(e.b, a.GlobalTitleAddress...)
		case TagExtensionParameter:
			e.constructed(k, a.ExtensionParameter)
		}
	}
	e.rest(&a.Other, acgOrder)
	return e.b
}

// AppendGlobalTitleAddress appends digits (ASCII, at most 32) as packed BCD,
// low nibble first, an odd count padded with filler 0, for
// AcgArg.GlobalTitleAddress. It does not allocate when dst has room.
func AppendGlobalTitleAddress(dst []byte, digits string) ([]byte, error) {
	return parseBCDString(dst, digits)
}
