package redirect

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"callgate/e164"
	"callgate/policy"
)

func parseReq(t testing.TB, msg string) *sip.Request {
	t.Helper()
	m, err := newLenientParser().ParseSIP([]byte(msg))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, msg)
	}
	return m.(*sip.Request)
}

func TestCallFromInvite(t *testing.T) {
	n := e164.MustParse
	cases := []struct {
		name string
		r    req
		want policy.Call
		err  bool
	}{
		{"plain", req{}, policy.Call{Calling: n("+12125550199"), Called: n("+13035550100")}, false},
		{"tel R-URI", req{ruri: "tel:+1-303-555-0100;npdi"}, policy.Call{Calling: n("+12125550199"), Called: n("+13035550100")}, false},
		{"tel local with phone-context", req{ruri: "tel:555-0100;phone-context=+1303"}, policy.Call{Calling: n("+12125550199"), Called: n("+13035550100")}, false},
		{"sip user params", req{ruri: "sip:+13035550100;rn=+13035559999;npdi@x.example;user=phone"}, policy.Call{Calling: n("+12125550199"), Called: n("+13035550100")}, false},
		{"nanp 10 digits", req{ruri: "sip:(303)555-0100@x.example"}, policy.Call{Calling: n("+12125550199"), Called: n("+13035550100")}, false},
		{"nanp 11 digits, escaped", req{ruri: "sip:1303555%2d0100@x.example"}, policy.Call{Calling: n("+12125550199"), Called: n("+13035550100")}, false},
		{"escaped plus", req{ruri: "sip:%2B442079460000@x.example"}, policy.Call{Calling: n("+12125550199"), Called: n("+442079460000")}, false},
		{"sips", req{ruri: "sips:+13035550100@x.example"}, policy.Call{Calling: n("+12125550199"), Called: n("+13035550100")}, false},
		{"called from To", req{ruri: "sip:x.example", to: "<tel:+13035550100>"}, policy.Call{Calling: n("+12125550199"), Called: n("+13035550100")}, false},
		{"no called", req{ruri: "sip:bob@x.example", to: "<sip:bob@x.example>"}, policy.Call{Calling: n("+12125550199")}, true},
		{"PAI wins", req{extra: []string{"P-Asserted-Identity: <sip:+12125550101@a>"}}, policy.Call{Calling: n("+12125550101"), Called: n("+13035550100")}, false},
		{"PAI tel second", req{extra: []string{"P-Asserted-Identity: \"A, B <x>\" <sip:alice@a>, <tel:+12125550101>"}}, policy.Call{Calling: n("+12125550101"), Called: n("+13035550100")}, false},
		{"PAI addr-spec", req{extra: []string{"P-Asserted-Identity: tel:+12125550101;foo=bar"}}, policy.Call{Calling: n("+12125550101"), Called: n("+13035550100")}, false},
		{"PAI unusable, From used", req{extra: []string{"P-Asserted-Identity: <sip:alice@a>"}}, policy.Call{Calling: n("+12125550199"), Called: n("+13035550100")}, false},
		{"Privacy id", req{extra: []string{"Privacy: id"}}, policy.Call{Calling: n("+12125550199"), Called: n("+13035550100"), Presentation: policy.PresentationRestricted}, false},
		{"Privacy header;user", req{extra: []string{"Privacy: header;user"}}, policy.Call{Calling: n("+12125550199"), Called: n("+13035550100"), Presentation: policy.PresentationRestricted}, false},
		{"Privacy none", req{extra: []string{"Privacy: none"}}, policy.Call{Calling: n("+12125550199"), Called: n("+13035550100")}, false},
		{"anonymous From", req{from: "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1"}, policy.Call{Called: n("+13035550100"), Presentation: policy.PresentationRestricted}, false},
		{"anonymous From with PAI", req{from: "<sip:anonymous@anonymous.invalid>;tag=1", extra: []string{"P-Asserted-Identity: <tel:+12125550101>", "Privacy: id"}}, policy.Call{Calling: n("+12125550101"), Called: n("+13035550100"), Presentation: policy.PresentationRestricted}, false},
		{"no number", req{from: "<sip:alice@example.com>;tag=1"}, policy.Call{Called: n("+13035550100"), Presentation: policy.PresentationUnavailable}, false},
		{"Diversion oldest", req{extra: []string{"Diversion: <sip:+13035550111@a>;reason=no-answer", "Diversion: <tel:+13035550122>;reason=unconditional"}}, policy.Call{Calling: n("+12125550199"), Called: n("+13035550100"), OriginalCalled: n("+13035550122"), Redirecting: n("+13035550111")}, false},
		{"History-Info first", req{extra: []string{"History-Info: <sip:+13035550133@a?Reason=SIP%3Bcause%3D302>;index=1, <sip:+13035550100@b>;index=1.1"}}, policy.Call{Calling: n("+12125550199"), Called: n("+13035550100"), OriginalCalled: n("+13035550133"), Redirecting: n("+13035550133")}, false},
		{"History-Info single entry", req{extra: []string{"History-Info: <sip:+13035550133@a>;index=1"}}, policy.Call{Calling: n("+12125550199"), Called: n("+13035550100")}, false},
		{"Diversion equals called", req{extra: []string{"Diversion: <sip:+13035550100@a>"}}, policy.Call{Calling: n("+12125550199"), Called: n("+13035550100")}, false},
		{"short digits", req{from: "<sip:5550199@a>;tag=1"}, policy.Call{Called: n("+13035550100"), Presentation: policy.PresentationUnavailable}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := parseReq(t, tc.r.String())
			r.SetSource("192.0.2.1:5060")
			got, err := CallFromInvite(r, r.Source())
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

func TestTemplates(t *testing.T) {
	tp, err := compileTemplate("t", "sip:{called}@gw.example;orig={original};cg={calling}")
	if err != nil {
		t.Fatal(err)
	}
	got := string(tp.appendTo(nil, e164.MustParse("+13035550100"), 0, 0))
	if got != "sip:+13035550100@gw.example;orig=+13035550100;cg=anonymous" {
		t.Errorf("expansion %q", got)
	}
	for _, bad := range []string{"sip:{callee}@gw", "sip:{called@gw", "http://x/{called}", "sip:{called}@", "gw.example"} {
		if _, err := compileTemplate("t", bad); err == nil {
			t.Errorf("template %q accepted", bad)
		}
	}
	if _, err := compileTemplate("t", "tel:{called}"); err != nil {
		t.Errorf("tel template: %v", err)
	}
}

func TestNewConfigErrors(t *testing.T) {
	d := newFakeDecider()
	mod := func(f func(*Config)) Config { c := testConfig(); f(&c); return c }
	for name, cfg := range map[string]Config{
		"no listener":      mod(func(c *Config) { c.UDP, c.TCP = "", "" }),
		"no route":         mod(func(c *Config) { c.ContinueRoute = "" }),
		"bad screening":    mod(func(c *Config) { c.ScreeningURI = "sip:{nope}@x" }),
		"bad override":     mod(func(c *Config) { c.RouteOverrides = map[string]string{"x": "sip:{nope}@x"} }),
		"no signing key":   mod(func(c *Config) { c.TokenKeyID = 9 }),
		"short key":        mod(func(c *Config) { c.TokenKeys[0].Secret = []byte("short") }),
		"http info url":    mod(func(c *Config) { c.RejectInfoURL = "http://x.example/j" }),
		"tls without cert": mod(func(c *Config) { c.TLS = "127.0.0.1:0" }),
		"negative limit":   mod(func(c *Config) { c.MaxInFlight = -1 }),
		"tiny lifetime":    mod(func(c *Config) { c.TokenLifetime = 10 }),
		"negative readers": mod(func(c *Config) { c.UDPReaders = -1 }),
	} {
		cfg.TokenKeys = append([]tokenKey(nil), cfg.TokenKeys...)
		if _, err := New(cfg, d); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "redirect:") {
			t.Errorf("%s: error %q does not say where", name, err)
		}
	}
	if _, err := New(testConfig(), nil); err == nil {
		t.Error("nil Decider accepted")
	}
}
