package b2bua

import (
	"context"
	"strconv"
	"strings"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Reliable provisional responses (RFC 3262) on the outbound legs (the
// subscriber's and voicemail's), the UAC side. Their INVITE says
// Supported: 100rel, so a far end that wants reliability (a gateway to a
// TDM line, a voicemail platform) sends reliable 18x instead of 421; the
// INVITE never requires it (a far end without 100rel still takes the
// call).
//
//	18x with Require: 100rel   PRACK (RAck: RSeq, the INVITE's CSeq number,
//	and RSeq, the first of     INVITE) in its early dialog (To tag, Contact,
//	its early dialog or one    Record-Route), CSeq one up in the dialog;
//	up from the last           per early dialog when the INVITE forks
//	another RSeq (a            not PRACKed, not processed further (§4): the
//	retransmission, or out of  PRACK already sent is retransmitted by its own
//	order)                     transaction
//	2xx without SDP            the answer was in that dialog's reliable 18x
//	                           (RFC 3261 §13.2.1): it is applied
//	421 naming 100rel          the leg fails (no retry): 421 is only for an
//	                           extension missing from Supported (RFC 3261
//	                           §21.4.15), and RFC 3261 §8.1.3.5 and RFC 3262
//	                           §4 define no retry for it
//
// sipgo numbers every request of a dialog after the last one it sent,
// ACK and CANCEL too, so after a PRACK its ACK and CANCEL would carry the
// PRACK's CSeq number where RFC 3261 §13.2.2.4 and §9.1 want the
// INVITE's; a leg that PRACKs gets its own copy of the client whose
// requester puts the INVITE's back (inviteCSeq).

// reliableOut is one outbound INVITE's 100rel state, used on the
// goroutine that waits for its answer (diago's OnResponse).
type reliableOut struct {
	d      *diago.DialogClientSession
	ctx    context.Context
	rseq   map[string]uint32 // To tag -> RSeq of the last PRACKed provisional
	answer map[string][]byte // To tag -> SDP of its first reliable provisional
	pinned bool              // d's client puts the INVITE's CSeq on ACK and CANCEL
	onErr  func(error)
}

func newReliableOut(ctx context.Context, d *diago.DialogClientSession, onErr func(error)) *reliableOut {
	return &reliableOut{d: d, ctx: ctx, rseq: map[string]uint32{}, answer: map[string][]byte{}, onErr: onErr}
}

// response handles res, a response to the INVITE before diago does, and
// reports whether it is to be processed further (false: a reliable
// provisional already PRACKed or out of order).
func (r *reliableOut) response(res *sip.Response) bool {
	tag := toTag(res)
	switch {
	case res.IsSuccess():
		if len(res.Body()) == 0 {
			if sdp, ok := r.answer[tag]; ok {
				res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
				res.SetBody(sdp)
			}
		}
		return true
	case !res.IsProvisional() || res.StatusCode == 100 || !headerHas(res.GetHeaders("Require"), "100rel"):
		return true
	}
	h := res.GetHeader("RSeq")
	if h == nil || tag == "" {
		return true // not reliable as RFC 3262 §3 makes one: nothing to PRACK
	}
	n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
	if err != nil || n == 0 {
		return true
	}
	rseq := uint32(n)
	if last, ok := r.rseq[tag]; ok && rseq != last+1 {
		return false
	}
	r.rseq[tag] = rseq
	if _, ok := r.answer[tag]; !ok && len(res.Body()) > 0 {
		r.answer[tag] = res.Body()
	}
	if err := r.prack(res, rseq); err != nil && r.onErr != nil {
		r.onErr(err)
	}
	return true
}

// prack sends res's PRACK and lets its transaction run to its end
// (retransmitted over UDP until its final response, RFC 3261 §17.1.2).
func (r *reliableOut) prack(res *sip.Response, rseq uint32) error {
	r.pin()
	inv := r.d.InviteRequest
	target := inv.Recipient
	if c := res.Contact(); c != nil {
		target = *c.Address.Clone()
	}
	req := sip.NewRequest(sip.PRACK, target)
	// sipgo takes To, the route set (Record-Route reversed) and the
	// destination from the dialog's last response: res, set by WaitAnswer
	// before OnResponse; To is set here all the same, from res itself.
	req.AppendHeader(sip.HeaderClone(res.To()))
	req.AppendHeader(sip.NewHeader("RAck", strconv.FormatUint(uint64(rseq), 10)+" "+
		strconv.FormatUint(uint64(inv.CSeq().SeqNo), 10)+" "+string(sip.INVITE)))
	tx, err := r.d.DialogClientSession.TransactionRequest(r.ctx, req)
	if err != nil {
		return err
	}
	go func() {
		defer tx.Terminate()
		for {
			select {
			case res := <-tx.Responses():
				if res.IsProvisional() {
					continue
				}
				return
			case <-tx.Done():
				return
			case <-r.ctx.Done():
				return
			}
		}
	}()
	return nil
}

// pin gives d a client of its own whose requester numbers ACK and
// CANCEL as the INVITE (see above). The client is copied before the
// first PRACK, on the goroutine that sends the dialog's requests.
func (r *reliableOut) pin() {
	if r.pinned {
		return
	}
	r.pinned = true
	ua := r.d.UA
	cli := *ua.Client
	cli.TxRequester = &inviteCSeq{cseq: r.d.InviteRequest.CSeq().SeqNo, ua: cli.UserAgent}
	ua.Client = &cli
}

// inviteCSeq sends a dialog's requests as sipgo's client does, but
// with the INVITE's CSeq number on ACK and CANCEL.
type inviteCSeq struct {
	cseq uint32
	ua   *sipgo.UserAgent
}

func (p *inviteCSeq) Request(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error) {
	if req.IsAck() || req.IsCancel() {
		if cs := req.CSeq(); cs != nil {
			cs.SeqNo = p.cseq
		}
	}
	if req.IsAck() {
		return nil, p.ua.TransportLayer().WriteMsg(req)
	}
	tx, err := p.ua.TransactionLayer().Request(ctx, req)
	if err != nil {
		return nil, err
	}
	return tx, nil
}

// toTag is res's To tag, "" without one.
func toTag(res *sip.Response) string {
	if to := res.To(); to != nil {
		t, _ := to.Params.Get("tag")
		return t
	}
	return ""
}

// headerHas reports whether one of hs lists option tag opt.
func headerHas(hs []sip.Header, opt string) bool {
	for _, h := range hs {
		for _, t := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(t), opt) {
				return true
			}
		}
	}
	return false
}
