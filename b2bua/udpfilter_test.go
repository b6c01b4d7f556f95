package b2bua

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMalformedDatagram: over UDP, a request sipgo cannot parse is answered
// 400 with its reason (RFC 3261 §18.3) instead of being dropped, and what
// cannot be answered is dropped; both are counted.
func TestMalformedDatagram(t *testing.T) {
	h := newHarness(t, nil)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: h.port()}
	exchange := func(msg string) string {
		t.Helper()
		if _, err := conn.WriteTo([]byte(msg), to); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 65535)
		_ = conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return ""
		}
		return string(buf[:n])
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
	request := func(method string, contentLength int) string {
		return fmt.Sprintf("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-cl-%s\r\nMax-Forwards: 70\r\n"+
			"From: <sip:%s@127.0.0.1>;tag=f1\r\nTo: <sip:%s@127.0.0.1>\r\nCall-ID: cl-%s@test\r\nCSeq: 1 %s\r\n"+
			"Contact: <sip:127.0.0.1:%d>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
			method, h.screenURI(""), port, method, nCaller, nSub, method, method, port, contentLength, body)
	}

	res := exchange(request("INVITE", len(body)+200))
	status, _, _ := strings.Cut(res, "\r\n")
	if status != "SIP/2.0 400 Content-Length Exceeds Datagram" {
		t.Fatalf("INVITE with Content-Length past the datagram: got %q, want 400 Content-Length Exceeds Datagram", status)
	}
	for _, want := range []string{"Call-ID: cl-INVITE@test", "CSeq: 1 INVITE", "branch=z9hG4bK-cl-INVITE"} {
		if !strings.Contains(res, want) {
			t.Errorf("the 400 lacks %q:\n%s", want, res)
		}
	}
	// An ACK cannot be answered, nor can a datagram without the headers a
	// response copies.
	for _, msg := range []string{request("ACK", len(body)+200), "HELLO sip:x SIP/2.0\r\nContent-Length: 99\r\n\r\n"} {
		if res := exchange(msg); res != "" {
			t.Errorf("answered %q to an unanswerable datagram", res)
		}
	}
	if n := testutil.ToFloat64(h.s.m.malformed.WithLabelValues("answered")); n != 1 {
		t.Errorf("malformed{answered} = %v, want 1", n)
	}
	if n := testutil.ToFloat64(h.s.m.malformed.WithLabelValues("dropped")); n != 2 {
		t.Errorf("malformed{dropped} = %v, want 2", n)
	}
	// A good request still goes through: the right Content-Length gets an
	// answer from the B2BUA itself (no token: 403 not for us, or the
	// configured refusal), not the filter's 400.
	res = exchange(request("INVITE", len(body)))
	if status, _, _ := strings.Cut(res, "\r\n"); status == "" || strings.Contains(status, " 400 ") {
		t.Errorf("a well-formed INVITE got %q", status)
	}
}

// FuzzReadFilter: any datagram is passed on, answered with a response
// that parses, or dropped; nothing panics.
func FuzzReadFilter(f *testing.F) {
	f.Add([]byte("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 50\r\n\r\nv=0\r\n"))
	f.Add([]byte("ACK sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\n"))
	f.Add([]byte("SIP/2.0 200 OK\r\nContent-Length: 9\r\n\r\n"))
	f.Add([]byte("\r\n\r\n"))
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg, func() float64 { return 0 })
	if err != nil {
		f.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer conn.Close()
	peer, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer peer.Close()
	s := &Server{m: m, parser: sip.NewParser(), udpConn: conn, log: testQuiet}
	props := sip.TransportReadProps{Transport: "UDP", LocalAddr: conn.LocalAddr(), RemoteAddr: peer.LocalAddr()}
	f.Fuzz(func(t *testing.T, data []byte) {
		before := testutil.ToFloat64(m.malformed.WithLabelValues("answered"))
		out, err := s.readFilter(props, data)
		if err != nil {
			t.Fatalf("filter error %v", err)
		}
		if len(out) > 0 {
			return // passed on to sipgo
		}
		if testutil.ToFloat64(m.malformed.WithLabelValues("answered")) == before {
			return // dropped (or a keep-alive)
		}
		buf := make([]byte, 65535)
		_ = peer.SetReadDeadline(time.Now().Add(time.Second))
		n, _, err := peer.ReadFrom(buf)
		if err != nil {
			t.Fatalf("answered but nothing sent: %v", err)
		}
		msg, err := sip.NewParser().ParseSIP(buf[:n])
		if err != nil {
			t.Fatalf("the answer does not parse: %v\n%s", err, buf[:n])
		}
		if res, ok := msg.(*sip.Response); !ok || (res.StatusCode != 400 && res.StatusCode != 513) {
			t.Fatalf("answer %q", buf[:n])
		}
	})
}
