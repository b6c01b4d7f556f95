package ain

import (
	"fmt"

	"callgate/sigtran/ber"
)

// Opt is an OPTIONAL parameter: V is meaningful only when Set.
type Opt[T any] struct {
	V   T
	Set bool
}

// Some returns a set Opt holding v.
func Some[T any](v T) Opt[T] { return Opt[T]{V: v, Set: true} }

// BearerCapability ::= [13] IMPLICIT ENUMERATED.
type BearerCapability uint8

// Bearer capabilities.
const (
	BearerSpeech         BearerCapability = 0
	BearerAudio3k1       BearerCapability = 1 // 3.1 kHz audio
	BearerAudio7k        BearerCapability = 2 // 7 kHz audio
	Bearer56k            BearerCapability = 3
	Bearer64k            BearerCapability = 4
	BearerPacketModeData BearerCapability = 5
	BearerMultiRate      BearerCapability = 6
)

var bearerNames = [...]string{"speech", "3.1kHz audio", "7kHz audio", "56 kbit/s", "64 kbit/s", "packet mode data", "multi-rate"}

func (b BearerCapability) String() string { return enumName(bearerNames[:], uint8(b)) }

// TriggerCriteriaType ::= [52] IMPLICIT ENUMERATED (terminationAttempt = 15).
type TriggerCriteriaType uint8

// The trigger criteria types the SCP meets on terminating and analysed calls.
const (
	TriggerNPA                TriggerCriteriaType = 4
	TriggerNPANXX             TriggerCriteriaType = 5
	TriggerNPANXXXXXX         TriggerCriteriaType = 8
	TriggerCountryCode        TriggerCriteriaType = 9
	TriggerTerminationAttempt TriggerCriteriaType = 15
	TriggerTNoAnswer          TriggerCriteriaType = 25
	TriggerTBusy              TriggerCriteriaType = 26
	TriggerOnePlus            TriggerCriteriaType = 38
	TriggerInternational      TriggerCriteriaType = 40
)

var triggerNames = [...]string{"featureActivator", "verticalServiceCode", "customizedAccess",
	"customizedIntercom", "npa", "npaNXX", "nxx", "nxxXXXX", "npaNXXXXXX", "countryCodeNPANXXXXXX",
	"carrierAccess", "prefixes", "n11", "aFR", "sharedIOTrunk", "terminationAttempt",
	"offHookImmediate", "offHookDelay", "channelSetupPRI", "npaN", "npaNX", "npaNXXX", "npaNXXXX",
	"npaNXXXXX", "networkBusy", "tNoAnswer", "tBusy", "oCalledPartyBusy", "specificFeatureCode",
	"oNoAnswer", "priNetworkServices", "oSwitchHookFlashImmediate", "oFeatureActivator",
	"oSwitchHookFlashSpecifiedCode", "tSwitchHookFlashImmediate", "tFeatureActivator",
	"tSwitchHookFlashSpecifiedCode", "numberPortability", "onePlus", "specifiedCarrier",
	"international", "zeroPlus", "zeroMinus", "localNumberPortabilityPORC",
	"localNumberPortabilityPORCdonor", "reserved", "termResourceAvailable",
	"officePublicFeatureCode", "trunkGroup", "dedicatedTrunkGroup", "reserved"}

func (t TriggerCriteriaType) String() string { return enumName(triggerNames[:], uint8(t)) }

// ControllingLegTreatment ::= [24] IMPLICIT ENUMERATED: the tone or alerting
// the SSP applies to the controlling leg.
type ControllingLegTreatment uint8

// Controlling leg treatments.
const (
	TreatmentDialTone       ControllingLegTreatment = 0
	TreatmentRingBack       ControllingLegTreatment = 1
	TreatmentReorder        ControllingLegTreatment = 3
	TreatmentBusy           ControllingLegTreatment = 4
	TreatmentConfirmation   ControllingLegTreatment = 5
	TreatmentCallWaiting    ControllingLegTreatment = 7
	TreatmentTonesOff       ControllingLegTreatment = 63
	TreatmentAlertingNormal ControllingLegTreatment = 64
	TreatmentAlertingOff    ControllingLegTreatment = 79
	TreatmentSilence        ControllingLegTreatment = 23
)

var legTreatmentNames = map[uint8]string{0: "dialToneOn", 1: "ringBackAudibleRingingToneOn",
	3: "networkCongestionReorderToneOn", 4: "busyToneOn", 5: "confirmationTone",
	7: "callWaitingTone", 17: "recallDialToneOn", 18: "bargeInToneOn", 19: "campOnTone",
	20: "receiverOffHookTone", 21: "callingCardServiceTone", 22: "stutterDialTone", 23: "silence",
	24: "onHookTR30WithIndication", 25: "onHookTR30NoIndication", 63: "tonesOff",
	64: "alertingOnPattern0Normal", 65: "alertingOnPattern1DistinctiveIntergroup",
	66: "alertingOnPattern2DistinctiveSpecial", 67: "alertingOnPattern3EKTS",
	68: "alertingOnPattern4ReminderRing", 79: "alertingOff", 251: "incomingAdditionalCallTone",
	252: "priorityAdditionalCallTone", 253: "expensiveRouteWarningTone"}

func (t ControllingLegTreatment) String() string {
	if s, ok := legTreatmentNames[uint8(t)]; ok {
		return s
	}
	return fmt.Sprintf("unknown(%d)", uint8(t))
}

// GapDuration ::= [62] IMPLICIT ENUMERATED: how long an ACG control stays.
type GapDuration uint8

// Gap durations: value v means 2^(v-1) seconds for 1..12.
const (
	GapDuration1s       GapDuration = 1
	GapDuration2s       GapDuration = 2
	GapDuration4s       GapDuration = 3
	GapDuration8s       GapDuration = 4
	GapDuration16s      GapDuration = 5
	GapDuration32s      GapDuration = 6
	GapDuration64s      GapDuration = 7
	GapDuration128s     GapDuration = 8
	GapDuration256s     GapDuration = 9
	GapDuration512s     GapDuration = 10
	GapDuration1024s    GapDuration = 11
	GapDuration2048s    GapDuration = 12
	GapDurationInfinity GapDuration = 13
)

func (g GapDuration) String() string {
	switch {
	case g >= 1 && g <= 12:
		return fmt.Sprintf("%d s", 1<<(g-1))
	case g == GapDurationInfinity:
		return "infinity"
	}
	return fmt.Sprintf("unknown(%d)", uint8(g))
}

// GapInterval is the ACG gap interval CHOICE: nationalGapInterval [63] or
// privateGapInterval [64], both ENUMERATED with different tables.
type GapInterval struct {
	Private bool  // privateGapInterval [64] rather than nationalGapInterval [63]
	Value   uint8 // NationalGap* or PrivateGap* value
}

// National gap intervals (NationalGapInterval values).
const (
	NationalGapRemove  uint8 = 0
	NationalGap0s      uint8 = 1
	NationalGap100ms   uint8 = 2
	NationalGap250ms   uint8 = 3
	NationalGap500ms   uint8 = 4
	NationalGap1s      uint8 = 5
	NationalGap2s      uint8 = 6
	NationalGap5s      uint8 = 7
	NationalGap10s     uint8 = 8
	NationalGap15s     uint8 = 9
	NationalGap30s     uint8 = 10
	NationalGap60s     uint8 = 11
	NationalGap120s    uint8 = 12
	NationalGap300s    uint8 = 13
	NationalGap600s    uint8 = 14
	NationalGapStopAll uint8 = 15
	PrivateGapRemove   uint8 = 16 // PrivateGapInterval removeGapControl
)

var nationalGapNames = [...]string{"remove gap control", "0 s", "0.1 s", "0.25 s", "0.5 s", "1 s",
	"2 s", "5 s", "10 s", "15 s", "30 s", "60 s", "120 s", "300 s", "600 s", "stop all calls"}
var privateGapNames = [...]string{"0 s", "3 s", "4 s", "6 s", "8 s", "11 s", "16 s", "22 s", "30 s",
	"42 s", "58 s", "81 s", "112 s", "156 s", "217 s", "300 s", "remove gap control", "0.1 s",
	"0.25 s", "0.5 s", "1 s", "2 s"}

func (g GapInterval) String() string {
	if g.Private {
		return "private " + enumName(privateGapNames[:], g.Value)
	}
	return "national " + enumName(nationalGapNames[:], g.Value)
}

// ResourceType ::= [45] IMPLICIT INTEGER(0..127).
type ResourceType uint8

// Resource types used with sendToResource (GR-1299 meanings [unverified]).
const (
	ResourcePlayAnnouncement           ResourceType = 0
	ResourcePlayAnnouncementCollectDig ResourceType = 1
)

// DisconnectCause ::= [116] IMPLICIT ENUMERATED { farEnd(0) } (o/tDisconnect only).
type DisconnectCause uint8

// DisconnectFarEnd is the only DisconnectCause value.
const DisconnectFarEnd DisconnectCause = 0

func (c DisconnectCause) String() string {
	if c == DisconnectFarEnd {
		return "farEnd"
	}
	return fmt.Sprintf("unknown(%d)", uint8(c))
}

// CloseCause ::= [72] IMPLICIT ENUMERATED.
type CloseCause uint8

// Close causes.
const (
	CloseCallTerminated             CloseCause = 0
	CloseEDPsCompleted              CloseCause = 1
	CloseUnexpectedCommunication    CloseCause = 2
	CloseCalledPartyAnswered        CloseCause = 3
	CloseCallForwardedEDPsCompleted CloseCause = 4
	CloseNewRequestedEvent          CloseCause = 5
)

var closeCauseNames = [...]string{"callTerminated", "eDPsCompleted", "unexpectedCommunication",
	"calledPartyAnswered", "callForwardedEDPsCompleted", "newRequestedEvent"}

func (c CloseCause) String() string { return enumName(closeCauseNames[:], uint8(c)) }

// ErrorCause ::= [56] IMPLICIT ENUMERATED, inside ApplicationErrorString.
type ErrorCause uint8

// Application error causes.
const (
	CauseErroneousDataValue          ErrorCause = 0
	CauseMissingConditionalParameter ErrorCause = 1
	CauseResponseMessageTimerExpired ErrorCause = 2
	CauseUnexpectedCommunication     ErrorCause = 3
	CauseUnexpectedMessage           ErrorCause = 4
	CauseUnexpectedMessageSequence   ErrorCause = 5
	CauseUnexpectedParameterSequence ErrorCause = 6
)

var errorCauseNames = [...]string{"erroneousDataValue", "missingConditionalParameter",
	"responseMessageTimerExpired", "unexpectedCommunication", "unexpectedMessage",
	"unexpectedMessageSequence", "unexpectedParameterSequence"}

func (c ErrorCause) String() string { return enumName(errorCauseNames[:], uint8(c)) }

// FailureCause ::= [32] IMPLICIT ENUMERATED (failureReport, resourceClear).
type FailureCause uint8

// Failure causes.
const (
	FailureRateTooHigh                  FailureCause = 1
	FailureUnavailableResources         FailureCause = 2
	FailureAPTimeout                    FailureCause = 3
	FailureAPBusy                       FailureCause = 4
	FailureChannelsBusy                 FailureCause = 13
	FailureAbort                        FailureCause = 14
	FailureResourceLimitation           FailureCause = 15
	FailureApplicationError             FailureCause = 16
	FailureSecurityError                FailureCause = 17
	FailureProtocolError                FailureCause = 18
	FailureTimerExpired                 FailureCause = 19
	FailureTemporaryFailure             FailureCause = 20
	FailureMSRIDDoesNotMatchUserProfile FailureCause = 21
	FailureSegmentationError            FailureCause = 22
	FailureNCASDisallowed               FailureCause = 23
	FailureControlEncountered           FailureCause = 24
	FailureImproperCoding               FailureCause = 25
	FailureInappropriateCondition       FailureCause = 26
	FailureInappropriateUserInterface   FailureCause = 27
	FailureInappropriateLegManipulation FailureCause = 28
	FailureCallingInterfaceBusy         FailureCause = 29
)

var failureCauseNames = map[uint8]string{1: "rateTooHigh", 2: "unavailableResources",
	3: "apTimeout", 4: "apBusy", 13: "channelsBusy", 14: "abort", 15: "resourceLimitation",
	16: "applicationError", 17: "securityError", 18: "protocolError", 19: "timerExpired",
	20: "temporaryFailure", 21: "msridDoesNotMatchUserProfile", 22: "segmentationError",
	23: "ncasDisallowed", 24: "controlEncountered", 25: "improperCoding",
	26: "inappropriateCondition", 27: "inappropriateUserInterface",
	28: "inappropriateLegManipulation", 29: "callingInterfaceBusy"}

func (c FailureCause) String() string {
	if s, ok := failureCauseNames[uint8(c)]; ok {
		return s
	}
	return fmt.Sprintf("unknown(%d)", uint8(c))
}

func enumName(names []string, v uint8) string {
	if int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("unknown(%d)", v)
}

// UserIDKind selects the UserID CHOICE alternative.
type UserIDKind uint8

// UserID alternatives (tags inside the [53] wrapper).
const (
	UserIDNone               UserIDKind = iota
	UserIDDN                            // dn [1] IMPLICIT Dn
	UserIDBRI                           // bri [2] IMPLICIT SEQUENCE {spid, dn}
	UserIDTrunkGroup                    // trunkGroupID [5] IMPLICIT INTEGER(0..9999)
	UserIDPrivateFacilityGID            // privateFacilityGID [6] IMPLICIT INTEGER(0..9999)
	UserIDADSIcpeID                     // aDSIcpeID OCTET STRING(SIZE(4)), untagged
)

// UserID ::= [53] CHOICE {...}: who the query is about (the terminating DN
// on a terminationAttempt). On the wire the CHOICE sits inside an explicit
// constructed [53] wrapper: BF 35 07 81 05 <DN>.
type UserID struct {
	Kind  UserIDKind
	DN    DN      // UserIDDN
	Group uint16  // UserIDTrunkGroup, UserIDPrivateFacilityGID
	Raw   []byte  // UserIDBRI: the SEQUENCE contents (Spid, Dn); aliases the input
	ADSI  [4]byte // UserIDADSIcpeID
}

// UserIDFromDN returns a dn UserID.
func UserIDFromDN(dn DN) UserID { return UserID{Kind: UserIDDN, DN: dn} }

func (u UserID) String() string {
	switch u.Kind {
	case UserIDDN:
		return "dn " + u.DN.String()
	case UserIDBRI:
		return fmt.Sprintf("bri %x", u.Raw)
	case UserIDTrunkGroup:
		return fmt.Sprintf("trunkGroupID %d", u.Group)
	case UserIDPrivateFacilityGID:
		return fmt.Sprintf("privateFacilityGID %d", u.Group)
	case UserIDADSIcpeID:
		return fmt.Sprintf("aDSIcpeID %x", u.ADSI[:])
	}
	return "none"
}

// GenericName ::= [33] IMPLICIT OCTET STRING, laid out as the T1.113 Generic
// Name: octet 1 = type of name (bits 8-6), availability (bit 5, 1 = not
// available), spare (bits 4-3), presentation (bits 2-1); then IA5 characters.
type GenericName struct {
	TypeOfName   uint8 // 1 calling, 2 original called, 3 redirecting, 4 connected
	Unavailable  bool
	Spare        uint8 // bits 4-3, kept for lossless re-encoding
	Presentation uint8 // 0 allowed, 1 restricted, 2 blocking toggle, 3 no indication
	Name         []byte
}

// Generic name types and presentation values.
const (
	NameTypeCalling        uint8 = 1
	NameTypeOriginalCalled uint8 = 2
	NameTypeRedirecting    uint8 = 3
	NameTypeConnected      uint8 = 4

	NamePresentationAllowed      uint8 = 0
	NamePresentationRestricted   uint8 = 1
	NamePresentationBlockToggle  uint8 = 2
	NamePresentationNoIndication uint8 = 3
)

func (g GenericName) firstOctet() byte {
	b := g.TypeOfName<<5 | (g.Spare&3)<<2 | g.Presentation&3
	if g.Unavailable {
		b |= 0x10
	}
	return b
}

func parseGenericName(v []byte) (GenericName, string) {
	if len(v) == 0 {
		return GenericName{}, "empty genericName"
	}
	return GenericName{
		TypeOfName:   v[0] >> 5,
		Unavailable:  v[0]&0x10 != 0,
		Spare:        v[0] >> 2 & 3,
		Presentation: v[0] & 3,
		Name:         v[1:],
	}, ""
}

// MaxAnnouncements is SIZE(1..10) of the announcement lists.
const MaxAnnouncements = 10

// AnnouncementList is UninterAnnounceBlock or InterAnnounceBlock: up to 10
// AnnounceElement octet strings (SIZE(3..131), opaque to this package).
type AnnouncementList struct {
	n int
	e [MaxAnnouncements][]byte
}

// Len returns the number of announcements.
func (l *AnnouncementList) Len() int { return l.n }

// At returns announcement i.
func (l *AnnouncementList) At(i int) []byte { return l.e[i] }

// Add appends an announcement element; it fails when the list is full.
func (l *AnnouncementList) Add(elem []byte) error {
	if l.n == MaxAnnouncements {
		return fmt.Errorf("ain: more than %d announcements", MaxAnnouncements)
	}
	l.e[l.n] = elem
	l.n++
	return nil
}

// StrKind selects the StrParameterBlock CHOICE alternative.
type StrKind uint8

// StrParameterBlock alternatives.
const (
	StrNone                   StrKind = iota
	StrAnnouncementBlock              // [0] announcementBlock
	StrAnnouncementDigitBlock         // [1] announcementDigitBlock
	StrFlexParameterBlock             // [2] flexParameterBlock
)

// StrParameterBlock ::= [50] CHOICE: what the resource plays (and collects).
// On the wire: BF 32 len { A0 { A1 {04 ..}, A2 {04 ..} } | A1 { 80 max, A1, A2 } | 82 ..}.
type StrParameterBlock struct {
	Kind            StrKind
	Uninterruptible AnnouncementList // uninterAnnounceBlock [1]
	Interruptible   AnnouncementList // interAnnounceBlock [2]
	MaximumDigits   uint8            // announcementDigitBlock maximumDigits [0]: 0-32 fixed, 253 normal, 254 variable
	Flex            []byte           // flexParameterBlock
}

// AnnouncementBlock returns a StrParameterBlock that plays the given
// announcements uninterruptibly.
func AnnouncementBlock(announcements ...[]byte) (StrParameterBlock, error) {
	s := StrParameterBlock{Kind: StrAnnouncementBlock}
	for _, a := range announcements {
		if err := s.Uninterruptible.Add(a); err != nil {
			return s, err
		}
	}
	return s, nil
}

// MaxDisplayItems is SIZE(1..15) of DisplayText.
const MaxDisplayItems = 15

// DisplayItem is one DisplayInformation: the CHOICE tag (0-26, 30, 31; 13 =
// callingPartyName, 30 = text) and its 1-20 octets.
type DisplayItem struct {
	Tag   uint8
	Value []byte
}

// DisplayInformation tags worth naming.
const (
	DisplayTagCallingAddress   uint8 = 11
	DisplayTagCallingPartyName uint8 = 13
	DisplayTagText             uint8 = 30
)

// DisplayText ::= [26] IMPLICIT SEQUENCE SIZE(1..15) OF DisplayInformation.
type DisplayText struct {
	n int
	e [MaxDisplayItems]DisplayItem
}

// Len returns the number of items.
func (t *DisplayText) Len() int { return t.n }

// At returns item i.
func (t *DisplayText) At(i int) DisplayItem { return t.e[i] }

// Add appends an item; it fails when the text is full or the tag is not a
// DisplayInformation alternative.
func (t *DisplayText) Add(tag uint8, value []byte) error {
	if t.n == MaxDisplayItems {
		return fmt.Errorf("ain: more than %d displayText items", MaxDisplayItems)
	}
	if tag > 31 || (tag > 26 && tag < 30) {
		return fmt.Errorf("ain: %d is not a DisplayInformation tag", tag)
	}
	t.e[t.n] = DisplayItem{tag, value}
	t.n++
	return nil
}

var displayNames = [...]string{"blank", "skip", "continuation", "calledAddress", "cause",
	"progressIndicator", "notificationIndicator", "prompt", "accumulatedDigits", "status",
	"inband", "callingAddress", "reason", "callingPartyName", "calledPartyName",
	"originalCalledName", "redirectingName", "connectedName", "origRestrictions",
	"dateTimeOfDay", "callAppearanceID", "featureAddress", "redirectionName",
	"redirectionNumber", "redirectingNumber", "originalCalledNumber", "connectedNumber",
	"", "", "", "text", "redirectingReason"}

// FailedMessage ::= [57] IMPLICIT SEQUENCE { opCode INTEGER, parameter OCTET
// STRING OPTIONAL, invParms [1] IMPLICIT InvParms OPTIONAL }: which message
// and parameter an applicationError complains about.
type FailedMessage struct {
	OpCode    int64
	Parameter []byte // the offending parameter's whole TLV, as received
	InvParms  []byte // [1] contents, raw
}

// RawParam is a parameter this package keeps without interpreting it.
type RawParam struct {
	Class       ber.Class
	Constructed bool
	Tag         uint32
	Value       []byte // aliases the input
}

// Name returns the parameter's ASN.1 name, or "" when unknown.
func (p RawParam) Name() string {
	if p.Class == ber.Context {
		return ParamName(p.Tag)
	}
	return ""
}

// MaxRawParams bounds how many unmodelled parameters an argument keeps;
// further ones are counted in Dropped and not re-encoded.
const MaxRawParams = 16

// RawParams holds the parameters of an argument that are not modelled as
// fields (unknown tags, or known parameters this package passes through),
// in the order received. Encoding puts each one back at its ASN.1
// declaration position when the argument declares it, and unknown ones last.
type RawParams struct {
	n       int
	p       [MaxRawParams]RawParam
	Dropped int
}

// Len returns the number of kept parameters.
func (r *RawParams) Len() int { return r.n }

// At returns parameter i.
func (r *RawParams) At(i int) RawParam { return r.p[i] }

// Add keeps a parameter (counted in Dropped when full).
func (r *RawParams) Add(p RawParam) {
	if r.n == MaxRawParams {
		r.Dropped++
		return
	}
	r.p[r.n] = p
	r.n++
}

// reset empties r, clearing only the slots in use (so that r equals
// RawParams{} again without rewriting all of them).
func (r *RawParams) reset() {
	clear(r.p[:r.n])
	r.n, r.Dropped = 0, 0
}

// Get returns the first kept parameter with the given context tag.
func (r *RawParams) Get(tag uint32) (RawParam, bool) {
	for i := 0; i < r.n; i++ {
		if r.p[i].Class == ber.Context && r.p[i].Tag == tag {
			return r.p[i], true
		}
	}
	return RawParam{}, false
}
