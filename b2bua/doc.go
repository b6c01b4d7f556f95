// Package b2bua is callgate's SIP back-to-back user agent: the tier where
// the decisions that need a conversation are carried out (issue 10).
// Like the other tiers it only translates and executes; the decision is
// the engine's, made by the redirect tier (and carried in a signed
// screening token) or asked for here for calls that arrive through the AIN
// path. It is built on diago (SIP dialogs, SDP, RTP/RTCP, G.711, RFC 4733
// events, WAV playback); what diago lacks is here: SIP INFO DTMF, UPDATE,
// strict SDP checks, the RTP timeout, the name recorder.
//
// # Ways in
//
//	INVITE whose Request-URI has   token.Verify (keys: WithTokenKeys). Forged,
//	the parameter cgt (the 302 of  expired, unknown key, malformed, or made for
//	the redirect tier)             other numbers than the INVITE's (calling, and
//	                               called = the Request-URI or To number, or the
//	                               diverting one) -> 403 with a reason phrase
//	                               (Screening Token Invalid / Expired / Key
//	                               Unknown / Malformed / Does Not Match Call),
//	                               logged (rate-limited), counted; never a
//	                               treatment. Valid -> its decision, not asked
//	                               again.
//	INVITE without a token whose   a gateway call after the SCP's forwardCall:
//	Request-URI is a routing       the engine is asked (WithGuard) for the
//	number (WithRoutingNumbers)    diverting number (the newest diversion:
//	and that has a diverting       the subscriber the SCP forwarded, even when
//	number (Diversion or           the call was forwarded to it before), as
//	History-Info, or a SIP-T IAM's the AIN tier (Origin AIN) so the route's
//	Redirecting or Original Called routing number makes it screenable as it
//	Number)                        did for the SCP. Fault late -> 503 +
//	                               Retry-After, other faults -> 500 Decision
//	                               Unavailable.
//	INVITE whose Request-URI user  the subscribers' IVR (ivr.go; WithIVR): the
//	is Config.IVRNumber or         caller is recognised by calling number and
//	Config.IVRUser (checked first) PIN, then edits its lists and PIN by DTMF as
//	                               the subscriber's Actor (Via ivr); each
//	                               change bounded at 2 s (ivrWriteWait)
//	anything else                  Config.NotForUs: 404 Not Found or 403
//	                               Forbidden.
//
// Before either: 503 + Retry-After while draining, beyond MaxSessions, or
// when no RTP port is free; the SDP offer is checked first (checkSDP):
// malformed -> 400 "Malformed SDP: <what>"; no audio stream with PCMU or
// PCMA over RTP/AVP, or over TLS RTP/SAVP with an AES_CM_128_HMAC_SHA1_80
// SDES key (SRTP over UDP or TCP, no usable key, another protocol, another
// codec, disabled) -> 488 with the reason. The first audio stream that can
// be taken is; the offer's other streams (a video phone's video, an SRTP
// or RTP twin) are rejected in the answer with port 0, in their places
// (RFC 3264 §6).
//
// SIP over TLS (Config.TLS; tls.go) carries SRTP: diago encrypts and
// decrypts below the B2BUA's media code, so prompts, keys and the bridge
// work alike on SRTP and RTP legs, and a bridge between the two relays
// one into the other. An outbound leg to a sips: URI or one with
// transport=tls goes out over TLS (the peer's certificate checked against
// Config.TLSCAFile) and offers SRTP. Config.TLSNoSRTP keeps TLS legs on
// plain RTP.
//
// A caller that requires reliable provisional responses (Require:
// 100rel, RFC 3262; TDM gateways that interwork early media with ISUP)
// gets its 180 and 183 reliably (prack.go): Require: 100rel and RSeq,
// retransmitted until its PRACK (answered 200; 481 for a RAck that names
// no provisional awaiting one), the 200 held until the PRACK of a 183
// with SDP, and 500 when none came within 64*T1 (step end no-prack).
// One that only supports 100rel gets them unreliably. The subscriber's
// and voicemail's legs offer 100rel (Supported, never Require) and PRACK
// each reliable 180/183 once, in its early dialog, in RSeq order
// (prackout.go, RFC 3262 §4); a 200 without SDP after a reliable 183
// takes that 183's answer. A far end's 421 is not retried (RFC 3261
// §21.4.15: the INVITE already names 100rel in Supported): the leg fails. A new INVITE that
// requires another extension (timer, precondition, replaces ...) gets 420
// Bad Extension with Unsupported naming those, one with Max-Forwards 0 gets 483 Too Many
// Hops, and one without Contact 400 Missing Contact Header; the subscriber's and the voicemail's legs carry the caller's
// Max-Forwards less one, so a continue route that leads back here ends
// instead of looping (RFC 7332 §3).
//
// A UDP request sipgo cannot parse is answered before it would be dropped
// (udpfilter.go): 400 with the reason ("Content-Length Exceeds Datagram"
// when the body is cut short, RFC 3261 §18.3), 513 over the size limit;
// what cannot be answered is dropped; both counted in malformed_total.
//
// A body other than bare SDP is first reduced to its SDP (body.go): the
// application/sdp part of a multipart body, as SIP-T and SIP-I gateways
// send beside the ISUP message (RFC 3204); a part the B2BUA does not
// understand is ignored unless it says handling=required -> 415 with
// Accept: application/sdp, application/isup. The ISUP IAM is read
// (sipcall/isup) and what the INVITE's headers lack of it, the forwarding
// (Diversion), the caller's number and its restriction, is mapped into
// them as a gateway would (sipt.go); an IAM that does not read is refused
// with 400 when required, ignored and counted when optional.
//
// An INVITE without SDP is a late offer (RFC 3261 §13.2.1): the caller is
// sent our offer in the 200 and answers in its ACK, which the middleware
// checks as it checks an offer before diago applies it (dialogs.go). Such a
// caller cannot be given early media (that needs an offer in a reliable
// 183, RFC 3262, and its answer in the PRACK, which the B2BUA does not
// take), so where a treatment
// would play early media (Reject with Media in reject_mode early, the
// voicemail announcement) it is answered instead. An ACK without a usable
// answer leaves the call without media: it is ended with BYE (step end
// failed). Symmetric RTP (sending to where the caller's RTP comes from) is
// not applied to a late-offer caller: its media goes to the ACK's address.
//
// # Decisions
//
//	allow                     connect: the subscriber is called over the
//	                          continue route (Config.ContinueRoute); 180 to
//	                          the caller while it rings, 200 and a bridge
//	                          when it answers, 486 or 480 when not
//	block                     603 Decline
//	block-with-announcement   Reject with Media (reject in run.go)
//	screen, challenge,        the override PIN first when the decision allows
//	voicemail                 it (pin.go), then screen (screen.go),
//	                          challenge (challenge.go) or voicemail
//	                          (voicemail.go)
//
// # PIN lockout
//
// Both PIN prompts (the override PIN and the IVR's) ask for the
// subscriber's one PIN, PINTries times a call. Across calls, every wrong
// PIN is counted in the store per subscriber (pinlock.go): PINLockFailures
// within PINLockWindow lock the PIN for PINLockPeriod on every node. A PIN
// keyed while it is locked is not checked (the right one no more than a
// wrong one); the caller hears pin_locked, then the override prompt goes
// on with the treatment and the IVR releases the call. A right PIN clears
// the count. Each lock is audited (subscriber.pin.lockout), logged
// (rate-limited) and counted (callgate_b2bua_pin_lockouts_total); the
// lockout fails closed when the store cannot be read, or written within
// 1.5 s (the caller waits in silence meanwhile; etcd down). Operators
// see and clear locks with `callgate pin lockouts|unlock` and the admin
// API.
//
// Each treatment is a state machine written as straight-line code on the
// call's goroutine; its comment has the state table. Every wait of every
// state also ends when the caller hangs up (BYE, or CANCEL before the
// answer), when RTP stops (Config.RTPTimeout, legs on hold excepted) and on
// shutdown; the call is then released: CANCEL to a ringing subscriber or
// voicemail, BYE to an answered one, BYE (or a final response) to the
// caller. After a bridge, whichever side hangs up, the other gets BYE.
// A caller that cancels gets its 487 with the To tag of the 183 or 180 it
// had (RFC 3261 §8.2.6.2, §9.2; totag.go); a CANCEL that crosses the 200
// changes nothing (the caller ACKs and sends BYE, §9.1).
//
// # Media
//
// The B2BUA anchors the media of every leg (two RTP/RTCP port pairs while
// a call has an outbound leg) and latches onto the source of the first
// packet (symmetric RTP, for callers behind NAT). Outbound legs offer
// PCMU, PCMA and telephone-event (whatever the caller offered); a bridge
// between a PCMU and a PCMA leg transcodes (G.711 to G.711, per packet).
// A bridge sends each packet as it arrives, in the other leg's own stream,
// with timestamps that follow the source's (its pauses and marker bits),
// the first after the time since that leg's last prompt packet
// (relay.go). Prompts are 8 kHz 16-bit PCM (see prompts/en/prompts.txt and
// scripts/prompts.sh), encoded to the leg's codec as they play. The pacer
// (pacer.go) sends every leg's prompts: a goroutine per P on absolute 20 ms
// deadlines, each leg in one of ten 2 ms send slots, writing through the
// leg's diago packetiser (no goroutine or timer per stream, no allocation
// per packet); a prompt after a pause starts a new talkspurt (marker bit,
// timestamp advanced by the pause). Its wake-up lateness is
// callgate_b2bua_pacer_wakeup_lateness_seconds, and the times it fell more
// than 100 ms behind callgate_b2bua_pacer_stalls_total. DTMF is
// read from RFC 4733 events and from SIP INFO (application/dtmf-relay,
// application/dtmf), and relayed as RFC 4733 events once bridged. Prompts
// that ask for digits stop as soon as one is keyed (barge-in), but for the
// challenge's, which reads out the digits to key.
//
// RTP ports come from diago's allocator, which keeps the range in package
// variables (so one B2BUA per process) and hands out pairs from a rotating
// offset up to the end of the range without wrapping within one attempt:
// when the pairs above the offset are all busy a call gets 503 although
// pairs below it may be free (rare with a range much larger than twice
// MaxSessions; the default is 8,192 pairs for 1,000 calls). The offset
// outlives the range: a process that starts a B2BUA with a smaller range
// after a larger one may find the offset past the new range's end, where
// diago opens no socket and reports no error (hence one range per
// process; the test that exhausts a small range runs in its own).
//
// Re-INVITEs are diago's (after the SDP check); UPDATE with or without SDP
// is answered here (an address change needs a re-INVITE: 488). An offer
// that puts a leg on hold (sendonly, recvonly, inactive, c=0.0.0.0) stops
// the RTP timeout for that leg until it is taken off hold. A re-INVITE
// without SDP gets a sendrecv offer (the B2BUA never holds), so a caller
// resumes that way too; every SDP sent in a dialog keeps the o= line it
// began with, its version one up each time (RFC 3264 §8, sdpout.go).
//
// # Outbound legs
//
// Subscriber and voicemail legs carry the caller's identity: From (display
// name and URI as the caller sent them), P-Asserted-Identity and Privacy
// copied from the caller's INVITE. A SIP-T caller whose number only its
// IAM gave (an anonymous From) is asserted as P-Asserted-Identity
// <tel:NUMBER>, with Privacy: id when the call is restricted and the
// INVITE had none, as a gateway mapping the IAM in full would have sent
// it (RFC 3398, RFC 3325). The IAM itself is not passed on (sipt.go): the
// leg is a new call of the B2BUA's, which an IAM and the backward ISUP
// SIP-T pairs it with would misdescribe (RFC 3372). A voicemail leg also names the
// subscriber it was diverted from: Diversion (RFC 5806) with reason
// unconditional, no-answer, user-busy, deflection or unavailable,
// History-Info (RFC 7044), and the RFC 4458 URI parameters target and
// cause on the Request-URI.
//
// # Decision log and metrics
//
// The B2BUA writes its own record of each call it carries out (origin sip,
// the caller's address as peer; for a token call the token's decision, for
// a gateway call the engine's) beside the deciding record (the redirect
// tier's, or the one the Guard's Decider logged, with the engine's trace),
// and adds every step to it
// (decisionlog.AddSteps), so `callgate log search` shows the whole story:
// token ok; pin right, wrong, failed, skipped, locked (not checked: the
// PIN is locked), lockout (this wrong PIN locked it); name recorded or empty;
// subscriber ringing, answered, no-answer, busy, failed, abandoned; screen
// accept, refuse, voicemail, timeout, hangup; challenge passed, wrong,
// failed; voicemail connected, none, no-answer, busy, failed; reject
// announced, plain; bridge connected; transfer refused (a REFER from
// either phone, with its Refer-To); end completed, abandoned,
// caller-hangup, subscriber-hangup, voicemail-hangup, rtp-timeout,
// no-prack, released, rejected, shutdown, failed. The same steps are counted in
// callgate_b2bua_steps_total{step,outcome}.
package b2bua
