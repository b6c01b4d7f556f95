package redirect

import (
	"github.com/emiago/sipgo/sip"

	"callgate/e164"
	"callgate/policy"
	"callgate/sipcall"
)

// CallFromInvite translates an INVITE into the call the decision engine sees.
// peer is the transport source address ("ip:port"), kept for logs. The
// rules are package sipcall's (shared with the B2BUA): calling number from
// P-Asserted-Identity / From, presentation from Privacy and an anonymous
// From, called number from the Request-URI / To, original called number
// from Diversion / History-Info, and what they lack from a SIP-T or SIP-I
// body's ISUP IAM. The error is non-nil only when there is no usable called
// number; the call is still returned.
func CallFromInvite(req *sip.Request, peer string) (policy.Call, error) {
	var (
		v   reqView
		ext [8]extHeader
	)
	v.fillFromRequest(req, ext[:0])
	return callFromView(&v, peer, false)
}

// callFromView is CallFromInvite on the values of a request, whichever
// parser produced them. dialled says the INVITE is an outgoing call, whose
// Request-URI is read as a line dialled it (sipcall.Builder.Dialled).
func callFromView(v *reqView, peer string, dialled bool) (policy.Call, error) {
	var b sipcall.Builder
	if dialled {
		b.Dialled()
	}
	b.IAM(v.iam)
	b.RequestURI(v.ruri.uri())
	for _, h := range v.ext {
		b.Header(h.kind, h.value)
	}
	if v.hasFrom {
		b.From(v.fromDisplay, v.from.uri())
	}
	if v.hasTo {
		b.To(v.to.uri())
	}
	return b.Call(peer)
}

// uriNumber extracts the telephone number of a URI view (package sipcall's
// rules), 0 when it holds none.
func uriNumber(u *uriView) e164.Number { return sipcall.URINumber(u.uri()) }
