package b2bua

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"callgate/policy"
)

// inviteReliable is inviteRaw for a caller that requires 100rel.
func (h *harness) inviteReliable(t *testing.T, ctx context.Context, d policy.Decision) *cancelCaller {
	t.Helper()
	cli, err := sipgo.NewClient(h.call.ua, sipgo.WithClientLogger(testQuiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	u := h.inviteURI(h.token(d))
	req := h.rawInviteRequest(t, u.String(), offerSDP(freePort(t)&^1, "0 101", "a=rtpmap:101 telephone-event/8000"), "application/sdp",
		sip.NewHeader("Require", "100rel"), sip.NewHeader("Supported", "100rel"))
	tx, err := cli.TransactionRequest(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tx.Terminate)
	return &cancelCaller{t: t, cli: cli, req: req, tx: tx, ctx: ctx}
}

// rseqOf returns a reliable provisional's RSeq, failing the test when res
// is not one (RFC 3262 §3: Require: 100rel and RSeq).
func rseqOf(t *testing.T, res *sip.Response) uint32 {
	t.Helper()
	if r := res.GetHeader("Require"); r == nil || r.Value() != "100rel" {
		t.Fatalf("%d without Require: 100rel (%v)", res.StatusCode, r)
	}
	h := res.GetHeader("RSeq")
	if h == nil {
		t.Fatalf("%d without RSeq", res.StatusCode)
	}
	n, err := strconv.ParseUint(h.Value(), 10, 32)
	if err != nil || n == 0 || n >= 1<<31 {
		t.Fatalf("RSeq %q: want 1 to 2**31-1", h.Value())
	}
	return uint32(n)
}

// prack sends PRACK for the provisional prov with RAck rseq.
func (c *cancelCaller) prack(prov *sip.Response, rseq uint32) *sip.Response {
	c.t.Helper()
	r := c.inDialog(sip.PRACK, prov, c.req.CSeq().SeqNo+1)
	r.AppendHeader(sip.NewHeader("RAck", strconv.FormatUint(uint64(rseq), 10)+" "+strconv.FormatUint(uint64(c.req.CSeq().SeqNo), 10)+" INVITE"))
	res, err := c.cli.Do(c.ctx, r)
	if err != nil {
		c.t.Fatalf("PRACK: %v", err)
	}
	return res
}

// A caller that requires 100rel is screened: the announcement in a
// reliable 183, retransmitted with its RSeq until the PRACK (the first
// PRACKs lost), which names it; a PRACK for another RSeq gets 481; the
// voicemail answers meanwhile, but the 200 waits for the PRACK.
func TestPRACKEarlyMediaThenAnswer(t *testing.T) {
	short := t.TempDir()
	writeTonePrompts(t, short, 100*time.Millisecond)
	h := newHarness(t, func(c *Config) { c.PromptDir = short })
	vm := voicemailPhone(t, h)
	ctx := testCtx(t)
	c := h.inviteReliable(t, ctx, policy.Decision{Action: policy.ActionVoicemail, Announcement: 101, Voicemail: nVoicemail.String()})

	first := c.until(183)
	rseq := rseqOf(t, first)
	if len(first.Body()) == 0 {
		t.Fatal("183 without SDP")
	}
	// T1 and 2*T1: two retransmissions, the same RSeq, and no 200 while
	// the voicemail has answered already.
	for i := 0; i < 2; i++ {
		res := c.next()
		if res.StatusCode == 100 {
			i-- // to a retransmitted INVITE
			continue
		}
		if res.StatusCode != 183 {
			t.Fatalf("got %d while the 183 awaits its PRACK; want the 183 again", res.StatusCode)
		}
		if n := rseqOf(t, res); n != rseq {
			t.Fatalf("retransmitted 183 RSeq %d, first %d", n, rseq)
		}
	}
	select {
	case <-vm:
	case <-time.After(5 * time.Second):
		t.Fatal("voicemail never answered")
	}
	if res := c.finalWithin(300 * time.Millisecond); res != nil {
		t.Fatalf("final %d before the PRACK of the 183 with SDP (RFC 3262 §3)", res.StatusCode)
	}
	if res := c.prack(first, rseq+1); res.StatusCode != 481 {
		t.Fatalf("PRACK for an unknown RSeq: %d, want 481", res.StatusCode)
	}
	if res := c.prack(first, rseq); res.StatusCode != 200 {
		t.Fatalf("PRACK: %d %s, want 200", res.StatusCode, res.Reason)
	}
	if res := c.prack(first, rseq); res.StatusCode != 481 {
		t.Fatalf("second PRACK for the same RSeq: %d, want 481 (RFC 3262 §4)", res.StatusCode)
	}
	ok := c.until(200)
	if ok.GetHeader("RSeq") != nil {
		t.Error("200 with RSeq")
	}
	if err := c.cli.WriteRequest(c.inDialog(sip.ACK, ok, c.req.CSeq().SeqNo)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if res, err := c.cli.Do(ctx, c.inDialog(sip.BYE, ok, c.req.CSeq().SeqNo+2)); err != nil || res.StatusCode != 200 {
		t.Fatalf("BYE: %v %v", res, err)
	}
	steps := h.waitStep("end", "caller-hangup")
	if got := stepString(steps); got != "token=ok voicemail=ringing voicemail=connected bridge=connected end=caller-hangup" {
		t.Errorf("steps %q", got)
	}
}

// A CANCEL while the reliable 183 awaits its PRACK: 487 with the 183's
// To tag, the 183 no longer retransmitted, the call abandoned.
func TestPRACKCancel(t *testing.T) {
	long := t.TempDir()
	writeTonePrompts(t, long, 20*time.Second)
	h := newHarness(t, func(c *Config) { c.PromptDir = long })
	ctx := testCtx(t)
	c := h.inviteReliable(t, ctx, policy.Decision{Action: policy.ActionBlockWithAnnouncement, Announcement: 101})
	prov := c.until(183)
	rseqOf(t, prov)
	if res := c.cancel(); res.StatusCode != 200 {
		t.Fatalf("CANCEL: %d", res.StatusCode)
	}
	final := c.until(487)
	a, _ := prov.To().Params.Get("tag")
	if b, _ := final.To().Params.Get("tag"); a != b {
		t.Errorf("487 To tag %q, 183's %q", b, a)
	}
	h.waitStep("end", "abandoned")
	if res := c.finalWithin(1200 * time.Millisecond); res != nil {
		t.Errorf("after the 487: %d", res.StatusCode)
	}
}

// A caller that only supports 100rel gets unreliable provisionals (RFC
// 3262 §3 leaves it to the UAS).
func TestPRACKSupportedOnly(t *testing.T) {
	long := t.TempDir()
	writeTonePrompts(t, long, 20*time.Second)
	h := newHarness(t, func(c *Config) { c.PromptDir = long })
	ctx := testCtx(t)
	c := h.inviteRaw(t, ctx, policy.Decision{Action: policy.ActionBlockWithAnnouncement, Announcement: 101})
	prov := c.until(183)
	if prov.GetHeader("RSeq") != nil || prov.GetHeader("Require") != nil {
		t.Errorf("183 to a caller without 100rel is reliable: %s", prov.StartLine())
	}
	_ = c.cancel()
	c.until(487)
}

// fakeInviteTx records what a reliableTx sends.
type fakeInviteTx struct {
	sip.ServerTransaction
	mu   sync.Mutex
	sent []*sip.Response
	at   []time.Time
	done chan struct{}
}

func (f *fakeInviteTx) Respond(res *sip.Response) error {
	f.mu.Lock()
	f.sent = append(f.sent, res)
	f.at = append(f.at, time.Now())
	f.mu.Unlock()
	return nil
}
func (f *fakeInviteTx) Done() <-chan struct{} { return f.done }
func (f *fakeInviteTx) Err() error            { return nil }

func newFakeReliable(t1 time.Duration) (*reliableTx, *fakeInviteTx, *sip.Request) {
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", Host: "127.0.0.1"})
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", Host: "a"}, Params: sip.NewParams()})
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", Host: "b"}, Params: sip.NewParams()})
	req.To().Params.Add("tag", "ours")
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 7, MethodName: sip.INVITE})
	f := &fakeInviteTx{done: make(chan struct{})}
	return &reliableTx{ServerTransaction: f, req: req, cseq: 7, t1: t1, rseq: 41, end: make(chan struct{})}, f, req
}

// Without a PRACK: retransmitted at T1, 2*T1 ... 32*T1, then 500 at 64*T1
// and the call told; the 2xx that follows is not sent.
func TestReliableGivesUp(t *testing.T) {
	const t1 = 10 * time.Millisecond
	rt, f, req := newFakeReliable(t1)
	lost := make(chan struct{})
	rt.whenLost(func() { close(lost) })
	start := time.Now()
	prov := sip.NewResponseFromRequest(req, 183, "Session Progress", []byte("v=0\r\n"))
	if err := rt.Respond(prov); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("never gave up")
	}
	if err := rt.waitAcked(context.Background()); !errors.Is(err, errNoPRACK) {
		t.Errorf("waitAcked after giving up: %v", err)
	}
	if err := rt.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil)); !errors.Is(err, errNoPRACK) {
		t.Errorf("2xx after giving up: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.sent); n != 8 {
		t.Fatalf("sent %d responses, want the 183, 6 retransmissions and the 500", n)
	}
	for i, want := range []time.Duration{0, 1, 3, 7, 15, 31, 63, 64} {
		if got := f.at[i].Sub(start); got < want*t1 || got > want*t1+8*t1 {
			t.Errorf("response %d at %v, want %v", i, got, want*t1)
		}
	}
	if last := f.sent[7]; last.StatusCode != 500 || !last.To().Params.Has("tag") {
		t.Errorf("last %s, want 500 in the early dialog", last.StartLine())
	}
}

// RFC 3262 §3: a second reliable provisional waits for the first one's
// PRACK; the RSeq goes one up; a 2xx after a provisional without SDP does
// not wait.
func TestReliableOneAtATime(t *testing.T) {
	rt, f, req := newFakeReliable(time.Hour)
	if err := rt.Respond(sip.NewResponseFromRequest(req, 180, "Ringing", nil)); err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() {
		sent <- rt.Respond(sip.NewResponseFromRequest(req, 183, "Session Progress", []byte("v=0\r\n")))
	}()
	select {
	case err := <-sent:
		t.Fatalf("second reliable provisional sent before the first's PRACK (%v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	if rt.prack(42, 8) {
		t.Error("PRACK with another CSeq matched")
	}
	if !rt.prack(42, 7) {
		t.Fatal("PRACK for RSeq 42 not matched")
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	if got := f.sent[1].GetHeader("RSeq").Value(); got != "43" {
		t.Errorf("second RSeq %s, want 43", got)
	}
	f.mu.Unlock()
	// The 183 carried SDP: the 2xx waits for its PRACK.
	ok := make(chan error, 1)
	go func() { ok <- rt.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil)) }()
	select {
	case <-ok:
		t.Fatal("2xx before the PRACK of the 183 with SDP")
	case <-time.After(100 * time.Millisecond):
	}
	rt.prack(43, 7)
	if err := <-ok; err != nil {
		t.Fatal(err)
	}
}

func TestParseRAck(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		r, c uint32
	}{
		{"776656 1 INVITE", true, 776656, 1},
		{" 5  2   INVITE ", true, 5, 2},
		{"0 1 INVITE", false, 0, 0},
		{"1 INVITE", false, 0, 0},
		{"x 1 INVITE", false, 0, 0},
		{"4294967296 1 INVITE", false, 0, 0},
	} {
		r, c, m, ok := parseRAck(tc.in)
		if ok != tc.ok || r != tc.r || c != tc.c || (ok && m != "INVITE") {
			t.Errorf("parseRAck(%q) = %d %d %q %v", tc.in, r, c, m, ok)
		}
	}
}
