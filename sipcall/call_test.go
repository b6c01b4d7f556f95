package sipcall

import (
	"testing"

	"github.com/emiago/sipgo/sip"

	"callgate/e164"
	"callgate/policy"
)

func parse(t testing.TB, msg string) *sip.Request {
	t.Helper()
	m, err := sip.NewParser().ParseSIP([]byte(msg))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, msg)
	}
	return m.(*sip.Request)
}

func invite(ruri, from, to string, extra ...string) string {
	s := "INVITE " + ruri + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n" +
		"From: " + from + "\r\nTo: " + to + "\r\n" +
		"Call-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
	for _, h := range extra {
		s += h + "\r\n"
	}
	return s + "Content-Length: 0\r\n\r\n"
}

func TestFromRequest(t *testing.T) {
	n := e164.MustParse
	const from, to = "<sip:+12125550199@a.example>;tag=1", "<sip:+13035550100@b.example>"
	cases := []struct {
		name string
		msg  string
		want policy.Call
		err  bool
	}{
		{"plain", invite("sip:+13035550100@b.example", from, to),
			policy.Call{Calling: n("+12125550199"), Called: n("+13035550100")}, false},
		{"gateway after forwardCall: Diversion names the subscriber",
			invite("sip:+13035550999@b2bua.example;user=phone", from, "<sip:+13035550100@b.example>",
				"Diversion: <sip:+13035550100@ssp.example>;reason=unconditional;counter=1"),
			policy.Call{Calling: n("+12125550199"), Called: n("+13035550999"), OriginalCalled: n("+13035550100"), Redirecting: n("+13035550100")}, false},
		{"History-Info, first entry",
			invite("sip:+13035550999@b2bua.example", from, to,
				"History-Info: <sip:+13035550100@ssp.example>;index=1, <sip:+13035550999@b2bua.example;cause=302>;index=1.1"),
			policy.Call{Calling: n("+12125550199"), Called: n("+13035550999"), OriginalCalled: n("+13035550100"), Redirecting: n("+13035550100")}, false},
		{"oldest Diversion", invite("sip:+13035550999@x", from, to,
			"Diversion: <sip:+13035550111@a>;reason=no-answer", "Diversion: <tel:+13035550122>;reason=unconditional"),
			policy.Call{Calling: n("+12125550199"), Called: n("+13035550999"), OriginalCalled: n("+13035550122"), Redirecting: n("+13035550111")}, false},
		// Forwarded twice (RFC 5806 §3: each diversion is added on top):
		// the original called number is the first, the redirecting one
		// the last to divert (the subscriber the SCP forwarded to a route).
		{"forwarded twice, one Diversion header", invite("sip:+13035550999@x", from, to,
			"Diversion: <sip:+13035550100@ssp.example>;reason=unconditional;counter=2, <tel:+12125550177>;reason=unconditional;counter=1"),
			policy.Call{Calling: n("+12125550199"), Called: n("+13035550999"), OriginalCalled: n("+12125550177"), Redirecting: n("+13035550100")}, false},
		{"forwarded twice, History-Info", invite("sip:+13035550999@x", from, to,
			"History-Info: <sip:+12125550177@a.example>;index=1, <sip:+13035550100@ssp.example;cause=302>;index=1.1, <sip:+13035550999@b2bua.example;cause=302>;index=1.1.1"),
			policy.Call{Calling: n("+12125550199"), Called: n("+13035550999"), OriginalCalled: n("+12125550177"), Redirecting: n("+13035550100")}, false},
		{"forwarded twice, History-Info without the current target", invite("sip:+13035550999@x", from, to,
			"History-Info: <sip:+12125550177@a.example>;index=1", "History-Info: <sip:+13035550100@ssp.example;cause=302>;index=1.1"),
			policy.Call{Calling: n("+12125550199"), Called: n("+13035550999"), OriginalCalled: n("+12125550177"), Redirecting: n("+13035550100")}, false},
		{"PAI and Privacy", invite("sip:+13035550100@x", "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1", to,
			"P-Asserted-Identity: <tel:+12125550101>", "Privacy: id"),
			policy.Call{Calling: n("+12125550101"), Called: n("+13035550100"), Presentation: policy.PresentationRestricted}, false},
		{"called from To", invite("sip:screen@b2bua.example;cgt=abc", from, "<tel:+13035550100>"),
			policy.Call{Calling: n("+12125550199"), Called: n("+13035550100")}, false},
		{"no called", invite("sip:bob@x", from, "<sip:bob@x>"),
			policy.Call{Calling: n("+12125550199")}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromRequest(parse(t, tc.msg), "192.0.2.1:5060")
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			tc.want.Origin, tc.want.Peer = policy.OriginSIP, "192.0.2.1:5060"
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestEntryNumber(t *testing.T) {
	for in, want := range map[string]string{
		"<sip:+13035550100@ssp.example>;reason=unconditional": "+13035550100",
		"\"Dave <x>\" <tel:+1-303-555-0100>":                  "+13035550100",
		"sip:3035550100@gw;reason=no-answer":                  "+13035550100",
		"tel:555-0100;phone-context=+1303":                    "+13035550100",
		"<sip:alice@example.com>":                             "",
		"<sip:+13035550100@x":                                 "",
	} {
		got := EntryNumber(in)
		if (want == "" && got != 0) || (want != "" && got != e164.MustParse(want)) {
			t.Errorf("EntryNumber(%q) = %v, want %q", in, got, want)
		}
	}
}

// The translation runs on the redirect tier's zero-allocation path.
func TestBuilderAllocatesNothing(t *testing.T) {
	u := URI{Scheme: "sip", User: "+13035550999", Host: "b2bua.example"}
	f := URI{Scheme: "sip", User: "+12125550199", Host: "a.example"}
	allocs := testing.AllocsPerRun(100, func() {
		var b Builder
		b.RequestURI(u)
		b.From("", f)
		b.Header(Diversion, "<sip:+13035550100@ssp.example>;reason=unconditional")
		b.Header(HistoryInfo, "<sip:+13035550100@a>;index=1, <sip:+13035550999@b>;index=1.1")
		b.Header(PAI, "<tel:+12125550101>")
		if _, err := b.Call("192.0.2.1:5060"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per call", allocs)
	}
}

func TestTemplates(t *testing.T) {
	tp, err := CompileTemplate("t", "sip:{called}@gw.example;orig={original};cg={calling}")
	if err != nil {
		t.Fatal(err)
	}
	got := string(tp.AppendTo(nil, e164.MustParse("+13035550100"), 0, 0))
	if got != "sip:+13035550100@gw.example;orig=+13035550100;cg=anonymous" {
		t.Errorf("expansion %q", got)
	}
	u, err := tp.Expand(e164.MustParse("+13035550100"), e164.MustParse("+12125550199"), e164.MustParse("+13035550111"))
	if err != nil || u.User != "+13035550100" || u.Host != "gw.example" {
		t.Errorf("Expand: %v %+v", err, u)
	}
	for _, bad := range []string{"sip:{callee}@gw", "sip:{called@gw", "http://x/{called}", "sip:{called}@", "gw.example"} {
		if _, err := CompileTemplate("t", bad); err == nil {
			t.Errorf("template %q accepted", bad)
		}
	}
	if _, err := CompileTemplate("t", "tel:{called}"); err != nil {
		t.Errorf("tel template: %v", err)
	}
}

// FuzzHeaders feeds arbitrary header values to the translation: it must
// never panic, and a number it finds must be a valid E.164 number.
func FuzzHeaders(f *testing.F) {
	f.Add("<sip:+13035550100@a>;reason=no-answer", "<sip:+1303@a>;index=1, <tel:+13035550100>;index=1.1", "id", "tel:555-0100;phone-context=+1303")
	f.Add("\"a,<b\" <sip:1%2B2@x>", ",,,<", "header;user", "sip:%2b442079460000@x")
	f.Fuzz(func(t *testing.T, div, hist, privacy, pai string) {
		var b Builder
		b.RequestURI(URI{Scheme: "sip", User: pai, Host: "x"})
		b.Header(Diversion, div)
		b.Header(HistoryInfo, hist)
		b.Header(Privacy, privacy)
		b.Header(PAI, pai)
		c, _ := b.Call("")
		for _, n := range []e164.Number{c.Calling, c.Called, c.OriginalCalled} {
			if n == 0 {
				continue
			}
			if back, err := e164.Parse(n.String()); err != nil || back != n {
				t.Errorf("number %d does not round-trip: %v", n, err)
			}
		}
	})
}
