package b2bua

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/policy/token"
)

// offerSDP is a caller's offer with the given formats.
func offerSDP(port int, formats string, extra ...string) string {
	s := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " + strconv.Itoa(port) + " RTP/AVP " + formats + "\r\n"
	for _, l := range extra {
		s += l + "\r\n"
	}
	return s
}

// rawInvite sends one INVITE with body (no media behind it) and returns
// the final response.
func (h *harness) rawInvite(t *testing.T, ruri string, body string, extra ...sip.Header) *sip.Response {
	t.Helper()
	return h.rawInviteTyped(t, ruri, body, "application/sdp", extra...)
}

// rawInviteTyped is rawInvite with a body of Content-Type ct.
func (h *harness) rawInviteTyped(t *testing.T, ruri, body, ct string, extra ...sip.Header) *sip.Response {
	t.Helper()
	return h.send(t, h.rawInviteRequest(t, ruri, body, ct, extra...))
}

// rawInviteRequest is the INVITE rawInviteTyped sends.
func (h *harness) rawInviteRequest(t *testing.T, ruri, body, ct string, extra ...sip.Header) *sip.Request {
	t.Helper()
	var u sip.Uri
	if err := sip.ParseUri(ruri, &u); err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.INVITE, u)
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: nCaller.String(), Host: "127.0.0.1"}, Params: sip.NewParams()})
	req.From().Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: nSub.String(), Host: "127.0.0.1"}, Params: sip.NewParams()})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: h.call.port}})
	for _, x := range extra {
		req.AppendHeader(x)
	}
	if body != "" {
		req.AppendHeader(sip.NewHeader("Content-Type", ct))
		req.SetBody([]byte(body))
	}
	return req
}

// send sends req from the caller's user agent and returns the final
// response.
func (h *harness) send(t *testing.T, req *sip.Request) *sip.Response {
	t.Helper()
	cli, err := sipgo.NewClient(h.call.ua, sipgo.WithClientLogger(testQuiet))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cli.Do(ctx, req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Recipient.String(), err)
	}
	return res
}

func (h *harness) screenURI(tok string) string {
	u := "sip:screen@127.0.0.1:" + strconv.Itoa(h.port())
	if tok != "" {
		u += ";" + token.URIParam + "=" + tok
	}
	return u
}

func signWith(t *testing.T, k token.Key, c token.Claims) string {
	sg, err := token.NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sg.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A token that does not verify, or was made for another call, gets 403
// with a reason phrase and no treatment.
func TestTokenRefused(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, nil, WithRegisterer(reg))
	good := token.Claims{Action: policy.ActionScreen, Called: nSub, Calling: nCaller, Expires: time.Now().Add(time.Minute)}
	other := good
	other.Calling = e164.MustParse("+12125550000")
	expired := good
	expired.Expires = time.Now().Add(-time.Minute)
	forgedKey := token.Key{ID: 1, Secret: []byte("another secret, another secret!!")}
	cases := []struct {
		name, tok, phrase, reason string
	}{
		{"forged", signWith(t, forgedKey, good), "Screening Token Invalid", "token-forged"},
		{"expired", signWith(t, testKey, expired), "Screening Token Expired", "token-expired"},
		{"unknown key", signWith(t, token.Key{ID: 9, Secret: testKey.Secret}, good), "Screening Token Key Unknown", "token-unknown-key"},
		{"malformed", "not!a!token", "Screening Token Malformed", "token-malformed"},
		{"other numbers", signWith(t, testKey, other), "Screening Token Does Not Match Call", "token-mismatch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.rawInvite(t, h.screenURI(tc.tok), offerSDP(40000, "0 101"))
			if res.StatusCode != 403 || res.Reason != tc.phrase {
				t.Errorf("got %d %s, want 403 %s", res.StatusCode, res.Reason, tc.phrase)
			}
			if n := testutil.ToFloat64(h.s.m.refused.WithLabelValues(tc.reason)); n != 1 {
				t.Errorf("refused{%s} = %v", tc.reason, n)
			}
		})
	}
	if h.subIn.Load() != nil {
		t.Error("a refused token reached the subscriber")
	}
	if recs, _ := h.dlog.Search(decisionlog.Query{Number: nSub}); len(recs) != 0 {
		t.Errorf("a refused token was recorded as a call: %v", recs)
	}
}

func TestNotForUs(t *testing.T) {
	for _, code := range []int{404, 403} {
		h := newHarness(t, func(c *Config) { c.NotForUs = code })
		res := h.rawInvite(t, "sip:+13035550100@127.0.0.1:"+strconv.Itoa(h.port()), offerSDP(40000, "0"))
		if res.StatusCode != code {
			t.Errorf("NotForUs %d: got %d %s", code, res.StatusCode, res.Reason)
		}
		// A routing number without a diverting number is not for us either.
		res = h.rawInvite(t, "sip:"+nRouting.String()+"@127.0.0.1:"+strconv.Itoa(h.port()), offerSDP(40000, "0"))
		if res.StatusCode != code {
			t.Errorf("NotForUs %d, no Diversion: got %d %s", code, res.StatusCode, res.Reason)
		}
	}
}

// askDecider records the call it was asked about.
type askDecider struct {
	d     policy.Decision
	asked chan policy.Call
	delay time.Duration
	panic bool
}

func (a *askDecider) Decide(ctx context.Context, c policy.Call) policy.Decision {
	a.asked <- c
	if a.panic {
		panic("engine bug")
	}
	time.Sleep(a.delay)
	return a.d
}

// The AIN path: a gateway INVITE to a routing number, the subscriber in
// Diversion; the engine is asked about the original called number.
func TestGatewayCall(t *testing.T) {
	dec := &askDecider{d: policy.Decision{Action: policy.ActionBlock}, asked: make(chan policy.Call, 1)}
	h := newHarness(t, nil, WithGuard(policy.NewGuard(dec, testQuiet)))
	div := sip.NewHeader("Diversion", "<sip:"+nSub.String()+"@ssp.example>;reason=unconditional;counter=1")
	res := h.rawInvite(t, "sip:"+nRouting.String()+"@127.0.0.1:"+strconv.Itoa(h.port())+";user=phone", offerSDP(40000, "0 101"), div)
	if res.StatusCode != 603 {
		t.Errorf("blocked gateway call: got %d %s, want 603", res.StatusCode, res.Reason)
	}
	q := <-dec.asked
	if q.Called != nSub || q.Calling != nCaller || q.OriginalCalled != 0 || q.Origin != policy.OriginAIN {
		t.Errorf("engine asked %+v, want %s -> %s as AIN", q, nCaller, nSub)
	}
	steps := h.waitStep("end", "rejected")
	if got := stepString(steps); got != "reject=plain end=rejected" {
		t.Errorf("steps %q", got)
	}
	recs, _ := h.dlog.Search(decisionlog.Query{Number: nSub})
	if len(recs) != 1 || recs[0].Action != policy.ActionBlock || recs[0].Origin != policy.OriginSIP {
		t.Errorf("records %v", recs)
	}
}

// A gateway call for a subscriber the call had been forwarded to (A calls
// B, B forwards to the subscriber, whose Termination_Attempt the SCP
// answers with forwardCall to the route): the engine is asked about the
// subscriber, the newest diversion, not about B, the original called
// number (which is no subscriber: the call would ring unscreened, back
// towards B).
func TestGatewayCallForwardedTwice(t *testing.T) {
	dec := &askDecider{d: policy.Decision{Action: policy.ActionBlock}, asked: make(chan policy.Call, 1)}
	h := newHarness(t, nil, WithGuard(policy.NewGuard(dec, testQuiet)))
	first := e164.MustParse("+12125550177")
	ruri := "sip:" + nRouting.String() + "@127.0.0.1:" + strconv.Itoa(h.port()) + ";user=phone"
	for _, hdrs := range [][]sip.Header{
		{sip.NewHeader("Diversion", "<sip:"+nSub.String()+"@ssp.example>;reason=unconditional;counter=2, <tel:"+first.String()+">;reason=unconditional;counter=1")},
		{sip.NewHeader("Diversion", "<sip:"+nSub.String()+"@ssp.example>;reason=unconditional;counter=2"),
			sip.NewHeader("Diversion", "<tel:"+first.String()+">;reason=unconditional;counter=1")},
	} {
		res := h.rawInvite(t, ruri, offerSDP(40000, "0"), hdrs...)
		if res.StatusCode != 603 {
			t.Errorf("blocked gateway call: got %d %s, want 603", res.StatusCode, res.Reason)
		}
		q := <-dec.asked
		if q.Called != nSub || q.OriginalCalled != first || q.Calling != nCaller || q.Origin != policy.OriginAIN {
			t.Errorf("engine asked %+v, want %s -> %s (first meant for %s) as AIN", q, nCaller, nSub, first)
		}
		h.waitStep("end", "rejected")
	}
}

// A gateway call whose decision is late gets 503 with Retry-After; one
// whose engine panicked 500.
func TestGatewayDecisionFaults(t *testing.T) {
	div := sip.NewHeader("Diversion", "<sip:"+nSub.String()+"@ssp.example>;reason=unconditional")
	for _, tc := range []struct {
		dec  *askDecider
		code int
	}{
		{&askDecider{d: policy.Decision{Action: policy.ActionBlock}, delay: 300 * time.Millisecond, asked: make(chan policy.Call, 1)}, 503},
		{&askDecider{panic: true, asked: make(chan policy.Call, 1)}, 500},
	} {
		h := newHarness(t, func(c *Config) { c.DecideTimeout = 50 * time.Millisecond }, WithGuard(policy.NewGuard(tc.dec, testQuiet)))
		res := h.rawInvite(t, "sip:"+nRouting.String()+"@127.0.0.1:"+strconv.Itoa(h.port()), offerSDP(40000, "0"), div)
		if res.StatusCode != tc.code {
			t.Errorf("got %d %s, want %d", res.StatusCode, res.Reason, tc.code)
		}
		if tc.code == 503 && res.GetHeader("Retry-After") == nil {
			t.Error("503 without Retry-After")
		}
	}
}

func TestSDPRefused(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.token(policy.Decision{Action: policy.ActionScreen})
	for _, tc := range []struct {
		name, sdp string
		code      int
		phrase    string
	}{
		{"no PCMU or PCMA", offerSDP(40000, "18 101", "a=rtpmap:18 G729/8000"), 488, "PCMU or PCMA Required"},
		{"SRTP", strings.Replace(offerSDP(40000, "0"), "RTP/AVP", "RTP/SAVP", 1), 488, "SRTP Requires SIP over TLS"},
		{"garbage", "hello world\r\n", 400, "Malformed SDP: line is not type=value"},
		{"bad c=", strings.Replace(offerSDP(40000, "0"), "c=IN IP4 127.0.0.1", "c=IN IP4", 1), 400, "Malformed SDP: c= is not IN IP4|IP6 address"},
		{"SRTP only, beside video", strings.Replace(offerSDP(40000, "0"), "RTP/AVP", "RTP/SAVP", 1) + "m=video 40002 RTP/AVP 96\r\n", 488, "SRTP Requires SIP over TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.rawInvite(t, h.screenURI(tok), tc.sdp)
			if res.StatusCode != tc.code || res.Reason != tc.phrase {
				t.Errorf("got %d %q, want %d %q", res.StatusCode, res.Reason, tc.code, tc.phrase)
			}
		})
	}
	// A compressed body is not read as SDP (RFC 3261 §8.2.3).
	res := h.rawInvite(t, h.screenURI(tok), offerSDP(40000, "0"), sip.NewHeader("Content-Encoding", "gzip"))
	if ae := res.GetHeader("Accept-Encoding"); res.StatusCode != 415 || res.Reason != "Unsupported Content Encoding" || ae == nil || ae.Value() != "identity" {
		t.Errorf("gzip: %d %q, Accept-Encoding %v", res.StatusCode, res.Reason, ae)
	}
}

// Beyond MaxSessions, and when no RTP port is free, INVITEs get 503 with
// Retry-After.
func TestOverload503(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxSessions = 1; c.PINFirstDigit = 30 * time.Second })
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7})), false)
	if c.err != nil {
		t.Fatal(c.err)
	}
	res := h.rawInvite(t, h.screenURI(h.token(policy.Decision{Action: policy.ActionScreen})), offerSDP(40000, "0"))
	if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil || res.GetHeader("Retry-After").Value() != "5" {
		t.Errorf("over the session limit: got %d %v", res.StatusCode, res.GetHeader("Retry-After"))
	}
	_ = c.d.Hangup(ctx)
	h.waitStep("end", "abandoned")
}

// No RTP port free: 503 with Retry-After, counted in overload{ports}.
//
// diago keeps the RTP range and a rotating offset into it in package
// variables, and the offset outlives a range: after a larger one (the
// leak test's, under -count=2 or more), the start plus the offset lies past
// this small range's end, and diago then opens no socket and reports no
// error (the call is answered without media, and closing it panics). So
// the range is exhausted in a test process of its own.
func TestRTPPortsExhausted(t *testing.T) {
	if os.Getenv(portsAloneEnv) == "" {
		runAlone(t, "TestRTPPortsExhausted", portsAloneEnv)
		return
	}
	// Hold every port of a small range, as another process would.
	var base int
	var held []net.PacketConn
	for try := 0; try < 50 && base == 0; try++ {
		b := 41000 + 4*(int(time.Now().UnixNano()/1000)%2000)
		var got []net.PacketConn
		for p := b; p < b+4; p++ {
			c, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				break
			}
			got = append(got, c)
		}
		if len(got) == 4 {
			base, held = b, got
		} else {
			for _, c := range got {
				c.Close()
			}
		}
	}
	if base == 0 {
		t.Fatal("no free port range to hold")
	}
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	h := newHarness(t, func(c *Config) { c.RTPPortMin, c.RTPPortMax = base, base+3 })
	t.Cleanup(func() { media.RTPPortStart, media.RTPPortEnd = 0, 0 })
	res := h.rawInvite(t, h.screenURI(h.token(policy.Decision{Action: policy.ActionScreen})), offerSDP(40000, "0"))
	if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
		t.Errorf("no RTP port: got %d %s %v", res.StatusCode, res.Reason, res.GetHeader("Retry-After"))
	}
	if n := testutil.ToFloat64(h.s.m.overload.WithLabelValues("ports")); n != 1 {
		t.Errorf("overload{ports} = %v", n)
	}
}

// portsAloneEnv marks the process TestRTPPortsExhausted runs alone in.
const portsAloneEnv = "B2BUA_TEST_PORTS_ALONE"

// runAlone runs test in a new process of this test binary, with env set,
// and fails with its output unless it ran and passed.
func runAlone(t *testing.T, test, env string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+test) {
		t.Fatalf("%s in a process of its own: %v\n%s", test, err, out)
	}
}

// infoDTMF sends one digit in a SIP INFO of the caller's dialog.
func infoDTMF(t *testing.T, ctx context.Context, d *diago.DialogClientSession, ct, body string) {
	t.Helper()
	req := sip.NewRequest(sip.INFO, d.InviteResponse.Contact().Address)
	req.AppendHeader(sip.NewHeader("Content-Type", ct))
	req.SetBody([]byte(body))
	res, err := d.Do(ctx, req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("INFO %q: %v %v", body, res, err)
	}
}

// PIN entry by SIP INFO: application/dtmf-relay and application/dtmf.
func TestPINByINFO(t *testing.T) {
	h := newHarness(t, nil)
	subUp := make(chan struct{})
	h.onSubscriber(func(d *diago.DialogServerSession) {
		_ = answerAndListen(t, d)
		close(subUp)
		<-d.Context().Done()
	})
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7})), false)
	if c.err != nil {
		t.Fatal(c.err)
	}
	c.pm.waitHeard(pPINEnter)
	for _, d := range "246" {
		infoDTMF(t, ctx, c.d, "application/dtmf-relay", fmt.Sprintf("Signal=%c\r\nDuration=160\r\n", d))
	}
	infoDTMF(t, ctx, c.d, "application/dtmf", "8")
	infoDTMF(t, ctx, c.d, "application/dtmf-relay", "Signal=11\r\nDuration=160\r\n") // '#'
	<-subUp
	h.waitStep("pin", "right")
	_ = c.d.Hangup(ctx)
}

// Hold by UPDATE and by re-INVITE: the leg is marked on hold (the RTP
// timeout does not apply); an UPDATE that moves the media, or a malformed
// SDP, is refused.
func TestHold(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PINFirstDigit = 30 * time.Second })
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7})), false)
	if c.err != nil {
		t.Fatal(c.err)
	}
	c.pm.waitHeard(pPINEnter)
	l := h.s.legOf(c.d.InviteRequest)
	if l == nil {
		t.Fatal("no caller leg")
	}
	port := c.med.MediaSession().Laddr.Port
	update := func(body string) *sip.Response {
		req := sip.NewRequest(sip.UPDATE, c.d.InviteResponse.Contact().Address)
		if body != "" {
			req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			req.SetBody([]byte(body))
		}
		res, err := c.d.Do(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := update(offerSDP(port, "0 101", "a=rtpmap:101 telephone-event/8000", "a=sendonly"))
	if res.StatusCode != 200 || !strings.Contains(string(res.Body()), "a=recvonly") || !l.hold.Load() {
		t.Errorf("UPDATE hold: %d %q, hold %v", res.StatusCode, res.Body(), l.hold.Load())
	}
	// With a video stream beside the audio (a video phone): the answer
	// rejects it in its place.
	res = update(offerSDP(port, "0", "a=sendonly") + "m=video 40010 RTP/AVP 96\r\n")
	if b := string(res.Body()); res.StatusCode != 200 || !strings.HasSuffix(b, "a=recvonly\r\nm=video 0 RTP/AVP 96\r\n") || !l.hold.Load() {
		t.Errorf("UPDATE hold with video: %d %q, hold %v", res.StatusCode, b, l.hold.Load())
	}
	if res := update(offerSDP(port, "0")); res.StatusCode != 200 || l.hold.Load() {
		t.Errorf("UPDATE resume: %d, hold %v", res.StatusCode, l.hold.Load())
	}
	if res := update(""); res.StatusCode != 200 {
		t.Errorf("UPDATE without SDP: %d", res.StatusCode)
	}
	if res := update(offerSDP(port+10, "0")); res.StatusCode != 488 {
		t.Errorf("UPDATE moving the media: %d %s", res.StatusCode, res.Reason)
	}
	if res := update("v=0\r\nbogus\r\n"); res.StatusCode != 400 {
		t.Errorf("UPDATE with malformed SDP: %d %s", res.StatusCode, res.Reason)
	}
	if err := c.d.Hold(ctx); err != nil {
		t.Fatalf("re-INVITE hold: %v", err)
	}
	if !l.hold.Load() {
		t.Error("re-INVITE sendonly did not put the leg on hold")
	}
	if err := c.d.Unhold(ctx); err != nil {
		t.Fatalf("re-INVITE resume: %v", err)
	}
	if l.hold.Load() {
		t.Error("re-INVITE sendrecv left the leg on hold")
	}
	_ = c.d.Hangup(ctx)
	h.waitStep("end", "abandoned")
}
