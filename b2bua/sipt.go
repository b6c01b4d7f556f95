package b2bua

import (
	"strings"

	"callgate/policy"
	"callgate/sipcall"
	"callgate/sipcall/isup"

	"github.com/emiago/sipgo/sip"
)

// An INVITE from a SIP-T or SIP-I gateway carries the call's ISUP IAM
// beside the SDP (body.go). What the INVITE's headers lack of it — the
// forwarding, the caller's number, its restriction — the IAM gives, by
// package sipcall's rules (Builder.IAM), the same the redirect tier reads
// such an INVITE by. That is how a gateway call reaches its subscriber
// when the gateway left the Original Called Number in the IAM alone.
//
// The middleware reduces the body to its SDP before diago reads it, so
// it keeps the IAM it read for admit, keyed by the INVITE's transaction,
// and forgets it when the transaction ends, whether admit took it or not.

// keepIAM keeps a new INVITE's IAM for admit (takeIAM); an optional IAM
// that does not read is counted, logged and ignored (a required one was
// refused with 400 already).
func (s *Server) keepIAM(req *sip.Request, tx sip.ServerTransaction, enc *encapsulated) {
	if enc.err != nil {
		s.m.sipT.WithLabelValues("malformed").Inc()
		if s.limit.allow() {
			s.log.Info("b2bua: ISUP part of the INVITE ignored: it does not read as an IAM", "call_id", callIDOf(req), "err", enc.err)
		}
		return
	}
	k := inviteKey(req)
	s.iams.Store(k, enc.iam)
	if !tx.OnTerminate(func(string, error) { s.iams.Delete(k) }) {
		s.iams.Delete(k) // ended already: no call will ask for it
	}
}

// inviteKey names a new INVITE in s.iams and s.origins: diago's handler
// is given another copy of the request than the middleware, so its Call-ID
// and top Via (sent-by and branch, the transaction's) rather than the
// pointer.
func inviteKey(req *sip.Request) string {
	k := callIDOf(req)
	if v := req.Via(); v != nil {
		b, _ := v.Params.Get("branch")
		k += "|" + v.SentBy() + "|" + b
	}
	return k
}

// callOf reads a new INVITE as the engine's call, with the IAM it carried
// (keepIAM), and counts whether the IAM gave anything the headers lacked;
// what it gave is noted in c.isup, for the call's steps (step isup).
func (s *Server) callOf(c *call, req *sip.Request, peer string) (policy.Call, error) {
	v, ok := s.iams.LoadAndDelete(inviteKey(req))
	if !ok {
		return sipcall.FromRequest(req, peer)
	}
	iam := v.(*isup.IAM)
	call, err := sipcall.FromRequestIAM(req, peer, iam)
	headers, _ := sipcall.FromRequest(req, peer)
	if call.Calling != headers.Calling {
		c.iamCalling = call.Calling
	}
	// Privacy: id onward when the restriction is the IAM's alone, or when
	// the number the legs will assert is (an anonymous From without
	// Privacy would otherwise let it be shown).
	c.iamRestricted = call.Presentation == policy.PresentationRestricted &&
		(headers.Presentation != policy.PresentationRestricted || c.iamCalling != 0)
	if c.isup = iamGave(&headers, &call); c.isup == "" {
		s.m.sipT.WithLabelValues("unused").Inc()
	} else {
		s.m.sipT.WithLabelValues("mapped").Inc()
	}
	return call, err
}

// iamGave says what the call read with its IAM has that the headers alone
// did not give, "" when nothing.
func iamGave(headers, call *policy.Call) string {
	var parts []string
	if call.Calling != headers.Calling {
		parts = append(parts, "calling "+call.Calling.String())
	}
	if call.Presentation != headers.Presentation {
		parts = append(parts, "presentation "+call.Presentation.String())
	}
	if call.OriginalCalled != headers.OriginalCalled {
		parts = append(parts, "original called "+call.OriginalCalled.String())
	}
	return strings.Join(parts, ", ")
}

// iamIdentity is what an outbound leg says of a caller whose number, or
// its restriction, the INVITE's IAM alone gave: P-Asserted-Identity with
// the number, and Privacy: id when the call is restricted (by the IAM, or
// by an anonymous From), as a gateway mapping the IAM in full (RFC 3398,
// RFC 3325) would have sent them, so that the subscriber's switch gets the
// Calling Party Number, restricted, where the caller's From is anonymous. The IAM itself is not passed on: the outbound leg is a call
// of the B2BUA's own (another Request-URI, media anchored here, the
// caller answered before it may start), which the caller's IAM and the
// backward ISUP SIP-T would pair it with no longer describe (RFC 3372).
func (c *call) iamIdentity() []sip.Header {
	var hs []sip.Header
	if c.iamCalling != 0 && c.req.GetHeader("P-Asserted-Identity") == nil {
		hs = append(hs, sip.NewHeader("P-Asserted-Identity", "<tel:"+c.iamCalling.String()+">"))
	}
	if c.iamRestricted && c.req.GetHeader("Privacy") == nil {
		hs = append(hs, sip.NewHeader("Privacy", "id"))
	}
	return hs
}
