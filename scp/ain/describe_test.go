package ain

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	d := Describe(OpTerminationAttempt, unhex(t, p01q+"9f2109204a414e4520444f45"+"9f810d01ff"))
	want := []Field{
		{"userID", "dn 3035550100"},
		{"bearerCapability", "speech"},
		{"calledPartyID", "+13035550100 (noa national, np isdn)"},
		{"callingPartyID", "+17195551212 (noa national, np isdn, presentation allowed, screening network provided)"},
		{"genericName", `"JANE DOE" (calling name, available, presentation allowed)`},
		{"cTRConnection", "true"},
	}
	if d.Operation != "terminationAttempt" || d.Code != 0x6405 || d.Error != "" || len(d.Params) != len(want) {
		t.Fatalf("Describe = %+v", d)
	}
	for i, f := range want {
		if d.Params[i] != f {
			t.Errorf("param %d = %+v, want %+v", i, d.Params[i], f)
		}
	}
	text := d.String()
	if !strings.HasPrefix(text, "terminationAttempt (0x6405)\n  userID: dn 3035550100\n") {
		t.Errorf("text:\n%s", text)
	}
	js, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `{"name":"calledPartyID","value":"+13035550100 (noa national, np isdn)"}`) {
		t.Errorf("json: %s", js)
	}

	fwd := ForwardCallArg{CalledPartyID: Some(mustDigits(t, "7205550123", NOANational))}
	if got := DescribeArg(&fwd).String(); got != "forwardCall (0x6a01)\n  calledPartyID: +17205550123 (noa national, np isdn)\n" {
		t.Errorf("DescribeArg = %q", got)
	}

	for _, c := range []struct {
		op     OpCode
		params string
		want   []string
	}{
		{OpSendToResource, "9f2d0100bf3209a007a10504030015009900",
			[]string{"resourceType: 0", "strParameterBlock: announcementBlock, uninterruptible [001500]", "disconnectFlag: present"}},
		{OpACG, "9f3b01019f3e01059f3f01059f4601009f4503035355",
			[]string{"controlCauseIndicator: 0x01", "gapDuration: 16 s", "nationalGapInterval: national 1 s",
				"translationType: 0", "globalTitleAddress: 303555 (0x035355)"}},
		{OpAuthorizeTermination, "8a052143658709920703171759552121ba098d044a414e459e0168",
			[]string{"aMAslpID: 123456789", "callingPartyID: +17195551212 (noa national, np isdn, presentation restricted, screening network provided)",
				`displayText: [callingPartyName "JANE", text "h"]`}},
		{OpForwardCall, "9f2c0233319f2c0213329f2c01339f2c02f788",
			[]string{"redirectionInformation: call diverted, original reason unconditional, counter 1, reason unconditional (0x3331)",
				"redirectionInformation: call diverted, original reason busy, counter 2, reason unconditional (0x1332)",
				"redirectionInformation: 0x33", "redirectionInformation: spare 7, original reason spare 15, counter 0, reason spare 8 (0xf788)"}},
		{OpResourceClear, "9501009704021012349f200113",
			[]string{"clearCause: 0", "collectedDigits: 2143 (noa unknown, np isdn)", "failureCause: timerExpired"}},
		{OpTerminationAttempt, "8d0100",
			[]string{"bearerCapability: speech", "error: ain: terminationAttempt: mandatory parameter userID [53] missing"}},
		{0x64FF, "c10100", []string{"op(0x64FF) (0x64ff)", "private 1: 0x00", "error: ain: unrecognized operation code"}},
	} {
		text := Describe(c.op, unhex(t, c.params)).String()
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: %q missing in\n%s", c.op, w, text)
			}
		}
	}
}
