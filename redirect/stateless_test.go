package redirect

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"callgate/policy"
	"callgate/policy/token"
)

// readRaw returns the next datagram's bytes, or nil after wait.
func (c *udpClient) readRaw(wait time.Duration) []byte {
	buf := make([]byte, 65536)
	c.conn.SetReadDeadline(time.Now().Add(wait))
	n, _, err := c.conn.ReadFromUDP(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

func parseResponse(t testing.TB, b []byte) *sip.Response {
	t.Helper()
	m, err := newLenientParser().ParseSIP(b)
	if err != nil {
		t.Fatalf("unparseable response %q: %v", b, err)
	}
	res, ok := m.(*sip.Response)
	if !ok {
		t.Fatalf("not a response: %q", b)
	}
	return res
}

// TestStatelessRetransmission: a retransmitted INVITE gets a byte-identical
// response (To tag, Contact and its token included) without any state but
// the token-expiry table, also across a second boundary.
func TestStatelessRetransmission(t *testing.T) {
	s := startServer(t, testConfig(), newFakeDecider())
	for _, tc := range []struct {
		name string
		r    req
		code int
	}{
		{"screen", req{}, 302},
		{"allow", req{from: "<sip:+12125550101@x>;tag=1"}, 302},
		{"block", req{from: "<sip:+12125550102@x>;tag=1"}, 603},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newUDPClient(t, s)
			msg := tc.r.String()
			c.send(msg)
			first := c.readRaw(2 * time.Second)
			if first == nil {
				t.Fatal("no response")
			}
			if res := parseResponse(t, first); res.StatusCode != tc.code {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.code)
			}
			if tc.name == "screen" {
				time.Sleep(1100 * time.Millisecond) // the token's clock moves on
			}
			c.send(msg)
			again := c.readRaw(2 * time.Second)
			if !bytes.Equal(first, again) {
				t.Fatalf("retransmission answered differently:\n%s\n---\n%s", first, again)
			}
			// A new transaction (other branch) of the same call gets
			// another To tag.
			other := c.exchange(strings.Replace(msg, ";branch=z9hG4bK-t", ";branch=z9hG4bK-u", 1))
			tag1, _ := parseResponse(t, first).To().Params.Get("tag")
			tag2, _ := other.To().Params.Get("tag")
			if tag1 == "" || tag1 == tag2 {
				t.Errorf("To tags %q and %q", tag1, tag2)
			}
		})
	}
	if st := s.Stats(); st.Fallback != 0 || st.FastPath == 0 {
		t.Errorf("stats %+v: the fast path should have answered everything", st)
	}
}

// TestTokenExpiryStable: the token expiry of a transaction stays put while
// valid (table), and is on a coarse clock otherwise.
func TestTokenExpiryStable(t *testing.T) {
	s, err := New(testConfig(), newFakeDecider())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_003, 0)
	s.now = func() time.Time { return now }
	if s.expiryGrain != 7 {
		t.Fatalf("grain %d for a 60s lifetime", s.expiryGrain)
	}
	e1 := s.tokenExpiry(42)
	if ttl := e1.Sub(now); ttl > 60*time.Second || ttl <= 53*time.Second || e1.Unix()%7 != 0 {
		t.Fatalf("expiry %v ttl %s", e1, ttl)
	}
	now = now.Add(20 * time.Second) // a late retransmission
	if e := s.tokenExpiry(42); !e.Equal(e1) {
		t.Errorf("retransmission expiry %v, first %v", e, e1)
	}
	if e := s.tokenExpiry(43); e.Equal(e1) {
		t.Errorf("another transaction 20s later has the same expiry")
	}
	// Slot reused by another transaction: the coarse clock still gives
	// the same expiry within the grain.
	now = time.Unix(1_800_000_003, 0)
	a := s.tokenExpiry(1 << 40)
	s.tokenExpiry(2<<40 | 0) // same slot (low bits), other key
	now = now.Add(time.Second)
	if e := s.tokenExpiry(1 << 40); !e.Equal(a) {
		t.Errorf("after slot reuse: %v, first %v", e, a)
	}
	// Once expired, a new token is made.
	now = e1.Add(time.Second)
	if e := s.tokenExpiry(42); !e.After(e1) {
		t.Errorf("expired token reused: %v", e)
	}
	for life, g := range map[time.Duration]int64{time.Second: 1, 10 * time.Second: 1, 32 * time.Second: 4, time.Hour: 8} {
		if got := expiryGrainFor(life); got != g {
			t.Errorf("grain(%s) = %d, want %d", life, got, g)
		}
	}
}

// TestStatelessACK: the final response is sent once, and ACKs (ours or
// stray) are absorbed without an answer.
func TestStatelessACK(t *testing.T) {
	s := startServer(t, testConfig(), newFakeDecider())
	c := newUDPClient(t, s)
	r := req{from: "<sip:+12125550102@x>;tag=1", via: "SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-sack1;rport"}
	res := c.exchange(r.String())
	if res.StatusCode != 603 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if again := c.read(1200 * time.Millisecond); again != nil {
		t.Fatalf("stateless server retransmitted its final response: %d", again.StatusCode)
	}
	tag, _ := res.To().Params.Get("tag")
	ack := strings.Join([]string{
		"ACK sip:+13035550100@callgate.example;user=phone SIP/2.0",
		"Via: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-sack1;rport",
		"Max-Forwards: 70",
		"From: <sip:+12125550102@x>;tag=1",
		"To: <sip:+13035550100@callgate.example;user=phone>;tag=" + tag,
		"Call-ID: " + res.CallID().Value(),
		"CSeq: 1 ACK",
		"Content-Length: 0", "", ""}, "\r\n")
	before := s.Stats()
	c.send(ack)
	c.send(strings.Replace(ack, "z9hG4bK-sack1", "z9hG4bK-stray", 1))
	if r := c.read(400 * time.Millisecond); r != nil {
		t.Fatalf("ACK answered with %d", r.StatusCode)
	}
	if st := s.Stats(); st.FastPath != before.FastPath+2 || st.Fallback != before.Fallback {
		t.Errorf("ACKs not absorbed by the fast path: %+v -> %+v", before, st)
	}
}

// TestStatelessCancel: CANCEL gets 481 (RFC 3261 §9.2: a stateless server
// holds no transaction for it to match), whether the INVITE was answered,
// is being decided or was never seen; the INVITE still gets its final
// answer; no 100, no 487.
func TestStatelessCancel(t *testing.T) {
	t.Run("after the final response", func(t *testing.T) {
		s := startServer(t, testConfig(), newFakeDecider())
		c := newUDPClient(t, s)
		r := req{via: "SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-sc1;rport", callID: "scancel-1@test", from: "<sip:+12125550101@x>;tag=1"}
		inv := c.exchange(r.String())
		if inv.StatusCode != 302 {
			t.Fatalf("INVITE: %d", inv.StatusCode)
		}
		cancel := req{method: "CANCEL", via: r.via, callID: r.callID, from: r.from, cseq: "1 CANCEL"}
		res := c.exchange(cancel.String())
		if res.StatusCode != 481 || res.CSeq().MethodName != sip.CANCEL || res.CallID().Value() != "scancel-1@test" {
			t.Fatalf("CANCEL: %d %s", res.StatusCode, res)
		}
		// The To tag is the INVITE's (same branch, Call-ID, From tag and
		// CSeq number, so the same hash), as RFC 3261 §9.2 asks of a
		// response to a CANCEL.
		t1, _ := inv.To().Params.Get("tag")
		t2, _ := res.To().Params.Get("tag")
		if t2 == "" || t1 != t2 {
			t.Errorf("To tag of the 481 to CANCEL %q, of the 302 %q", t2, t1)
		}
		if c.read(300*time.Millisecond) != nil {
			t.Errorf("more than one answer to the CANCEL")
		}
	})
	t.Run("while deciding", func(t *testing.T) {
		d := newFakeDecider()
		d.block = make(chan struct{})
		s := startServer(t, testConfig(), d)
		c := newUDPClient(t, s)
		r := req{via: "SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-sc2;rport", callID: "scancel-2@test", from: "<sip:+12125550101@x>;tag=1"}
		c.send(r.String())
		time.Sleep(100 * time.Millisecond)
		cancel := req{method: "CANCEL", via: r.via, callID: r.callID, from: r.from, cseq: "1 CANCEL"}
		res := c.exchange(cancel.String())
		if res.StatusCode != 481 || res.CSeq().MethodName != sip.CANCEL {
			t.Fatalf("CANCEL of an INVITE being decided: %d", res.StatusCode)
		}
		close(d.block)
		res = c.read(2 * time.Second)
		if res == nil || res.StatusCode != 302 || res.CSeq().MethodName != sip.INVITE {
			t.Fatalf("INVITE after CANCEL: %v", res)
		}
	})
	t.Run("unknown transaction", func(t *testing.T) {
		s := startServer(t, testConfig(), newFakeDecider())
		c := newUDPClient(t, s)
		before := s.Stats()
		res := c.exchange(req{method: "CANCEL", cseq: "1 CANCEL"}.String())
		if res.StatusCode != 481 || res.Reason != "Call/Transaction Does Not Exist" {
			t.Fatalf("CANCEL of an INVITE never seen: %d %s", res.StatusCode, res.Reason)
		}
		if st := s.Stats(); st.FastPath != before.FastPath+1 || st.Other != before.Other+1 {
			t.Errorf("CANCEL not answered by the fast path: %+v -> %+v", before, st)
		}
		// The same through the fallback (sipgo's parser): a CANCEL the
		// scanner leaves alone (an escape in the From display name).
		before = s.Stats()
		res = c.exchange(req{method: "CANCEL", cseq: "2 CANCEL", from: "\"quoted \\\"esc\\\"\" <sip:+1@x>;tag=9"}.String())
		if res.StatusCode != 481 {
			t.Fatalf("CANCEL via the fallback: %d %s", res.StatusCode, res.Reason)
		}
		if st := s.Stats(); st.Fallback != before.Fallback+1 {
			t.Errorf("CANCEL not answered by the fallback: %+v -> %+v", before, st)
		}
	})
}

// TestStatelessSyntax: compact forms, folded lines, several Via headers and
// values, odd case in header names: answered by the fast path, with the
// Vias copied in order and the top one completed.
func TestStatelessSyntax(t *testing.T) {
	s := startServer(t, testConfig(), newFakeDecider())
	cases := []struct {
		name     string
		msg      func(port int) string
		code     int
		contact  string
		vias     []string // expected Via hosts in order
		received string
		fallback bool
	}{
		{
			name: "compact",
			msg: func(int) string {
				return "INVITE sip:+13035550100@callgate.example SIP/2.0\r\n" +
					"v: SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bK-cmp1;rport\r\n" +
					"f: <sip:+12125550101@sbc.example>;tag=c1\r\n" +
					"t: <sip:+13035550100@callgate.example>\r\n" +
					"i: compact-1@test\r\n" +
					"CSeq: 7 INVITE\r\n" +
					"m: <sip:caller@192.0.2.9:5070>\r\n" +
					"c: application/sdp\r\n" +
					"l: 4\r\n\r\nv=0\n"
			},
			code: 302, contact: "sip:+13035550100@gw.carrier.example;user=phone",
			vias: []string{"192.0.2.9"}, received: "127.0.0.1",
		},
		{
			name: "folded and mixed case",
			msg: func(port int) string {
				return "INVITE sip:+13035550100@callgate.example SIP/2.0\r\n" +
					"VIA: SIP/2.0/UDP 127.0.0.1:" + itoa(port) + ";branch=z9hG4bK-fold1,\r\n" +
					"  SIP/2.0/TCP proxy1.example;branch=z9hG4bK-p1\r\n" +
					"via: SIP/2.0/UDP proxy2.example:5080;branch=z9hG4bK-p2;received=198.51.100.1\r\n" +
					"from:\r\n\t\"Alice Caller\"\r\n <sip:+12125550101@sbc.example>;tag=f1\r\n" +
					"To: <sip:+13035550100@callgate.example>\r\n" +
					"call-ID: fold-1@test\r\n" +
					"cseq: 1 INVITE\r\n" +
					"max-FORWARDS: 9\r\n" +
					"P-asserted-identity: <tel:+12125550101>\r\n" +
					"Content-Length: 0\r\n\r\n"
			},
			code: 302, contact: "sip:+13035550100@gw.carrier.example;user=phone",
			vias: []string{"127.0.0.1", "proxy1.example", "proxy2.example"},
		},
		{
			name: "quoted parameter goes to the fallback",
			msg: func(int) string {
				return "INVITE sip:+13035550100@callgate.example SIP/2.0\r\n" +
					"Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-q1;rport;x=\"a b\"\r\n" +
					"From: <sip:+12125550101@sbc.example>;tag=q1\r\n" +
					"To: <sip:+13035550100@callgate.example>\r\n" +
					"Call-ID: quoted-1@test\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
			},
			code: 302, contact: "sip:+13035550100@gw.carrier.example;user=phone",
			vias: []string{"192.0.2.9"}, received: "127.0.0.1", fallback: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newUDPClient(t, s)
			before := s.Stats()
			res := c.exchange(tc.msg(c.port()))
			if res.StatusCode != tc.code {
				t.Fatalf("status %d %s\n%s", res.StatusCode, res.Reason, res)
			}
			if tc.contact != "" && res.Contact().Address.String() != tc.contact {
				t.Errorf("Contact %s", res.Contact().Address.String())
			}
			var hosts []string
			for _, h := range res.GetHeaders("Via") {
				hosts = append(hosts, h.(*sip.ViaHeader).Host)
			}
			if strings.Join(hosts, ",") != strings.Join(tc.vias, ",") {
				t.Errorf("Via hosts %v, want %v\n%s", hosts, tc.vias, res)
			}
			if got, _ := res.Via().Params.Get("received"); got != tc.received {
				t.Errorf("received=%q, want %q", got, tc.received)
			}
			if tc.received != "" {
				if got, _ := res.Via().Params.Get("rport"); got != itoa(c.port()) {
					t.Errorf("rport=%q", got)
				}
			}
			if lower := res.GetHeaders("Via"); len(lower) == 3 {
				if got, _ := lower[2].(*sip.ViaHeader).Params.Get("received"); got != "198.51.100.1" {
					t.Errorf("lower Via changed: %s", lower[2])
				}
			}
			st := s.Stats()
			if used := st.Fallback > before.Fallback; used != tc.fallback {
				t.Errorf("fallback used: %v, want %v", used, tc.fallback)
			}
		})
	}
}

// TestStatelessReceivedReplaced: a received parameter the client put in its
// top Via is replaced by the real source (RFC 3581 §4).
func TestStatelessReceivedReplaced(t *testing.T) {
	s := startServer(t, testConfig(), newFakeDecider())
	c := newUDPClient(t, s)
	res := c.exchange(req{via: "SIP/2.0/UDP 192.0.2.1:5060;received=203.0.113.66;branch=z9hG4bK-rr1;rport"}.String())
	v := res.Via()
	if got, _ := v.Params.Get("received"); got != "127.0.0.1" {
		t.Errorf("received=%q", got)
	}
	if got, _ := v.Params.Get("rport"); got != itoa(c.port()) {
		t.Errorf("rport=%q", got)
	}
	if len(v.Params) != 3 {
		t.Errorf("params %v", v.Params)
	}
}

// TestFastMatchesFallback holds the scanner and sipgo together on a table
// of requests: whatever the scanner accepts must get the same answer as
// through sipgo's parser (FuzzStatelessScan does this on random input).
func TestFastMatchesFallback(t *testing.T) {
	s, d := equivServer(t)
	seeds := append(statelessSeeds(), stirSeeds(t)...)
	fast := 0
	for _, msg := range seeds {
		if checkFastMatchesFallback(t, s, d, []byte(msg)) {
			fast++
		}
	}
	if fast < len(seeds)/2 {
		t.Errorf("only %d of %d seeds took the fast path", fast, len(seeds))
	}
	// SIP-T: the IAM the scanner reads gives the call it gives through
	// sipgo; the one it cannot read goes to the fallback.
	for i, msg := range sipTSeeds() {
		if took := checkFastMatchesFallback(t, s, d, []byte(msg)); took != (i != 1) {
			t.Errorf("SIP-T seed %d: fast path %v", i, took)
		}
	}
}

func equivServer(t testing.TB) (*Server, *fakeDecider) {
	d := newFakeDecider()
	cfg := testConfig()
	cfg.Tagger = AttestationTagger
	cfg.Verifier = equivStir(t).v // Identity headers are verified on both paths
	s, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	s.now = func() time.Time { return now }
	return s, d
}

var equivSrc = netip.MustParseAddrPort("192.0.2.1:5062")

// checkFastMatchesFallback compares the two stateless paths on one
// datagram; it reports whether the fast path took it.
func checkFastMatchesFallback(t testing.TB, s *Server, d *fakeDecider, data []byte) bool {
	t.Helper()
	m := newFastMsg()
	if scanRequest(data, m) != scanOK {
		return false
	}
	r1, r2 := newUDPReader(), newUDPReader()
	d.reset()
	out1, dst1, ok1 := s.handleDatagram(r1, data, equivSrc)
	call1 := d.lastCall()
	out1 = bytes.Clone(out1)
	d.reset()
	out2, dst2, ok2 := s.fallbackDatagram(r2, data, equivSrc)
	call2 := d.lastCall()
	if ok1 != ok2 || (ok1 && dst1 != dst2) {
		t.Fatalf("fast: answer %v to %v, fallback: answer %v to %v\nrequest %q\nfast %q\nfallback %q", ok1, dst1, ok2, dst2, data, out1, out2)
	}
	if call1 != call2 {
		t.Fatalf("calls differ for %q:\nfast     %+v\nfallback %+v", data, call1, call2)
	}
	if !ok1 {
		return true
	}
	res1, res2 := parseResponse(t, out1), parseResponse(t, out2)
	if a, b := res1.String(), res2.String(); a != b {
		t.Fatalf("responses differ for %q:\nfast:\n%s\nfallback:\n%s", data, a, b)
	}
	return true
}

func statelessSeeds() []string {
	base := req{}.String()
	return []string{
		base,
		req{from: "<sip:+12125550101@sbc.example;user=phone>;tag=1", extra: []string{"P-Asserted-Identity: <sip:+12125550101@sbc.example;user=phone>"}}.String(),
		req{from: "<sip:+12125550102@x>;tag=1"}.String(),
		req{ruri: "tel:+1-303-555-0100;npdi", to: "<tel:+13035550100>", extra: []string{"P-Asserted-Identity: \"A\" <sip:+12125550101@a>, <tel:+12125550101>", "Privacy: id;header"}}.String(),
		req{from: "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1", extra: []string{"Diversion: <sip:+13035550111@a>;counter=2, <tel:555-0100;phone-context=+1303>"}}.String(),
		req{extra: []string{"History-Info: <sip:+13035550133@a?Reason=SIP%3Bcause%3D302>;index=1, <sip:+13035550100@b>;index=1.1"}}.String(),
		req{ruri: "sip:3035550200@callgate.example"}.String(),
		req{ruri: "sip:callgate.example", to: "<sip:+13035550999@callgate.example>"}.String(),
		req{ruri: "sip:alice@callgate.example", to: "<sip:alice@callgate.example>"}.String(),
		req{ruri: "mailto:x@y", to: "<sip:x@y>"}.String(),
		req{method: "OPTIONS"}.String(),
		req{method: "OPTIONS", maxFwd: "0"}.String(),
		req{method: "CANCEL", cseq: "1 CANCEL"}.String(),
		req{method: "ACK", cseq: "1 ACK"}.String(),
		req{method: "BYE", cseq: "2 BYE"}.String(),
		req{method: "REGISTER", cseq: "2 REGISTER"}.String(),
		req{maxFwd: "0"}.String(),
		req{cseq: "1 OPTIONS"}.String(),
		req{to: "<sip:+13035550100@callgate.example>;tag=abc"}.String(),
		req{extra: []string{"Require: 100rel", "Require: timer"}}.String(),
		req{via: "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK-x1"}.String(),
		req{via: "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-x2;rport"}.String(),
		req{via: "SIP/2.0/UDP host.example:5070;branch=z9hG4bK-x3;received=10.1.1.1"}.String(),
		req{via: "SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK-x4;rport"}.String(),
		req{via: "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK-x5, SIP/2.0/TCP p.example;branch=z9hG4bK-p;rport=5"}.String(),
		req{via: "SIP/2.0/TCP 192.0.2.1:5062;branch=z9hG4bK-x6"}.String(),
		req{from: "Bob <sip:+12125550101@x>;tag=9", to: "sip:+13035550100@callgate.example"}.String(),
		req{from: "sip:+12125550101@x;tag=9"}.String(),
		req{from: "<sip:anonymous@x>;tag=9"}.String(),
		req{from: "<sip:+12125550101:secret@x:5060;transport=udp?h=v>;tag=9"}.String(),
		req{from: "\"quoted \\\"esc\\\"\" <sip:+1@x>;tag=9"}.String(),
		req{extra: []string{"Record-Route: <sip:p1.example;lr>, <sip:p2.example;lr>", "Route: <sip:r.example;lr>"}}.String(),
		req{extra: []string{"Contact: <sip:a@b>, \"x,y\" <sip:c@d>;q=0.5"}}.String(),
		req{drop: []string{"Call-ID"}}.String(),
		req{drop: []string{"Max-Forwards"}}.String(),
		req{from: "<sip:broken"}.String(),
		req{maxFwd: "seventy"}.String(),
		strings.Replace(base, "Content-Length: 0", "Content-Length: 5", 1),
		strings.Replace(base, "INVITE sip:", "invite sip:", 1),
		strings.Replace(base, "SIP/2.0\r\n", "SIP/3.0\r\n", 1),
		strings.Replace(base, "Max-Forwards: 70\r\n", "Max-Forwards: 70\r\n continued\r\n", 1),
		"INVITE sip:+13035550100@x SIP/2.0\r\nv: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-c;rport\r\nf: <sip:+12125550101@x>;tag=1\r\nt: <sip:+13035550100@x>\r\ni: c@x\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n",
	}
}

// TestStatelessMalformedCounted: malformed datagrams go to the fallback and
// are counted (the 400s themselves are checked in TestMalformedUDP).
func TestStatelessMalformedCounted(t *testing.T) {
	s := startServer(t, testConfig(), newFakeDecider())
	c := newUDPClient(t, s)
	res := c.exchange(req{maxFwd: "seventy"}.String())
	if res.StatusCode != 400 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if st := s.Stats(); st.Fallback != 1 || st.Malformed != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestStatelessIPv6: the stateless path on an IPv6 socket.
func TestStatelessIPv6(t *testing.T) {
	ln, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	ln.Close()
	cfg := testConfig()
	cfg.UDP, cfg.TCP = "[::1]:0", ""
	s := startServer(t, cfg, newFakeDecider())
	conn, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &udpClient{t: t, conn: conn, srv: s.Addr("udp").(*net.UDPAddr)}
	res := c.exchange(req{via: "SIP/2.0/UDP [::1]:9;branch=z9hG4bK-v6;rport", from: "<sip:+12125550101@x>;tag=1"}.String())
	if res.StatusCode != 302 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if got, _ := res.Via().Params.Get("received"); got != "::1" {
		t.Errorf("received=%q", got)
	}
	if s.Stats().FastPath != 1 {
		t.Errorf("not the fast path: %+v", s.Stats())
	}
}

// TestStatelessScreenToken: the token in a stateless 302 is the one the
// B2BUA accepts, for the decision's claims.
func TestStatelessScreenToken(t *testing.T) {
	d := newFakeDecider()
	s := startServer(t, testConfig(), d)
	c := newUDPClient(t, s)
	res := c.exchange(req{ruri: "sip:3035550200@callgate.example"}.String())
	u := contactURI(t, res)
	raw, ok := u.UriParams.Get(token.URIParam)
	if !ok || !strings.HasPrefix(u.String(), "sip:screen-+13035550200@b2bua.acme.example;transport=tcp;cgt=") {
		t.Fatalf("Contact %s", u.String())
	}
	cl, err := token.Verify([]token.Key{testKey}, raw, time.Now())
	if err != nil || cl.Action != policy.ActionScreen || cl.Subscriber != 12 {
		t.Fatalf("claims %+v, %v", cl, err)
	}
}

// TestContactHeadersMoved: URI headers of a screening template stay after
// the token (the token is a URI parameter), on both paths.
func TestContactHeadersMoved(t *testing.T) {
	eachMode(t, func(t *testing.T, mode testMode) {
		cfg := mode.config()
		cfg.ScreeningURI = "sip:screen@b2bua.example;lr?X-Route=a&Y=b"
		s := startServer(t, cfg, newFakeDecider())
		c := newUDPClient(t, s)
		res := c.exchange(req{}.String())
		v := res.Contact().Value()
		i, j := strings.Index(v, ";cgt="), strings.Index(v, "?X-Route=a&Y=b>")
		if !strings.HasPrefix(v, "<sip:screen@b2bua.example;lr;cgt=") || i < 0 || j < i {
			t.Fatalf("Contact %s", v)
		}
		raw := v[i+5 : j]
		if _, err := token.Verify([]token.Key{testKey}, raw, time.Now()); err != nil {
			t.Fatalf("token %q: %v", raw, err)
		}
	})
}
