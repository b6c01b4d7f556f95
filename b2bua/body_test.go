package b2bua

import (
	"testing"

	"callgate/policy"

	"github.com/emiago/sipgo/sip"
)

// sipTBody is a SIP-T INVITE's body (RFC 3204): the SDP offer and the
// ISUP IAM, with the IAM's handling as given.
func sipTBody(sdp, handling string) (body, contentType string) {
	return sipTBodyIAM(sdp, handling, "itu-t92+", "\x01\x00\x49\x00\x00\x03\x02\x00\x07\x04\x10\x00\x33\x63\x21\x43\x00\x00\x03")
}

// sipTBodyIAM is sipTBody with the IAM given, of ISUP version version.
func sipTBodyIAM(sdp, handling, version, iam string) (body, contentType string) {
	const b = "unique-boundary-1"
	body = "--" + b + "\r\nContent-Type: application/sdp\r\n\r\n" + sdp +
		"--" + b + "\r\nContent-Type: application/isup; version=" + version + "\r\nContent-Disposition: signal; handling=" + handling + "\r\n\r\n" +
		iam + "\r\n" +
		"--" + b + "--\r\n"
	return body, "multipart/mixed; boundary=" + b
}

func TestOfferBody(t *testing.T) {
	sdp := offerSDP(40000, "0")
	sipT, sipTType := sipTBody(sdp, "optional")
	sipTReq, _ := sipTBody(sdp, "required")
	isupOnly := "--b\r\nContent-Type: application/isup\r\n\r\nxyz\r\n--b--\r\n"
	qsigReq := "--b\r\nContent-Type: application/qsig\r\nContent-Disposition: signal;handling=required\r\n\r\nxyz\r\n--b--\r\n"
	badReq, _ := sipTBodyIAM(sdp, "required", "itu-t92+", "\x06\x00")
	for _, tc := range []struct {
		name, body, ct, disp string
		want                 string // the SDP taken ("" none)
		iam                  int    // 0 none, 1 an IAM read, -1 one that did not read
		code                 int    // refused with (0: taken)
	}{
		{"SDP", sdp, "application/sdp", "", sdp, 0, 0},
		{"SDP, type with a parameter", sdp, "application/SDP; charset=utf-8", "", sdp, 0, 0},
		{"untyped", sdp, "", "", sdp, 0, 0},
		{"SIP-T, ISUP optional", sipT, sipTType, "", sdp, 1, 0},
		{"SIP-T, ISUP required", sipTReq, sipTType, "", sdp, 1, 0},
		{"SIP-T, required ISUP not an IAM", badReq, sipTType, "", "", 0, 400},
		{"multipart without SDP", isupOnly, "multipart/mixed; boundary=b", "", "", -1, 0},
		{"multipart, required QSIG", qsigReq, "multipart/mixed; boundary=b", "", "", 0, 415},
		{"multipart without boundary", sipT, "multipart/mixed", "", "", 0, 400},
		{"multipart cut short", sipT[:60], sipTType, "", "", 0, 400},
		{"ISUP alone", "xyz", "application/isup", "signal; handling=optional", "", -1, 0},
		{"ISUP alone, required", "xyz", "application/isup", "signal;handling=required", "", 0, 400},
		{"QSIG alone, required", "xyz", "application/qsig", "signal;handling=required", "", 0, 415},
		{"bad Content-Type", sdp, "application/", "", "", 0, 400},
		{"two SDP parts", "--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b--\r\n", "multipart/mixed; boundary=b", "", "", 0, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, enc, serr := offerBody([]byte(tc.body), tc.ct, tc.disp)
			iam := 0
			if enc.present {
				iam = 1
				if enc.err != nil {
					iam = -1
				}
			}
			switch {
			case tc.code != 0:
				if serr == nil || serr.code != tc.code {
					t.Errorf("got %q, %v; want refused %d", got, serr, tc.code)
				}
			case serr != nil:
				t.Errorf("refused %v; want %q", serr, tc.want)
			case string(got) != tc.want:
				t.Errorf("got %q, want %q", got, tc.want)
			case iam != tc.iam:
				t.Errorf("IAM %d (%v), want %d", iam, enc.err, tc.iam)
			}
		})
	}
}

// A SIP-T INVITE (SDP and ISUP, RFC 3204) is screened on its SDP: Reject
// with Media plays over the early media that SDP sets up, with the ISUP
// part optional or required. A required QSIG part is refused with 415
// and Accept.
func TestSIPTInvite(t *testing.T) {
	h := newHarness(t, nil)
	body, ct := sipTBody(offerSDP(40000, "0"), "optional")
	res := h.rawInviteTyped(t, h.screenURI(h.token(policy.Decision{Action: policy.ActionBlockWithAnnouncement, Announcement: 1})), body, ct)
	if res.StatusCode != 603 {
		t.Fatalf("SIP-T INVITE: got %d %s, want 603 after the announcement", res.StatusCode, res.Reason)
	}
	h.waitStep("reject", "announced")

	body, ct = sipTBody(offerSDP(40000, "0"), "required")
	res = h.rawInviteTyped(t, h.screenURI(h.token(policy.Decision{Action: policy.ActionBlockWithAnnouncement, Announcement: 1})), body, ct)
	if res.StatusCode != 603 {
		t.Fatalf("SIP-T INVITE, ISUP required: got %d %s, want 603 after the announcement", res.StatusCode, res.Reason)
	}

	body = "--b\r\nContent-Type: application/sdp\r\n\r\n" + offerSDP(40000, "0") +
		"--b\r\nContent-Type: application/qsig\r\nContent-Disposition: signal;handling=required\r\n\r\nxyz\r\n--b--\r\n"
	res = h.rawInviteTyped(t, h.screenURI(h.token(policy.Decision{Action: policy.ActionBlockWithAnnouncement, Announcement: 1})), body, "multipart/mixed; boundary=b")
	if res.StatusCode != 415 || res.GetHeader("Accept") == nil || res.GetHeader("Accept").Value() != acceptTypes {
		t.Errorf("required QSIG: got %d %s, Accept %v; want 415 with Accept: %s", res.StatusCode, res.Reason, res.GetHeader("Accept"), acceptTypes)
	}
}

func FuzzOfferBody(f *testing.F) {
	sdp := offerSDP(40000, "0")
	sipT, sipTType := sipTBody(sdp, "optional")
	f.Add([]byte(sipT), sipTType, "")
	f.Add([]byte(sdp), "application/sdp", "")
	f.Add([]byte("xyz"), "application/isup", "signal;handling=required")
	f.Fuzz(func(t *testing.T, body []byte, ct, disp string) {
		sdp, _, serr := offerBody(body, ct, disp)
		if serr != nil {
			if serr.code != 400 && serr.code != 415 {
				t.Fatalf("refused with %d", serr.code)
			}
			return
		}
		if len(sdp) > len(body) {
			t.Fatalf("SDP of %d bytes from a body of %d", len(sdp), len(body))
		}
		_, _ = parseOffer(sdp, srtpNeedsTLS) // must not panic on what it is given
	})
}

// A new INVITE that requires an extension other than 100rel gets 420
// with Unsupported naming only those (RFC 3261 §8.2.2.3); one whose Max-Forwards is spent 483 (RFC 7332 §3); one
// without Contact 400 (RFC 3261 §8.1.1.8; diago dropped it unanswered);
// the subscriber's leg carries the caller's Max-Forwards less one.
func TestRequireAndMaxForwards(t *testing.T) {
	h := newHarness(t, nil)
	tok := func() string { return h.screenURI(h.token(policy.Decision{Action: policy.ActionAllow})) }
	req := h.rawInviteRequest(t, tok(), offerSDP(40000, "0"), "application/sdp")
	req.RemoveHeader("Contact")
	if res := h.send(t, req); res.StatusCode != 400 || res.Reason != "Missing Contact Header" {
		t.Errorf("no Contact: got %d %s, want 400 Missing Contact Header", res.StatusCode, res.Reason)
	}
	res := h.rawInvite(t, tok(), offerSDP(40000, "0"), sip.NewHeader("Require", "100rel, timer"), sip.NewHeader("Session-Expires", "1800"))
	if u := res.GetHeader("Unsupported"); res.StatusCode != 420 || u == nil || u.Value() != "timer" {
		t.Errorf("Require: got %d %s, Unsupported %v; want 420 with Unsupported: timer", res.StatusCode, res.Reason, u)
	}
	zero := sip.MaxForwardsHeader(0)
	if res := h.rawInvite(t, tok(), offerSDP(40000, "0"), &zero); res.StatusCode != 483 {
		t.Errorf("Max-Forwards 0: got %d %s, want 483", res.StatusCode, res.Reason)
	}
	ten := sip.MaxForwardsHeader(10)
	res = h.rawInvite(t, tok(), offerSDP(40000, "0"), &ten, sip.NewHeader("Supported", "100rel, timer"))
	if res.StatusCode != 480 { // the harness's subscriber answers 480 when given no handler
		t.Errorf("allowed call: got %d %s, want the subscriber's 480", res.StatusCode, res.Reason)
	}
	in := h.subIn.Load()
	if in == nil {
		t.Fatal("the subscriber was not called")
	}
	if mf := in.MaxForwards(); mf == nil || mf.Val() != 9 {
		t.Errorf("the subscriber's leg has Max-Forwards %v, want 9", mf)
	}
}
