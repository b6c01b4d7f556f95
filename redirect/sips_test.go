package redirect

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"callgate/e164"
	"callgate/keys"
	"callgate/policy/token"
)

// TestSIPSNoDowngrade: an INVITE to a sips: Request-URI is redirected only
// to sips: targets (RFC 5630; sips.go): the secure templates when set, a
// route's own target only when it is sips:, and otherwise 480 with
// Warning 380 "SIPS Not Allowed", never a sip: Contact. A sip: INVITE is
// untouched by the secure templates. Over TLS (how a sips: INVITE
// arrives) and over UDP in both modes (the scanner and sipgo's parser).
func TestSIPSNoDowngrade(t *testing.T) {
	const (
		secureCont   = "sips:{called}@gw.carrier.example;user=phone"
		secureScreen = "sips:screen@b2bua.example:5061"
	)
	plain := testConfig() // sip: targets only
	plain.TLS, plain.TLSConfig = "127.0.0.1:0", selfSigned(t)
	secure := plain
	secure.SecureContinueRoute, secure.SecureScreeningURI = secureCont, secureScreen

	vip := "<sip:+12125550101@sbc.example>;tag=1"
	cases := []struct {
		name    string
		secure  bool // the server with the secure templates
		r       req
		code    int
		contact string // 302: the Contact URI without the token
	}{
		{"allowed, no sips: route", false, req{ruri: "sips:+13035550100@callgate.example", from: vip}, 480, ""},
		{"screened, no sips: B2BUA", false, req{ruri: "sips:+13035550100@callgate.example"}, 480, ""},
		{"not a subscriber, no sips: route", false, req{ruri: "sips:+13035550999@callgate.example"}, 480, ""},
		{"upper-case scheme", false, req{ruri: "SIPS:+13035550100@callgate.example", from: vip}, 480, ""},
		{"sip: INVITE unchanged", false, req{from: vip}, 302, "sip:+13035550100@gw.carrier.example;user=phone"},
		{"blocked: no Contact to secure", false, req{ruri: "sips:+13035550100@callgate.example", from: "<sip:+12125550102@x>;tag=1"}, 603, ""},
		{"allowed to the secure route", true, req{ruri: "sips:+13035550100@callgate.example", from: vip}, 302, "sips:+13035550100@gw.carrier.example;user=phone"},
		{"screened at the secure B2BUA", true, req{ruri: "sips:+13035550100@callgate.example"}, 302, "sips:screen@b2bua.example:5061"},
		{"sip: INVITE keeps the plain route", true, req{from: vip}, 302, "sip:+13035550100@gw.carrier.example;user=phone"},
		{"sip: INVITE keeps the plain B2BUA", true, req{}, 302, "sip:screen@b2bua.example"},
		// A provider's own gateway and B2BUA (sip:) are where its calls
		// go: not swapped for the platform's secure ones, refused.
		{"route override not sips:", true, req{ruri: "sips:+13035550200@callgate.example", from: vip}, 480, ""},
		{"route B2BUA not sips:", true, req{ruri: "sips:+13035550200@callgate.example"}, 480, ""},
	}
	for _, tp := range []string{"TLS", "UDP stateless", "UDP stateful"} {
		t.Run(tp, func(t *testing.T) {
			servers := map[bool]*Server{}
			for _, sec := range []bool{false, true} {
				cfg := plain
				if sec {
					cfg = secure
				}
				cfg.Stateful = tp == "UDP stateful"
				servers[sec] = startServer(t, cfg, newFakeDecider())
			}
			for _, tc := range cases {
				s := servers[tc.secure]
				r := tc.r
				r.to = "<" + strings.Replace(r.ruri, "SIPS", "sips", 1) + ">"
				if r.ruri == "" {
					r.to = ""
				}
				var res *sip.Response
				if tp == "TLS" {
					c := dialStream(t, s, "TLS")
					r.via = c.via()
					res = c.exchange(r.String())
				} else {
					res = newUDPClient(t, s).exchange(r.String())
				}
				if res.StatusCode != tc.code {
					t.Fatalf("%s: %d %s, want %d\n%s", tc.name, res.StatusCode, res.Reason, tc.code, res)
				}
				switch tc.code {
				case 480:
					if res.Reason != "Temporarily Unavailable" || header(res, "Warning") != `380 callgate "SIPS Not Allowed"` || res.Contact() != nil {
						t.Errorf("%s: want 480 with Warning 380 and no Contact, got\n%s", tc.name, res)
					}
				case 302:
					u := contactURI(t, res)
					u.UriParams.Remove(token.URIParam)
					if u.String() != tc.contact {
						t.Errorf("%s: Contact %q, want %q", tc.name, u.String(), tc.contact)
					}
				}
			}
			if got, want := servers[false].Stats().SIPSRefused+servers[true].Stats().SIPSRefused, uint64(6); got != want {
				t.Errorf("SIPSRefused %d, want %d", got, want)
			}
		})
	}
}

// TestSIPSSecureTemplatesChecked: the secure templates must be sips:; the
// error names the field and the fix.
func TestSIPSSecureTemplatesChecked(t *testing.T) {
	cfg := testConfig()
	cfg.SecureContinueRoute = "sip:{called}@gw.example;transport=tls"
	cfg.SecureScreeningURI = "tel:+13035550000"
	_, err := New(cfg, newFakeDecider())
	if err == nil {
		t.Fatal("New accepted sip: and tel: secure templates")
	}
	for _, want := range []string{`SecureContinueRoute "sip:{called}@gw.example;transport=tls" is not a sips: URI`, `SecureScreeningURI "tel:+13035550000" is not a sips: URI`, "write it sips:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	cfg.SecureContinueRoute, cfg.SecureScreeningURI = "SIPS:{called}@gw.example", "sips:screen@b2bua.example"
	if _, err := New(cfg, newFakeDecider()); err != nil {
		t.Errorf("sips: templates refused: %v", err)
	}
}

// TestSIPSWarnAgent: the Warning's agent is the Server name when it is a
// token (RFC 3261 §20.43), else "callgate".
func TestSIPSWarnAgent(t *testing.T) {
	for in, want := range map[string]string{"": "callgate", "-": "callgate", "sbc-7.carrier": "sbc-7.carrier", "callgate/1.2": "callgate", "a b": "callgate"} {
		if got := warnAgent(in); got != want {
			t.Errorf("warnAgent(%q) = %q, want %q", in, got, want)
		}
	}
}

// onwardEnroller enrols every call with the onward route onward.
type onwardEnroller struct {
	onward string
	n      int
}

func (e *onwardEnroller) Enrol(_ netip.Addr, _, called e164.Number) (keys.Enrolment, error) {
	e.n++
	return keys.Enrolment{Enterprise: "acme", Onward: strings.ReplaceAll(e.onward, "{called}", called.String())}, nil
}

// TestSIPSEnrolment: a sips: enrolment INVITE is sent on only to a sips:
// onward route; a sip: one gets 480 + Warning 380, and its retransmission
// the same 480 without a second key.
func TestSIPSEnrolment(t *testing.T) {
	for _, tc := range []struct {
		onward, ruri string
		code         int
	}{
		{"sip:{called}@core.example", "sips:enrol@callgate.example", 480},
		{"sips:{called}@core.example", "sips:enrol@callgate.example", 302},
		{"sip:{called}@core.example", "sip:enrol@callgate.example", 302},
	} {
		en := &onwardEnroller{onward: tc.onward}
		s := startServer(t, testConfig(), newFakeDecider(), WithEnroller("enrol", en))
		c := newUDPClient(t, s)
		invite := req{ruri: tc.ruri, to: "<sip:+13035550100@carrier.example;user=phone>", from: "<sip:+12125550188@initech.example>;tag=e1"}.String()
		first, again := c.exchange(invite), c.exchange(invite)
		if first.StatusCode != tc.code || again.StatusCode != tc.code {
			t.Errorf("%s to onward %s: %d, then %d; want %d", tc.ruri, tc.onward, first.StatusCode, again.StatusCode, tc.code)
		}
		if tc.code == 480 && (header(first, "Warning") != `380 callgate "SIPS Not Allowed"` || first.Contact() != nil) {
			t.Errorf("%s to onward %s: want Warning 380 and no Contact:\n%s", tc.ruri, tc.onward, first)
		}
		if en.n != 1 {
			t.Errorf("%s to onward %s: %d keys registered, want 1", tc.ruri, tc.onward, en.n)
		}
	}
}
