package scp

import (
	"errors"
	"fmt"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/scp/ain"
)

// This file is the translation the SCP exists for, in both directions:
// AIN terminationAttempt -> policy.Call, policy.Decision -> AIN answer.
// No screening rule lives here. The originating triggers are translated in
// origination.go, the overload control's acg in acg.go.

// callFromTA builds the engine's view of a Termination_Attempt:
//
//   - Calling: CallingPartyID as an E.164 number (0 when absent); its
//     presentation restriction indicator gives Presentation (restricted ->
//     PresentationRestricted; unavailable, or no CallingPartyID at all ->
//     PresentationUnavailable; the spare value is treated as restricted,
//     the cautious reading);
//   - Called: CalledPartyID, else the UserID directory number (the line the
//     trigger is on);
//   - OriginalCalled: OriginalCalledPartyID, else RedirectingPartyID (the
//     call was forwarded before it reached this subscriber).
//
// A 7-digit number (nature of address subscriber, or unknown as dialled) is
// completed with the home area code cfg names (see HomeArea); 10-digit
// national and international numbers are read as they are. The error is
// non-nil when the caller (presentation allowed) or the called number has
// digits that cannot be read as a number, a 7-digit one with no home area
// among them: deciding without it would treat a caller who has a number as
// anonymous, or skip screening, so the query gets the safe answer instead.
// An unreadable original called number is only left out. The Call is
// built in place (c is overwritten): it is too big to copy for nothing.
func callFromTA(c *policy.Call, ta *ain.TerminationAttemptArg, cfg *Config) error {
	*c = policy.Call{Origin: policy.OriginAIN, Presentation: policy.PresentationUnavailable}
	var npa ain.NPA
	if localIn(ta) {
		npa = cfg.homeNPA(ta)
	}
	var bad error
	if cp := &ta.CallingPartyID; cp.Set {
		switch cp.V.Presentation {
		case ain.PresentationAllowed:
			c.Presentation = policy.PresentationAllowed
		case ain.PresentationUnavailable:
			c.Presentation = policy.PresentationUnavailable
		default:
			c.Presentation = policy.PresentationRestricted
		}
		n, err := cp.V.E164InArea(npa)
		switch {
		case err == nil:
			c.Calling = n
		case c.Presentation == policy.PresentationAllowed && hasNumber(&cp.V):
			bad = numberError("calling", &cp.V, npa, err)
		}
	}
	switch {
	case ta.CalledPartyID.Set:
		n, err := ta.CalledPartyID.V.E164InArea(npa)
		if err == nil {
			c.Called = n
		} else if bad == nil {
			bad = numberError("called", &ta.CalledPartyID.V, npa, err)
		}
	case ta.UserID.Kind == ain.UserIDDN:
		c.Called, _ = ta.UserID.DN.E164()
	}
	switch {
	case ta.OriginalCalledPartyID.Set:
		c.OriginalCalled, _ = ta.OriginalCalledPartyID.V.E164InArea(npa)
	case ta.RedirectingPartyID.Set:
		c.OriginalCalled, _ = ta.RedirectingPartyID.V.E164InArea(npa)
	}
	return bad
}

// localIn reports whether any number of the query needs the home area.
func localIn(ta *ain.TerminationAttemptArg) bool {
	return ta.CallingPartyID.Set && ta.CallingPartyID.V.Local() ||
		ta.CalledPartyID.Set && ta.CalledPartyID.V.Local() ||
		ta.OriginalCalledPartyID.Set && ta.OriginalCalledPartyID.V.Local() ||
		ta.RedirectingPartyID.Set && ta.RedirectingPartyID.V.Local()
}

// hasNumber reports whether d carries a number at all (digits, and not a
// "no number present" nature of address).
func hasNumber(d *ain.Digits) bool {
	return d.Len() > 0 && d.NatureOfAddress != ain.NOANoNumberOpReq && d.NatureOfAddress != ain.NOANoNumberCutThrough
}

// numberError says which number of the query could not be read and what
// to do about it. It runs only for such a query (it allocates).
func numberError(which string, d *ain.Digits, npa ain.NPA, err error) error {
	if errors.Is(err, ain.ErrNoArea) {
		return fmt.Errorf("%s number %s is a 7-digit local number and the query names no home area (UserID is not a directory number): set scp.home_npa, or scp.home_area: fixed", which, d)
	}
	return fmt.Errorf("%s number %s (nature of address %s, area %s) cannot be read: %w", which, d, d.NatureOfAddress, npa, err)
}

// noteUnreadable logs (rate-limited) a query answered with the safe answer
// because one of its numbers could not be read.
func (s *Service) noteUnreadable(err error, c *policy.Call) {
	ok, n := s.numLog.Allow(time.Now(), time.Second)
	if !ok {
		return
	}
	s.log.Warn("scp: a number of the query cannot be read: answering with the safe answer", "err", err,
		"safe_answer", s.cfg.SafeAnswer.String(), "peer", c.Peer, "suppressed_since_last", n)
}

// calledDigits returns the dialled number as the switch signalled it:
// CalledPartyID (completed to 10 digits when it was a 7-digit local number
// and called, its reading, is known: a forwarded call's redirecting number
// and an ACG code must stand on their own), else the UserID directory
// number; nil when the query has neither. The result points into ta, or
// into buf when the number had to be built: nothing is copied for the
// common query, whose CalledPartyID is used as sent.
func calledDigits(buf *ain.Digits, ta *ain.TerminationAttemptArg, called e164.Number) *ain.Digits {
	if ta.CalledPartyID.Set {
		if ta.CalledPartyID.V.Local() && called != 0 {
			if numberDigits(buf, called) == nil {
				return buf
			}
		}
		return &ta.CalledPartyID.V
	}
	if ta.UserID.Kind == ain.UserIDDN {
		if n, err := ta.UserID.DN.E164(); err == nil {
			if numberDigits(buf, n) == nil {
				return buf
			}
		}
	}
	return nil
}

// numberDigits encodes a number into dst the way North American switches
// expect: NANP numbers as 10 national digits, others international.
func numberDigits(dst *ain.Digits, n e164.Number) error {
	if n.IsNANP() {
		return dst.SetE164(n, ain.NOANational)
	}
	return dst.SetE164(n, ain.NOAInternational)
}

// encodeDecision puts the AIN answer for d into w.ans and returns its
// operation; false when d cannot be expressed (no routing number for a
// call the SIP tier must take), which the caller turns into the safe
// answer.
//
//	Allow                 authorizeTermination {}; with the brand of a
//	                      keyed enterprise call: {genericName, displayText}
//	                      (brand.go)
//	Block                 disconnect {}
//	BlockWithAnnouncement sendToResource {resourceType 0 (play announcement),
//	                      announcementBlock {uninterAnnounceBlock {the
//	                      announcement}}, disconnectFlag}: the switch plays
//	                      it and releases the call; the transaction ends
//	Screen, Challenge,    forwardCall {callingPartyID as received,
//	Voicemail             calledPartyID = Decision.Route.RoutingNumber,
//	                      redirectingPartyID = the dialled number}
//
// Why redirectingPartyID: ForwardCallArg (AIN-Operations.asn, GR-1299)
// declares no originalCalledPartyID; redirectingPartyID [43] (with
// redirectionInformation [44]) is its only parameter for the number the
// call was diverted from, and the switch maps it to the ISUP Redirecting
// Number / Original Called Number and on to SIP History-Info/Diversion, which
// is how the SIP tier learns whose call it is screening. The callingPartyID
// is repeated as received (with its presentation indicator) so that the
// caller's identity and privacy survive the redirection unchanged.
// redirectionInformation is not sent: its octet layout (T1.113) could not
// be verified here and a wrong one would mislead the far end.
func (s *Service) encodeDecision(w *worker, d *policy.Decision, ta *ain.TerminationAttemptArg, called *ain.Digits) (ain.OpCode, bool) {
	switch d.Action {
	case policy.ActionAllow:
		if d.Brand.IsZero() {
			// authorizeTermination {}: the most common answer, without
			// walking the argument's optional parameters (all absent).
			w.ans = w.ans[:0]
			return ain.OpAuthorizeTermination, true
		}
		// The texts go into the worker's buffer: a local one escapes (the
		// argument points into it), one allocation per branded answer.
		var arg ain.AuthorizeTerminationArg
		brandedAuthorize(&arg, &d.Brand, &w.brand) // brand.go
		w.ans = arg.Marshal(w.ans[:0])
		return ain.OpAuthorizeTermination, true
	case policy.ActionBlock:
		w.ans = (&ain.DisconnectArg{}).Marshal(w.ans[:0])
		return ain.OpDisconnect, true
	case policy.ActionBlockWithAnnouncement:
		if !announcementElement(&w.ann, d.Announcement) {
			// The switch cannot be told to play this one: still block.
			w.ans = (&ain.DisconnectArg{}).Marshal(w.ans[:0])
			return ain.OpDisconnect, true
		}
		str, err := ain.AnnouncementBlock(w.ann[:])
		if err != nil {
			return 0, false
		}
		arg := ain.SendToResourceArg{ResourceType: ain.ResourcePlayAnnouncement, StrParameterBlock: str, DisconnectFlag: true}
		w.ans = arg.Marshal(w.ans[:0])
		return ain.OpSendToResource, true
	case policy.ActionScreen, policy.ActionChallenge, policy.ActionVoicemail:
		return ain.OpForwardCall, s.encodeForward(w, ta, called, d.Route.RoutingNumber)
	}
	return 0, false
}

// announcementElement writes the AnnounceElement for announcement id: the
// id in two octets, then a 0 octet, the 3-octet form the reference vector
// P-04R carries for announcement 21 (00 15 00). GR-1299's internal layout
// of AnnounceElement could not be verified; switches map the element to an
// announcement in their own tables, which must agree with these numbers.
func announcementElement(dst *[3]byte, id uint32) bool {
	if id == 0 || id > 0xFFFF {
		return false
	}
	*dst = [3]byte{byte(id >> 8), byte(id), 0}
	return true
}

// encodeForward puts forwardCall to the routing number to into w.ans:
// see encodeDecision; called is the dialled number (nil: none known).
//
// The argument is built in the worker's w.fwd (ForwardCallArg is over a
// kilobyte, mostly parameters the SCP never sends): every query sets the
// four parameters the SCP sends and nothing else is ever set, so what
// Marshal encodes is exactly those four.
func (s *Service) encodeForward(w *worker, ta *ain.TerminationAttemptArg, called *ain.Digits, to e164.Number) bool {
	if to == 0 {
		return false
	}
	a := &w.fwd
	if numberDigits(&a.CalledPartyID.V, to) != nil {
		return false
	}
	a.CalledPartyID.Set = true
	a.CallingPartyID = ta.CallingPartyID
	a.RedirectingPartyID.Set, a.RedirectionInformation = false, nil
	if called != nil {
		// The switch turns these into the ISUP Redirecting Number and
		// Redirection Information of the forwarded call, which is how the
		// SIP tier behind the routing number learns whom the caller dialled
		// (Diversion / History-Info) and that the call was diverted.
		a.RedirectingPartyID.V, a.RedirectingPartyID.Set = *called, true
		w.redir = nextRedirection(ta.RedirectionInformation)
		a.RedirectionInformation = w.redir[:]
	}
	w.ans = a.Marshal(w.ans[:0])
	return true
}

// Redirection Information (T1.113 / Q.763 layout, two octets): octet 1 is
// the redirecting indicator (bits 1-3) and the original redirection reason
// (bits 5-8); octet 2 the redirection counter (bits 1-3) and the
// redirecting reason (bits 5-8).
const (
	redirCallDiverted  = 3 // redirecting indicator: call diverted
	redirUnconditional = 3 // redirecting reason: unconditional
	redirMaxCounter    = 5 // ISUP counts at most five redirections
)

// nextRedirection returns the Redirection Information of a forward made
// by the SCP: a diversion, unconditional (the screening service takes
// every call it forwards), counted on top of prev, the Redirection
// Information the query carried if the call was redirected before (its
// original reason is kept, its counter incremented, up to five).
func nextRedirection(prev []byte) [2]byte {
	orig, count := byte(redirUnconditional), byte(1)
	if len(prev) == 2 && prev[0]&0x07 != 0 { // redirected before
		orig = prev[0] >> 4
		count = min(max(prev[1]&0x07, 1)+1, redirMaxCounter)
	}
	return [2]byte{orig<<4 | redirCallDiverted, redirUnconditional<<4 | count}
}

// encodeSafe puts the safe answer into w.ans.
func (s *Service) encodeSafe(w *worker, ta *ain.TerminationAttemptArg, called *ain.Digits) ain.OpCode {
	if s.cfg.SafeAnswer == SafeForward && s.encodeForward(w, ta, called, s.safeForwardNumber()) {
		return ain.OpForwardCall
	}
	w.ans = (&ain.AuthorizeTerminationArg{}).Marshal(w.ans[:0])
	return ain.OpAuthorizeTermination
}
