package redirect

import (
	"bytes"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzParseInvite feeds arbitrary datagrams through the whole UDP path
// short of the socket: the pre-parse hook, sipgo's (lenient) parser, the
// INVITE -> policy.Call translation and the response. Nothing may panic,
// and a datagram the hook lets through must parse into a request with a
// Via and CSeq, or sipgo would drop it without an answer.
func FuzzParseInvite(f *testing.F) {
	seeds := []string{
		req{}.String(),
		req{ruri: "tel:+1-303-555-0100;npdi", extra: []string{"P-Asserted-Identity: \"A\" <sip:+12125550101@a>, <tel:+12125550101>", "Privacy: id;header"}}.String(),
		req{from: "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1", extra: []string{"Diversion: <sip:+13035550111@a>;counter=2, <tel:555-0100;phone-context=+1303>"}}.String(),
		req{extra: []string{"History-Info: <sip:+13035550133@a?Reason=SIP%3Bcause%3D302>;index=1, <sip:+13035550100@b>;index=1.1"}}.String(),
		req{method: "OPTIONS"}.String(),
		req{method: "CANCEL", cseq: "1 CANCEL"}.String(),
		req{method: "ACK", cseq: "1 ACK"}.String(),
		req{method: "BYE", cseq: "2 BYE"}.String(),
		req{maxFwd: "0"}.String(),
		req{from: "<sip:broken"}.String(),
		req{via: "SIP/2.0/UDP"}.String(),
		req{drop: []string{"Call-ID", "CSeq"}}.String(),
		strings.Replace(req{}.String(), "SIP/2.0\r\n", "SIP/2.0\n", 1),
		strings.Replace(req{}.String(), "Max-Forwards: 70", "Max-Forwards 70\r\n continued", 1),
		"INVITE sip:[::1 SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nCSeq: 1 INVITE\r\n\r\n",
		"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\r\n",
		"\r\n\r\n",
		"",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	srv, err := New(testConfig(), newFakeDecider())
	if err != nil {
		f.Fatal(err)
	}
	parser := newLenientParser()
	f.Fuzz(func(t *testing.T, data []byte) {
		var r scanResult
		prescan(data, &r)
		if r.code > 0 {
			var b [1500]byte
			out := srv.appendRawReply(b[:0], data, &r)
			if !bytes.HasPrefix(out, []byte("SIP/2.0 ")) || !bytes.HasSuffix(out, []byte("\r\n\r\n")) {
				t.Fatalf("raw reply is not a SIP response: %q", out)
			}
		}
		msg, err := parser.ParseSIP(data)
		if r.code == 0 && len(bytes.Trim(data, "\r\n")) > 0 {
			if err != nil {
				t.Fatalf("prescan passed a datagram sipgo cannot parse (%v): %q", err, data)
			}
			rq, ok := msg.(*sip.Request)
			if !ok {
				t.Fatalf("prescan passed a non-request: %q", data)
			}
			if rq.Via() == nil || rq.CSeq() == nil {
				t.Fatalf("prescan passed a request without a usable Via/CSeq: %q", data)
			}
		}
		if err != nil {
			return
		}
		rq, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		rq.SetSource("192.0.2.1:5060")
		rq.SetTransport("UDP")
		_, _ = CallFromInvite(rq, rq.Source())
		if rq.Via() == nil || rq.CSeq() == nil {
			return // sipgo's transaction layer answers these itself
		}
		if res := srv.respond(rq); res != nil {
			if res.StatusCode < 100 || res.StatusCode > 699 {
				t.Fatalf("status %d", res.StatusCode)
			}
			_ = res.String()
		}
	})
}

// FuzzStatelessScan feeds arbitrary datagrams to the stateless path's
// scanner and handler. Nothing may panic, and whatever the scanner accepts
// must get the answer the fallback (prescan + sipgo's parser + the shared
// answer code) gives: same decision input (policy.Call), same response
// (compared after parsing both), same destination.
//
//	go test -run x -fuzz FuzzStatelessScan ./redirect/
func FuzzStatelessScan(f *testing.F) {
	for _, s := range append(append(statelessSeeds(), stirSeeds(f)...), sipTSeeds()...) {
		f.Add([]byte(s))
	}
	f.Add([]byte("INVITE sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=x\r\n\r\n"))
	f.Add([]byte("\r\n\r\n"))
	f.Add([]byte("SIP/2.0 200 OK\r\n\r\n"))
	s, d := equivServer(f)
	r := newUDPReader()
	f.Fuzz(func(t *testing.T, data []byte) {
		m := newFastMsg()
		v := scanRequest(data, m)
		if v == scanOK && (m.nvias == 0 || m.method == "" || m.callID == "") {
			t.Fatalf("scanner accepted an incomplete request: %q", data)
		}
		if out, _, ok := s.handleDatagram(r, data, equivSrc); ok {
			if len(out) < 12 || string(out[:8]) != "SIP/2.0 " {
				t.Fatalf("not a response: %q", out)
			}
		}
		checkFastMatchesFallback(t, s, d, data)
	})
}
