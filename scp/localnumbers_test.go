package scp

import (
	"testing"

	"callgate/e164"
	"callgate/policy"
	"callgate/scp/ain"
	"callgate/sigtran/tcap"
	"callgate/store"
)

// AINDigits and UserID as switches put them on the wire (tag, length,
// contents; GR-1299 via Wireshark's ASN.1), for the queries below.
const (
	userDN303     = "bf350781050353551000" // userID dn 303-555-0100
	userTrunk123  = "bf350385017b"         // userID trunkGroupID 123
	bearerSpeech  = "8d0100"
	called10      = "8f0703100353551000" // calledPartyID national 303-555-0100
	called7       = "8f06811055059109"   // calledPartyID subscriber 555-0199 (odd, filler 0)
	calling7      = "9206811355151202"   // callingPartyID subscriber 555-1212, allowed, network provided
	calling7Unk   = "9206821355151202"   // the same, nature of address unknown (as dialled)
	calling7Restr = "9206811755151202"   // the same, presentation restricted
	calling7BadNX = "9206811351151202"   // subscriber 155-1212: an exchange cannot start with 1
	calling10     = "92070313" + "1759552121"
)

// taQuery is a Query With Permission carrying a terminationAttempt whose
// Parameter Set contents are the concatenated hex parts.
func taQuery(t testing.TB, parts ...string) []byte {
	t.Helper()
	var hx string
	for _, p := range parts {
		hx += p
	}
	return query(t, 0x1001, tcap.QueryWithPermission, uint16(ain.OpTerminationAttempt), mustHex(t, hx), 248)
}

// TestSevenDigitCallerIsNotAnonymous is the defect of issue 9 with the
// default configuration: a 7-digit CallingPartyID (nature of address
// subscriber) reached the engine as no number (anonymous treatment), and
// a 7-digit CalledPartyID as no subscriber (never screened). Completed
// with the area code of the line (the UserID DN), both are numbers.
func TestSevenDigitCallerIsNotAnonymous(t *testing.T) {
	rec := &recorder{d: policy.Decision{Action: policy.ActionAllow}}
	h := newHarness(t, testConfig(), rec)
	h.feed(t, taQuery(t, userDN303, bearerSpeech, called7, calling7))
	got := rec.last(t)
	if got.Calling != e164.MustParse("+13035551212") || got.Presentation != policy.PresentationAllowed || got.Anonymous() {
		t.Errorf("caller %v (%v, anonymous %v), want +13035551212 presented", got.Calling, got.Presentation, got.Anonymous())
	}
	if got.Called != e164.MustParse("+13035550199") {
		t.Errorf("called %v, want +13035550199", got.Called)
	}
	if m := decodeAnswer(t, h.out.one(t)); ain.OpCode(m.Components[0].Op.Code) != ain.OpAuthorizeTermination {
		t.Errorf("answer %+v", m.Components)
	}
}

// TestLocalNumbers runs the home-area sources over real encodings: the
// number the engine sees, or the safe answer (never the anonymous
// treatment) when a number the switch sent cannot be read.
func TestLocalNumbers(t *testing.T) {
	num := e164.MustParse
	cases := []struct {
		name    string
		area    HomeArea
		npa     ain.NPA
		parts   []string
		calling e164.Number // zero with unreadable
		called  e164.Number
		pres    policy.Presentation
		safe    bool // answered with the safe answer, the engine not asked
	}{
		{"10-digit numbers as today", HomeAreaLine, 0, []string{userDN303, bearerSpeech, called10, calling10},
			num("+17195551212"), num("+13035550100"), policy.PresentationAllowed, false},
		{"line: caller completed from the UserID DN", HomeAreaLine, 0, []string{userDN303, bearerSpeech, called10, calling7},
			num("+13035551212"), num("+13035550100"), policy.PresentationAllowed, false},
		{"line: nature unknown, 7 digits, as dialled", HomeAreaLine, 0, []string{userDN303, bearerSpeech, called10, calling7Unk},
			num("+13035551212"), num("+13035550100"), policy.PresentationAllowed, false},
		{"line: the DN wins over home_npa", HomeAreaLine, 212, []string{userDN303, bearerSpeech, called7, calling7},
			num("+13035551212"), num("+13035550199"), policy.PresentationAllowed, false},
		{"line: trunk group UserID falls back to home_npa", HomeAreaLine, 212, []string{userTrunk123, bearerSpeech, called7, calling7},
			num("+12125551212"), num("+12125550199"), policy.PresentationAllowed, false},
		{"line: trunk group, no home_npa: safe answer", HomeAreaLine, 0, []string{userTrunk123, bearerSpeech, called10, calling7},
			0, 0, 0, true},
		{"line: 7-digit called, trunk group, no home_npa: safe answer", HomeAreaLine, 0, []string{userTrunk123, bearerSpeech, called7, calling10},
			0, 0, 0, true},
		{"called: area of the 10-digit called number", HomeAreaCalled, 0, []string{userTrunk123, bearerSpeech, called10, calling7},
			num("+13035551212"), num("+13035550100"), policy.PresentationAllowed, false},
		{"called: 7-digit called, area of the line", HomeAreaCalled, 0, []string{userDN303, bearerSpeech, called7, calling7},
			num("+13035551212"), num("+13035550199"), policy.PresentationAllowed, false},
		{"fixed: home_npa, whatever the line", HomeAreaFixed, 415, []string{userDN303, bearerSpeech, called7, calling7},
			num("+14155551212"), num("+14155550199"), policy.PresentationAllowed, false},
		{"restricted 7-digit caller: completed, still restricted", HomeAreaLine, 0, []string{userDN303, bearerSpeech, called10, calling7Restr},
			num("+13035551212"), num("+13035550100"), policy.PresentationRestricted, false},
		{"restricted caller with no area: anonymous by choice", HomeAreaLine, 0, []string{userTrunk123, bearerSpeech, called10, calling7Restr},
			0, num("+13035550100"), policy.PresentationRestricted, false},
		{"caller 155-1212 is no number: safe answer", HomeAreaLine, 0, []string{userDN303, bearerSpeech, called10, calling7BadNX},
			0, 0, 0, true},
		{"no caller at all: anonymous", HomeAreaLine, 0, []string{userDN303, bearerSpeech, called7},
			0, num("+13035550199"), policy.PresentationUnavailable, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.HomeArea, cfg.HomeNPA = c.area, c.npa
			rec := &recorder{d: policy.Decision{Action: policy.ActionAllow}}
			h := newHarness(t, cfg, rec)
			h.feed(t, taQuery(t, c.parts...))
			m := decodeAnswer(t, h.out.one(t))
			if op := ain.OpCode(m.Components[len(m.Components)-1].Op.Code); op != ain.OpAuthorizeTermination {
				t.Fatalf("answer %v, want authorizeTermination (the decision and the safe answer)", op)
			}
			safe := h.counter(t, "callgate_scp_safe_answers_total", "reason", "unreadable_number")
			if c.safe {
				if len(rec.calls) != 0 {
					t.Fatalf("the engine was asked with %+v; want the safe answer", rec.calls[0])
				}
				if safe != 1 {
					t.Fatalf("safe answers (unreadable_number) %v, want 1", safe)
				}
				return
			}
			got := rec.last(t)
			if got.Calling != c.calling || got.Called != c.called || got.Presentation != c.pres || safe != 0 {
				t.Fatalf("call %v -> %v (%v), safe %v; want %v -> %v (%v)", got.Calling, got.Called, got.Presentation, safe, c.calling, c.called, c.pres)
			}
		})
	}
}

// TestForwardOfLocalCalledNumber: a call forwarded to the SIP tier names
// the dialled number in redirectingPartyID; a 7-digit one goes out whole
// (national, 10 digits), since the far end is not in the switch's area.
func TestForwardOfLocalCalledNumber(t *testing.T) {
	rec := &recorder{d: policy.Decision{Action: policy.ActionScreen, Route: store.Route{RoutingNumber: e164.MustParse("+13035550999")}}}
	h := newHarness(t, testConfig(), rec)
	h.feed(t, taQuery(t, userDN303, bearerSpeech, called7, calling7))
	m := decodeAnswer(t, h.out.one(t))
	var fc ain.ForwardCallArg
	if err := fc.Unmarshal(m.Components[len(m.Components)-1].Params); err != nil {
		t.Fatal(err)
	}
	if r := fc.RedirectingPartyID; !r.Set || r.V.String() != "3035550199" || r.V.NatureOfAddress != ain.NOANational {
		t.Fatalf("redirectingPartyID %+v, want national 3035550199", r)
	}
}

func TestParseHomeArea(t *testing.T) {
	for in, want := range map[string]HomeArea{"": HomeAreaLine, "line": HomeAreaLine, "called": HomeAreaCalled, "fixed": HomeAreaFixed} {
		if got, err := ParseHomeArea(in); err != nil || got != want || (in != "" && got.String() != in) {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := ParseHomeArea("npa"); err == nil {
		t.Error("npa accepted")
	}
	cfg := testConfig()
	cfg.HomeArea = HomeAreaFixed
	if _, err := New(cfg, &recorder{}); err == nil {
		t.Error("home area fixed without a home NPA accepted")
	}
}
