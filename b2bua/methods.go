package b2bua

import (
	"slices"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// OPTIONS and the methods the B2BUA does not take. diago answers OPTIONS
// with its handlers in map order, and sipgo answers other methods 405
// without the Allow header RFC 3261 §21.4.6 requires; both are answered
// here:
//
//	OPTIONS     200 with Allow (the methods we handle, in a fixed order),
//	            Accept (the bodies an INVITE may carry) and Supported
//	            (100rel, prack.go; RFC 3261 §11.2)
//	others      405 Method Not Allowed with the same Allow

// allowed is the Allow header's value for the methods the SIP server has
// handlers for: sorted, so that every answer says the same. Start sets it
// once the handlers are registered.
func allowed(methods []string) string {
	slices.Sort(methods)
	return strings.Join(methods, ", ")
}

func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", s.allow))
	res.AppendHeader(sip.NewHeader("Accept", acceptTypes))
	res.AppendHeader(sip.NewHeader("Supported", "100rel"))
	_ = tx.Respond(res)
}

func (s *Server) onOtherMethod(req *sip.Request, tx sip.ServerTransaction) {
	if req.IsAck() {
		return // an ACK is never answered
	}
	res := sip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil)
	res.AppendHeader(sip.NewHeader("Allow", s.allow))
	_ = tx.Respond(res)
}
