package sip

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/token"
	"callgate/sigtran/pcap"
)

// captureFrame is one UDP datagram of a test capture.
type captureFrame struct {
	fromSBC bool
	msg     string
}

func replayInvite(n int, called string) string {
	return fmt.Sprintf("INVITE sip:%s@192.0.2.20;user=phone SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-cap%d\r\nMax-Forwards: 70\r\n"+
		"From: <sip:+17205550123@192.0.2.10;user=phone>;tag=f%d\r\nTo: <sip:%s@192.0.2.20;user=phone>\r\n"+
		"Call-ID: cap-%d@192.0.2.10\r\nCSeq: 1 INVITE\r\nContact: <sip:sbc@192.0.2.10>\r\nContent-Length: 0\r\n\r\n", called, n, n, called, n)
}

func replayResponse(n int, called, status, extra string) string {
	return fmt.Sprintf("SIP/2.0 %s\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-cap%d\r\n"+
		"From: <sip:+17205550123@192.0.2.10;user=phone>;tag=f%d\r\nTo: <sip:%s@192.0.2.20;user=phone>;tag=r%d\r\n"+
		"Call-ID: cap-%d@192.0.2.10\r\nCSeq: 1 INVITE\r\n%sContent-Length: 0\r\n\r\n", status, n, n, called, n, n, extra)
}

func writeCapture(t *testing.T, frames []captureFrame) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sip.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	sbc, srv := net.IPv4(192, 0, 2, 10), net.IPv4(192, 0, 2, 20)
	for i, fr := range frames {
		src, dst := srv, sbc
		if fr.fromSBC {
			src, dst = sbc, srv
		}
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src, DstIP: dst}
		udp := &layers.UDP{SrcPort: 5060, DstPort: 5060}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(fr.msg)); err != nil {
			t.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1764230400, int64(i)*1e6), CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}
		if err := w.WritePacket(ci, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeRedirect answers INVITEs by Request-URI user as a stateful redirect
// server would (100, then the final answer, retransmitted until ACKed),
// and records the ACKs.
type fakeRedirect struct {
	conn    *net.UDPConn
	answers map[string]string // user -> status line and headers
	mu      sync.Mutex
	acks    int
	drop    int // INVITEs to ignore first (to see the retransmission)
}

func startFakeRedirect(t *testing.T, answers map[string]string, drop int) *fakeRedirect {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRedirect{conn: conn, answers: answers, drop: drop}
	t.Cleanup(func() { conn.Close() })
	go f.serve()
	return f
}

func (f *fakeRedirect) serve() {
	buf := make([]byte, 65535)
	for {
		n, from, err := f.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		msg := string(buf[:n])
		if strings.HasPrefix(msg, "ACK ") {
			f.mu.Lock()
			f.acks++
			f.mu.Unlock()
			continue
		}
		f.mu.Lock()
		if f.drop > 0 {
			f.drop--
			f.mu.Unlock()
			continue
		}
		f.mu.Unlock()
		head, _, _ := strings.Cut(msg, "\r\n\r\n")
		lines := strings.Split(head, "\r\n")
		user := strings.TrimPrefix(strings.Fields(lines[0])[1], "sip:")
		user, _, _ = strings.Cut(user, "@")
		var keep []string
		for _, l := range lines[1:] {
			for _, h := range []string{"Via:", "From:", "To:", "Call-ID:", "CSeq:"} {
				if strings.HasPrefix(l, h) {
					if h == "To:" {
						l += ";tag=live"
					}
					keep = append(keep, l)
				}
			}
		}
		hdrs := strings.Join(keep, "\r\n") + "\r\n"
		f.conn.WriteToUDP([]byte("SIP/2.0 100 Trying\r\n"+hdrs+"Content-Length: 0\r\n\r\n"), from)
		status, extra, _ := strings.Cut(f.answers[user], "\r\n")
		if extra != "" {
			extra += "\r\n"
		}
		f.conn.WriteToUDP([]byte("SIP/2.0 "+status+"\r\n"+hdrs+extra+"Content-Length: 0\r\n\r\n"), from)
	}
}

func (f *fakeRedirect) ackCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acks
}

// TestReplay: each captured INVITE is sent again from here and its live
// answer set beside the captured one: the same status and Contact but for
// the screening token's value is the same answer; another status differs;
// an INVITE without a captured answer is never the same. Each non-2xx
// final answer is acknowledged, a retransmitted INVITE in the capture is
// replayed once, and an INVITE the server did not hear is retransmitted.
func TestReplay(t *testing.T) {
	screen := token.Claims{Action: policy.ActionScreen, Subscriber: 7, Called: e164.MustParse("+13035550100"),
		Calling: e164.MustParse("+17205550123"), Expires: time.Unix(1764230460, 0)}
	captured, live := signToken(t, screen), signToken(t, later(screen))
	path := writeCapture(t, []captureFrame{
		{true, replayInvite(1, "+13035550100")},
		{true, replayInvite(1, "+13035550100")}, // a retransmission
		{false, replayResponse(1, "+13035550100", "100 Trying", "")},
		{false, replayResponse(1, "+13035550100", "302 Moved Temporarily", "Contact: <sip:screen@192.0.2.30:5070;cgt="+captured+">\r\n")},
		{true, replayInvite(2, "+13035550101")},
		{false, replayResponse(2, "+13035550101", "603 Decline", "")},
		{true, replayInvite(3, "+13035550102")},
		{true, "OPTIONS sip:192.0.2.20 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-o\r\nFrom: <sip:sbc@192.0.2.10>;tag=o\r\nTo: <sip:192.0.2.20>\r\nCall-ID: o\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"},
	})
	ds, err := pcap.ReadSIPFile(path)
	if err != nil {
		t.Fatal(err)
	}
	invites := InvitesOf(ds)
	if len(invites) != 3 || invites[0].Captured == nil || invites[0].Captured.Status != 302 || invites[0].AnswerAt != 4 ||
		invites[1].Captured == nil || invites[1].Captured.Status != 603 || invites[2].Captured != nil {
		t.Fatalf("invites of the capture: %+v", invites)
	}
	srv := startFakeRedirect(t, map[string]string{
		"+13035550100": "302 Moved Temporarily\r\nContact: <sip:screen@192.0.2.30:5070;cgt=" + live + ">",
		"+13035550101": "486 Busy Here",
		"+13035550102": "302 Moved Temporarily\r\nContact: <sip:+13035550102@192.0.2.40>",
	}, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Replay(ctx, ReplayConfig{Server: srv.conn.LocalAddr().String(), Timeout: 3 * time.Second}, invites)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, false}
	for i, r := range res {
		if r.Same != want[i] || r.Live == nil {
			t.Errorf("INVITE %d (frame %d): same %v, live %v (%s); want same %v", i+1, r.Frame, r.Same, r.Live, r.LiveError, want[i])
		}
	}
	if res[1].Live != nil && res[1].Live.Status != 486 {
		t.Errorf("live answer %v, want 486", res[1].Live)
	}
	deadline := time.Now().Add(2 * time.Second)
	for srv.ackCount() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := srv.ackCount(); n != 3 {
		t.Errorf("%d ACKs, want one per final answer (3)", n)
	}
}

func signToken(t *testing.T, c token.Claims) string {
	t.Helper()
	s, err := token.NewSigner(token.Key{ID: 1, Secret: make([]byte, token.MinSecretLen)})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func later(c token.Claims) token.Claims { c.Expires = c.Expires.Add(time.Hour); return c }

// SameAnswer compares screening tokens by what they say, not their expiry
// or signature, and other parameters as written unless named volatile.
func TestSameAnswer(t *testing.T) {
	screen := token.Claims{Action: policy.ActionScreen, Subscriber: 7, Called: e164.MustParse("+13035550100"), Expires: time.Unix(1764230460, 0)}
	voicemail := screen
	voicemail.Action, voicemail.Voicemail = policy.ActionVoicemail, "sip:vm@h"
	tok := signToken(t, screen)
	a := &ReplayAnswer{Status: 302, Contacts: []string{"<sip:screen@h;cgt=" + tok + ";x=1>"}}
	contact := func(s string) ReplayAnswer { return ReplayAnswer{Status: 302, Contacts: []string{s}} }
	for _, c := range []struct {
		b        ReplayAnswer
		volatile []string
		same     bool
	}{
		{contact("<sip:screen@h;cgt=" + signToken(t, later(screen)) + ";x=1>"), nil, true},
		{contact("<sip:screen@h;cgt=" + signToken(t, voicemail) + ";x=1>"), nil, false},
		{contact("<sip:screen@h;cgt=" + tok + ";x=2>"), nil, false},
		{contact("<sip:screen@h;cgt=" + tok + ";x=2>"), []string{"x"}, true},
		{contact("<sip:screen@h;cgt=garbage;x=1>"), nil, false},
		{contact("<sip:other@h;cgt=" + tok + ";x=1>"), nil, false},
		{ReplayAnswer{Status: 301, Contacts: a.Contacts}, nil, false},
		{ReplayAnswer{Status: 302}, nil, false},
	} {
		if got := SameAnswer(a, &c.b, c.volatile); got != c.same {
			t.Errorf("SameAnswer(%v, %v, %v) = %v", a, &c.b, c.volatile, got)
		}
	}
	if !SameAnswer(&ReplayAnswer{Status: 603, Reason: "Decline"}, &ReplayAnswer{Status: 603, Reason: "Declined"}, nil) {
		t.Error("two 603s differ by reason phrase only: the same answer")
	}
}
