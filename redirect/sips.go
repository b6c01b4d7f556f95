package redirect

import "strings"

// SIPS (RFC 3261 §26.2.2, RFC 5630). An INVITE whose Request-URI is sips:
// asks for TLS on every hop up to the target. A 302 naming a sip: or tel:
// target would undo that: the upstream would follow it unprotected (RFC
// 3261 §8.1.3.4 even lets it, "informing the user"). So a SIPS INVITE is
// redirected only to a sips: target; one with no sips: target is refused
// the way RFC 5630 §5.1 names, 480 Temporarily Unavailable with
//
//	Warning: 380 <agent> "SIPS Not Allowed"
//
// after which the upstream MUST NOT retry with sip: on its own (RFC 5630
// §5.1.1). Which target serves a SIPS INVITE:
//
//	continue route    the route's RouteOverrides entry (sips: or refused),
//	                  else SecureContinueRoute, else ContinueRoute if sips:
//	screening         the decision's route SIP URI (sips: or refused), else
//	                  SecureScreeningURI, else ScreeningURI if sips:
//	enrolment onward  the enterprise's onward URI (sips: or refused)
//
// A route's own target is never swapped for the platform's secure one: it
// names where that provider's calls go. A sip: INVITE may be sent to a
// sips: target (an upgrade costs it nothing). The refusals are counted in
// Stats.SIPSRefused.

// sipsRequest reports whether the INVITE asked for SIPS.
func sipsRequest(v *reqView) bool { return v.ruri.scheme == "sips" }

// isSIPS reports whether a URI (or template) is a sips: URI.
func isSIPS(uri string) bool {
	return len(uri) >= 5 && strings.EqualFold(uri[:5], "sips:")
}

// refuseSIPS answers a SIPS INVITE that has no sips: target.
func (s *Server) refuseSIPS(a *answer) {
	s.stats.sipsRefused.Add(1)
	a.set(480, "Temporarily Unavailable")
	a.add(hdrWarnSIPS)
}

// warnAgent is the warn-agent of our Warning headers (RFC 3261 §20.43: a
// host or a pseudonym token): the Server name when it is a token, else
// "callgate".
func warnAgent(serverName string) string {
	if serverName == "" || serverName == "-" {
		return "callgate"
	}
	for i := 0; i < len(serverName); i++ {
		c := serverName[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && !strings.ContainsRune("-.!%*_+`'~", rune(c)) {
			return "callgate"
		}
	}
	return serverName
}

// secureTemplate returns t when it is a sips: template, else nil.
func secureTemplate(t *template) *template {
	if t != nil && isSIPS(t.String()) {
		return t
	}
	return nil
}

// screenTemplate is the tier's own screening target for an INVITE, sips:
// or not (secure); nil when it has none.
func (s *Server) screenTemplate(secure bool) *template {
	if secure {
		return s.secureScreen
	}
	return s.screen
}
