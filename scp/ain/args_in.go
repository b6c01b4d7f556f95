package ain

import (
	"callgate/e164"
	"callgate/sigtran/ber"
)

// TerminationAttemptArg is the argument of terminationAttempt (0x6405), the
// query a terminating switch sends at the Termination_Attempt trigger.
// UserID and BearerCapability are mandatory.
type TerminationAttemptArg struct {
	UserID                 UserID
	BearerCapability       BearerCapability
	CalledPartyID          Opt[Digits]
	Lata                   Opt[Digits]
	TriggerCriteriaType    Opt[TriggerCriteriaType]
	CalledPartyStationType Opt[uint8]
	ChargeNumber           Opt[Digits]
	CallingPartyID         Opt[Digits]
	ChargePartyStationType Opt[uint8]
	OriginalCalledPartyID  Opt[Digits]
	RedirectingPartyID     Opt[Digits]
	RedirectionInformation []byte // OCTET STRING(SIZE(2)), T1.113 layout, raw
	GenericName            Opt[GenericName]
	ACGEncountered         Opt[uint8]
	Amp1                   []byte
	Amp2                   []byte // SEQUENCE contents, raw
	STRConnection          Opt[bool]
	AMASequenceNumber      Opt[uint16]
	ExtensionParameter     []byte // SEQUENCE contents, raw
	CTRConnection          Opt[bool]
	Other                  RawParams // tcm, sap, rTPServiceIndicator, ... and unknown parameters
}

var terminationAttemptOrder = []uint32{TagUserID, TagBearerCapability, TagCalledPartyID, TagLata,
	TagTriggerCriteriaType, TagCalledPartyStationType, TagChargeNumber, TagCallingPartyID,
	TagChargePartyStationType, TagTcm, TagOriginalCalledPartyID, TagRedirectingPartyID,
	TagRedirectionInformation, TagGenericName, TagACGEncountered, TagAmp1, TagAmp2, TagSap,
	TagSTRConnection, TagAMASequenceNumber, TagExtensionParameter, TagCTRConnection,
	TagRTPServiceIndicator, TagGenericAddressList, keyTriggerInformation,
	TagCallingGeodeticLocation}

// Op returns OpTerminationAttempt.
func (a *TerminationAttemptArg) Op() OpCode { return OpTerminationAttempt }

// Unmarshal decodes Parameter Set contents (offsets relative to b).
func (a *TerminationAttemptArg) Unmarshal(b []byte) error { return a.UnmarshalAt(b, 0) }

// UnmarshalAt decodes Parameter Set contents starting at offset base.
//
// It is the SCP's per-query decode, so it walks the set itself rather than
// through decoder.each (no call through a closure per parameter); the
// result is the same: context-class parameters it does not model, and
// all others, are kept in Other.
func (a *TerminationAttemptArg) UnmarshalAt(b []byte, base int) error {
	a.reset()
	d := decoder{in: "terminationAttempt"}
	it := ber.NewIter(b, base)
	var t ber.TLV
	for it.NextInto(&t) {
		if t.Class != ber.Context {
			a.Other.Add(toRaw(t))
			continue
		}
		var err error
		switch t.Tag {
		case TagUserID:
			err = d.userID(t, &a.UserID)
		case TagBearerCapability:
			a.BearerCapability, err = enum8[BearerCapability](&d, t)
		case TagCalledPartyID:
			err = d.optDigits(t, &a.CalledPartyID)
		case TagLata:
			err = d.optDigits(t, &a.Lata)
		case TagTriggerCriteriaType:
			a.TriggerCriteriaType, err = optEnum8[TriggerCriteriaType](&d, t)
		case TagCalledPartyStationType:
			a.CalledPartyStationType, err = optEnum8[uint8](&d, t)
		case TagChargeNumber:
			err = d.optDigits(t, &a.ChargeNumber)
		case TagCallingPartyID:
			err = d.optDigits(t, &a.CallingPartyID)
		case TagChargePartyStationType:
			a.ChargePartyStationType, err = optEnum8[uint8](&d, t)
		case TagOriginalCalledPartyID:
			err = d.optDigits(t, &a.OriginalCalledPartyID)
		case TagRedirectingPartyID:
			err = d.optDigits(t, &a.RedirectingPartyID)
		case TagRedirectionInformation:
			a.RedirectionInformation, err = d.octets(t)
		case TagGenericName:
			a.GenericName, err = d.genericName(t)
		case TagACGEncountered:
			a.ACGEncountered, err = d.optOctet(t)
		case TagAmp1:
			a.Amp1, err = d.octets(t)
		case TagAmp2:
			a.Amp2, err = d.constructed(t)
		case TagSTRConnection:
			a.STRConnection, err = d.boolean(t)
		case TagAMASequenceNumber:
			a.AMASequenceNumber, err = d.optUint16(t)
		case TagExtensionParameter:
			a.ExtensionParameter, err = d.constructed(t)
		case TagCTRConnection:
			a.CTRConnection, err = d.boolean(t)
		default:
			a.Other.Add(toRaw(t))
		}
		if err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return d.framing(err)
	}
	if !d.has(TagUserID) {
		return d.missing(TagUserID)
	}
	if !d.has(TagBearerCapability) {
		return d.missing(TagBearerCapability)
	}
	return nil
}

// reset empties a for the next decode. It clears field by field so as not
// to rewrite all of Other's 16 slots per query, only those the last decode
// used; the result equals TerminationAttemptArg{} (TestResetClearsEveryField
// fills every field to hold this to new fields too).
func (a *TerminationAttemptArg) reset() {
	a.Other.reset()
	a.UserID = UserID{}
	a.BearerCapability = 0
	a.CalledPartyID = Opt[Digits]{}
	a.Lata = Opt[Digits]{}
	a.TriggerCriteriaType = Opt[TriggerCriteriaType]{}
	a.CalledPartyStationType = Opt[uint8]{}
	a.ChargeNumber = Opt[Digits]{}
	a.CallingPartyID = Opt[Digits]{}
	a.ChargePartyStationType = Opt[uint8]{}
	a.OriginalCalledPartyID = Opt[Digits]{}
	a.RedirectingPartyID = Opt[Digits]{}
	a.RedirectionInformation = nil
	a.GenericName = Opt[GenericName]{}
	a.ACGEncountered = Opt[uint8]{}
	a.Amp1 = nil
	a.Amp2 = nil
	a.STRConnection = Opt[bool]{}
	a.AMASequenceNumber = Opt[uint16]{}
	a.ExtensionParameter = nil
	a.CTRConnection = Opt[bool]{}
}

// Marshal appends the Parameter Set contents.
func (a *TerminationAttemptArg) Marshal(dst []byte) []byte {
	e := encoder{b: dst}
	for _, k := range terminationAttemptOrder {
		switch k {
		case TagUserID:
			e.userID(&a.UserID)
		case TagBearerCapability:
			e.uint(k, uint64(a.BearerCapability))
		case TagCalledPartyID:
			e.optDigits(k, &a.CalledPartyID)
		case TagLata:
			e.optDigits(k, &a.Lata)
		case TagTriggerCriteriaType:
			encEnum(&e, k, a.TriggerCriteriaType)
		case TagCalledPartyStationType:
			encEnum(&e, k, a.CalledPartyStationType)
		case TagChargeNumber:
			e.optDigits(k, &a.ChargeNumber)
		case TagCallingPartyID:
			e.optDigits(k, &a.CallingPartyID)
		case TagChargePartyStationType:
			encEnum(&e, k, a.ChargePartyStationType)
		case TagOriginalCalledPartyID:
			e.optDigits(k, &a.OriginalCalledPartyID)
		case TagRedirectingPartyID:
			e.optDigits(k, &a.RedirectingPartyID)
		case TagRedirectionInformation:
			e.octets(k, a.RedirectionInformation)
		case TagGenericName:
			e.genericName(&a.GenericName)
		case TagACGEncountered:
			e.optOctet(k, a.ACGEncountered)
		case TagAmp1:
			e.octets(k, a.Amp1)
		case TagAmp2:
			e.constructed(k, a.Amp2)
		case TagSTRConnection:
			e.boolean(k, a.STRConnection)
		case TagAMASequenceNumber:
			e.optUint16(k, a.AMASequenceNumber)
		case TagExtensionParameter:
			e.constructed(k, a.ExtensionParameter)
		case TagCTRConnection:
			e.boolean(k, a.CTRConnection)
		default:
			e.raw(&a.Other, k)
		}
	}
	e.rest(&a.Other, terminationAttemptOrder)
	return e.b
}

// Calling returns the calling party's number in E.164 form and its
// presentation restriction (the number is returned even when restricted: the
// restriction is about display, screening still needs it). Without a
// CallingPartyID it returns 0 and PresentationUnavailable; digits that do not
// form a number give 0, the signalled presentation and the conversion error.
func (a *TerminationAttemptArg) Calling() (e164.Number, Presentation, error) {
	if !a.CallingPartyID.Set {
		return 0, PresentationUnavailable, nil
	}
	n, err := a.CallingPartyID.V.E164()
	return n, a.CallingPartyID.V.Presentation, err
}

// Called returns the called (terminating) number: CalledPartyID, or the
// UserID directory number when the switch did not send CalledPartyID.
func (a *TerminationAttemptArg) Called() (e164.Number, error) {
	if a.CalledPartyID.Set {
		return a.CalledPartyID.V.E164()
	}
	if a.UserID.Kind == UserIDDN {
		return a.UserID.DN.E164()
	}
	return 0, ErrNoDigits
}

// InfoAnalyzedArg is the argument of infoAnalyzed (0x6403), the query at the
// Info_Analyzed trigger (dialled number analysed, e.g. an outgoing-call-plan
// check). UserID and BearerCapability are mandatory.
type InfoAnalyzedArg struct {
	UserID                 UserID
	BearerCapability       BearerCapability
	CalledPartyID          Opt[Digits]
	Lata                   Opt[Digits]
	TriggerCriteriaType    Opt[TriggerCriteriaType]
	ChargeNumber           Opt[Digits]
	CallingPartyID         Opt[Digits]
	ChargePartyStationType Opt[uint8]
	CollectedAddressInfo   Opt[Digits]
	CollectedDigits        Opt[Digits]
	OriginalCalledPartyID  Opt[Digits]
	RedirectingPartyID     Opt[Digits]
	RedirectionInformation []byte
	ACGEncountered         Opt[uint8]
	Amp1                   []byte
	Amp2                   []byte
	AMASequenceNumber      Opt[uint16]
	ExtensionParameter     []byte
	CTRConnection          Opt[bool]
	Other                  RawParams
}

var infoAnalyzedOrder = []uint32{TagUserID, TagBearerCapability, TagCalledPartyID, TagLata,
	TagTriggerCriteriaType, TagChargeNumber, TagCallingPartyID, TagCallingPartyBGID,
	TagChargePartyStationType, TagCarrier, TagAccessCode, TagCollectedAddressInfo,
	TagCollectedDigits, TagVerticalServiceCode, TagTcm, TagOriginalCalledPartyID,
	TagRedirectingPartyID, TagRedirectionInformation, TagACGEncountered, TagAmp1, TagAmp2,
	TagSap, TagSTRConnection, TagAMASequenceNumber, TagExtensionParameter,
	TagGenericAddressList, TagNetworkSpecificFacilities, TagCTRConnection,
	TagJurisdictionInformation, TagPrefix, TagCallingGeodeticLocation, keyTriggerInformation}

// Op returns OpInfoAnalyzed.
func (a *InfoAnalyzedArg) Op() OpCode { return OpInfoAnalyzed }

// Unmarshal decodes Parameter Set contents (offsets relative to b).
func (a *InfoAnalyzedArg) Unmarshal(b []byte) error { return a.UnmarshalAt(b, 0) }

// UnmarshalAt decodes Parameter Set contents starting at offset base.
func (a *InfoAnalyzedArg) UnmarshalAt(b []byte, base int) error {
	*a = InfoAnalyzedArg{}
	d := decoder{in: "infoAnalyzed"}
	err := d.each(b, base, &a.Other, func(t ber.TLV) (bool, error) {
		var err error
		switch t.Tag {
		case TagUserID:
			err = d.userID(t, &a.UserID)
		case TagBearerCapability:
			a.BearerCapability, err = enum8[BearerCapability](&d, t)
		case TagCalledPartyID:
			err = d.optDigits(t, &a.CalledPartyID)
		case TagLata:
			err = d.optDigits(t, &a.Lata)
		case TagTriggerCriteriaType:
			a.TriggerCriteriaType, err = optEnum8[TriggerCriteriaType](&d, t)
		case TagChargeNumber:
			err = d.optDigits(t, &a.ChargeNumber)
		case TagCallingPartyID:
			err = d.optDigits(t, &a.CallingPartyID)
		case TagChargePartyStationType:
			a.ChargePartyStationType, err = optEnum8[uint8](&d, t)
		case TagCollectedAddressInfo:
			err = d.optDigits(t, &a.CollectedAddressInfo)
		case TagCollectedDigits:
			err = d.optDigits(t, &a.CollectedDigits)
		case TagOriginalCalledPartyID:
			err = d.optDigits(t, &a.OriginalCalledPartyID)
		case TagRedirectingPartyID:
			err = d.optDigits(t, &a.RedirectingPartyID)
		case TagRedirectionInformation:
			a.RedirectionInformation, err = d.octets(t)
		case TagACGEncountered:
			a.ACGEncountered, err = d.optOctet(t)
		case TagAmp1:
			a.Amp1, err = d.octets(t)
		case TagAmp2:
			a.Amp2, err = d.constructed(t)
		case TagAMASequenceNumber:
			a.AMASequenceNumber, err = d.optUint16(t)
		case TagExtensionParameter:
			a.ExtensionParameter, err = d.constructed(t)
		case TagCTRConnection:
			a.CTRConnection, err = d.boolean(t)
		default:
			return false, nil
		}
		return true, err
	})
	if err != nil {
		return err
	}
	if !d.has(TagUserID) {
		return d.missing(TagUserID)
	}
	if !d.has(TagBearerCapability) {
		return d.missing(TagBearerCapability)
	}
	return nil
}

// Marshal appends the Parameter Set contents.
func (a *InfoAnalyzedArg) Marshal(dst []byte) []byte {
	e := encoder{b: dst}
	for _, k := range infoAnalyzedOrder {
		switch k {
		case TagUserID:
			e.userID(&a.UserID)
		case TagBearerCapability:
			e.uint(k, uint64(a.BearerCapability))
		case TagCalledPartyID:
			e.optDigits(k, &a.CalledPartyID)
		case TagLata:
			e.optDigits(k, &a.Lata)
		case TagTriggerCriteriaType:
			encEnum(&e, k, a.TriggerCriteriaType)
		case TagChargeNumber:
			e.optDigits(k, &a.ChargeNumber)
		case TagCallingPartyID:
			e.optDigits(k, &a.CallingPartyID)
		case TagChargePartyStationType:
			encEnum(&e, k, a.ChargePartyStationType)
		case TagCollectedAddressInfo:
			e.optDigits(k, &a.CollectedAddressInfo)
		case TagCollectedDigits:
			e.optDigits(k, &a.CollectedDigits)
		case TagOriginalCalledPartyID:
			e.optDigits(k, &a.OriginalCalledPartyID)
		case TagRedirectingPartyID:
			e.optDigits(k, &a.RedirectingPartyID)
		case TagRedirectionInformation:
			e.octets(k, a.RedirectionInformation)
		case TagACGEncountered:
			e.optOctet(k, a.ACGEncountered)
		case TagAmp1:
			e.octets(k, a.Amp1)
		case TagAmp2:
			e.constructed(k, a.Amp2)
		case TagAMASequenceNumber:
			e.optUint16(k, a.AMASequenceNumber)
		case TagExtensionParameter:
			e.constructed(k, a.ExtensionParameter)
		case TagCTRConnection:
			e.boolean(k, a.CTRConnection)
		default:
			e.raw(&a.Other, k)
		}
	}
	e.rest(&a.Other, infoAnalyzedOrder)
	return e.b
}

// InfoCollectedArg is the argument of infoCollected (0x6402), the query at
// the Info_Collected trigger. UserID and BearerCapability are mandatory.
type InfoCollectedArg struct {
	UserID                 UserID
	BearerCapability       BearerCapability
	ChargeNumber           Opt[Digits]
	Lata                   Opt[Digits]
	TriggerCriteriaType    Opt[TriggerCriteriaType]
	CallingPartyID         Opt[Digits]
	ChargePartyStationType Opt[uint8]
	CollectedAddressInfo   Opt[Digits]
	CollectedDigits        Opt[Digits]
	OriginalCalledPartyID  Opt[Digits]
	RedirectingPartyID     Opt[Digits]
	RedirectionInformation []byte
	ACGEncountered         Opt[uint8]
	Amp1                   []byte
	Amp2                   []byte
	AMASequenceNumber      Opt[uint16]
	ExtensionParameter     []byte
	Other                  RawParams
}

var infoCollectedOrder = []uint32{TagUserID, TagBearerCapability, TagChargeNumber, TagLata,
	TagCarrier, TagTriggerCriteriaType, TagCallingPartyID, TagChargePartyStationType,
	TagAccessCode, TagCollectedAddressInfo, TagCollectedDigits, TagVerticalServiceCode, TagTcm,
	TagOriginalCalledPartyID, TagRedirectingPartyID, TagRedirectionInformation,
	TagACGEncountered, TagAmp1, TagAmp2, TagSap, TagGenericAddressList, TagAMASequenceNumber,
	TagExtensionParameter, TagPrefix, TagCallingGeodeticLocation, keyTriggerInformation}

// Op returns OpInfoCollected.
func (a *InfoCollectedArg) Op() OpCode { return OpInfoCollected }

// Unmarshal decodes Parameter Set contents (offsets relative to b).
func (a *InfoCollectedArg) Unmarshal(b []byte) error { return a.UnmarshalAt(b, 0) }

// UnmarshalAt decodes Parameter Set contents starting at offset base.
func (a *InfoCollectedArg) UnmarshalAt(b []byte, base int) error {
	*a = InfoCollectedArg{}
	d := decoder{in: "infoCollected"}
	err := d.each(b, base, &a.Other, func(t ber.TLV) (bool, error) {
		var err error
		switch t.Tag {
		case TagUserID:
			err = d.userID(t, &a.UserID)
		case TagBearerCapability:
			a.BearerCapability, err = enum8[BearerCapability](&d, t)
		case TagChargeNumber:
			err = d.optDigits(t, &a.ChargeNumber)
		case TagLata:
			err = d.optDigits(t, &a.Lata)
		case TagTriggerCriteriaType:
			a.TriggerCriteriaType, err = optEnum8[TriggerCriteriaType](&d, t)
		case TagCallingPartyID:
			err = d.optDigits(t, &a.CallingPartyID)
		case TagChargePartyStationType:
			a.ChargePartyStationType, err = optEnum8[uint8](&d, t)
		case TagCollectedAddressInfo:
			err = d.optDigits(t, &a.CollectedAddressInfo)
		case TagCollectedDigits:
			err = d.optDigits(t, &a.CollectedDigits)
		case TagOriginalCalledPartyID:
			err = d.optDigits(t, &a.OriginalCalledPartyID)
		case TagRedirectingPartyID:
			err = d.optDigits(t, &a.RedirectingPartyID)
		case TagRedirectionInformation:
			a.RedirectionInformation, err = d.octets(t)
		case TagACGEncountered:
			a.ACGEncountered, err = d.optOctet(t)
		case TagAmp1:
			a.Amp1, err = d.octets(t)
		case TagAmp2:
			a.Amp2, err = d.constructed(t)
		case TagAMASequenceNumber:
			a.AMASequenceNumber, err = d.optUint16(t)
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
	if !d.has(TagUserID) {
		return d.missing(TagUserID)
	}
	if !d.has(TagBearerCapability) {
		return d.missing(TagBearerCapability)
	}
	return nil
}

// Marshal appends the Parameter Set contents.
func (a *InfoCollectedArg) Marshal(dst []byte) []byte {
	e := encoder{b: dst}
	for _, k := range infoCollectedOrder {
		switch k {
		case TagUserID:
			e.userID(&a.UserID)
		case TagBearerCapability:
			e.uint(k, uint64(a.BearerCapability))
		case TagChargeNumber:
			e.optDigits(k, &a.ChargeNumber)
		case TagLata:
			e.optDigits(k, &a.Lata)
		case TagTriggerCriteriaType:
			encEnum(&e, k, a.TriggerCriteriaType)
		case TagCallingPartyID:
			e.optDigits(k, &a.CallingPartyID)
		case TagChargePartyStationType:
			encEnum(&e, k, a.ChargePartyStationType)
		case TagCollectedAddressInfo:
			e.optDigits(k, &a.CollectedAddressInfo)
		case TagCollectedDigits:
			e.optDigits(k, &a.CollectedDigits)
		case TagOriginalCalledPartyID:
			e.optDigits(k, &a.OriginalCalledPartyID)
		case TagRedirectingPartyID:
			e.optDigits(k, &a.RedirectingPartyID)
		case TagRedirectionInformation:
			e.octets(k, a.RedirectionInformation)
		case TagACGEncountered:
			e.optOctet(k, a.ACGEncountered)
		case TagAmp1:
			e.octets(k, a.Amp1)
		case TagAmp2:
			e.constructed(k, a.Amp2)
		case TagAMASequenceNumber:
			e.optUint16(k, a.AMASequenceNumber)
		case TagExtensionParameter:
			e.constructed(k, a.ExtensionParameter)
		default:
			e.raw(&a.Other, k)
		}
	}
	e.rest(&a.Other, infoCollectedOrder)
	return e.b
}

// ResourceClearArg is the argument of resourceClear (0x6602): the SSP's
// report that a sendToResource interaction ended, with the digits the caller
// entered. ClearCause is mandatory.
type ResourceClearArg struct {
	ClearCause           uint8 // INTEGER(0..255), meanings per GR-1299
	CollectedDigits      Opt[Digits]
	CollectedAddressInfo Opt[Digits]
	FailureCause         Opt[FailureCause]
	Amp1                 []byte
	Amp2                 []byte
	ClearCauseData       []byte
	IPReturnBlock        []byte
	ExtensionParameter   []byte
	Other                RawParams // carrier, aMAMeasurement, unknown
}

var resourceClearOrder = []uint32{TagClearCause, TagCollectedDigits, TagCollectedAddressInfo,
	TagCarrier, TagFailureCause, TagAmp1, TagAmp2, TagAMAMeasurement, TagClearCauseData,
	TagIPReturnBlock, TagExtensionParameter}

// Op returns OpResourceClear.
func (a *ResourceClearArg) Op() OpCode { return OpResourceClear }

// Unmarshal decodes Parameter Set contents (offsets relative to b).
func (a *ResourceClearArg) Unmarshal(b []byte) error { return a.UnmarshalAt(b, 0) }

// UnmarshalAt decodes Parameter Set contents starting at offset base.
func (a *ResourceClearArg) UnmarshalAt(b []byte, base int) error {
	*a = ResourceClearArg{}
	d := decoder{in: "resourceClear"}
	err := d.each(b, base, &a.Other, func(t ber.TLV) (bool, error) {
		var err error
		switch t.Tag {
		case TagClearCause:
			a.ClearCause, err = enum8[uint8](&d, t)
		case TagCollectedDigits:
			err = d.optDigits(t, &a.CollectedDigits)
		case TagCollectedAddressInfo:
			err = d.optDigits(t, &a.CollectedAddressInfo)
		case TagFailureCause:
			a.FailureCause, err = optEnum8[FailureCause](&d, t)
		case TagAmp1:
			a.Amp1, err = d.octets(t)
		case TagAmp2:
			a.Amp2, err = d.constructed(t)
		case TagClearCauseData:
			a.ClearCauseData, err = d.octets(t)
		case TagIPReturnBlock:
			a.IPReturnBlock, err = d.octets(t)
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
	if !d.has(TagClearCause) {
		return d.missing(TagClearCause)
	}
	return nil
}

// Marshal appends the Parameter Set contents.
func (a *ResourceClearArg) Marshal(dst []byte) []byte {
	e := encoder{b: dst}
	for _, k := range resourceClearOrder {
		switch k {
		case TagClearCause:
			e.uint(k, uint64(a.ClearCause))
		case TagCollectedDigits:
			e.optDigits(k, &a.CollectedDigits)
		case TagCollectedAddressInfo:
			e.optDigits(k, &a.CollectedAddressInfo)
		case TagFailureCause:
			encEnum(&e, k, a.FailureCause)
		case TagAmp1:
			e.octets(k, a.Amp1)
		case TagAmp2:
			e.constructed(k, a.Amp2)
		case TagClearCauseData:
			e.octets(k, a.ClearCauseData)
		case TagIPReturnBlock:
			e.octets(k, a.IPReturnBlock)
		case TagExtensionParameter:
			e.constructed(k, a.ExtensionParameter)
		default:
			e.raw(&a.Other, k)
		}
	}
	e.rest(&a.Other, resourceClearOrder)
	return e.b
}

// CallInfoFromResourceArg is the argument of callInfoFromResource (0x6604):
// information an intelligent peripheral returns (all optional).
type CallInfoFromResourceArg struct {
	IPReturnBlock      []byte
	Amp1               []byte
	Amp2               []byte
	ExtensionParameter []byte
	Other              RawParams
}

var callInfoFromResourceOrder = []uint32{TagIPReturnBlock, TagAmp1, TagAmp2, TagExtensionParameter}

// Op returns OpCallInfoFromResource.
func (a *CallInfoFromResourceArg) Op() OpCode { return OpCallInfoFromResource }

// Unmarshal decodes Parameter Set contents (offsets relative to b).
func (a *CallInfoFromResourceArg) Unmarshal(b []byte) error { return a.UnmarshalAt(b, 0) }

// UnmarshalAt decodes Parameter Set contents starting at offset base.
func (a *CallInfoFromResourceArg) UnmarshalAt(b []byte, base int) error {
	*a = CallInfoFromResourceArg{}
	d := decoder{in: "callInfoFromResource"}
	return d.each(b, base, &a.Other, func(t ber.TLV) (bool, error) {
		var err error
		switch t.Tag {
		case TagIPReturnBlock:
			a.IPReturnBlock, err = d.octets(t)
		case TagAmp1:
			a.Amp1, err = d.octets(t)
		case TagAmp2:
			a.Amp2, err = d.constructed(t)
		case TagExtensionParameter:
			a.ExtensionParameter, err = d.constructed(t)
		default:
			return false, nil
		}
		return true, err
	})
}

// Marshal appends the Parameter Set contents.
func (a *CallInfoFromResourceArg) Marshal(dst []byte) []byte {
	e := encoder{b: dst}
	for _, k := range callInfoFromResourceOrder {
		switch k {
		case TagIPReturnBlock:
			e.octets(k, a.IPReturnBlock)
		case TagAmp1:
			e.octets(k, a.Amp1)
		case TagAmp2:
			e.constructed(k, a.Amp2)
		case TagExtensionParameter:
			e.constructed(k, a.ExtensionParameter)
		}
	}
	e.rest(&a.Other, callInfoFromResourceOrder)
	return e.b
}

// CloseArg is the argument of close (0x6E01), which ends a transaction
// (all optional).
type CloseArg struct {
	UserID             Opt[UserID]
	BearerCapability   Opt[BearerCapability]
	CloseCause         Opt[CloseCause]
	Amp1               []byte
	Amp2               []byte
	ExtensionParameter []byte
	Other              RawParams
}

var closeOrder = []uint32{TagUserID, TagBearerCapability, TagCloseCause, TagAmp1, TagAmp2,
	TagExtensionParameter}

// Op returns OpClose.
func (a *CloseArg) Op() OpCode { return OpClose }

// Unmarshal decodes Parameter Set contents (offsets relative to b).
func (a *CloseArg) Unmarshal(b []byte) error { return a.UnmarshalAt(b, 0) }

// UnmarshalAt decodes Parameter Set contents starting at offset base.
func (a *CloseArg) UnmarshalAt(b []byte, base int) error {
	*a = CloseArg{}
	d := decoder{in: "close"}
	return d.each(b, base, &a.Other, func(t ber.TLV) (bool, error) {
		var err error
		switch t.Tag {
		case TagUserID:
			err = d.optUserID(t, &a.UserID)
		case TagBearerCapability:
			a.BearerCapability, err = optEnum8[BearerCapability](&d, t)
		case TagCloseCause:
			a.CloseCause, err = optEnum8[CloseCause](&d, t)
		case TagAmp1:
			a.Amp1, err = d.octets(t)
		case TagAmp2:
			a.Amp2, err = d.constructed(t)
		case TagExtensionParameter:
			a.ExtensionParameter, err = d.constructed(t)
		default:
			return false, nil
		}
		return true, err
	})
}

// Marshal appends the Parameter Set contents.
func (a *CloseArg) Marshal(dst []byte) []byte {
	e := encoder{b: dst}
	for _, k := range closeOrder {
		switch k {
		case TagUserID:
			e.optUserID(&a.UserID)
		case TagBearerCapability:
			encEnum(&e, k, a.BearerCapability)
		case TagCloseCause:
			encEnum(&e, k, a.CloseCause)
		case TagAmp1:
			e.octets(k, a.Amp1)
		case TagAmp2:
			e.constructed(k, a.Amp2)
		case TagExtensionParameter:
			e.constructed(k, a.ExtensionParameter)
		}
	}
	e.rest(&a.Other, closeOrder)
	return e.b
}
