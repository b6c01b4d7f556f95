package b2bua

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"callgate/policy"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// lateCaller places an INVITE without SDP (a late offer, RFC 3261
// §13.2.1) and acknowledges the 200 with ackBody, built from the offer in
// the 200 and the caller's RTP socket. It returns the 200 and the socket.
func (h *harness) lateCaller(t *testing.T, tok string, ackBody func(offer []byte, rtp *net.UDPConn) string) (*sip.Response, *net.UDPConn) {
	t.Helper()
	rtp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rtp.Close() })
	cli, err := sipgo.NewClient(h.call.ua, sipgo.WithClientLogger(testQuiet))
	if err != nil {
		t.Fatal(err)
	}
	ruri := h.inviteURI(tok)
	req := sip.NewRequest(sip.INVITE, ruri)
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: nCaller.String(), Host: "127.0.0.1"}, Params: sip.NewParams()})
	req.From().Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: nSub.String(), Host: "127.0.0.1"}, Params: sip.NewParams()})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: h.call.port}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cli.Do(ctx, req)
	if err != nil {
		t.Fatalf("INVITE without SDP: %v", err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("INVITE without SDP: got %d %s, want 200 with an offer", res.StatusCode, res.Reason)
	}
	ack := sip.NewRequest(sip.ACK, ruri)
	if c := res.Contact(); c != nil {
		ack.Recipient = c.Address
	}
	ack.AppendHeader(sip.HeaderClone(req.From()))
	ack.AppendHeader(sip.HeaderClone(res.To()))
	ack.AppendHeader(sip.HeaderClone(req.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.ACK})
	ack.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
	if body := ackBody(res.Body(), rtp); body != "" {
		ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		ack.SetBody([]byte(body))
	}
	if err := cli.WriteRequest(ack); err != nil {
		t.Fatalf("ACK: %v", err)
	}
	return res, rtp
}

// answerTo is an SDP answer to offer taking PCMU, media at rtp.
func answerTo(t *testing.T, offer []byte, rtp *net.UDPConn) string {
	t.Helper()
	if !bytes.Contains(offer, []byte("m=audio ")) {
		t.Fatalf("the 200 has no audio offer:\n%s", offer)
	}
	if !bytes.Contains(bytes.ToLower(offer), []byte("pcmu/8000")) {
		t.Fatalf("the 200's offer has no PCMU:\n%s", offer)
	}
	return offerSDP(rtp.LocalAddr().(*net.UDPAddr).Port, "0")
}

// A caller whose INVITE has no SDP gets our offer in the 200 and its
// answer in the ACK is applied: what the B2BUA plays reaches the address
// in the ACK. Reject with Media has no early media then (no offer to
// answer in a 183): the caller is answered and hears the announcement.
func TestLateOffer(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.token(policy.Decision{Action: policy.ActionBlockWithAnnouncement, Announcement: 1})
	res, rtp := h.lateCaller(t, tok, func(offer []byte, rtp *net.UDPConn) string { return answerTo(t, offer, rtp) })
	if ct := res.ContentType(); ct == nil || ct.Value() != "application/sdp" {
		t.Errorf("200 Content-Type %v, want application/sdp", ct)
	}
	_ = rtp.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1500)
	// The test announcement is 200 ms of tone: 10 packets of 20 ms.
	got := 0
	for got < 8 {
		n, from, err := rtp.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("after %d RTP packets of tone: %v", got, err)
		}
		if n < 12 || buf[0]>>6 != 2 || buf[1]&0x7f >= 72 && buf[1]&0x7f <= 76 {
			continue // not RTP, or RTCP
		}
		if pt := buf[1] & 0x7f; pt != 0 {
			t.Fatalf("RTP payload type %d from %v, want 0 (PCMU, as answered)", pt, from)
		}
		if bytes.Count(buf[12:n], []byte{0xff}) < (n-12)/2 { // PCMU silence is 0xff
			got++
		}
	}
	h.waitStep("reject", "announced")
	h.waitStep("end", "rejected")
}

// An ACK without an answer, or with one that does not parse, leaves a
// late-offer call without media: the B2BUA ends it (BYE), and the call's
// record says it failed.
func TestLateOfferWithoutAnswer(t *testing.T) {
	for name, body := range map[string]string{
		"no SDP in the ACK":      "",
		"malformed SDP":          "v=0\r\nhello\r\n",
		"no PCMU or PCMA in ACK": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 18\r\n",
	} {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			h := newHarness(t, nil)
			tok := h.token(policy.Decision{Action: policy.ActionBlockWithAnnouncement, Announcement: 1})
			h.lateCaller(t, tok, func([]byte, *net.UDPConn) string { return body })
			steps := h.waitStep("end", "failed")
			for _, s := range steps {
				if s.Name == "reject" {
					t.Errorf("a call without media went on to %s %s", s.Name, s.Outcome)
				}
			}
		})
	}
}
