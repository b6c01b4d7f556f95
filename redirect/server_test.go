package redirect

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/token"
)

// TestDecisions drives every decision through a real UDP socket and checks
// the response and, for the B2BUA, the token with the B2BUA's check.
func TestDecisions(t *testing.T) { eachMode(t, testDecisions) }

func testDecisions(t *testing.T, mode testMode) {
	cfg := mode.config()
	cfg.RejectInfoURL = "https://callgate.example/jcard/decline"
	d := newFakeDecider()
	s := startServer(t, cfg, d)
	cfg608 := cfg
	cfg608.Reject608 = true
	s608 := startServer(t, cfg608, d)

	anon := "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=a1"
	cases := []struct {
		name    string
		srv     *Server
		r       req
		code    int
		contact string // expected Contact URI (without token) for 302
		action  policy.Action
	}{
		{"vip allowed", s, req{from: "<sip:+12125550101@sbc.example>;tag=1"}, 302, "sip:+13035550100@gw.carrier.example;user=phone", 0},
		{"blocked 603", s, req{from: "<sip:+12125550102@sbc.example>;tag=1"}, 603, "", 0},
		{"blocked 608", s608, req{from: "<sip:+12125550102@sbc.example>;tag=1"}, 608, "", 0},
		{"unknown screened", s, req{}, 302, "sip:screen@b2bua.example", policy.ActionScreen},
		{"announcement", s, req{from: "<tel:+12125550103>;tag=1"}, 302, "sip:screen@b2bua.example", policy.ActionBlockWithAnnouncement},
		{"challenge", s, req{from: "<sip:2125550104@sbc.example>;tag=1"}, 302, "sip:screen@b2bua.example", policy.ActionChallenge},
		{"voicemail", s, req{from: "<sip:12125550105@sbc.example>;tag=1"}, 302, "sip:screen@b2bua.example", policy.ActionVoicemail},
		{"not a subscriber", s, req{ruri: "sip:+13035550999@callgate.example"}, 302, "sip:+13035550999@gw.carrier.example;user=phone", 0},
		{"anonymous", s, req{from: anon}, 302, "sip:screen@b2bua.example", policy.ActionVoicemail},
		{"provider route override", s, req{ruri: "tel:+13035550200", from: "<sip:+12125550101@x>;tag=1"}, 302, "sip:+13035550200@gw.acme.example;user=phone", 0},
		{"provider B2BUA", s, req{ruri: "sip:3035550200@callgate.example"}, 302, "sip:screen-+13035550200@b2bua.acme.example;transport=tcp", policy.ActionScreen},
		{"provider anonymous blocked", s, req{ruri: "sip:3035550200@callgate.example", from: anon}, 603, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newUDPClient(t, tc.srv)
			msg := tc.r.String()
			res := c.exchange(msg)
			if res.StatusCode != tc.code {
				t.Fatalf("status %d %s, want %d\n%s", res.StatusCode, res.Reason, tc.code, res)
			}
			switch tc.code {
			case 603:
				if res.Reason != "Decline" {
					t.Errorf("reason %q", res.Reason)
				}
			case 608:
				if res.Reason != "Rejected" {
					t.Errorf("reason %q", res.Reason)
				}
				if got := header(res, "Call-Info"); got != "<https://callgate.example/jcard/decline>;purpose=jwscard" {
					t.Errorf("Call-Info %q", got)
				}
			case 302:
				if res.Reason != "Moved Temporarily" {
					t.Errorf("reason %q", res.Reason)
				}
				u := contactURI(t, res)
				raw, hasTok := u.UriParams.Get(token.URIParam)
				if tc.action == 0 {
					if hasTok || u.String() != tc.contact {
						t.Fatalf("Contact %q, want %q", u.String(), tc.contact)
					}
					return
				}
				if !hasTok {
					t.Fatalf("302 to the B2BUA without a token: %s", u.String())
				}
				u.UriParams.Remove(token.URIParam)
				if u.String() != tc.contact {
					t.Errorf("Contact %q, want %q", u.String(), tc.contact)
				}
				call := d.lastCall()
				claims, err := token.Verify([]token.Key{testKey}, raw, time.Now())
				if err != nil {
					t.Fatalf("token %q refused: %v", raw, err)
				}
				if claims.Action != tc.action || claims.Called != call.Called || claims.Calling != call.Calling || claims.Presentation != call.Presentation {
					t.Errorf("claims %+v for call %+v", claims, call)
				}
				if ttl := time.Until(claims.Expires); ttl < 50*time.Second || ttl > 61*time.Second {
					t.Errorf("token lifetime %s, want about 60s", ttl)
				}
				// The B2BUA refuses it with another key or once expired.
				if _, err := token.Verify([]token.Key{{ID: testKey.ID, Secret: []byte(strings.Repeat("x", 32))}}, raw, time.Now()); !errors.Is(err, token.ErrSignature) {
					t.Errorf("wrong key: %v", err)
				}
				if _, err := token.Verify([]token.Key{testKey}, raw, claims.Expires); !errors.Is(err, token.ErrExpired) {
					t.Errorf("expired: %v", err)
				}
			}
		})
	}
	// The anonymous call reached the engine as restricted.
	if st := s.Stats(); st.Invites == 0 || st.Redirects == 0 || st.Screened == 0 || st.Declined == 0 {
		t.Errorf("stats not counted: %+v", st)
	}
}

// TestCallTranslationThroughServer checks the policy.Call the engine sees.
func TestCallTranslationThroughServer(t *testing.T) { eachMode(t, testCallTranslationThroughServer) }

func testCallTranslationThroughServer(t *testing.T, mode testMode) {
	d := newFakeDecider()
	s := startServer(t, mode.config(), d)
	c := newUDPClient(t, s)
	res := c.exchange(req{
		ruri: "sip:+1-303-555-0100;npdi;rn=+13035550000@callgate.example;user=phone",
		from: "\"Alice\" <sip:alice@sbc.example>;tag=9",
		extra: []string{
			"P-Asserted-Identity: \"Alice\" <sip:+12125550199@sbc.example;user=phone>, <tel:+12125550199>",
			"Privacy: id",
			"Diversion: <sip:+13035550111@fwd.example>;reason=unconditional;counter=1, <sip:+13035550122@fwd.example>;reason=user-busy",
		},
	}.String())
	if res.StatusCode != 302 {
		t.Fatalf("status %d", res.StatusCode)
	}
	got := d.lastCall()
	want := policy.Call{
		Calling: e164.MustParse("+12125550199"), Called: subscriber, OriginalCalled: e164.MustParse("+13035550122"), Redirecting: e164.MustParse("+13035550111"),
		Presentation: policy.PresentationRestricted, Origin: policy.OriginSIP,
		DefaultRoute: true, // ScreeningURI is set: the engine may screen without a route
	}
	host, _, _ := net.SplitHostPort(got.Peer)
	if host != "127.0.0.1" {
		t.Errorf("peer %q", got.Peer)
	}
	got.Peer = ""
	if got != want {
		t.Errorf("call %+v\nwant %+v", got, want)
	}
}

// TestViaAndToTag: RFC 3581 rport/received, RFC 3261 §18.2.2 destination,
// and a To tag that stays the same for a retransmission.
func TestViaAndToTag(t *testing.T) { eachMode(t, testViaAndToTag) }

func testViaAndToTag(t *testing.T, mode testMode) {
	s := startServer(t, mode.config(), newFakeDecider())

	t.Run("rport", func(t *testing.T) {
		c := newUDPClient(t, s)
		r := req{via: "SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bK-rp1;rport", from: "<sip:+12125550101@x>;tag=1"}
		msg := r.String()
		res := c.exchange(msg) // arrives at our socket: the source port, not 5070
		v := res.Via()
		if got, _ := v.Params.Get("rport"); got != itoa(c.port()) {
			t.Errorf("rport=%q, want %d", got, c.port())
		}
		if got, _ := v.Params.Get("received"); got != "127.0.0.1" {
			t.Errorf("received=%q", got)
		}
		if v.Host != "192.0.2.7" || v.Port != 5070 {
			t.Errorf("sent-by changed: %s", v)
		}
		tag, ok := res.To().Params.Get("tag")
		if !ok || tag == "" {
			t.Fatalf("no To tag: %s", res.To())
		}
		if ft, _ := res.From().Params.Get("tag"); ft != "1" {
			t.Errorf("From tag %q", ft)
		}
		if res.CallID() == nil || res.CSeq() == nil || res.CSeq().MethodName != sip.INVITE {
			t.Errorf("Call-ID/CSeq not copied:\n%s", res)
		}
		// A retransmission is answered from the transaction, same tag.
		c.send(msg)
		res2 := c.read(2 * time.Second)
		if res2 == nil {
			t.Fatal("no answer to the retransmission")
		}
		if tag2, _ := res2.To().Params.Get("tag"); tag2 != tag || res2.StatusCode != res.StatusCode {
			t.Errorf("retransmission got %d tag %q, first %d tag %q", res2.StatusCode, tag2, res.StatusCode, tag)
		}
	})

	t.Run("no rport goes to the Via port", func(t *testing.T) {
		sender := newUDPClient(t, s)
		listener := newUDPClient(t, s)
		r := req{via: "SIP/2.0/UDP 127.0.0.1:" + itoa(listener.port()) + ";branch=z9hG4bK-np1", from: "<sip:+12125550101@x>;tag=1"}
		sender.send(r.String())
		res := listener.read(2 * time.Second)
		if res == nil {
			t.Fatal("no response at the Via port")
		}
		if res.Via().Params.Has("rport") || res.Via().Params.Has("received") {
			t.Errorf("Via changed although sent-by matches the source: %s", res.Via())
		}
		if extra := sender.read(200 * time.Millisecond); extra != nil {
			t.Errorf("response also went to the source port")
		}
	})

	t.Run("received for a host name", func(t *testing.T) {
		listener := newUDPClient(t, s)
		// sent-by is a name: received is added; the port is the Via port.
		r := req{via: "SIP/2.0/UDP client.invalid:" + itoa(listener.port()) + ";branch=z9hG4bK-rc1", from: "<sip:+12125550101@x>;tag=1"}
		listener.send(r.String())
		res := listener.read(2 * time.Second)
		if res == nil {
			t.Fatal("no response")
		}
		if got, _ := res.Via().Params.Get("received"); got != "127.0.0.1" {
			t.Errorf("received=%q: %s", got, res.Via())
		}
	})

	t.Run("multiple Via kept in order", func(t *testing.T) {
		c := newUDPClient(t, s)
		r := req{extra: nil}
		msg := strings.Replace(r.String(), "Max-Forwards:", "Via: SIP/2.0/UDP proxy1.example;branch=z9hG4bK-p1, SIP/2.0/TCP proxy2.example:5061;branch=z9hG4bK-p2\r\nMax-Forwards:", 1)
		res := c.exchange(msg)
		var hops []string
		for _, h := range res.GetHeaders("Via") {
			hops = append(hops, h.(*sip.ViaHeader).Host)
		}
		if strings.Join(hops, ",") != "127.0.0.1,proxy1.example,proxy2.example" {
			t.Errorf("Via hops %v", hops)
		}
	})
}

// TestTransactionAbsorbsACK: the 302 is retransmitted until the ACK
// (Timer G, 500 ms), and the ACK itself gets no answer.
func TestTransactionAbsorbsACK(t *testing.T) {
	s := startServer(t, statefulConfig(), newFakeDecider())

	c := newUDPClient(t, s)
	r := req{from: "<sip:+12125550102@x>;tag=1", via: "SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-ack1;rport"}
	res := c.exchange(r.String())
	if res.StatusCode != 603 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if again := c.read(1500 * time.Millisecond); again == nil || again.StatusCode != 603 {
		t.Fatalf("no retransmission of the final response without ACK (got %v)", again)
	}
	tag, _ := res.To().Params.Get("tag")
	ack := strings.Join([]string{
		"ACK sip:+13035550100@callgate.example;user=phone SIP/2.0",
		"Via: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-ack1;rport",
		"Max-Forwards: 70",
		"From: <sip:+12125550102@x>;tag=1",
		"To: <sip:+13035550100@callgate.example;user=phone>;tag=" + tag,
		"Call-ID: " + res.CallID().Value(),
		"CSeq: 1 ACK",
		"Content-Length: 0", "", ""}, "\r\n")
	c.send(ack)
	// Drain a retransmission already in flight, then expect silence.
	deadline := time.Now().Add(2500 * time.Millisecond)
	quietSince := time.Now()
	for time.Now().Before(deadline) {
		if r := c.read(300 * time.Millisecond); r != nil {
			if time.Since(quietSince) > 600*time.Millisecond {
				t.Fatalf("response %d after the ACK was absorbed", r.StatusCode)
			}
			quietSince = time.Now()
		}
	}
	// A stray ACK (no transaction) gets no answer either.
	c.send(strings.Replace(ack, "z9hG4bK-ack1", "z9hG4bK-stray", 1))
	if r := c.read(400 * time.Millisecond); r != nil {
		t.Fatalf("stray ACK answered with %d", r.StatusCode)
	}
}

// TestCancel is the stateful UDP path's CANCEL (see TestStatelessCancel).
func TestCancel(t *testing.T) {
	t.Run("after the final response", func(t *testing.T) {
		s := startServer(t, statefulConfig(), newFakeDecider())
		c := newUDPClient(t, s)
		r := req{via: "SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-c1;rport", callID: "cancel-1@test", from: "<sip:+12125550101@x>;tag=1"}
		if res := c.exchange(r.String()); res.StatusCode != 302 {
			t.Fatalf("INVITE: %d", res.StatusCode)
		}
		cancel := req{method: "CANCEL", via: r.via, callID: r.callID, from: r.from, cseq: "1 CANCEL"}
		res := c.exchange(cancel.String())
		for res != nil && res.StatusCode == 302 { // a Timer G retransmission
			res = c.read(time.Second)
		}
		if res == nil || res.StatusCode != 200 || res.CSeq().MethodName != sip.CANCEL {
			t.Fatalf("CANCEL of a completed INVITE: %v", res)
		}
	})
	t.Run("no transaction", func(t *testing.T) {
		s := startServer(t, statefulConfig(), newFakeDecider())
		c := newUDPClient(t, s)
		res := c.exchange(req{method: "CANCEL", cseq: "1 CANCEL"}.String())
		if res.StatusCode != 481 {
			t.Fatalf("CANCEL without transaction: %d %s", res.StatusCode, res.Reason)
		}
	})
	t.Run("pending INVITE", func(t *testing.T) {
		d := newFakeDecider()
		d.block = make(chan struct{})
		s := startServer(t, statefulConfig(), d)
		defer close(d.block)
		c := newUDPClient(t, s)
		r := req{via: "SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-c3;rport", callID: "cancel-3@test"}
		c.send(r.String())
		// The engine is slow: 100 Trying comes after 200 ms (Timer 1xx).
		trying := c.read(2 * time.Second)
		if trying == nil || trying.StatusCode != 100 {
			t.Fatalf("no 100 Trying for a slow decision: %v", trying)
		}
		if trying.To().Params.Has("tag") {
			t.Errorf("100 Trying with a To tag")
		}
		cancel := req{method: "CANCEL", via: r.via, callID: r.callID, from: "", cseq: "1 CANCEL"}
		cmsg := strings.Replace(cancel.String(), "From: <sip:+12125550199@sbc.example;user=phone>;tag=f"+itoa(seq), "From: <sip:+12125550199@sbc.example;user=phone>;tag=f"+itoa(seq-1), 1)
		c.send(cmsg)
		got := map[int]bool{}
		for i := 0; i < 2; i++ {
			res := c.read(2 * time.Second)
			if res == nil {
				break
			}
			got[res.StatusCode] = true
		}
		if !got[200] || !got[487] {
			t.Fatalf("CANCEL of a pending INVITE: got %v, want 200 (CANCEL) and 487 (INVITE)", got)
		}
		// The decision finishing later must not replace the 487: a
		// retransmitted INVITE still gets 487.
		d.block <- struct{}{}
		time.Sleep(50 * time.Millisecond)
		c.send(r.String())
		for {
			res := c.read(2 * time.Second)
			if res == nil {
				t.Fatal("no answer to the retransmitted INVITE")
			}
			if res.CSeq().MethodName == sip.INVITE {
				if res.StatusCode != 487 {
					t.Fatalf("retransmitted INVITE after CANCEL answered %d", res.StatusCode)
				}
				break
			}
		}
	})
}

// TestUDPNoTryingForImmediateAnswer: a fast decision needs no 100 Trying.
func TestUDPNoTryingForImmediateAnswer(t *testing.T) { eachMode(t, testUDPNoTryingForImmediateAnswer) }

func testUDPNoTryingForImmediateAnswer(t *testing.T, mode testMode) {
	s := startServer(t, mode.config(), newFakeDecider())
	c := newUDPClient(t, s)
	if res := c.exchange(req{}.String()); res.StatusCode != 302 {
		t.Fatalf("first response %d, want the final 302 directly", res.StatusCode)
	}
}

func TestOptionsAndOtherMethods(t *testing.T) { eachMode(t, testOptionsAndOtherMethods) }

func testOptionsAndOtherMethods(t *testing.T, mode testMode) {
	s := startServer(t, mode.config(), newFakeDecider())
	c := newUDPClient(t, s)
	for _, mf := range []string{"70", "0"} {
		res := c.exchange(req{method: "OPTIONS", ruri: "sip:callgate.example", to: "<sip:callgate.example>", maxFwd: mf}.String())
		if res.StatusCode != 200 {
			t.Fatalf("OPTIONS (Max-Forwards %s): %d", mf, res.StatusCode)
		}
		if header(res, "Allow") != allowMethods || header(res, "Accept") != "application/sdp" {
			t.Errorf("OPTIONS without Allow/Accept:\n%s", res)
		}
	}
	for _, m := range []string{"BYE", "REGISTER", "SUBSCRIBE", "MESSAGE", "INFO", "PRACK", "UPDATE"} {
		res := c.exchange(req{method: m}.String())
		if res.StatusCode != 405 || header(res, "Allow") != allowMethods {
			t.Errorf("%s: %d, Allow %q", m, res.StatusCode, header(res, "Allow"))
		}
	}
}

func TestInviteChecks(t *testing.T) { eachMode(t, testInviteChecks) }

func testInviteChecks(t *testing.T, mode testMode) {
	s := startServer(t, mode.config(), newFakeDecider())
	c := newUDPClient(t, s)
	cases := []struct {
		name   string
		r      req
		code   int
		reason string
		hdr    [2]string
	}{
		{"max-forwards 0", req{maxFwd: "0"}, 483, "Too Many Hops", [2]string{}},
		{"max-forwards 1", req{maxFwd: "1"}, 302, "Moved Temporarily", [2]string{}},
		{"re-INVITE", req{to: "<sip:+13035550100@callgate.example>;tag=abc"}, 481, "Call/Transaction Does Not Exist", [2]string{}},
		{"require", req{extra: []string{"Require: 100rel"}}, 420, "Bad Extension", [2]string{"Unsupported", "100rel"}},
		{"mailto scheme", req{ruri: "mailto:someone@example.com", to: "<sip:x@y>"}, 416, "Unsupported URI Scheme", [2]string{}},
		{"no number", req{ruri: "sip:alice@callgate.example", to: "<sip:alice@callgate.example>"}, 404, "Not A Telephone Number", [2]string{}},
		{"number in To only", req{ruri: "sip:callgate.example", to: "<sip:+13035550999@callgate.example>"}, 302, "Moved Temporarily", [2]string{}},
	}
	for _, tc := range cases {
		res := c.exchange(tc.r.String())
		if res.StatusCode != tc.code || res.Reason != tc.reason {
			t.Errorf("%s: %d %q, want %d %q", tc.name, res.StatusCode, res.Reason, tc.code, tc.reason)
		}
		if tc.hdr[0] != "" && header(res, tc.hdr[0]) != tc.hdr[1] {
			t.Errorf("%s: %s %q, want %q", tc.name, tc.hdr[0], header(res, tc.hdr[0]), tc.hdr[1])
		}
	}
}

func TestOverload(t *testing.T) { eachMode(t, testOverload) }

func testOverload(t *testing.T, mode testMode) {
	t.Run("in flight", func(t *testing.T) {
		d := newFakeDecider()
		d.block = make(chan struct{})
		cfg := mode.config()
		cfg.MaxInFlight = 1
		cfg.RetryAfter = 7 * time.Second
		s := startServer(t, cfg, d)
		c := newUDPClient(t, s)
		c.send(req{}.String()) // occupies the only slot
		time.Sleep(50 * time.Millisecond)
		c2 := newUDPClient(t, s)
		res := c2.exchange(req{}.String())
		if res.StatusCode != 503 || header(res, "Retry-After") != "7" {
			t.Fatalf("overload: %d Retry-After %q", res.StatusCode, header(res, "Retry-After"))
		}
		close(d.block)
		for {
			r := c.read(2 * time.Second)
			if r == nil {
				t.Fatal("blocked call never answered")
			}
			if r.StatusCode == 302 {
				break
			}
		}
		if res := c2.exchange(req{}.String()); res.StatusCode != 302 {
			t.Fatalf("after the slot freed: %d", res.StatusCode)
		}
		if s.Stats().Overload != 1 {
			t.Errorf("overload count %d", s.Stats().Overload)
		}
	})
	t.Run("rate", func(t *testing.T) {
		cfg := mode.config()
		cfg.MaxRate = 0.5 // one call per two seconds
		cfg.RateBurst = 1
		s := startServer(t, cfg, newFakeDecider())
		c := newUDPClient(t, s)
		if res := c.exchange(req{}.String()); res.StatusCode != 302 {
			t.Fatalf("first call: %d", res.StatusCode)
		}
		res := c.exchange(req{}.String())
		if res.StatusCode != 503 || header(res, "Retry-After") != "5" {
			t.Fatalf("over rate: %d Retry-After %q", res.StatusCode, header(res, "Retry-After"))
		}
		// OPTIONS is not rate limited: keep-alives must keep working.
		if res := c.exchange(req{method: "OPTIONS"}.String()); res.StatusCode != 200 {
			t.Fatalf("OPTIONS under overload: %d", res.StatusCode)
		}
	})
}

func TestTagging(t *testing.T) { eachMode(t, testTagging) }

func testTagging(t *testing.T, mode testMode) {
	cfg := mode.config()
	cfg.Tagger = AttestationTagger
	s := startServer(t, cfg, newFakeDecider())
	c := newUDPClient(t, s)
	res := c.exchange(req{from: "<sip:+12125550101@x>;tag=1"}.String())
	if res.StatusCode != 302 || header(res, HeaderVerstat) != "No-TN-Validation" || header(res, HeaderDisplayPrefix) != "unknown" {
		t.Fatalf("tagging headers missing:\n%s", res)
	}
	// Off by default.
	s2 := startServer(t, mode.config(), newFakeDecider())
	c2 := newUDPClient(t, s2)
	if res := c2.exchange(req{from: "<sip:+12125550101@x>;tag=1"}.String()); header(res, HeaderVerstat) != "" {
		t.Fatalf("tagging without a Tagger")
	}
	for _, tc := range []struct {
		a      policy.Attestation
		verst  string
		prefix string
	}{
		{policy.AttestationA, "TN-Validation-Passed", "verified"},
		{policy.AttestationB, "TN-Validation-Passed", "unknown"},
		{policy.AttestationC, "TN-Validation-Passed", "unknown"},
		{policy.AttestationFailed, "TN-Validation-Failed", "unknown"},
		{policy.AttestationNone, "No-TN-Validation", "unknown"},
	} {
		hs := AttestationTagger(&policy.Call{Attestation: tc.a}, &policy.Decision{})
		m := map[string]string{}
		for _, h := range hs {
			m[h.Name] = h.Value
		}
		if m[HeaderVerstat] != tc.verst || m[HeaderDisplayPrefix] != tc.prefix {
			t.Errorf("attestation %d: %v", tc.a, m)
		}
	}
}

func itoa(n int) string { return string(appendInt(nil, n)) }
