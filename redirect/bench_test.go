package redirect

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"callgate/e164"
	"callgate/policy"
)

// constDecider answers from a fixed table without recording (for benchmarks).
type constDecider struct{ d *fakeDecider }

func (c constDecider) Decide(_ context.Context, call policy.Call) policy.Decision {
	if dec, ok := c.d.pairs[[2]e164.Number{call.Calling, call.Called}]; ok {
		return dec
	}
	if s, ok := c.d.subs[call.Called]; ok {
		if call.Anonymous() {
			return s.anonymous
		}
		return s.unknown
	}
	return policy.Decision{Action: policy.ActionAllow}
}

var benchInvites = map[string]string{
	"allow":  req{from: "<sip:+12125550101@sbc.example;user=phone>;tag=1", callID: "b-allow@test", via: "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-b1;rport", extra: []string{"P-Asserted-Identity: <sip:+12125550101@sbc.example;user=phone>"}}.String(),
	"block":  req{from: "<sip:+12125550102@sbc.example;user=phone>;tag=1", callID: "b-block@test", via: "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-b2;rport"}.String(),
	"screen": req{callID: "b-screen@test", via: "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-b3;rport"}.String(),
}

func benchServer(b testing.TB) *Server {
	s, err := New(testConfig(), constDecider{newFakeDecider()})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkRespond: the handler alone (translation, decision with a map
// lookup, response building) on an already parsed INVITE.
func BenchmarkRespond(b *testing.B) {
	s := benchServer(b)
	for _, name := range []string{"allow", "block", "screen"} {
		b.Run(name, func(b *testing.B) {
			r := parseReq(b, benchInvites[name])
			r.SetSource("10.0.0.1:5060")
			r.SetTransport("UDP")
			b.ReportAllocs()
			for b.Loop() {
				if res := s.respond(r); res == nil || res.StatusCode < 300 {
					b.Fatal("no final response")
				}
			}
		})
	}
}

// BenchmarkParseRespondWrite: what one INVITE costs short of sipgo's
// transaction and transport layers: pre-parse hook, sipgo parse, handler,
// and writing the response bytes.
func BenchmarkParseRespondWrite(b *testing.B) {
	s := benchServer(b)
	p := newLenientParser()
	data := []byte(benchInvites["screen"])
	var buf bytes.Buffer
	var sr scanResult
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	cpu := startCPU(b)
	defer cpu.report()
	for b.Loop() {
		prescan(data, &sr)
		m, err := p.ParseSIP(data)
		if err != nil {
			b.Fatal(err)
		}
		r := m.(*sip.Request)
		r.SetSource("10.0.0.1:5060")
		r.SetTransport("UDP")
		res := s.respond(r)
		buf.Reset()
		res.StringWrite(&buf)
	}
}

// BenchmarkParse isolates sipgo's parser on the same INVITE.
func BenchmarkParse(b *testing.B) {
	p := newLenientParser()
	data := []byte(benchInvites["screen"])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.ParseSIP(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUDP: INVITE -> final response -> ACK through the loopback
// socket, one call at a time per client (-cpu sets the number of parallel
// clients), on the stateless path and through sipgo's transaction layer.
func BenchmarkUDP(b *testing.B) {
	for _, mode := range testModes {
		b.Run(mode.name, func(b *testing.B) { benchUDP(b, mode) })
	}
}

func benchUDP(b *testing.B, mode testMode) {
	cfg := mode.config()
	cfg.TCP = ""
	cfg.MaxInFlight = 1 << 20
	s := startServer(b, cfg, constDecider{newFakeDecider()})
	srv := s.Addr("udp").(*net.UDPAddr)
	var id atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		port := c.LocalAddr().(*net.UDPAddr).Port
		buf := make([]byte, 4096)
		for pb.Next() {
			n := id.Add(1)
			branch := fmt.Sprintf("z9hG4bK-bench%d", n)
			via := fmt.Sprintf("SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport", port, branch)
			cid := fmt.Sprintf("bench-%d@test", n)
			msg := req{via: via, callID: cid, from: "<sip:+12125550199@sbc.example>;tag=1"}.String()
			c.WriteToUDP([]byte(msg), srv)
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			k, _, err := c.ReadFromUDP(buf)
			if err != nil {
				b.Errorf("no response: %v", err)
				return
			}
			resp := string(buf[:k])
			if !strings.HasPrefix(resp, "SIP/2.0 302") {
				b.Errorf("response %q", resp[:20])
				return
			}
			tag := resp[strings.Index(resp, ";tag=cg")+5:]
			tag = tag[:strings.IndexAny(tag, "\r;")]
			ack := "ACK sip:+13035550100@callgate.example;user=phone SIP/2.0\r\nVia: " + via +
				"\r\nMax-Forwards: 70\r\nFrom: <sip:+12125550199@sbc.example>;tag=1\r\nTo: <sip:+13035550100@callgate.example;user=phone>;tag=" + tag +
				"\r\nCall-ID: " + cid + "\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
			c.WriteToUDP([]byte(ack), srv)
		}
	})
}
