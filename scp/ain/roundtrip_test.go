package ain

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"callgate/e164"
	"callgate/sigtran/ber"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustDigits(t testing.TB, s string, noa NatureOfAddress) Digits {
	t.Helper()
	d, err := ParseDigits(s, noa)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestEncodeAnswers builds the SCP's answers the way the service will and
// compares them with the tshark-verified vectors P-01R..P-05R.
func TestEncodeAnswers(t *testing.T) {
	slp, err := ParseAMAslpID("123456789")
	if err != nil {
		t.Fatal(err)
	}
	at := AuthorizeTerminationArg{GenericName: Some(GenericName{TypeOfName: NameTypeCalling, Name: []byte("JANE DOE")})}
	at.AMAslpID = Some(slp)

	routing, err := DigitsFromE164(e164.MustParse("+17205550123"), NOANational)
	if err != nil {
		t.Fatal(err)
	}
	fc := ForwardCallArg{CalledPartyID: Some(routing)}

	str, err := AnnouncementBlock([]byte{0x00, 0x15, 0x00})
	if err != nil {
		t.Fatal(err)
	}
	sr := SendToResourceArg{ResourceType: ResourcePlayAnnouncement, StrParameterBlock: str, DisconnectFlag: true}

	gta, err := AppendGlobalTitleAddress(nil, "303555")
	if err != nil {
		t.Fatal(err)
	}
	acg := AcgArg{ControlCauseIndicator: 1, GapDuration: GapDuration16s,
		GapInterval: GapInterval{Value: NationalGap1s}, TranslationType: 0, GlobalTitleAddress: gta}

	for _, c := range []struct {
		name string
		arg  Arg
		want string
	}{
		{"P-01R authorizeTermination", &at, "8a0521436587099f2109204a414e4520444f45"},
		{"P-02R disconnect", &DisconnectArg{}, ""},
		{"P-03R forwardCall", &fc, "8f0703102750551032"},
		{"P-04R sendToResource", &sr, "9f2d0100bf3209a007a10504030015009900"},
		{"P-05R acg", &acg, "9f3b01019f3e01059f3f01059f4601009f4503035355"},
		{"P-05R authorizeTermination", &AuthorizeTerminationArg{}, ""},
	} {
		if got := hex.EncodeToString(c.arg.Marshal(nil)); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

// fullArgs returns one value of every argument type with every modelled
// field set, for round trips.
func fullArgs(t *testing.T) []Arg {
	called := mustDigits(t, "3035550100", NOANational)
	calling := mustDigits(t, "7195551212", NOANational)
	calling.Presentation, calling.Screening = PresentationRestricted, ScreeningNetwork
	odd := mustDigits(t, "5550123", NOASubscriber)
	intl := mustDigits(t, "442071234567890", NOAInternational) // 15 digits
	empty := mustDigits(t, "", NOAUnknown)
	collected := mustDigits(t, "12345678901234567890123456789012", NOAUnknown) // 32 digits
	slp, _ := ParseAMAslpID("000000001")
	dn, _ := ParseDN("3035550100")
	name := Some(GenericName{TypeOfName: NameTypeRedirecting, Unavailable: true, Spare: 1, Presentation: NamePresentationRestricted, Name: []byte("ACME")})
	var text DisplayText
	if err := text.Add(DisplayTagCallingPartyName, []byte("JANE")); err != nil {
		t.Fatal(err)
	}
	if err := text.Add(DisplayTagText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	billing := Billing{AMAslpID: Some(slp), Amp1: []byte{1, 2, 3, 4, 5, 6}, Amp2: unhex(t, "a1038101ff"),
		AMASequenceNumber: Some(uint16(0x1234)), ExtensionParameter: unhex(t, "06032a0304020100")}

	ta := &TerminationAttemptArg{
		UserID: UserIDFromDN(dn), BearerCapability: BearerAudio3k1,
		CalledPartyID: Some(called), Lata: Some(mustDigits(t, "656", NOAUnknown)),
		TriggerCriteriaType: Some(TriggerTerminationAttempt), CalledPartyStationType: Some(uint8(0)),
		ChargeNumber: Some(odd), CallingPartyID: Some(calling), ChargePartyStationType: Some(uint8(99)),
		OriginalCalledPartyID: Some(intl), RedirectingPartyID: Some(called),
		RedirectionInformation: []byte{0x01, 0x02}, GenericName: name, ACGEncountered: Some(uint8(0x80)),
		Amp1: []byte{1, 2, 3, 4, 5, 6}, Amp2: unhex(t, "a1038101ff"), STRConnection: Some(false),
		AMASequenceNumber: Some(uint16(7)), ExtensionParameter: unhex(t, "06032a0304020100"), CTRConnection: Some(true),
	}
	ia := &InfoAnalyzedArg{
		UserID: UserID{Kind: UserIDTrunkGroup, Group: 9999}, BearerCapability: BearerSpeech,
		CalledPartyID: Some(empty), Lata: Some(mustDigits(t, "656", NOAUnknown)),
		TriggerCriteriaType: Some(TriggerInternational), ChargeNumber: Some(called), CallingPartyID: Some(calling),
		ChargePartyStationType: Some(uint8(7)), CollectedAddressInfo: Some(intl), CollectedDigits: Some(collected),
		OriginalCalledPartyID: Some(called), RedirectingPartyID: Some(odd), RedirectionInformation: []byte{3, 4},
		ACGEncountered: Some(uint8(1)), Amp1: []byte{6, 5, 4, 3, 2, 1}, Amp2: []byte{}, AMASequenceNumber: Some(uint16(1)),
		ExtensionParameter: []byte{}, CTRConnection: Some(false),
	}
	ic := &InfoCollectedArg{
		UserID: UserID{Kind: UserIDPrivateFacilityGID, Group: 12}, BearerCapability: Bearer64k,
		ChargeNumber: Some(called), Lata: Some(mustDigits(t, "656", NOAUnknown)),
		TriggerCriteriaType: Some(TriggerOnePlus), CallingPartyID: Some(calling), ChargePartyStationType: Some(uint8(0)),
		CollectedAddressInfo: Some(called), CollectedDigits: Some(odd), OriginalCalledPartyID: Some(called),
		RedirectingPartyID: Some(called), RedirectionInformation: []byte{0, 0}, ACGEncountered: Some(uint8(0)),
		Amp1: []byte{1, 1, 1, 1, 1, 1}, Amp2: []byte{0x81, 0x00}, AMASequenceNumber: Some(uint16(0xFFFF)),
		ExtensionParameter: []byte{0x06, 0x01, 0x00},
	}
	at := &AuthorizeTerminationArg{CallingPartyID: Some(calling),
		ControllingLegTreatment: Some(ControllingLegTreatment(251)), DisplayText: Some(text),
		Billing: billing, GenericName: name}
	dc := &DisconnectArg{Billing: billing}
	co := &ContinueArg{Billing: billing}
	fc := &ForwardCallArg{CallingPartyID: Some(calling), ChargeNumber: Some(called), ChargePartyStationType: Some(uint8(1)),
		CalledPartyID: Some(called), OutpulseNumber: Some(intl), Billing: billing, RedirectingPartyID: Some(called),
		RedirectionInformation: []byte{0x04, 0x01}, DisplayText: Some(text), GenericName: name}
	var digitBlock StrParameterBlock
	digitBlock.Kind, digitBlock.MaximumDigits = StrAnnouncementDigitBlock, 4
	_ = digitBlock.Uninterruptible.Add([]byte{1, 2, 3})
	_ = digitBlock.Interruptible.Add([]byte{4, 5, 6})
	_ = digitBlock.Interruptible.Add([]byte{7, 8, 9, 10})
	sr := &SendToResourceArg{ResourceType: ResourcePlayAnnouncementCollectDig, StrParameterBlock: digitBlock,
		AnswerIndicator: true, Billing: billing, ChargeNumber: Some(called), ChargePartyStationType: Some(uint8(2)),
		CalledPartyID: Some(called)}
	srFlex := &SendToResourceArg{ResourceType: 127,
		StrParameterBlock: StrParameterBlock{Kind: StrFlexParameterBlock, Flex: []byte{0xAA}}, DisconnectFlag: true}
	ar := &AnalyzeRouteArg{ChargeNumber: Some(called), CallingPartyID: Some(calling), ChargePartyStationType: Some(uint8(3)),
		CalledPartyID: Some(called), OutpulseNumber: Some(odd), RedirectingPartyID: Some(called), AMAslpID: slp,
		Amp1: []byte{1, 2, 3, 4, 5, 6}, Amp2: []byte{}, AMASequenceNumber: Some(uint16(2)),
		RedirectionInformation: []byte{1, 1}, ExtensionParameter: []byte{}, ForwardCallIndicator: []byte{0x20, 0x01},
		DisplayText: Some(text), GenericName: name}
	acg := &AcgArg{ControlCauseIndicator: 0x40, GapDuration: GapDurationInfinity,
		GapInterval: GapInterval{Private: true, Value: PrivateGapRemove}, TranslationType: 255,
		GlobalTitleAddress: []byte{0x03, 0x53, 0x55, 0x10, 0x00}, ExtensionParameter: []byte{0x06, 0x01, 0x01}}
	rc := &ResourceClearArg{ClearCause: 200, CollectedDigits: Some(mustDigits(t, "1234", NOAUnknown)),
		CollectedAddressInfo: Some(called), FailureCause: Some(FailureTimerExpired), Amp1: []byte{1, 2, 3, 4, 5, 6},
		Amp2: []byte{}, ClearCauseData: []byte{9}, IPReturnBlock: []byte("123#"), ExtensionParameter: []byte{}}
	ci := &CallInfoFromResourceArg{IPReturnBlock: []byte{1}, Amp1: []byte{1, 2, 3, 4, 5, 6}, Amp2: []byte{},
		ExtensionParameter: []byte{}}
	cl := &CloseArg{UserID: Some(UserID{Kind: UserIDADSIcpeID, ADSI: [4]byte{1, 2, 3, 4}}),
		BearerCapability: Some(BearerSpeech), CloseCause: Some(CloseCalledPartyAnswered), Amp1: []byte{1, 2, 3, 4, 5, 6},
		Amp2: []byte{}, ExtensionParameter: []byte{}}
	cl2 := &CloseArg{UserID: Some(UserID{Kind: UserIDBRI, Raw: unhex(t, "9f310341424304050353551000")})}
	ovf := &AcgOverflowArg{ControlCauseIndicator: 1, TranslationType: 8,
		GlobalTitleAddress: []byte{0x03, 0x53, 0x55}, ExtensionParameter: []byte{0x06, 0x01, 0x01}}
	return []Arg{ta, ia, ic, at, dc, co, fc, sr, srFlex, ar, acg, ovf, rc, ci, cl, cl2}
}

func TestRoundTripAllArgs(t *testing.T) {
	for _, a := range fullArgs(t) {
		t.Run(a.Op().String(), func(t *testing.T) {
			wire := a.Marshal(nil)
			b := NewArg(a.Op())
			if err := b.UnmarshalAt(wire, 0); err != nil {
				t.Fatalf("decode of %x: %v", wire, err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("round trip differs\n sent %+v\n  got %+v\n wire %x", a, b, wire)
			}
			if again := b.Marshal(nil); !bytes.Equal(again, wire) {
				t.Errorf("re-encoding differs\n got %x\nwant %x", again, wire)
			}
			checkCanonical(t, a.Op(), wire)
			if d := Describe(a.Op(), wire); d.Error != "" || len(d.Params) == 0 {
				t.Errorf("Describe: %+v", d)
			}
		})
	}
}

// checkCanonical checks shortest definite lengths throughout and that the
// top-level parameters follow the ASN.1 declaration order.
func checkCanonical(t *testing.T, op OpCode, wire []byte) {
	t.Helper()
	order := declarationOrder(op)
	last := -1
	it := ber.NewIter(wire, 0)
	for p, ok := it.Next(); ok; p, ok = it.Next() {
		checkShortest(t, p)
		raw := toRaw(p)
		pos := -1
		for i, k := range order {
			if k == rawKey(&raw) {
				pos = i
			}
		}
		if pos < 0 {
			t.Errorf("parameter %s not declared for %s", paramLabel(p), op)
			continue
		}
		if pos < last {
			t.Errorf("parameter %s out of declaration order", paramLabel(p))
		}
		last = pos
	}
	if err := it.Err(); err != nil {
		t.Error(err)
	}
}

func checkShortest(t *testing.T, p ber.TLV) {
	t.Helper()
	if p.HeaderLen != ber.HeaderLen(p.Tag, len(p.Value)) {
		t.Errorf("%s at %d: non-minimal header", paramLabel(p), p.Offset)
	}
	if p.Constructed {
		it := p.Children()
		for c, ok := it.Next(); ok; c, ok = it.Next() {
			checkShortest(t, c)
		}
	}
}

func declarationOrder(op OpCode) []uint32 {
	switch op {
	case OpTerminationAttempt:
		return terminationAttemptOrder
	case OpInfoAnalyzed:
		return infoAnalyzedOrder
	case OpInfoCollected:
		return infoCollectedOrder
	case OpAuthorizeTermination:
		return authorizeTerminationOrder
	case OpDisconnect:
		return disconnectOrder
	case OpContinue:
		return amaBlock
	case OpForwardCall:
		return forwardCallOrder
	case OpSendToResource:
		return sendToResourceOrder
	case OpAnalyzeRoute:
		return analyzeRouteOrder
	case OpACG:
		return acgOrder
	case OpACGOverflow:
		return acgOverflowOrder
	case OpResourceClear:
		return resourceClearOrder
	case OpCallInfoFromResource:
		return callInfoFromResourceOrder
	case OpClose:
		return closeOrder
	}
	return nil
}

// p01q is the terminationAttempt of vector P-01Q.
const p01q = "bf3507810503535510008d01008f0703100353551000920703131759552121"

func TestTerminationAttemptEdgeCases(t *testing.T) {
	var a TerminationAttemptArg

	// Parameters in any order decode the same; encoding restores declaration order.
	shuffled := unhex(t, "920703131759552121"+"8d0100"+"8f0703100353551000"+"bf350781050353551000")
	if err := a.Unmarshal(shuffled); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(a.Marshal(nil)); got != p01q {
		t.Errorf("out of order: re-encoded %s", got)
	}

	// Unknown parameters (context tag 2047, a private-class element) and an
	// unmodelled known one (rTPServiceIndicator [144] 9F 81 10) are kept;
	// the high-tag CTRConnection [141] 9F 81 0D is decoded.
	extra := unhex(t, "9f8f7f0100"+"c10100"+"9f811001aa"+p01q+"9f810d01ff")
	if err := a.Unmarshal(extra); err != nil {
		t.Fatal(err)
	}
	if !a.CTRConnection.Set || !a.CTRConnection.V {
		t.Errorf("CTRConnection = %+v", a.CTRConnection)
	}
	if a.Other.Len() != 3 {
		t.Fatalf("kept %d raw parameters, want 3", a.Other.Len())
	}
	if p, ok := a.Other.Get(TagRTPServiceIndicator); !ok || p.Name() != "rTPServiceIndicator" || !bytes.Equal(p.Value, []byte{0xAA}) {
		t.Errorf("rTPServiceIndicator raw = %+v %v", p, ok)
	}
	want := p01q + "9f810d01ff" + "9f811001aa" + "9f8f7f0100" + "c10100"
	if got := hex.EncodeToString(a.Marshal(nil)); got != want {
		t.Errorf("with extras: re-encoded\n got %s\nwant %s", got, want)
	}

}

func TestDigitsEdgeCases(t *testing.T) {
	for _, c := range []struct {
		name     string
		content  string
		digits   string
		odd      bool
		noa      NatureOfAddress
		pres     Presentation
		scr      Screening
		e164     string
		e164Fail bool
	}{
		{"national even", "03100353551000", "3035550100", false, NOANational, 0, 0, "+13035550100", false},
		{"restricted network-provided", "03171759552121", "7195551212", false, NOANational, PresentationRestricted, ScreeningNetwork, "+17195551212", false},
		{"odd subscriber", "811055150201", "5551201", true, NOASubscriber, 0, 0, "", true},
		{"odd international 15 digits", "84104402173254769800", "442071234567890", true, NOAInternational, 0, 0, "+442071234567890", false},
		{"international 12 digits", "0410440217325476", "442071234567", false, NOAInternational, 0, 0, "+442071234567", false},
		{"empty", "0210", "", false, NOAUnknown, 0, 0, "", true},
		{"unavailable", "0219", "", false, NOAUnknown, PresentationUnavailable, ScreeningUserPassed, "", true},
		{"unknown NANP 1+10", "8210313055050100", "13035550100", true, NOAUnknown, 0, 0, "+13035550100", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, bad := parseDigits(unhex(t, c.content))
			if bad != "" {
				t.Fatal(bad)
			}
			if d.String() != c.digits || d.Odd() != c.odd || d.NatureOfAddress != c.noa ||
				d.Presentation != c.pres || d.Screening != c.scr || d.NumberingPlan != NPISDN {
				t.Errorf("decoded %q odd=%v noa=%v np=%v pres=%v scr=%v", d.String(), d.Odd(), d.NatureOfAddress, d.NumberingPlan, d.Presentation, d.Screening)
			}
			if got := hex.EncodeToString(d.appendContent(nil)); got != c.content {
				t.Errorf("re-encoded %s, want %s", got, c.content)
			}
			n, err := d.E164()
			if c.e164Fail != (err != nil) || (err == nil && n.String() != c.e164) {
				t.Errorf("E164() = %v, %v; want %q (fail %v)", n, err, c.e164, c.e164Fail)
			}
		})
	}
}

func TestDigitsE164(t *testing.T) {
	for _, c := range []struct {
		digits string
		noa    NatureOfAddress
		want   string
		err    error
	}{
		{"3035550100", NOANational, "+13035550100", nil},
		{"13035550100", NOANational, "+13035550100", nil},
		{"3035550100", NOAUnknown, "+13035550100", nil},
		{"011442071234567", NOAUnknown, "+442071234567", nil},
		{"442071234567", NOAInternational, "+442071234567", nil},
		{"13035550100", NOAInternational, "+13035550100", nil},
		{"3035550100", NOASubscriber, "+13035550100", nil},
		{"5550100", NOASubscriber, "", ErrNotE164},
		{"5550100", NOANational, "", ErrNotE164},
		{"", NOANational, "", ErrNoDigits},
		{"30355501AB", NOANational, "", ErrNotE164},
		{"3035550100", NOANoNumberOpReq, "", ErrNotE164},
		{"0035550100", NOANational, "", ErrNotE164},
		{"999999999999999999", NOAInternational, "", ErrNotE164},
	} {
		d := mustDigits(t, c.digits, c.noa)
		n, err := d.E164()
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s/%s: err = %v, want %v", c.digits, c.noa, err, c.err)
			}
			continue
		}
		if err != nil || n.String() != c.want {
			t.Errorf("%s/%s: E164() = %v, %v; want %s", c.digits, c.noa, n, err, c.want)
		}
	}

	for _, c := range []struct {
		num     string
		noa     NatureOfAddress
		content string
		fail    bool
	}{
		{"+17205550123", NOANational, "03102750551032", false},
		{"+17205550123", NOASubscriber, "811055052103", false},
		{"+17205550123", NOAInternational, "8410710255052103", false},
		{"+17205550123", NOAUnknown, "02102750551032", false},
		{"+442071234567", NOAInternational, "0410440217325476", false},
		{"+442071234567", NOANational, "", true},
		{"+442071234567", NOAUnknown, "82101041247021436507", false},
		{"+17205550123", NOA950, "", true},
	} {
		d, err := DigitsFromE164(e164.MustParse(c.num), c.noa)
		if c.fail {
			if !errors.Is(err, ErrNotE164) {
				t.Errorf("DigitsFromE164(%s, %s) err = %v, want ErrNotE164", c.num, c.noa, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("DigitsFromE164(%s, %s): %v", c.num, c.noa, err)
			continue
		}
		if got := hex.EncodeToString(d.appendContent(nil)); got != c.content {
			t.Errorf("DigitsFromE164(%s, %s) = %s, want %s", c.num, c.noa, got, c.content)
		}
		if c.noa == NOASubscriber {
			continue // 7 digits do not convert back
		}
		if back, err := d.E164(); err != nil || back != e164.MustParse(c.num) {
			t.Errorf("DigitsFromE164(%s, %s).E164() = %v, %v", c.num, c.noa, back, err)
		}
	}
}

func TestCallingCalled(t *testing.T) {
	var a TerminationAttemptArg
	// Restricted calling number, no CalledPartyID (the UserID DN is used).
	if err := a.Unmarshal(unhex(t, "bf350781050353551000"+"8d0100"+"920703171759552121")); err != nil {
		t.Fatal(err)
	}
	n, p, err := a.Calling()
	if err != nil || n != e164.MustParse("+17195551212") || p != PresentationRestricted {
		t.Errorf("Calling() = %v %v %v", n, p, err)
	}
	if c, err := a.Called(); err != nil || c != e164.MustParse("+13035550100") {
		t.Errorf("Called() = %v %v", c, err)
	}
	// Anonymous: no CallingPartyID at all; trunk group UserID and no called number.
	if err := a.Unmarshal(unhex(t, "bf3504850201f4"+"8d0100")); err != nil {
		t.Fatal(err)
	}
	if n, p, err := a.Calling(); n != 0 || p != PresentationUnavailable || err != nil {
		t.Errorf("anonymous Calling() = %v %v %v", n, p, err)
	}
	if a.UserID.Kind != UserIDTrunkGroup || a.UserID.Group != 500 {
		t.Errorf("UserID = %+v", a.UserID)
	}
	if _, err := a.Called(); !errors.Is(err, ErrNoDigits) {
		t.Errorf("Called() err = %v", err)
	}
	// Unavailable with no digits, and digits that are not a number.
	if err := a.Unmarshal(unhex(t, "bf350781050353551000"+"8d0100"+"92020319"+"8f04031012f4")); err != nil {
		t.Fatal(err)
	}
	if n, p, err := a.Calling(); n != 0 || p != PresentationUnavailable || !errors.Is(err, ErrNoDigits) {
		t.Errorf("unavailable Calling() = %v %v %v", n, p, err)
	}
	if _, err := a.Called(); !errors.Is(err, ErrNotE164) {
		t.Errorf("Called() of 3 digits err = %v", err)
	}
}

func TestValueHelpers(t *testing.T) {
	if _, err := ParseDN("303555010"); err == nil {
		t.Error("ParseDN accepted 9 digits")
	}
	if _, err := ParseDN("30355501x0"); !errors.Is(err, ErrNotDigit) {
		t.Errorf("ParseDN(x) err = %v", err)
	}
	if _, err := ParseAMAslpID("12345678"); err == nil {
		t.Error("ParseAMAslpID accepted 8 digits")
	}
	if _, err := ParseDigits("123456789012345678901234567890123", NOAUnknown); !errors.Is(err, ErrTooManyDigits) {
		t.Errorf("ParseDigits(33 digits) err = %v", err)
	}
	if _, err := ParseDigits("12*", NOAUnknown); !errors.Is(err, ErrNotDigit) {
		t.Errorf("ParseDigits(*) err = %v", err)
	}
	d := mustDigits(t, "12ab", NOAUnknown)
	if d.String() != "12AB" || d.Digit(2) != 0xA {
		t.Errorf("hex digits: %q", d.String())
	}
	if _, err := d.E164(); !errors.Is(err, ErrNotE164) {
		t.Errorf("E164 of hex digits err = %v", err)
	}
	var l AnnouncementList
	for i := 0; i < MaxAnnouncements; i++ {
		if err := l.Add([]byte{1, 2, 3}); err != nil {
			t.Fatal(err)
		}
	}
	if l.Add([]byte{1, 2, 3}) == nil {
		t.Error("11th announcement accepted")
	}
	var txt DisplayText
	if txt.Add(27, []byte("x")) == nil || txt.Add(32, []byte("x")) == nil {
		t.Error("bad DisplayInformation tag accepted")
	}
	for i := 0; i < MaxDisplayItems; i++ {
		if err := txt.Add(DisplayTagText, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if txt.Add(DisplayTagText, []byte("x")) == nil {
		t.Error("16th display item accepted")
	}
}

// TestDigitsDialled: what a line dialled is read through a carrier access
// code or an operator prefix when its nature is unknown (as dialled); the
// other natures read as E164 reads them.
func TestDigitsDialled(t *testing.T) {
	for _, c := range []struct {
		digits string
		noa    NatureOfAddress
		want   string // "" for ErrNotE164
	}{
		{"01442071234567", NOAUnknown, "+442071234567"},
		{"1010288011442071234567", NOAUnknown, "+442071234567"},
		{"10102881900555010", NOAUnknown, ""}, // one digit short
		{"101028819005550100", NOAUnknown, "+19005550100"},
		{"03035550100", NOAUnknown, "+13035550100"},
		{"3035550100", NOAUnknown, "+13035550100"},
		{"911", NOAUnknown, ""},
		{"01442071234567", NOANational, ""},
		{"442071234567", NOAInternationalOpReq, "+442071234567"},
	} {
		n, err := mustDigits(t, c.digits, c.noa).Dialled()
		if c.want == "" {
			if !errors.Is(err, ErrNotE164) {
				t.Errorf("%s/%s: Dialled() = %v, %v; want ErrNotE164", c.digits, c.noa, n, err)
			}
			continue
		}
		if err != nil || n.String() != c.want {
			t.Errorf("%s/%s: Dialled() = %v, %v; want %s", c.digits, c.noa, n, err, c.want)
		}
	}
	d := mustDigits(t, "1010288011442071234567", NOAUnknown)
	if a := testing.AllocsPerRun(100, func() { _, _ = d.Dialled() }); a != 0 {
		t.Errorf("Dialled allocates %v times on success", a)
	}
}
