// Package redirect is callgate's SIP redirect server: SIP networks ask it
// what to do with a call by sending an INVITE, and get the decision of the
// one policy engine back at once as a redirect or a rejection. Like the AIN
// SCP it only translates (INVITE -> policy.Call, policy.Decision -> SIP
// response); no screening rule lives here.
//
// # Decisions
//
//	Allow                       302 Moved Temporarily, Contact = the continue
//	                            route (Config.ContinueRoute, or the
//	                            RouteOverrides entry of the decision's route)
//	Block                       603 Decline, or 608 Rejected with
//	                            Call-Info: <RejectInfoURL>;purpose=jwscard
//	                            (RFC 8688) when Config.Reject608 is set
//	BlockWithAnnouncement,      302 Moved Temporarily, Contact = the B2BUA's
//	Screen, Challenge,          screening URI (the decision's Route.SIPURI,
//	Voicemail                   else Config.ScreeningURI) with the signed
//	                            token (package token) in the URI parameter
//	                            "cgt": the action, announcement, PIN allowed,
//	                            subscriber, numbers and expiry
//
// Route templates are SIP or tel URIs with the placeholders {called},
// {calling} and {original} (E.164 with '+'; {calling} is "anonymous" when
// absent; {original} is the called number when the call was not forwarded),
// e.g. "sip:{called}@gw.carrier.example;user=phone".
//
// An INVITE becomes a policy.Call as CallFromInvite documents
// (P-Asserted-Identity / From, Privacy, Request-URI / To, Diversion /
// History-Info), with Origin SIP and Peer the source address.
//
// # SIP behaviour
//
// The transport and transaction layers are sipgo's (UDP, TCP, TLS):
//   - INVITE is answered from the handler with the final response; the
//     INVITE server transaction retransmits it over UDP until the ACK, which
//     it absorbs, and answers INVITE retransmissions with it (RFC 3261
//     §17.2.1). 100 Trying is sent only when the decision takes more than
//     200 ms (sipgo's Timer 1xx); an immediate final answer needs none.
//   - Responses carry the request's Via (top Via with received, and rport
//     filled in when asked for, RFC 3581), From, To with our tag (derived
//     from the transaction, so stable across retransmissions), Call-ID,
//     CSeq. Over UDP they go to the source address, and to the source port
//     when rport was asked for, else the Via port (RFC 3261 §18.2.2).
//   - CANCEL of a live INVITE transaction: 200 OK (and 487 for the INVITE
//     if it had no final response yet); a CANCEL matching no transaction:
//     481 (RFC 3261 §9.2). A stray ACK is dropped.
//   - OPTIONS: 200 with Allow and Accept (SBC keep-alives), even with
//     Max-Forwards 0 (RFC 3261 §11). Other methods: 405 with Allow.
//   - INVITE checks: 505 for another SIP version, 400 with a reason phrase
//     for a missing or malformed mandatory header (see prescan.go for the
//     parts sipgo would otherwise drop silently), 416 for a Request-URI
//     scheme other than sip/sips/tel, 483 when Max-Forwards is 0, 481 for an
//     INVITE inside a dialog (To tag), 420 for any Require, 404 when no
//     telephone number can be found as the called party.
//   - Overload: 503 Service Unavailable with Retry-After when more than
//     Config.MaxInFlight decisions are running or Config.MaxRate is
//     exceeded, instead of silent drops.
//
// Display-name tagging for allowed calls is an optional hook (Tagger,
// AttestationTagger).
package redirect
