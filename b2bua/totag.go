package b2bua

import (
	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
)

// A UAS gives every response to a request the To tag of the first one
// that had a tag (RFC 3261 §8.2.6.2), the 487 that ends an INVITE after a
// CANCEL too (§9.2): a caller's early dialog is the 183 or 180 it got, and
// the 487 must end that one. diago tags its own copy of the INVITE
// (sipgo's DialogUA.ReadInvite clones it), and every response the B2BUA
// sends is built from that copy; but sipgo's server transaction answers a
// CANCEL itself, with a 487 built from the request it was created with,
// which has no tag, so it got a random one of its own: another dialog,
// which a caller or a proxy that matches responses to dialogs drops or
// takes for a fork.
//
// So the middleware keeps each new INVITE's transaction request
// (keepOrigin), and the call's handler gives it diago's tag (tagOrigin)
// before it sends anything: the transaction reads that request only to
// answer it (its 100 Trying timer runs 200 ms), and a CANCEL may come
// only after a provisional response (§9.1), which the transaction sends
// under its lock, after the tag is written.

// keepOrigin keeps a new INVITE's transaction request for tagOrigin, until
// the transaction ends.
func (s *Server) keepOrigin(req *sip.Request, tx sip.ServerTransaction) {
	k := inviteKey(req)
	s.origins.Store(k, req)
	if !tx.OnTerminate(func(string, error) { s.origins.Delete(k) }) {
		s.origins.Delete(k) // ended already: no response will be built from it
	}
}

// tagOrigin gives the transaction's request of in's INVITE the To tag
// diago answers with.
func (s *Server) tagOrigin(in *diago.DialogServerSession) {
	v, ok := s.origins.LoadAndDelete(inviteKey(in.InviteRequest))
	if !ok {
		return
	}
	tag, ok := in.InviteRequest.To().Params.Get("tag")
	if to := v.(*sip.Request).To(); ok && to != nil {
		to.Params.Add("tag", tag)
	}
}
