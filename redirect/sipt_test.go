package redirect

import (
	"fmt"
	"strings"
	"testing"

	"callgate/policy"
	"callgate/sipcall/isup"
)

// sipTInvite is a SIP-T INVITE (RFC 3204): an anonymous From, the IAM
// beside the SDP, and the extra headers.
func sipTInvite(n int, iam []byte, extra ...string) string {
	body := "--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n" +
		"\r\n--b1\r\nContent-Type: application/ISUP; version=ansi00\r\nContent-Disposition: signal; handling=optional\r\n\r\n" +
		string(iam) + "\r\n--b1--\r\n"
	hs := []string{
		fmt.Sprintf("Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-sipt%d;rport", n), "Max-Forwards: 70",
		fmt.Sprintf(`From: "Anonymous" <sip:anonymous@anonymous.invalid>;tag=t%d`, n),
		"To: <sip:+13035550100@callgate.example;user=phone>", fmt.Sprintf("Call-ID: sipt-%d@test", n), "CSeq: 1 INVITE",
		"Contact: <sip:gw@127.0.0.1:5099>", "Content-Type: multipart/mixed; boundary=b1",
	}
	hs = append(hs, extra...)
	return "INVITE sip:+13035550100@callgate.example;user=phone SIP/2.0\r\n" + strings.Join(hs, "\r\n") +
		fmt.Sprintf("\r\nContent-Length: %d\r\n\r\n", len(body)) + body
}

// A SIP-T gateway that left the caller's number in the IAM alone (an
// anonymous From, no P-Asserted-Identity): the engine is asked about the
// caller the IAM names, restricted, in both serving modes, as the B2BUA
// reads such an INVITE (package sipcall). An IAM that does not read is
// ignored and counted; the call is still answered.
func TestSIPTInvite(t *testing.T) {
	eachMode(t, func(t *testing.T, m testMode) {
		d := newFakeDecider()
		s := startServer(t, m.config(), d)
		c := newUDPClient(t, s)
		cgpn := isup.Number{Nature: isup.NatureNational, Plan: 1, Presentation: isup.PresentationRestricted, Digits: "2125550199"}
		iam, err := isup.AppendIAM(nil, isup.ANSI, &isup.IAM{Called: isup.Number{Nature: isup.NatureNational, Plan: 1, Digits: "3035550100"},
			Calling: cgpn, HasCalling: true})
		if err != nil {
			t.Fatal(err)
		}
		res := c.exchange(sipTInvite(1, iam))
		if res.StatusCode != 302 {
			t.Fatalf("SIP-T INVITE: %d %s", res.StatusCode, res.Reason)
		}
		if got := d.lastCall(); got.Calling.String() != "+12125550199" || got.Presentation != policy.PresentationRestricted {
			t.Errorf("engine asked %+v, want the IAM's caller +12125550199, restricted", got)
		}

		// Its own P-Asserted-Identity wins.
		res = c.exchange(sipTInvite(2, iam, "P-Asserted-Identity: <tel:+17205550123>", "Privacy: id"))
		if got := d.lastCall(); res.StatusCode != 302 || got.Calling.String() != "+17205550123" {
			t.Errorf("SIP-T INVITE with PAI: %d, engine asked %+v, want +17205550123", res.StatusCode, got)
		}

		res = c.exchange(sipTInvite(3, []byte{0x06, 0x00}))
		if got := d.lastCall(); res.StatusCode != 302 || got.Calling != 0 {
			t.Errorf("SIP-T INVITE with an unreadable IAM: %d, engine asked %+v, want no calling number", res.StatusCode, got)
		}
		st := s.Stats()
		if st.IAMsMapped != 1 || st.IAMsUnused != 1 || st.IAMsMalformed != 1 {
			t.Errorf("IAMs mapped %d, unused %d, malformed %d; want 1 each", st.IAMsMapped, st.IAMsUnused, st.IAMsMalformed)
		}
		if !m.stateful && st.Fallback != 1 {
			t.Errorf("stateless: %d INVITEs read by the fallback parser, want 1 (the IAM that does not read; the scanner reads the others)", st.Fallback)
		}
	})
}

// BenchmarkStatelessSIPT: the stateless handling of a SIP-T INVITE, its
// IAM read by the scanner in place, beside the same call without the body
// (BenchmarkStateless).
func BenchmarkStatelessSIPT(b *testing.B) {
	s := benchServer(b)
	cgpn := isup.Number{Nature: isup.NatureNational, Plan: 1, Presentation: isup.PresentationRestricted, Digits: "2125550199"}
	iam, err := isup.AppendIAM(nil, isup.ANSI, &isup.IAM{Called: isup.Number{Nature: isup.NatureNational, Plan: 1, Digits: "3035550100"},
		Calling: cgpn, HasCalling: true})
	if err != nil {
		b.Fatal(err)
	}
	data := []byte(sipTInvite(1, iam))
	r := newUDPReader()
	r.ans.defers = true
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	cpu := startCPU(b)
	for b.Loop() {
		out, _, ok := s.handleDatagram(r, data, benchSrc)
		if !ok || len(out) < 12 || out[8] != '3' {
			b.Fatalf("response %q", out)
		}
	}
	cpu.report()
	if st := s.Stats(); st.IAMsMapped == 0 || st.Fallback != 0 {
		b.Fatalf("the IAM was not read by the scanner: %+v", st)
	}
}

// sipTSeeds are SIP-T INVITEs for the scanner's fuzz targets: an IAM the
// scanner reads, one it leaves to the fallback, and a body without one.
func sipTSeeds() []string {
	cgpn := isup.Number{Nature: isup.NatureNational, Plan: 1, Presentation: isup.PresentationRestricted, Digits: "2125550199"}
	iam, _ := isup.AppendIAM(nil, isup.ANSI, &isup.IAM{Called: isup.Number{Nature: isup.NatureNational, Plan: 1, Digits: "3035550100"},
		Calling: cgpn, HasCalling: true, OriginalCalled: isup.Number{Nature: isup.NatureNational, Plan: 1, Digits: "3035550111"}, HasOriginalCalled: true})
	return []string{sipTInvite(90, iam), sipTInvite(91, []byte{6, 0}), sipTInvite(92, iam, "P-Asserted-Identity: <tel:+17205550123>")}
}
