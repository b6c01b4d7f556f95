package b2bua

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"callgate/policy"
)

func TestSDPOriginNumbering(t *testing.T) {
	body := func(o string, dir string) []byte {
		return []byte("v=0\r\no=" + o + " IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=" + dir + "\r\n")
	}
	var o sdpOrigin
	o.init(body("- 4005662854 4005662854", "sendrecv")) // a 183
	o.init(body("- 4005662854 4005662855", "sendrecv")) // the 200: the last one counts
	// diago's next bodies: a fork's version, then the main session's
	// (the same), then one with the late-offer caller's session id.
	for i, in := range []string{"- 4005662854 4005662856", "- 4005662854 4005662856", "- 777 3"} {
		got := string(o.stamp(body(in, "recvonly")))
		want := "o=- 4005662854 " + strconv.Itoa(4005662856+i) + " IN IP4 192.0.2.1\r\n"
		if !strings.Contains(got, want) || !strings.HasSuffix(got, "a=recvonly\r\n") {
			t.Errorf("stamp %d: %q, want the line %q", i, got, want)
		}
	}
	o.init(body("- 1 1", "sendrecv")) // too late: bodies were numbered
	if got := string(o.stamp(body("- 1 2", "sendrecv"))); !strings.Contains(got, "o=- 4005662854 4005662859 ") {
		t.Errorf("init after stamp changed the numbering: %q", got)
	}

	// Without a noted SDP the first body is the reference.
	var fresh sdpOrigin
	if got := string(fresh.stamp(body("alice 9 9", "sendrecv"))); !strings.Contains(got, "o=alice 9 9 ") {
		t.Errorf("first stamp changed the body: %q", got)
	}
	if got := string(fresh.stamp(body("- 1 1", "sendrecv"))); !strings.Contains(got, "o=alice 9 10 ") {
		t.Errorf("second stamp: %q", got)
	}

	// Bodies without a usable o= line pass unchanged.
	for _, b := range []string{"v=0\r\ns=-\r\n", "v=0\r\no=- 1\r\n", "v=0\r\no=- 1 x IN IP4 192.0.2.1\r\n", "v=0\r\no=- 1 99999999999999999999 IN IP4 192.0.2.1\r\n", "v=0\r\no=-  1 IN\r\n"} {
		if got := string(fresh.stamp([]byte(b))); got != b {
			t.Errorf("stamp(%q) = %q, want it unchanged", b, got)
		}
	}
}

func TestAsOffer(t *testing.T) {
	for in, want := range map[string]string{
		"v=0\r\nm=audio 1 RTP/AVP 0\r\na=recvonly\r\n":                  "v=0\r\nm=audio 1 RTP/AVP 0\r\na=sendrecv\r\n",
		"v=0\r\na=inactive\r\nm=audio 1 RTP/AVP 0\r\na=ptime:20\r\n":    "v=0\r\na=sendrecv\r\nm=audio 1 RTP/AVP 0\r\na=ptime:20\r\n",
		"v=0\nm=audio 1 RTP/AVP 0\na=sendonly":                          "v=0\nm=audio 1 RTP/AVP 0\na=sendrecv",
		"v=0\r\nm=audio 1 RTP/AVP 0\r\na=sendrecv\r\n":                  "v=0\r\nm=audio 1 RTP/AVP 0\r\na=sendrecv\r\n",
		"v=0\r\nm=audio 1 RTP/AVP 0\r\na=recvonlyx\r\na=x-recvonly\r\n": "v=0\r\nm=audio 1 RTP/AVP 0\r\na=recvonlyx\r\na=x-recvonly\r\n",
	} {
		if got := string(asOffer([]byte(in))); got != want {
			t.Errorf("asOffer(%q) = %q, want %q", in, got, want)
		}
	}
}

var originLine = regexp.MustCompile(`(?m)^o=(\S+ \S+) (\d+) `)

// The SDP the B2BUA sends once the call is up: every body has the
// dialog's o= user name and session id and the version after the last
// one (RFC 3264 §8), whether an UPDATE (answered from a fork of diago's
// session) or a re-INVITE (diago's session) answered it; and a re-INVITE
// without an offer after a hold gets a sendrecv offer, so the caller can
// resume (RFC 6337 §5.3).
func TestInDialogSDP(t *testing.T) {
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
	m := originLine.FindStringSubmatch(string(c.d.InviteResponse.Body()))
	if m == nil {
		t.Fatalf("no o= line in the 200: %q", c.d.InviteResponse.Body())
	}
	id, ver := m[1], m[2]
	// The caller's own o= line, its version raised for each new offer.
	mine := originLine.FindStringSubmatch(string(c.d.InviteRequest.Body()))
	myVer, _ := strconv.Atoi(mine[2])
	port := c.med.MediaSession().Laddr.Port
	offer := func(dir string) string {
		myVer++
		return strings.Replace(offerSDP(port, "0 101", "a=rtpmap:101 telephone-event/8000", "a="+dir),
			"o=- 1 1", "o="+mine[1]+" "+strconv.Itoa(myVer), 1)
	}
	next := ver
	check := func(what string, res *sip.Response, dir string) {
		t.Helper()
		b := string(res.Body())
		if res.StatusCode != 200 || !strings.Contains(b, "a="+dir+"\r\n") {
			t.Fatalf("%s: %d %q, want 200 with a=%s", what, res.StatusCode, b, dir)
		}
		n, _ := strconv.ParseUint(next, 10, 64)
		next = strconv.FormatUint(n+1, 10)
		if m := originLine.FindStringSubmatch(b); m == nil || m[1] != id || m[2] != next {
			t.Errorf("%s: o= %q, want %q version %s", what, m, id, next)
		}
	}
	do := func(method sip.RequestMethod, body string) *sip.Response {
		req := sip.NewRequest(method, c.d.InviteResponse.Contact().Address)
		if body != "" {
			req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			req.SetBody([]byte(body))
		}
		res, err := c.d.Do(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return res
	}
	ack := func(body string) {
		req := sip.NewRequest(sip.ACK, c.d.InviteResponse.Contact().Address)
		if body != "" {
			req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			req.SetBody([]byte(body))
		}
		if err := c.d.WriteRequest(req); err != nil {
			t.Fatal(err)
		}
	}

	check("UPDATE hold", do(sip.UPDATE, offer("sendonly")), "recvonly")
	check("re-INVITE resume", do(sip.INVITE, offer("sendrecv")), "sendrecv")
	ack("")
	check("re-INVITE hold", do(sip.INVITE, offer("inactive")), "inactive")
	ack("")
	waitFor(t, "hold", l.hold.Load)

	res := do(sip.INVITE, "")
	check("offer to a re-INVITE without one", res, "sendrecv")
	ack(offer("sendrecv"))
	waitFor(t, "the leg off hold", func() bool { return !l.hold.Load() })
	check("UPDATE after the offerless re-INVITE", do(sip.UPDATE, offer("sendrecv")), "sendrecv")

	_ = c.d.Hangup(context.Background())
	h.waitStep("end", "abandoned")
}
