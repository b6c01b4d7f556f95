package b2bua

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Reliable provisional responses (RFC 3262) on the caller's leg. Neither
// diago nor sipgo has them (sipgo only names the PRACK method), so they
// are here: the middleware wraps the INVITE's server transaction of a
// caller that requires 100rel in a reliableTx, below every other wrapper,
// so that what diago sends as a 180 or 183 leaves reliably.
//
//	INVITE with               every provisional but 100 is reliable:
//	Require: 100rel           Require: 100rel, RSeq (random start, one up
//	                          each), retransmitted at T1, 2*T1, 4*T1 ...
//	                          until its PRACK, the final response, or
//	                          64*T1 (§3)
//	Supported: 100rel only    unreliable, as for any caller (§3 leaves it
//	                          to the UAS): the 183's SDP is the same as the
//	                          200's, so reliability adds nothing but a
//	                          round trip before the answer
//	a second provisional      waits for the PRACK of the one before (§3:
//	                          at most one unacknowledged at a time)
//	2xx                       waits for the PRACK of a provisional that
//	                          carried SDP (§3); one without SDP is just
//	                          no longer retransmitted
//	no PRACK in 64*T1         500 to the INVITE (§3: SHOULD 5xx), the
//	                          call ends (step end no-prack)
//	PRACK                     200 when its RAck names the provisional
//	                          awaiting it (RSeq, CSeq, INVITE); 481 for
//	                          any other, or outside the INVITE's dialog
//	                          (§4: a PRACK to one already acknowledged is
//	                          481 too); 400 for a RAck that does not read;
//	                          488 for one carrying an offer (the B2BUA
//	                          makes no offer in a provisional, and takes no
//	                          new one before the answer): the provisional
//	                          is acknowledged all the same
//
// The caller's other required extensions still get 420 (acceptable).

// errNoPRACK ends a call whose reliable provisional was never
// acknowledged.
var errNoPRACK = errors.New("no PRACK for a reliable provisional response within 64*T1 (RFC 3262 §3)")

// errFinalSent is what a response after the INVITE's final one gets.
var errFinalSent = errors.New("b2bua: the INVITE has its final response already")

// requires100rel reports whether req's Require names 100rel.
func requires100rel(req *sip.Request) bool {
	return headerHas(req.GetHeaders("Require"), "100rel")
}

// reliableTx is the server transaction of a new INVITE whose caller
// requires 100rel.
type reliableTx struct {
	sip.ServerTransaction
	req  *sip.Request // the INVITE as the transaction holds it (tagged by tagOrigin)
	key  string
	cseq uint32
	t1   time.Duration // sip.T1 when made: retransmissions start there

	mu      sync.Mutex
	rseq    uint32        // the last RSeq sent
	tag     string        // the To tag of the provisionals: their early dialog
	unacked *sip.Response // the reliable provisional awaiting its PRACK
	sdp     bool          // unacked carries SDP
	acked   chan struct{} // closed when unacked is acknowledged or given up
	final   bool          // a final response went (or a CANCEL came)
	lost    bool          // given up for want of a PRACK: 500 sent
	end     chan struct{} // closed with final
	onLost  func()
}

// reliable wraps tx, a new INVITE's transaction, and registers it for
// its PRACKs until it ends.
func (s *Server) reliable(req *sip.Request, tx sip.ServerTransaction) sip.ServerTransaction {
	t := &reliableTx{ServerTransaction: tx, req: req, key: prackKey(req),
		// RFC 3262 §3: the first RSeq is random, between 1 and 2**31-1;
		// one up from here, with room for the ones after it.
		rseq: rand.Uint32N(1 << 30),
		end:  make(chan struct{}),
		t1:   sip.T1,
	}
	if cs := req.CSeq(); cs != nil {
		t.cseq = cs.SeqNo
	}
	s.reliables.Store(t.key, t)
	if !tx.OnTerminate(func(string, error) { s.reliables.CompareAndDelete(t.key, t) }) {
		s.reliables.CompareAndDelete(t.key, t)
	}
	// sipgo answers a CANCEL with 487 itself: that is the final response.
	tx.OnCancel(func(*sip.Request) { t.finish() })
	return t
}

// prackKey names an INVITE's dialog on the caller's side as a PRACK
// carries it: Call-ID and the caller's From tag.
func prackKey(req *sip.Request) string {
	tag := ""
	if f := req.From(); f != nil {
		tag, _ = f.Params.Get("tag")
	}
	return callIDOf(req) + "|" + tag
}

// reliableOf returns the reliableTx of req's INVITE, or nil.
func (s *Server) reliableOf(req *sip.Request) *reliableTx {
	if v, ok := s.reliables.Load(prackKey(req)); ok {
		return v.(*reliableTx)
	}
	return nil
}

// whenLost has f called (once, not under a lock) if the INVITE is given
// up for want of a PRACK.
func (t *reliableTx) whenLost(f func()) {
	t.mu.Lock()
	lost := t.lost
	t.onLost = f
	t.mu.Unlock()
	if lost {
		f()
	}
}

// finish marks the final response sent; t.mu must not be held.
func (t *reliableTx) finish() {
	t.mu.Lock()
	t.finishLocked()
	t.mu.Unlock()
}

func (t *reliableTx) finishLocked() {
	if !t.final {
		t.final = true
		close(t.end)
	}
}

func (t *reliableTx) Respond(res *sip.Response) error {
	switch {
	case res.StatusCode == 100:
		return t.ServerTransaction.Respond(res)
	case res.IsProvisional():
		return t.provisional(res)
	case res.IsSuccess():
		if err := t.awaitPRACK(); err != nil {
			return err
		}
		return t.ServerTransaction.Respond(res)
	}
	t.mu.Lock()
	lost := t.lost
	t.finishLocked()
	t.mu.Unlock()
	if lost {
		return errNoPRACK // its 500 went already
	}
	return t.ServerTransaction.Respond(res)
}

// provisional sends res reliably, once the one before it is acknowledged.
func (t *reliableTx) provisional(res *sip.Response) error {
	t.mu.Lock()
	for t.unacked != nil && !t.final {
		ch := t.acked
		t.mu.Unlock()
		select {
		case <-ch:
		case <-t.end:
		case <-t.Done():
			return t.gone()
		}
		t.mu.Lock()
	}
	if t.final {
		t.mu.Unlock()
		return errFinalSent
	}
	t.rseq++
	if to := res.To(); to != nil {
		t.tag, _ = to.Params.Get("tag")
	}
	res.AppendHeader(sip.NewHeader("Require", "100rel"))
	res.AppendHeader(sip.NewHeader("RSeq", strconv.FormatUint(uint64(t.rseq), 10)))
	t.unacked, t.sdp, t.acked = res, len(res.Body()) > 0, make(chan struct{})
	ch := t.acked
	t.mu.Unlock()
	if err := t.ServerTransaction.Respond(res); err != nil {
		return err
	}
	go t.retransmit(res, ch)
	return nil
}

func (t *reliableTx) gone() error {
	if err := t.Err(); err != nil {
		return err
	}
	return errFinalSent
}

// retransmit resends res at T1, 2*T1, 4*T1 ... until ch (its PRACK) or
// the final response, and gives up at 64*T1 (RFC 3262 §3).
func (t *reliableTx) retransmit(res *sip.Response, ch <-chan struct{}) {
	giveUp := time.NewTimer(64 * t.t1)
	defer giveUp.Stop()
	next := time.NewTimer(t.t1)
	defer next.Stop()
	for d := t.t1; ; {
		select {
		case <-ch:
			return
		case <-t.end:
			return
		case <-t.Done():
			return
		case <-giveUp.C:
			t.giveUp(res)
			return
		case <-next.C:
			_ = t.ServerTransaction.Respond(res)
			d *= 2
			next.Reset(d)
		}
	}
}

// giveUp answers the INVITE 500 when res is still unacknowledged, and
// ends the call.
func (t *reliableTx) giveUp(res *sip.Response) {
	t.mu.Lock()
	if t.final || t.unacked != res {
		t.mu.Unlock()
		return
	}
	t.lost = true
	t.unacked = nil
	close(t.acked)
	t.finishLocked()
	f := t.onLost
	t.mu.Unlock()
	r := sip.NewResponseFromRequest(t.req, 500, "Reliable Provisional Response Not Acknowledged", nil)
	if to, rto := r.To(), res.To(); to != nil && rto != nil && !to.Params.Has("tag") {
		if tag, ok := rto.Params.Get("tag"); ok {
			to.Params.Add("tag", tag)
		}
	}
	_ = t.ServerTransaction.Respond(r)
	if f != nil {
		f()
	}
}

// waitAcked returns once no provisional with SDP awaits its PRACK, or
// with why it never will (ctx ended, given up, final response sent).
func (t *reliableTx) waitAcked(ctx context.Context) error {
	return t.untilAcked(ctx.Done(), func() error { return context.Cause(ctx) }, false)
}

// awaitPRACK returns once the 2xx may go (RFC 3262 §3: not before the
// PRACK of a provisional that carried SDP), and marks it sent.
func (t *reliableTx) awaitPRACK() error {
	return t.untilAcked(t.Done(), t.gone, true)
}

// untilAcked waits until no provisional with SDP awaits its PRACK, or
// done closes (then: why()); finish marks the final response sent in the
// same hold of the lock, so no provisional can slip in between.
func (t *reliableTx) untilAcked(done <-chan struct{}, why func() error, finish bool) error {
	t.mu.Lock()
	for {
		switch {
		case t.lost:
			t.mu.Unlock()
			return errNoPRACK
		case t.final:
			t.mu.Unlock()
			return errFinalSent
		case t.unacked == nil || !t.sdp:
			if finish {
				t.finishLocked()
			}
			t.mu.Unlock()
			return nil
		}
		ch := t.acked
		t.mu.Unlock()
		select {
		case <-ch:
		case <-t.end:
		case <-done:
			return why()
		}
		t.mu.Lock()
	}
}

// prack acknowledges the provisional whose RSeq and CSeq rseq and cseq
// name, and reports whether there was one awaiting it.
func (t *reliableTx) prack(rseq, cseq uint32) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.unacked == nil || rseq != t.rseq || cseq != t.cseq {
		return false
	}
	t.unacked = nil
	close(t.acked)
	return true
}

// parseRAck reads a RAck header's value: response-num CSeq-num Method
// (RFC 3262 §7.2).
func parseRAck(v string) (rseq, cseq uint32, method string, ok bool) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return 0, 0, "", false
	}
	r, err1 := strconv.ParseUint(f[0], 10, 32)
	c, err2 := strconv.ParseUint(f[1], 10, 32)
	if err1 != nil || err2 != nil || r == 0 {
		return 0, 0, "", false
	}
	return uint32(r), uint32(c), f[2], true
}

// onPrack answers a PRACK (RFC 3262 §4): see the table above.
func (s *Server) onPrack(req *sip.Request, tx sip.ServerTransaction) {
	t := s.reliableOf(req)
	if t == nil || !sameDialog(req, t) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	h := req.GetHeader("RAck")
	if h == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 400, "Missing RAck Header", nil))
		return
	}
	rseq, cseq, method, ok := parseRAck(h.Value())
	if !ok {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 400, "Malformed RAck Header", nil))
		return
	}
	if method != string(sip.INVITE) || !t.prack(rseq, cseq) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	if len(req.Body()) > 0 {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 488, "Offer in PRACK Not Accepted", nil))
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
}

// sameDialog reports whether req's To tag is the one the INVITE's
// responses carry (its early dialog).
func sameDialog(req *sip.Request, t *reliableTx) bool {
	to := req.To()
	if to == nil {
		return false
	}
	got, _ := to.Params.Get("tag")
	t.mu.Lock()
	defer t.mu.Unlock()
	return got != "" && got == t.tag
}
