package sipcall

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"callgate/e164"
	"callgate/policy"
	"callgate/sipcall/isup"
)

func natl(d string) isup.Number { return isup.Number{Nature: isup.NatureNational, Plan: 1, Digits: d} }

// TestFromRequestIAM: the IAM gives what the headers lack, and only that;
// its Redirecting Number is the number the call was last forwarded from.
func TestFromRequestIAM(t *testing.T) {
	n := e164.MustParse
	restricted := natl("7205550123")
	restricted.Presentation = isup.PresentationRestricted
	forwarded := isup.IAM{Called: natl("3035550999"), Calling: restricted, OriginalCalled: natl("3035550100"),
		Redirecting: natl("3035550101"), HasCalling: true, HasOriginalCalled: true, HasRedirecting: true}
	redirOnly := isup.IAM{Called: natl("3035550999"), Redirecting: natl("3035550101"), HasRedirecting: true}
	subscriberOCN := isup.IAM{Called: natl("3035550999"), HasOriginalCalled: true,
		OriginalCalled: isup.Number{Nature: isup.NatureSubscriber, Digits: "5550100"}}
	const ruri, to = "sip:+13035550999@b.example", "<sip:+13035550999@b.example>"
	const anon = `"Anonymous" <sip:anonymous@anonymous.invalid>;tag=1`
	const from = "<sip:+12125550199@a.example>;tag=1"
	cases := []struct {
		name string
		msg  string
		iam  *isup.IAM
		want policy.Call
	}{
		{"no IAM", invite(ruri, anon, to), nil,
			policy.Call{Called: n("+13035550999"), Presentation: policy.PresentationRestricted}},
		{"anonymous From: the IAM's caller, restricted, and forwarding", invite(ruri, anon, to), &forwarded,
			policy.Call{Calling: n("+17205550123"), Called: n("+13035550999"), OriginalCalled: n("+13035550100"), Redirecting: n("+13035550101"), Presentation: policy.PresentationRestricted}},
		{"From's number and Privacy: none win; no Diversion: the IAM's", invite(ruri, from, to, "Privacy: none"), &forwarded,
			policy.Call{Calling: n("+12125550199"), Called: n("+13035550999"), OriginalCalled: n("+13035550100"), Redirecting: n("+13035550101")}},
		{"From's number, no Privacy: restricted by the IAM", invite(ruri, from, to), &forwarded,
			policy.Call{Calling: n("+12125550199"), Called: n("+13035550999"), OriginalCalled: n("+13035550100"), Redirecting: n("+13035550101"), Presentation: policy.PresentationRestricted}},
		{"Diversion wins", invite(ruri, from, to, "Privacy: none", "Diversion: <tel:+13035550177>;reason=user-busy"), &forwarded,
			policy.Call{Calling: n("+12125550199"), Called: n("+13035550999"), OriginalCalled: n("+13035550177"), Redirecting: n("+13035550177")}},
		{"History-Info without retargeting still wins", invite(ruri, from, to, "History-Info: <sip:+13035550999@b.example>;index=1"), &forwarded,
			policy.Call{Calling: n("+12125550199"), Called: n("+13035550999"), Presentation: policy.PresentationRestricted}},
		{"Redirecting Number when no Original Called Number", invite(ruri, from, to), &redirOnly,
			policy.Call{Calling: n("+12125550199"), Called: n("+13035550999"), OriginalCalled: n("+13035550101"), Redirecting: n("+13035550101")}},
		{"a subscriber number is not taken", invite(ruri, from, to), &subscriberOCN,
			policy.Call{Calling: n("+12125550199"), Called: n("+13035550999")}},
	}
	for _, c := range cases {
		got, err := FromRequestIAM(parse(t, c.msg), "", c.iam)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got.Origin, got.Peer = 0, ""
		if got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

func TestBodyIAM(t *testing.T) {
	m := isup.IAM{Called: natl("3035550999"), OriginalCalled: natl("3035550100"), HasOriginalCalled: true}
	ansi, err := isup.AppendIAM(nil, isup.ANSI, &m)
	if err != nil {
		t.Fatal(err)
	}
	part := "--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b\r\nContent-Type: application/ISUP; version=ansi00\r\n\r\n" + string(ansi) + "\r\n--b--\r\n"
	for _, c := range []struct {
		name, ct, body string
		want           string // the OCN's digits, or the error's text
	}{
		{"multipart", "multipart/mixed; boundary=b", part, "3035550100"},
		{"whole", "application/ISUP; version=ansi00", string(ansi), "3035550100"},
		{"SDP only", "application/sdp", "v=0\r\n", ErrNoIAM.Error()},
		{"multipart without ISUP", "multipart/mixed; boundary=b", "--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b--\r\n", ErrNoIAM.Error()},
		{"not an IAM", "application/isup; version=itu-t92+", "\x06\x00", "not an IAM"},
		{"no boundary", "multipart/mixed", part, "without boundary"},
	} {
		iam, err := BodyIAM(c.ct, []byte(c.body))
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = iam.OriginalCalled.Digits
		}
		if got != c.want && !(err != nil && strings.Contains(got, c.want)) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
		if c.want == ErrNoIAM.Error() && !errors.Is(err, ErrNoIAM) {
			t.Errorf("%s: %v is not ErrNoIAM", c.name, err)
		}
	}
	for ct, want := range map[string]bool{"multipart/mixed; boundary=b": true, "Application/ISUP;version=x": true, "application/sdp": false, "": false} {
		if CarriesISUP(ct) != want {
			t.Errorf("CarriesISUP(%q) != %v", ct, want)
		}
	}
}

// FuzzBodyIAM: no body or Content-Type panics BodyIAM, and an error is
// ErrNoIAM, a Content-Type or multipart error, or an IAM that did not read.
func FuzzBodyIAM(f *testing.F) {
	m := isup.IAM{Called: natl("3035550999"), OriginalCalled: natl("3035550100"), HasOriginalCalled: true}
	iam, _ := isup.AppendIAM(nil, isup.ITU, &m)
	f.Add("multipart/mixed; boundary=b", "--b\r\nContent-Type: application/ISUP; version=itu-t92+\r\n\r\n"+string(iam)+"\r\n--b--\r\n")
	f.Add("application/isup; version=ansi00", string(iam))
	f.Add("multipart/mixed", "")
	f.Fuzz(func(t *testing.T, ct, body string) {
		got, err := BodyIAM(ct, []byte(body))
		if err == nil && got == nil {
			t.Fatal("no IAM and no error")
		}
	})
}

// ScanIAM reads what BodyIAM reads, or leaves the body to it; it
// allocates nothing.
func TestScanIAM(t *testing.T) {
	m := isup.IAM{Called: natl("3035550999"), OriginalCalled: natl("3035550100"), HasOriginalCalled: true}
	ansi, _ := isup.AppendIAM(nil, isup.ANSI, &m)
	sdp := "--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n"
	isupPart := "--b\r\nContent-Type: application/ISUP; version=ansi00\r\nContent-Disposition: signal; handling=optional\r\n\r\n" + string(ansi) + "\r\n"
	for _, c := range []struct {
		name, ct, body string
		found, ok      bool
	}{
		{"SDP then ISUP", "multipart/mixed; boundary=b", sdp + isupPart + "--b--\r\n", true, true},
		{"ISUP first", "Multipart/Mixed;boundary=b", isupPart + sdp + "--b--", true, true},
		{"whole", "application/isup; version=ansi00", string(ansi), true, true},
		{"no ISUP part", "multipart/mixed; boundary=b", sdp + "--b--\r\n", false, true},
		{"quoted boundary", `multipart/mixed; boundary="b"`, sdp + isupPart + "--b--", false, false},
		{"preamble", "multipart/mixed; boundary=b", "hello\r\n" + sdp + isupPart + "--b--", false, false},
		{"not an IAM", "application/isup; version=itu-t92+", "\x06\x00", false, false},
		{"cut short", "multipart/mixed; boundary=b", sdp + isupPart[:40], false, false},
		{"two boundaries", "multipart/mixed; boundary=b; boundary=c", sdp + isupPart + "--b--", false, false},
		{"a longer boundary is content", "multipart/mixed; boundary=b", sdp + isupPart[:len(isupPart)-2] + "\r\n--bb\r\n", false, false},
		{"padding after a delimiter", "multipart/mixed; boundary=b", sdp + isupPart + "--b \r\n", false, false},
	} {
		var got isup.IAM
		var buf isup.DigitBuf
		found, ok := ScanIAM(c.ct, []byte(c.body), &got, &buf)
		if found != c.found || ok != c.ok {
			t.Errorf("%s: found %v ok %v, want %v %v", c.name, found, ok, c.found, c.ok)
			continue
		}
		if found && got.OriginalCalled.Digits != "3035550100" {
			t.Errorf("%s: read %+v", c.name, got)
		}
		if ok {
			agree(t, c.ct, []byte(c.body), found, &got)
		}
	}
	body := []byte(sdp + isupPart + "--b--\r\n")
	var got isup.IAM
	var buf isup.DigitBuf
	if n := testing.AllocsPerRun(100, func() { ScanIAM("multipart/mixed; boundary=b", body, &got, &buf) }); n != 0 {
		t.Errorf("%v allocations per INVITE body", n)
	}
}

// agree fails unless BodyIAM reads ct and body as ScanIAM did.
func agree(t *testing.T, ct string, body []byte, found bool, got *isup.IAM) {
	t.Helper()
	whole, err := BodyIAM(ct, body)
	switch {
	case found && err != nil:
		t.Fatalf("ScanIAM read %+v, BodyIAM: %v\n%q %q", got, err, ct, body)
	case found && fmt.Sprint(*got) != fmt.Sprint(*whole):
		t.Fatalf("ScanIAM read %+v, BodyIAM %+v\n%q %q", got, whole, ct, body)
	case !found && !errors.Is(err, ErrNoIAM):
		t.Fatalf("ScanIAM found no IAM, BodyIAM: %v, %v\n%q %q", whole, err, ct, body)
	}
}

// FuzzScanIAM: whatever ScanIAM takes (ok), BodyIAM reads the same way.
func FuzzScanIAM(f *testing.F) {
	m := isup.IAM{Called: natl("3035550999"), Calling: natl("7205550123"), HasCalling: true}
	iam, _ := isup.AppendIAM(nil, isup.ITU, &m)
	f.Add("multipart/mixed; boundary=b", "--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b\r\nContent-Type: application/ISUP; version=itu-t92+\r\n\r\n"+string(iam)+"\r\n--b--\r\n")
	f.Add("application/isup; base=ansi92", string(iam))
	f.Add("multipart/mixed; boundary=x", "--x\r\n\r\nabc\r\n--x--")
	f.Fuzz(func(t *testing.T, ct, body string) {
		var got isup.IAM
		var buf isup.DigitBuf
		if found, ok := ScanIAM(ct, []byte(body), &got, &buf); ok {
			agree(t, ct, []byte(body), found, &got)
		}
	})
}
