package b2bua

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"callgate/internal/selfsigned"
	"callgate/policy"

	bsip "callgate/internal/baresiptest"
)

// testCert writes a self-signed certificate for 127.0.0.1 and its key:
// cert.pem, key.pem, and both.pem (baresip's sip_certificate, the two in
// one file). Every party of a test uses it and trusts it.
func testCert(t *testing.T) (cert, key, both string) {
	t.Helper()
	c, err := selfsigned.New("127.0.0.1", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if cert, key, both, err = c.Write(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	return cert, key, both
}

// tlsHarness is a B2BUA with a TLS listener beside its UDP one, whose
// subscriber route is route (a template). It is mutual TLS: clients must
// present cert, as every phone of these tests does.
func tlsHarness(t *testing.T, cert, key, route string) *harness {
	t.Helper()
	return newHarness(t, func(c *Config) {
		c.TLS, c.TLSCertFile, c.TLSKeyFile, c.TLSCAFile, c.TLSClientCAFile = "127.0.0.1:0", cert, key, cert, cert
		if route != "" {
			c.ContinueRoute = route
		}
	})
}

// tlsURI is the screening URI with a token for d on the B2BUA's TLS
// listener, the subscriber's number as its user (see baresipCallerAs).
func (h *harness) tlsURI(d policy.Decision) string {
	_, port, _ := net.SplitHostPort(h.s.TLSAddr())
	u := h.inviteURI(h.token(d))
	u.User, u.Port = nSub.String(), 0
	u.Port, _ = strconv.Atoi(port)
	u.UriParams.Add("transport", "tls")
	return u.String()
}

// SIP over TLS with SRTP on both legs, between two softphones that take
// nothing less (mediaenc=srtp-mand): the caller reaches the B2BUA over
// TLS with an SDES offer, keys the override PIN (RFC 4733 inside SRTP),
// and the B2BUA calls the subscriber at a sips: route, over TLS, offering
// SRTP; each phone hears the other through the bridge, which decrypts one
// leg's SRTP and encrypts it for the other.
func TestBaresipTLSWithSRTP(t *testing.T) {
	t.Parallel()
	cert, key, both := testCert(t)
	sub := startBaresip(t, "subscriber", bsip.Config{AOR: "sip:" + nSub.String() + "@127.0.0.1", Codecs: []string{"g711"},
		AutoAnswer: true, Talk: tonePCM(subscriberVoice, time.Minute, 0), TLSCert: both, TLSCA: cert,
		Params: ";mediaenc=srtp-mand", Trace: true})
	h := tlsHarness(t, cert, key, "sips:{called}@127.0.0.1:"+strconv.Itoa(sub.TLSPort))
	caller := startBaresip(t, "caller", bsip.Config{AOR: "sip:" + nCaller.String() + "@127.0.0.1", Codecs: []string{"g711"},
		Talk: tonePCM(callerVoice, time.Minute, 0), TLSCert: both, TLSCA: cert, Params: ";mediaenc=srtp-mand", Trace: true})
	caller.Command("dial", h.tlsURI(policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7}))
	pinThrough(caller, sub)
	// Both INVITEs came over TLS with an SRTP offer, and both answers
	// are SRTP (srtp-mand would have ended the call otherwise): the
	// caller's phone got an SRTP answer from the B2BUA, and the
	// subscriber's phone an SRTP offer.
	if a := sdpOf(t, caller, "SIP/2.0 200 OK"); !strings.Contains(a, "RTP/SAVP") || strings.Count(a, "a=crypto:") != 1 {
		t.Errorf("the caller's answer is not SRTP with one key:\n%s", a)
	}
	if o := sdpOf(t, sub, "INVITE sips:"); !strings.Contains(o, "RTP/SAVP") || !strings.Contains(o, "a=crypto:") {
		t.Errorf("the subscriber's offer is not SRTP:\n%s", o)
	}
	// A re-INVITE from either phone (new SDES keys, RFC 4568 §7.1.4) is
	// answered, and the two still hear each other: each leg's SRTP is
	// rekeyed on its own.
	reinviteBoth(t, caller, sub)
	hangUp(h, caller, "token=ok pin=right ")
	if got := stepString(h.waitStep("end", "caller-hangup")); !strings.Contains(got, "subscriber=answered bridge=connected") {
		t.Errorf("steps %q", got)
	}
	sub.WaitEvent("CALL_CLOSED")
}

// sdpOf is the first SIP message in p's trace whose start line begins
// with start, that carries SDP.
func sdpOf(t *testing.T, p *baresip, start string) string {
	t.Helper()
	for _, m := range p.SIPMessages() {
		_, rest, _ := strings.Cut(m, "\n")
		if strings.HasPrefix(rest, start) && strings.Contains(rest, "\nv=0") {
			return rest
		}
	}
	t.Fatalf("no %q with SDP in the phone's trace:\n%s", start, strings.Join(p.SIPMessages(), "\n---\n"))
	return ""
}

// An SRTP offer over UDP is refused: its keys crossed the network in the
// clear. The caller's phone (srtp-mand) shows the 488 and its reason.
func TestBaresipSRTPOverUDPRefused(t *testing.T) {
	t.Parallel()
	sub, h := baresipSubscriber(t)
	caller := baresipCallerAs(t, h, policy.Decision{Action: policy.ActionScreen, Subscriber: 7},
		bsip.Config{Codecs: []string{"g711"}, Talk: tonePCM(callerVoice, time.Second, 0), Params: ";mediaenc=srtp-mand"})
	closed := caller.WaitEvent("CALL_CLOSED")
	if p, _ := closed["param"].(string); !strings.Contains(p, "488") || !strings.Contains(p, "SRTP Requires SIP over TLS") {
		t.Errorf("call closed with %q, want 488 SRTP Requires SIP over TLS", p)
	}
	if sub.Saw("CALL_INCOMING") {
		t.Error("the subscriber's phone was called")
	}
}

// A best-effort caller (mediaenc=srtp: SRTP offered, plain RTP taken)
// over TLS gets SRTP; a plain caller over TLS gets plain RTP, and the
// subscriber's leg, at a sip: route over UDP, is plain RTP either way.
func TestBaresipTLSCallerPlainSubscriber(t *testing.T) {
	t.Parallel()
	cert, key, both := testCert(t)
	for _, enc := range []string{";mediaenc=srtp", ""} {
		t.Run("mediaenc="+strings.TrimPrefix(enc, ";mediaenc="), func(t *testing.T) {
			sub := startBaresip(t, "subscriber", bsip.Config{AOR: "sip:" + nSub.String() + "@127.0.0.1", Codecs: []string{"g711"},
				AutoAnswer: true, Talk: tonePCM(subscriberVoice, time.Minute, 0), Trace: true})
			h := tlsHarness(t, cert, key, "sip:{called}@127.0.0.1:"+strconv.Itoa(sub.SIPPort))
			caller := startBaresip(t, "caller", bsip.Config{AOR: "sip:" + nCaller.String() + "@127.0.0.1", Codecs: []string{"g711"},
				Talk: tonePCM(callerVoice, time.Minute, 0), TLSCert: both, TLSCA: cert, Params: enc, Trace: true})
			caller.Command("dial", h.tlsURI(policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7}))
			pinThrough(caller, sub)
			if o := sdpOf(t, caller, "INVITE sip:"); strings.Contains(o, "a=crypto:") != (enc != "") {
				t.Errorf("the caller's offer (mediaenc %q):\n%s", enc, o)
			}
			if a := sdpOf(t, caller, "SIP/2.0 200 OK"); !strings.Contains(a, "RTP/AVP") || strings.Contains(a, "a=crypto:") {
				t.Errorf("the caller's answer is not plain RTP:\n%s", a)
			}
			if o := sdpOf(t, sub, "INVITE sip:"); strings.Contains(o, "RTP/SAVP") || strings.Contains(o, "a=crypto:") {
				t.Errorf("the subscriber's plain leg was offered SRTP:\n%s", o)
			}
			hangUp(h, caller, "token=ok pin=right ")
		})
	}
}

// The transport of an outbound leg follows its URI (sips:, transport=),
// and a TLS target without a TLS listener is an error naming the fix.
func TestLegTransport(t *testing.T) {
	parse := func(s string) sip.Uri {
		var u sip.Uri
		if err := sip.ParseUri(s, &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	all := &Server{udpConn: &net.UDPConn{}, tcpLn: &net.TCPListener{}, tlsLn: &net.TCPListener{}}
	udpOnly := &Server{udpConn: &net.UDPConn{}}
	tcpOnly := &Server{tcpLn: &net.TCPListener{}}
	for _, tc := range []struct {
		s    *Server
		uri  string
		want string
	}{
		{all, "sip:+13035550100@gw.example", "udp"},
		{all, "sip:+13035550100@gw.example;transport=TCP", "tcp"},
		{all, "sip:+13035550100@gw.example;transport=tls", "tls"},
		{all, "sips:+13035550100@gw.example", "tls"},
		{udpOnly, "sip:+13035550100@gw.example;transport=tcp", "udp"},
		{tcpOnly, "sip:+13035550100@gw.example", "tcp"},
		{udpOnly, "sips:+13035550100@gw.example", "error"},
	} {
		got, err := tc.s.legTransport(parse(tc.uri))
		if err != nil {
			if !strings.Contains(err.Error(), "b2bua.tls") {
				t.Errorf("%s: error %q does not name b2bua.tls", tc.uri, err)
			}
			got = "error"
		}
		if got != tc.want {
			t.Errorf("%s: %s, want %s", tc.uri, got, tc.want)
		}
	}
}

// fakeTx records the responses of a server transaction.
type fakeTx struct {
	sip.ServerTransaction
	sent []*sip.Response
}

func (f *fakeTx) Respond(res *sip.Response) error { f.sent = append(f.sent, res); return nil }

// An INVITE to a sips: URI is answered with a sips: Contact (RFC 3261
// §12.1.1), where diago's on the TLS transport is sip:;transport=tls.
func TestSIPSContact(t *testing.T) {
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sips", User: "screen", Host: "127.0.0.1"})
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	c := &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "callgate-b2bua", Host: "127.0.0.1", Port: 5071, UriParams: sip.NewParams()}}
	c.Address.UriParams.Add("transport", "tls")
	res.AppendHeader(c)
	f := &fakeTx{}
	if err := (&sipsTx{ServerTransaction: f}).Respond(res); err != nil {
		t.Fatal(err)
	}
	if got := f.sent[0].Contact().Address.String(); got != "sips:callgate-b2bua@127.0.0.1:5071" {
		t.Errorf("Contact %s", got)
	}
}

// With SRTP turned off on TLS (TLSNoSRTP), an SRTP offer over TLS gets
// 488 SRTP Not Enabled, and a plain caller over TLS reaches a subscriber
// at a sips: route over TLS with a plain RTP offer.
func TestBaresipTLSWithoutSRTP(t *testing.T) {
	t.Parallel()
	cert, key, both := testCert(t)
	sub := startBaresip(t, "subscriber", bsip.Config{AOR: "sip:" + nSub.String() + "@127.0.0.1", Codecs: []string{"g711"},
		AutoAnswer: true, Talk: tonePCM(subscriberVoice, time.Minute, 0), TLSCert: both, TLSCA: cert, Trace: true})
	h := newHarness(t, func(c *Config) {
		c.TLS, c.TLSCertFile, c.TLSKeyFile, c.TLSCAFile, c.TLSNoSRTP = "127.0.0.1:0", cert, key, cert, true
		c.ContinueRoute = "sips:{called}@127.0.0.1:" + strconv.Itoa(sub.TLSPort)
	})
	d := policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7}
	refused := startBaresip(t, "srtp-caller", bsip.Config{AOR: "sip:" + nCaller.String() + "@127.0.0.1", Codecs: []string{"g711"},
		Talk: tonePCM(callerVoice, time.Second, 0), TLSCert: both, TLSCA: cert, Params: ";mediaenc=srtp-mand"})
	refused.Command("dial", h.tlsURI(d))
	closed := refused.WaitEvent("CALL_CLOSED")
	if p, _ := closed["param"].(string); !strings.Contains(p, "488") || !strings.Contains(p, "SRTP Not Enabled") {
		t.Errorf("the SRTP caller's call closed with %q, want 488 SRTP Not Enabled", p)
	}
	caller := startBaresip(t, "caller", bsip.Config{AOR: "sip:" + nCaller.String() + "@127.0.0.1", Codecs: []string{"g711"},
		Talk: tonePCM(callerVoice, time.Minute, 0), TLSCert: both, TLSCA: cert})
	caller.Command("dial", h.tlsURI(d))
	pinThrough(caller, sub)
	if o := sdpOf(t, sub, "INVITE sips:"); !strings.Contains(o, "RTP/AVP") || strings.Contains(o, "a=crypto:") {
		t.Errorf("the subscriber's TLS leg was not offered plain RTP:\n%s", o)
	}
	hangUp(h, caller, "token=ok pin=right ")
}

// A subscriber whose TLS certificate the B2BUA does not trust is not
// called: the leg fails at the handshake, the call's record says why, and
// the caller hears that the subscriber is not available.
func TestBaresipTLSUntrustedSubscriber(t *testing.T) {
	t.Parallel()
	cert, key, both := testCert(t)
	_, _, otherBoth := testCert(t) // the subscriber's own, which nobody trusts
	sub := startBaresip(t, "subscriber", bsip.Config{AOR: "sip:" + nSub.String() + "@127.0.0.1", Codecs: []string{"g711"},
		AutoAnswer: true, Talk: tonePCM(subscriberVoice, time.Minute, 0), TLSCert: otherBoth, TLSCA: cert})
	h := tlsHarness(t, cert, key, "sips:{called}@127.0.0.1:"+strconv.Itoa(sub.TLSPort))
	caller := startBaresip(t, "caller", bsip.Config{AOR: "sip:" + nCaller.String() + "@127.0.0.1", Codecs: []string{"g711"},
		Talk: tonePCM(callerVoice, time.Minute, 0), TLSCert: both, TLSCA: cert, Params: ";mediaenc=srtp-mand"})
	caller.Command("dial", h.tlsURI(policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7}))
	keyPIN(caller)
	steps := h.waitStep("subscriber", "failed")
	var detail string
	for _, s := range steps {
		if s.Name == "subscriber" && s.Outcome == "failed" {
			detail = s.Detail
		}
	}
	if !strings.Contains(detail, "certificate") {
		t.Errorf("the failed leg's step says %q, not the certificate", detail)
	}
	caller.waitHeard(pNotAvailable)
	if sub.Saw("CALL_INCOMING") {
		t.Error("the untrusted subscriber's phone was called")
	}
}

// A TLS client that does not trust the B2BUA's certificate, and one that
// presents no certificate of its own (TLSClientCAFile: mutual TLS), are
// counted in tls_handshake_failures_total.
func TestTLSHandshakeFailureCounted(t *testing.T) {
	t.Parallel()
	cert, key, _ := testCert(t)
	h := tlsHarness(t, cert, key, "")
	if _, err := tls.Dial("tcp", h.s.TLSAddr(), &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "127.0.0.1"}); err == nil {
		t.Fatal("a client that trusts nobody completed its handshake")
	}
	waitFor(t, "the failed handshake counted", func() bool { return testutil.ToFloat64(h.s.m.tlsFailures) == 1 })
	roots := x509.NewCertPool()
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	roots.AppendCertsFromPEM(pem)
	conn, err := tls.Dial("tcp", h.s.TLSAddr(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err == nil {
		// TLS 1.3: the client learns of the refusal at its first read.
		_, _ = conn.Write([]byte("OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n\r\n"))
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	if err == nil {
		t.Fatal("a client without a certificate was answered")
	}
	waitFor(t, "the client without a certificate counted", func() bool { return testutil.ToFloat64(h.s.m.tlsFailures) == 2 })
}
