package b2bua

import (
	"strconv"
	"testing"

	"callgate/policy"
	"callgate/sipcall/isup"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// sipTIAM is the IAM of a call forwarded from the subscriber to the route's
// routing number, its caller's number restricted.
func sipTIAM(t *testing.T, v isup.Variant) string {
	t.Helper()
	national := func(s string) string { return s[2:] } // +1NXX... -> NXX...
	m := isup.IAM{
		ForwardCall: 0x2001, CallingCategory: 0x0a,
		Called:         isup.Number{Nature: isup.NatureNational, Plan: 1, Digits: national(nRouting.String())},
		Calling:        isup.Number{Nature: isup.NatureNational, Plan: 1, Presentation: isup.PresentationRestricted, Screening: 3, Digits: national(nCaller.String())},
		OriginalCalled: isup.Number{Nature: isup.NatureNational, Plan: 1, Digits: national(nSub.String())},
		Redirection:    isup.RedirectionInfo{Indicator: 3, OriginalReason: isup.ReasonNoReply, Counter: 1, Reason: isup.ReasonNoReply},
		HasCalling:     true, HasOriginalCalled: true, HasRedirection: true,
	}
	b, err := isup.AppendIAM(nil, v, &m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A SIP-T gateway that left the forwarding and the caller's privacy in the
// IAM alone: the call is a gateway call for the subscriber its Original
// Called Number names, and the caller's number is restricted, in ITU and
// ANSI. Headers of the INVITE's own win over the IAM; an optional IAM that
// does not read is ignored and counted.
func TestSIPTGatewayCall(t *testing.T) {
	dec := &askDecider{d: policy.Decision{Action: policy.ActionBlock}, asked: make(chan policy.Call, 1)}
	h := newHarness(t, nil, WithGuard(policy.NewGuard(dec, testQuiet)))
	ruri := "sip:" + nRouting.String() + "@127.0.0.1:" + strconv.Itoa(h.port()) + ";user=phone"
	for _, c := range []struct {
		variant isup.Variant
		version string
	}{{isup.ITU, "itu-t92+"}, {isup.ANSI, "ansi00"}} {
		body, ct := sipTBodyIAM(offerSDP(40000, "0"), "optional", c.version, sipTIAM(t, c.variant))
		res := h.rawInviteTyped(t, ruri, body, ct)
		if res.StatusCode != 603 {
			t.Fatalf("%s: blocked SIP-T gateway call: got %d %s, want 603", c.variant, res.StatusCode, res.Reason)
		}
		q := <-dec.asked
		if q.Called != nSub || q.Calling != nCaller || q.Presentation != policy.PresentationRestricted || q.Origin != policy.OriginAIN {
			t.Errorf("%s: engine asked %+v, want %s (restricted) -> %s as AIN", c.variant, q, nCaller, nSub)
		}
		steps := h.waitStep("end", "rejected")
		want := "presentation restricted, original called " + nSub.String()
		if len(steps) == 0 || steps[0].Name != "isup" || steps[0].Outcome != "mapped" || steps[0].Detail != want {
			t.Errorf("%s: steps %+v, want first isup mapped %q", c.variant, steps, want)
		}
	}
	if n := testutil.ToFloat64(h.s.m.sipT.WithLabelValues("mapped")); n != 2 {
		t.Errorf("isup_iams_total{mapped} = %v, want 2", n)
	}

	// The INVITE's own Diversion and Privacy: nothing is taken from the IAM.
	other := "+13035550177"
	body, ct := sipTBodyIAM(offerSDP(40000, "0"), "optional", "itu-t92+", sipTIAM(t, isup.ITU))
	res := h.rawInviteTyped(t, ruri, body, ct, sip.NewHeader("Diversion", "<tel:"+other+">;reason=user-busy"), sip.NewHeader("Privacy", "none"))
	if res.StatusCode != 603 {
		t.Fatalf("SIP-T with Diversion: got %d %s, want 603", res.StatusCode, res.Reason)
	}
	if q := <-dec.asked; q.Called.String() != other || q.Presentation != policy.PresentationAllowed {
		t.Errorf("SIP-T with Diversion: engine asked %+v, want the call for %s, presentation allowed", q, other)
	}
	if n := testutil.ToFloat64(h.s.m.sipT.WithLabelValues("unused")); n != 1 {
		t.Errorf("isup_iams_total{unused} = %v, want 1", n)
	}

	// An optional part that is not an IAM: ignored, so no diverting number
	// and not for us.
	body, ct = sipTBodyIAM(offerSDP(40000, "0"), "optional", "itu-t92+", "\x06\x00")
	if res := h.rawInviteTyped(t, ruri, body, ct); res.StatusCode != 404 {
		t.Errorf("SIP-T with an unreadable IAM: got %d %s, want 404 (not for us)", res.StatusCode, res.Reason)
	}
	if n := testutil.ToFloat64(h.s.m.sipT.WithLabelValues("malformed")); n != 1 {
		t.Errorf("isup_iams_total{malformed} = %v, want 1", n)
	}
	n := 0
	h.s.iams.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Errorf("%d IAMs kept after their calls were admitted", n)
	}
}
