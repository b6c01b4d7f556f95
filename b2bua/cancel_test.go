package b2bua

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"callgate/policy"
)

// cancelCaller is a caller whose INVITE transaction the test drives by
// hand: it reads every response, and sends CANCEL, ACK and BYE itself.
type cancelCaller struct {
	t   *testing.T
	cli *sipgo.Client
	req *sip.Request
	tx  sip.ClientTransaction
	ctx context.Context
}

// inviteRaw sends an INVITE with an offer (no media behind it) to the
// B2BUA for a call with decision d.
func (h *harness) inviteRaw(t *testing.T, ctx context.Context, d policy.Decision) *cancelCaller {
	t.Helper()
	cli, err := sipgo.NewClient(h.call.ua, sipgo.WithClientLogger(testQuiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	u := h.inviteURI(h.token(d))
	req := h.rawInviteRequest(t, u.String(), offerSDP(freePort(t)&^1, "0 101", "a=rtpmap:101 telephone-event/8000"), "application/sdp")
	tx, err := cli.TransactionRequest(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tx.Terminate)
	return &cancelCaller{t: t, cli: cli, req: req, tx: tx, ctx: ctx}
}

// next returns the INVITE's next response.
func (c *cancelCaller) next() *sip.Response {
	c.t.Helper()
	select {
	case res := <-c.tx.Responses():
		return res
	case <-c.tx.Done():
		c.t.Fatalf("INVITE transaction ended: %v", c.tx.Err())
	case <-c.ctx.Done():
		c.t.Fatal("no response to the INVITE")
	}
	return nil
}

// until returns the first response with a code in codes, failing on a
// final response of another code.
func (c *cancelCaller) until(codes ...int) *sip.Response {
	c.t.Helper()
	for {
		res := c.next()
		for _, code := range codes {
			if res.StatusCode == code {
				return res
			}
		}
		if res.StatusCode >= 200 {
			c.t.Fatalf("INVITE got %d %s, want one of %v", res.StatusCode, res.Reason, codes)
		}
	}
}

// finalWithin returns the INVITE's final response if one comes within d,
// else nil.
func (c *cancelCaller) finalWithin(d time.Duration) *sip.Response {
	wait := time.After(d)
	for {
		select {
		case res := <-c.tx.Responses():
			if res.StatusCode >= 200 {
				return res
			}
		case <-wait:
			return nil
		}
	}
}

// cancel sends CANCEL for the INVITE (RFC 3261 §9.1: same Request-URI,
// Call-ID, From, To, CSeq number and top Via) and returns its response.
func (c *cancelCaller) cancel() *sip.Response {
	c.t.Helper()
	r := sip.NewRequest(sip.CANCEL, c.req.Recipient)
	r.AppendHeader(sip.HeaderClone(c.req.Via()))
	r.AppendHeader(sip.HeaderClone(c.req.From()))
	r.AppendHeader(sip.HeaderClone(c.req.To()))
	r.AppendHeader(sip.HeaderClone(c.req.CallID()))
	r.AppendHeader(&sip.CSeqHeader{SeqNo: c.req.CSeq().SeqNo, MethodName: sip.CANCEL})
	r.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
	res, err := c.cli.Do(c.ctx, r)
	if err != nil {
		c.t.Fatalf("CANCEL: %v", err)
	}
	return res
}

// inDialog sends method (ACK or BYE) in the dialog the 200 ok set up.
func (c *cancelCaller) inDialog(method sip.RequestMethod, ok *sip.Response, seq uint32) *sip.Request {
	r := sip.NewRequest(method, ok.Contact().Address)
	r.AppendHeader(sip.HeaderClone(c.req.From()))
	r.AppendHeader(sip.HeaderClone(ok.To()))
	r.AppendHeader(sip.HeaderClone(c.req.CallID()))
	r.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	r.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
	return r
}

func (c *cancelCaller) ackAndBye(ok *sip.Response) {
	c.t.Helper()
	if err := c.cli.WriteRequest(c.inDialog(sip.ACK, ok, c.req.CSeq().SeqNo)); err != nil {
		c.t.Fatalf("ACK: %v", err)
	}
	res, err := c.cli.Do(c.ctx, c.inDialog(sip.BYE, ok, c.req.CSeq().SeqNo+1))
	if err != nil || res.StatusCode != 200 {
		c.t.Fatalf("BYE: %v %v", res, err)
	}
}

// All responses of a UAS to one request carry the To tag of the first
// that had one (RFC 3261 §8.2.6.2), the 487 that answers a CANCEL too
// (§9.2): a caller that cancels during the announcement (183) or while
// the subscriber rings (180) gets its 487 in the early dialog it has.
func TestCancelKeepsToTag(t *testing.T) {
	long := t.TempDir()
	writeTonePrompts(t, long, 20*time.Second)
	for _, tc := range []struct {
		name string
		d    policy.Decision
		prov int
		end  string
	}{
		{"announcement", policy.Decision{Action: policy.ActionBlockWithAnnouncement, Announcement: 101}, 183, "abandoned"},
		{"ringing", policy.Decision{Action: policy.ActionAllow}, 180, "abandoned"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.PromptDir = long; c.RingTimeout = 20 * time.Second })
			rang := make(chan struct{})
			h.onSubscriber(func(d *diago.DialogServerSession) {
				_ = d.Ringing()
				close(rang)
				<-d.Context().Done()
			})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c := h.inviteRaw(t, ctx, tc.d)
			prov := c.until(tc.prov)
			tag := toTag(prov)
			if tag == "" {
				t.Fatalf("%d without a To tag", tc.prov)
			}
			if tc.prov == 180 {
				<-rang
			}
			if res := c.cancel(); res.StatusCode != 200 {
				t.Fatalf("CANCEL got %d %s, want 200", res.StatusCode, res.Reason)
			}
			fin := c.until(487)
			if got := toTag(fin); got != tag {
				t.Errorf("487's To tag %q, the %d's %q: one UAS, one tag (RFC 3261 §8.2.6.2)", got, tc.prov, tag)
			}
			steps := h.waitStep("end", tc.end)
			if tc.prov == 180 && !h.hasStep(&steps, "subscriber", "abandoned") {
				t.Errorf("the subscriber's leg was not cancelled: %s", stepString(steps))
			}
		})
	}
}

// A CANCEL that crosses the 200 (the subscriber answered meanwhile) ends
// the call one way or the other, never half: either the CANCEL came first
// (487 in the early dialog, the subscriber's leg hung up) or the 200 did
// (the CANCEL has no effect, RFC 3261 §9.2: 200 to it and no 487; the
// caller ACKs and sends BYE, §9.1), and the subscriber's leg ends with it.
// The subscriber answers at once; the caller cancels after a delay that
// walks from 0 across the moment its 200 comes, and past it (a CANCEL sent
// after the 200 arrived is the late end of the race), until the 200 has
// won three times.
func TestCancelCrossesAnswer(t *testing.T) {
	h := newHarness(t, nil)
	outcomes := map[int]int{}
	for delay := time.Duration(0); outcomes[200] < 3; delay += 7 * time.Millisecond {
		if delay > 5*time.Second {
			t.Fatalf("no 200 within %s of the 180: %v", delay, outcomes)
		}
		ended := make(chan struct{})
		h.onSubscriber(func(d *diago.DialogServerSession) {
			defer close(ended)
			if pm := answerAndListen(t, d); pm != nil {
				<-d.Context().Done()
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c := h.inviteRaw(t, ctx, policy.Decision{Action: policy.ActionAllow})
		ringing := c.until(180)
		tag := toTag(ringing)
		fin := c.finalWithin(delay) // the 200 came first: cancel after it all the same
		if res := c.cancel(); res.StatusCode != 200 {
			t.Fatalf("CANCEL got %d %s, want 200", res.StatusCode, res.Reason)
		}
		if fin == nil || fin.StatusCode < 200 {
			fin = c.until(200, 487)
		}
		outcomes[fin.StatusCode]++
		if got := toTag(fin); got != tag {
			t.Errorf("delay %s: %d's To tag %q, the 180's %q", delay, fin.StatusCode, got, tag)
		}
		if fin.StatusCode == 200 {
			c.ackAndBye(fin)
		}
		select {
		case <-ended:
		case <-ctx.Done():
			t.Fatalf("delay %s (%d): the subscriber's leg did not end", delay, fin.StatusCode)
		}
		waitFor(t, "the call's end", func() bool { return h.s.active.Load() == 0 })
		// After a 200 the caller's BYE may come before the bridge is up:
		// then the call ends abandoned, as for a CANCEL that won.
		steps := h.waitStep("end", "")
		if got := stepString(steps); !strings.HasSuffix(got, "end=abandoned") && !(fin.StatusCode == 200 && strings.HasSuffix(got, "bridge=connected end=caller-hangup")) {
			t.Errorf("delay %s (%d): steps %q", delay, fin.StatusCode, got)
		}
		cancel()
	}
	if outcomes[487] == 0 {
		t.Errorf("no call where the CANCEL won: the race was not run (%v)", outcomes)
	}
	t.Logf("outcomes: %v", outcomes)
}
