package ain

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestMissingMandatory(t *testing.T) {
	for _, c := range []struct {
		op     OpCode
		params string
		tag    uint32
	}{
		{OpTerminationAttempt, "8d01008f0703100353551000", TagUserID},
		{OpTerminationAttempt, "bf350781050353551000", TagBearerCapability},
		{OpTerminationAttempt, "", TagUserID},
		{OpInfoAnalyzed, "8d0100", TagUserID},
		{OpInfoCollected, "bf350781050353551000", TagBearerCapability},
		{OpSendToResource, "9f2d0100", TagStrParameterBlock},
		{OpSendToResource, "bf3209a007a1050403001500", TagResourceType},
		{OpACG, "9f3b01019f3e01059f3f01059f460100", TagGlobalTitleAddress},
		{OpACG, "9f3b01019f3e01059f4601009f4503035355", TagNationalGapInterval},
		{OpAnalyzeRoute, "8f0703102750551032", TagAMAslpID},
		{OpResourceClear, "970402101234", TagClearCause},
	} {
		_, err := Decode(c.op, unhex(t, c.params))
		var me *MissingParameterError
		if !errors.As(err, &me) || me.Tag != c.tag || !errors.Is(err, ErrIncorrectParameter) {
			t.Errorf("%s %s: err = %v, want missing %s", c.op, c.params, err, ParamName(c.tag))
		}
	}
	for _, c := range []struct {
		code   ErrorCode
		params string
		tag    uint32
	}{
		{ErrCodeApplicationError, "", TagApplicationErrorString},
		{ErrCodeApplicationError, "bf3700", TagErrorCause},
		{ErrCodeFailureReport, "9f700101", TagFailureCause},
	} {
		_, err := DecodeError(c.code, unhex(t, c.params))
		var me *MissingParameterError
		if !errors.As(err, &me) || me.Tag != c.tag {
			t.Errorf("%s %s: err = %v, want missing %s", c.code, c.params, err, ParamName(c.tag))
		}
	}
}

// TestMalformed checks that bad known parameters are incorrect-parameter
// errors that name the parameter and its offset (base 100 added).
func TestMalformed(t *testing.T) {
	const ok = "bf3507810503535510008d0100"
	for _, c := range []struct {
		name   string
		params string
		tag    uint32
		offset int
	}{
		{"digits too short", ok + "8f0103", TagCalledPartyID, 13},
		{"odd flag, no digits", ok + "8f028310", TagCalledPartyID, 13},
		{"33 digits", ok + "8f13031011111111111111111111111111111111f1", TagCalledPartyID, 13},
		{"constructed digits", ok + "af020310", TagCalledPartyID, 13},
		{"repeated parameter", ok + "8f0203108f020310", TagCalledPartyID, 17},
		{"dn of 4 octets", "bf3506810403535510" + "8d0100", TagUserID, 0},
		{"unknown userID alternative", "bf3503870100" + "8d0100", TagUserID, 0},
		{"two userID alternatives", "bf3506850101850102" + "8d0100", TagUserID, 0},
		{"primitive userID", "9f3505035355100 0" + "8d0100", TagUserID, 0},
		{"empty bearer", "bf350781050353551000" + "8d00", TagBearerCapability, 10},
		{"huge bearer", "bf350781050353551000" + "8d020100", TagBearerCapability, 10},
		{"empty genericName", ok + "9f2100", TagGenericName, 13},
		{"bad CTRConnection length", ok + "9f810d00", TagCTRConnection, 13},
		{"bad AMASequenceNumber length", ok + "9f590101", TagAMASequenceNumber, 13},
	} {
		var a TerminationAttemptArg
		err := a.UnmarshalAt(unhex(t, strings.ReplaceAll(c.params, " ", "")), 100)
		var pe *ParameterError
		if !errors.As(err, &pe) || !errors.Is(err, ErrIncorrectParameter) {
			t.Errorf("%s: err = %v, want a ParameterError", c.name, err)
			continue
		}
		if pe.Tag != c.tag || pe.Offset != 100+c.offset {
			t.Errorf("%s: error at tag %d offset %d (%v), want tag %d offset %d", c.name, pe.Tag, pe.Offset, err, c.tag, 100+c.offset)
		}
		if !strings.Contains(err.Error(), "terminationAttempt") || !strings.Contains(err.Error(), ParamName(c.tag)) {
			t.Errorf("%s: message %q does not say where", c.name, err)
		}
	}

	// Broken TLV framing in the set: a ParameterError wrapping the ber error.
	for _, p := range []string{"bf3507810503", "8d", "8d05", "9f", "bf35808100"} {
		var a TerminationAttemptArg
		err := a.UnmarshalAt(unhex(t, p), 7)
		var pe *ParameterError
		if !errors.As(err, &pe) || !errors.Is(err, ErrIncorrectParameter) || pe.Offset < 7 {
			t.Errorf("%s: err = %v", p, err)
		}
	}

	// StrParameterBlock problems.
	for _, p := range []string{
		"9f2d0100bf3200",             // empty CHOICE
		"9f2d0100bf3203830100",       // unknown alternative
		"9f2d0100bf3206a104a1020400", // digit block without maximumDigits
		"9f2d0100bf3206a004a1028000", // announcement not an OCTET STRING
		"9f2d0100bf3205a003a30100",   // unknown element
		"9f2d0100bf32" + "25a023a121" + strings.Repeat("0401aa", 11), // 11 announcements
	} {
		var a SendToResourceArg
		if err := a.Unmarshal(unhex(t, p)); !errors.Is(err, ErrIncorrectParameter) {
			t.Errorf("%s: err = %v", p, err)
		}
	}

	// Both gap intervals.
	var acg AcgArg
	if err := acg.Unmarshal(unhex(t, "9f3b01019f3e01059f3f01059f4001019f4601009f4503035355")); !errors.Is(err, ErrIncorrectParameter) {
		t.Errorf("two gap intervals: err = %v", err)
	}
}

func TestUnknownOperationAndError(t *testing.T) {
	a, err := Decode(0x64FF, unhex(t, "bf3507810503535510008d0100"))
	if !errors.Is(err, ErrUnknownOperation) {
		t.Fatalf("err = %v", err)
	}
	if r, ok := a.(*RawArg); !ok || r.Params.Len() != 2 {
		t.Errorf("raw = %+v", a)
	}
	if _, err := DecodeError(9, nil); !errors.Is(err, ErrUnknownError) {
		t.Errorf("DecodeError(9) err = %v", err)
	}
	// A known but unmodelled operation decodes raw and re-encodes as is.
	in := unhex(t, "bf3507810503535510008d01009f740100")
	a, err = Decode(OpTDisconnect, in)
	if err != nil {
		t.Fatal(err)
	}
	if out := a.Marshal(nil); string(out) != string(in) {
		t.Errorf("tDisconnect re-encoded %x", out)
	}
}

func TestRawParamsOverflow(t *testing.T) {
	p := unhex(t, p01q+strings.Repeat("9f8f7f0100", MaxRawParams+3))
	var a TerminationAttemptArg
	if err := a.Unmarshal(p); err != nil {
		t.Fatal(err)
	}
	if a.Other.Len() != MaxRawParams || a.Other.Dropped != 3 {
		t.Errorf("kept %d, dropped %d", a.Other.Len(), a.Other.Dropped)
	}
}

func TestErrorParamsRoundTrip(t *testing.T) {
	dn, _ := ParseDN("3035550100")
	params := []ErrorParam{
		&ApplicationError{Cause: CauseErroneousDataValue,
			FailedMessage: Some(FailedMessage{OpCode: int64(OpTerminationAttempt), Parameter: unhex(t, "8f020310"), InvParms: unhex(t, "8f020310")}),
			UserID:        Some(UserIDFromDN(dn))},
		&ApplicationError{Cause: CauseMissingConditionalParameter, FailedMessage: Some(FailedMessage{OpCode: 0})},
		&FailureReport{Cause: FailureTimerExpired, FailureCauseData: []byte{1, 2}},
		&FailureReport{Cause: FailureCallingInterfaceBusy},
	}
	for _, p := range params {
		wire := p.Marshal(nil)
		q, err := DecodeError(p.Code(), wire)
		if err != nil {
			t.Fatalf("%s %x: %v", p.Code(), wire, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Errorf("%s: sent %+v got %+v (wire %x)", p.Code(), p, q, wire)
		}
	}
	// The ASN.1 extensionParameter of an error is an untagged SEQUENCE (30);
	// it is kept raw and written back after the known parameters.
	in := unhex(t, "9f2001139f7001ff"+"3006060100020100")
	q, err := DecodeError(ErrCodeFailureReport, in)
	if err != nil {
		t.Fatal(err)
	}
	if out := q.Marshal(nil); !bytes.Equal(out, in) {
		t.Errorf("failureReport re-encoded %x", out)
	}
	for _, bad := range []string{
		"bf37079f3801009f3900:want constructed",         // primitive failedMessage
		"bf37079f380100bf3900:without opCode",           // failedMessage without opCode
		"bf37099f380100bf39028000:unknown element",      // unknown element in failedMessage
		"bf37039f3800:empty INTEGER",                    // empty errorCause
		"9f370100:primitive encoding",                   // primitive applicationErrorString
		"bf370a9f380100bf3903020180:small non-negative", // negative opCode
	} {
		hexIn, what, _ := strings.Cut(bad, ":")
		_, err := DecodeError(ErrCodeApplicationError, unhex(t, hexIn))
		if !errors.Is(err, ErrIncorrectParameter) || !strings.Contains(err.Error(), what) {
			t.Errorf("%s: err = %v, want %q", hexIn, err, what)
		}
	}
}
