package b2bua

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"

	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/policy/token"
)

// handle is diago's handler for a new INVITE: admission, then the
// treatment, then the release of every leg. It runs on the INVITE's own
// goroutine for the whole call.
func (s *Server) handle(in *diago.DialogServerSession) {
	arrived := time.Now()
	s.tagOrigin(in) // before any response: a 487 after CANCEL carries our tag (totag.go)
	req := in.InviteRequest
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("b2bua: call handler panicked", "call_id", callIDOf(req), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			_ = in.Respond(500, "Server Internal Error", nil)
		}
	}()

	if s.draining.Load() {
		s.m.refused.WithLabelValues("draining").Inc()
		s.respond503(in)
		return
	}
	// The middleware checked the SDP before diago reads it (checkSDP). An
	// INVITE without one is a late offer (RFC 3261 §13.2.1): our offer goes
	// in the 200 and the caller's answer comes in the ACK (answerLate).
	lateOffer := len(req.Body()) == 0
	if n := s.active.Add(1); n > int64(s.cfg.MaxSessions) {
		s.active.Add(-1)
		s.m.overload.WithLabelValues("sessions").Inc()
		s.respond503(in)
		return
	}
	defer s.active.Add(-1)

	c := &call{s: s, in: in, req: req, id: callIDOf(req), start: arrived, lateOffer: lateOffer}
	d, path, ok := s.admit(c, arrived)
	s.m.invites.WithLabelValues(path).Inc()
	if !ok {
		return
	}
	c.d = d
	c.ctx, c.cancel = context.WithCancelCause(in.Context())
	defer c.cancel(nil)
	if c.rel = s.reliableOf(req); c.rel != nil {
		c.rel.whenLost(func() { c.cancel(errNoPRACK) })
	}

	s.mu.Lock()
	if s.stopped.Load() {
		s.mu.Unlock()
		s.respond503(in)
		return
	}
	s.calls[c] = struct{}{}
	s.callWG.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.calls, c)
		s.mu.Unlock()
		s.callWG.Done()
	}()

	_ = in.Trying()
	e := c.run()
	c.finish(e)
}

func (s *Server) respond503(in *diago.DialogServerSession) {
	secs := strconv.Itoa(int(s.cfg.RetryAfter / time.Second))
	_ = in.Respond(503, "Service Unavailable", nil, sip.NewHeader("Retry-After", secs))
}

func callIDOf(req *sip.Request) string {
	if id := req.CallID(); id != nil {
		return id.Value()
	}
	return ""
}

// admit decides what to do with a new INVITE (issue 10 §2): the decision
// a screening token carries, the engine's decision for a gateway call, or a
// refusal. It records the call's record in the decision log (c.ref names
// it) and returns false when the INVITE has been answered already.
func (s *Server) admit(c *call, arrived time.Time) (decision, string, bool) {
	req := c.req
	peer := req.Source()
	call, callErr := s.callOf(c, req, peer)
	// A call to the subscribers' IVR is never screened.
	if s.isIVR(req.Recipient.User) {
		return s.admitIVR(c, &call, arrived)
	}
	if raw, ok := req.Recipient.UriParams.Get(token.URIParam); ok {
		return s.admitToken(c, raw, &call, arrived)
	}
	// A gateway call after forwardCall: the Request-URI is a route's
	// routing number and the subscriber's number is the diverting one.
	if callErr == nil && call.Redirecting != 0 && s.isRoute != nil && s.guard != nil && s.isRoute(call.Called) {
		return s.admitGateway(c, &call, arrived)
	}
	s.m.refused.WithLabelValues("not-for-us").Inc()
	if s.limit.allow() {
		s.log.Info("b2bua: INVITE is neither screening-token nor gateway call", "call_id", c.id, "peer", peer,
			"request_uri", req.Recipient.String(), "answer", s.cfg.NotForUs)
	}
	phrase := "Not Found"
	if s.cfg.NotForUs == 403 {
		phrase = "Forbidden"
	}
	_ = c.in.Respond(s.cfg.NotForUs, phrase, nil)
	return decision{}, "other", false
}

// admitToken verifies a screening token. A token that does not verify, or
// that was made for other numbers than the INVITE's, is refused with 403
// and a reason phrase, logged and counted; its decision is never carried
// out.
func (s *Server) admitToken(c *call, raw string, call *policy.Call, arrived time.Time) (decision, string, bool) {
	cl, err := token.Verify(s.keys, raw, arrived)
	reason, phrase := "", ""
	switch {
	case errors.Is(err, token.ErrExpired):
		reason, phrase = "token-expired", "Screening Token Expired"
	case errors.Is(err, token.ErrUnknownKey):
		reason, phrase = "token-unknown-key", "Screening Token Key Unknown"
	case errors.Is(err, token.ErrSignature):
		reason, phrase = "token-forged", "Screening Token Invalid"
	case err != nil:
		reason, phrase = "token-malformed", "Screening Token Malformed"
	case cl.Called != call.Called && cl.Called != call.OriginalCalled && cl.Called != call.Redirecting || cl.Calling != call.Calling:
		reason, phrase = "token-mismatch", "Screening Token Does Not Match Call"
		err = fmt.Errorf("token for %s -> %s, INVITE from %s to %s", cl.Calling, cl.Called, call.Calling, call.Called)
	}
	if err != nil {
		s.m.refused.WithLabelValues(reason).Inc()
		if s.limit.allow() {
			s.log.Warn("b2bua: screening token refused", "call_id", c.id, "peer", call.Peer, "reason", reason, "error", err)
		}
		_ = c.in.Respond(403, phrase, nil)
		return decision{}, "token", false
	}
	d := decision{action: cl.Action, announcement: cl.Announcement, pinAllowed: cl.PINAllowed, subscriber: cl.Subscriber,
		called: cl.Called, calling: cl.Calling, original: cl.OriginalCalled, presentation: cl.Presentation, voicemail: cl.Voicemail}
	// The B2BUA's record of the call: the decision as the token carries it
	// (the redirect tier's record holds the engine's trace).
	rc := policy.Call{Calling: cl.Calling, Called: cl.Called, OriginalCalled: cl.OriginalCalled,
		Presentation: cl.Presentation, Origin: policy.OriginSIP, Peer: call.Peer}
	pd := policy.Decision{Action: cl.Action, Subscriber: cl.Subscriber, Announcement: cl.Announcement,
		PINAllowed: cl.PINAllowed, Voicemail: cl.Voicemail}
	s.record(c, &rc, &pd, arrived, 0)
	c.step("token", "ok", "expires in "+cl.Expires.Sub(arrived).Truncate(time.Second).String())
	return d, "token", true
}

// admitGateway asks the engine about a gateway call, for the number that
// diverted it to the route: the subscriber whose Termination_Attempt the
// SCP answered with forwardCall (its redirectingPartyID). That is the
// newest diversion, not the original called number: a call forwarded to
// the subscriber before it got there (A calls B, B forwards to the
// subscriber) carries B as its original called number, and asking about B
// would let the call through unscreened, back towards B. It asks as the
// AIN tier (Origin AIN): the call came through the AIN path, so the
// route's routing number is what makes it screenable, exactly as when the
// SCP decided to forward it.
func (s *Server) admitGateway(c *call, call *policy.Call, arrived time.Time) (decision, string, bool) {
	q := *call
	q.Called, q.OriginalCalled, q.Redirecting = call.Redirecting, call.OriginalCalled, 0
	if q.OriginalCalled == q.Called {
		q.OriginalCalled = 0
	}
	q.Origin = policy.OriginAIN
	var b policy.Budget
	d, fault := s.guard.Decide(&b, &q, arrived.Add(s.cfg.DecideTimeout))
	if fault != policy.FaultNone {
		s.m.faults.WithLabelValues(fault.String()).Inc()
		var fd policy.Decision
		fd.Action = policy.ActionAllow
		fd.Trace.Add(policy.RuleCancelled, policy.OutcomeYes)
		rc := q
		rc.Origin = policy.OriginSIP
		s.record(c, &rc, &fd, arrived, time.Since(arrived))
		if fault == policy.FaultLate {
			s.respond503(c.in)
		} else {
			_ = c.in.Respond(500, "Decision Unavailable", nil)
		}
		return decision{}, "gateway", false
	}
	// The B2BUA's own record of the call (the Guard's Decider logged the
	// decision as asked, origin AIN).
	rc := q
	rc.Origin = policy.OriginSIP
	s.record(c, &rc, &d, arrived, time.Since(arrived))
	return decision{action: d.Action, announcement: d.Announcement, pinAllowed: d.PINAllowed, subscriber: d.Subscriber,
		called: q.Called, calling: q.Calling, presentation: q.Presentation, voicemail: d.Voicemail}, "gateway", true
}

// record writes the call's record and keeps its Ref for the steps.
func (s *Server) record(c *call, q *policy.Call, d *policy.Decision, arrived time.Time, latency time.Duration) {
	r := decisionlog.NewRecord(arrived, q, d, latency)
	c.ref = decisionlog.RefOf(&r)
	if s.dlog != nil {
		s.dlog.Record(r)
	}
	if c.isup != "" {
		c.step("isup", "mapped", c.isup) // what the call's IAM gave (sipt.go)
	}
}
