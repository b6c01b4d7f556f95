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
//	                            subscriber, numbers and expiry; for
//	                            BlockWithAnnouncement the B2BUA plays the
//	                            announcement as early media, then declines
//
// The engine is asked through a policy.Guard (response.go: invite): a
// decision that panics gets 500, one that misses Config.DecideTimeout 503
// with Retry-After, one without a usable action 500; each is counted in
// Stats and none can take a reader down. Without a Config.ScreeningURI the
// server says so to the engine (policy.Call.DefaultRoute false), and a call
// whose route has no SIP URI gets the engine's configured no-route
// fallback, counted in Stats.NoRouteFallback and warned about.
//
// Route templates are SIP or tel URIs with the placeholders {called},
// {calling} and {original} (E.164 with '+'; {calling} is "anonymous" when
// absent; {original} is the called number when the call was not forwarded),
// e.g. "sip:{called}@gw.carrier.example;user=phone".
//
// An INVITE becomes a policy.Call as CallFromInvite documents
// (P-Asserted-Identity / From, Privacy, Request-URI / To, Diversion /
// History-Info, and what they lack from a SIP-T or SIP-I body's ISUP IAM),
// with Origin SIP and Peer the source address. The stateless scanner reads
// such an IAM in place (sipcall.ScanIAM) and hands a body outside its plain
// syntax, or an IAM that does not read, to the fallback parser, which reads
// it the general way (sipcall.BodyIAM); both counted in Stats.IAMs*. An INVITE
// from an originating trunk (Config.OriginatingSources) is an outgoing
// call, asked as an originating call (originating.go): 302 to the continue
// route when allowed, 603 when the engine refuses it (a fraud lockdown).
//
// # SIP behaviour
//
// UDP is served statelessly by default (RFC 3261 §8.2.7, stateless.go): a
// fixed set of reader goroutines each read the datagrams waiting in one
// system call (recvmmsg, udpbatch.go), scan each in place (scan.go), decide
// and send the batch's answers in one system call (sendmmsg), with no
// transaction, goroutine or timer per request and no allocation for
// well-formed traffic; a lone datagram is answered at once. A decision
// that would wait for a signal's look-up (reputation) is deferred: that
// INVITE is copied, decided and answered on a goroutine of its own
// (deferred.go, callgate_sip_deferred_total), so it holds up no other.
// Config.Stateful puts UDP on sipgo's transaction layer instead; TCP and
// TLS always use it.
// Both paths share one answer (view.go), so they differ only where state
// matters:
//
//	                     stateless UDP (default)      sipgo transactions
//	final response       sent once; a retransmitted   retransmitted until the
//	                     INVITE gets the identical    ACK (Timer G); INVITE
//	                     response (txid.go)           retransmissions absorbed
//	ACK                  absorbed                     absorbed (stray: dropped)
//	CANCEL               481 (no transaction can      200 (+ 487 for a pending
//	                     match, RFC 3261 §9.2)        INVITE) when it matches
//	                                                  an INVITE; else 481
//	100 Trying           never (final answers only)   after 200 ms (Timer 1xx)
//
// In both:
//   - Responses carry the request's Via (top Via with received, and rport
//     filled in when asked for, RFC 3581), From, To with our tag (a keyed
//     hash of Call-ID, From tag, top Via branch and CSeq number, so stable
//     across retransmissions), Call-ID, CSeq. Over UDP they go to the source
//     address, and to the source port when rport was asked for, else the
//     Via port (RFC 3261 §18.2.2).
//   - OPTIONS: 200 with Allow and Accept (SBC keep-alives), even with
//     Max-Forwards 0 (RFC 3261 §11). Other methods: 405 with Allow.
//   - INVITE checks: 505 for another SIP version, 400 with a reason phrase
//     for a missing or malformed mandatory header (see prescan.go for the
//     parts sipgo would otherwise drop silently), 416 for a Request-URI
//     scheme other than sip/sips/tel, 483 when Max-Forwards is 0, 481 for an
//     INVITE inside a dialog (To tag), 420 for any Require, 404 when no
//     telephone number can be found as the called party.
//   - SIPS (RFC 5630, sips.go): an INVITE to a sips: Request-URI is
//     redirected only to sips: targets (Config.SecureContinueRoute,
//     Config.SecureScreeningURI, or a route's own target when it is
//     sips:); without one it gets 480 Temporarily Unavailable with
//     Warning: 380 "SIPS Not Allowed", never a sip: or tel: Contact.
//   - Overload: 503 Service Unavailable with Retry-After when more than
//     Config.MaxInFlight decisions are running or Config.MaxRate is
//     exceeded (and while draining), instead of silent drops.
//
// Over TCP and TLS a framer (streamlimit.go) finds each message's end before
// sipgo parses it: a request over 65,535 bytes (sipgo's limit) gets 513
// Message Too Large and one short log line, its bytes are skipped and the
// connection carries on; one without Content-Length gets 400 and the
// connection is closed (a stream message has no other end).
//
// # STIR/SHAKEN
//
// With Config.Verifier set (sip.stir.verify), the Identity headers of an
// INVITE ("Identity" or compact "y"; the scanner only notes their place,
// so an INVITE without one costs nothing more) are verified by package
// stir before the engine runs, and the result fills Call.Attestation and
// Call.AttestationReason (the reason code, in the decision log). The
// engine applies the called subscriber's provider's policy (screen, block
// or reject C-attested and failed calls, tag display names); the 302 of an
// allowed call carries verstat on P-Asserted-Identity, the tag and
// P-Attestation-Indicator, and a reject policy answers with the RFC 8224
// code of the failure. With Config.Signer and Originators, INVITEs without
// Identity from an originator's address are signed (authentication
// service) and the 302 carries the Identity header. See stir.go. The
// verification runs on the reader goroutine: an ES256 verification costs
// about 80 µs of CPU (bench/stir/README.md), and a certificate not yet
// cached waits at most stir.Config.MissWait.
//
// Display-name tagging for allowed calls is also an optional hook (Tagger,
// AttestationTagger) for X-Callgate-* headers.
//
// # Call keys
//
// A delivered call whose enterprise call key matched carries the brand
// (brand.go): the 302's Contact display name, P-Asserted-Identity and one
// RFC 9796 Call-Info with the logo (purpose=icon) and the call-reason. SIP enrolment of call keys (enrol.go,
// WithEnroller): an INVITE to the enrolment address is answered by package
// keys' Enroller (302 onward, 403, 503), not the engine.
//
// # As a daemon tier
//
// *Server is one of the daemon's tiers (daemon.Tier, tier.go): New checks
// the Config and opens no socket, Start opens the listeners and serves in
// the background, Ready says whether it serves, Drain answers every new
// INVITE 503 with Retry-After (so the upstream proxy tries its next
// server) while the INVITEs being decided (deferred ones included) are
// answered, and Stop closes the listeners. Its metrics (callgate_sip_*, metrics.go) go to the
// registry given with WithRegisterer. daemon/sip.go maps the sip:
// configuration section onto Config. Listen and Serve remain for running
// the server on its own.
package redirect
