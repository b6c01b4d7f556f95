package b2bua

import (
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// In-dialog requests diago does not do, or does not check first.
//
//	INFO        application/dtmf-relay or application/dtmf: 200, the digit
//	            goes to the leg (as an RFC 4733 event would); other bodies
//	            415; unknown dialog 481
//	UPDATE      no body: 200 (session refresh). An SDP offer for the same
//	            address and port: 200 with our answer, and the hold state
//	            noted (the RTP timeout does not apply on hold); a new address
//	            needs a re-INVITE: 488. Unknown dialog 481
//	re-INVITE   the SDP is checked (400/488 with a reason, as for an initial
//	            INVITE) and the hold state noted before diago applies it;
//	            an offer with more streams than its audio one is answered
//	            with those rejected (sdp.go), for INVITE, re-INVITE, UPDATE.
//	            Without SDP: our offer in the 200 is sendrecv whatever the
//	            last offer held, the answer comes in the ACK (sdpout.go)
//	SDP sent    in dialog (re-INVITE and UPDATE answers, offers): the o=
//	            line the dialog began with, the version one up each time
//	            (RFC 3264 §8; sdpout.go)
//	BYE, NOTIFY without a To tag: 481, as for an unknown dialog
//	REFER       403 Call Transfer Not Allowed, and a transfer=refused step
//	            in the call's record. A transfer would have the B2BUA place
//	            a call the engine never decided, to wherever Refer-To says
//	            (toll fraud's way out); the call goes on as it was, unless
//	            the phone hangs up as a blind transfer does. Not one
//	            Refer-To: 400 (RFC 3515 §2.4.2); unknown dialog 481

func (s *Server) addLeg(l *leg) {
	s.mu.Lock()
	s.legs[l.callID] = l
	s.mu.Unlock()
}

func (s *Server) removeLeg(l *leg) {
	s.mu.Lock()
	if s.legs[l.callID] == l {
		delete(s.legs, l.callID)
	}
	s.mu.Unlock()
}

func (s *Server) legOf(req *sip.Request) *leg {
	id := req.CallID()
	if id == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.legs[id.Value()]
}

// middleware runs before diago's handlers.
func (s *Server) middleware(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if req.IsInvite() && !inDialog(req) {
			if !s.acceptable(req, tx) {
				return
			}
			if requires100rel(req) {
				// Innermost: its retransmissions go out as sent (prack.go).
				tx = s.reliable(req, tx)
			}
		}
		if (req.Method == sip.BYE || req.Method == sip.NOTIFY) && !inDialog(req) {
			// No To tag: it matches no dialog (RFC 3261 §15.1.2), where
			// diago would say a bare 400.
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
			return
		}
		if req.IsInvite() || req.IsAck() {
			o, enc, serr := s.checkSDP(req)
			switch {
			case serr != nil && req.IsAck():
				// An ACK cannot be answered: its answer is dropped, and a
				// late-offer call without one is ended with BYE (answerLate).
				s.log.Info("b2bua: SDP in ACK refused", "call_id", callIDOf(req), "why", serr.Error())
				req.SetBody(nil)
			case serr != nil:
				s.refuseBody(req, tx, serr)
				return
			case o != nil && (req.IsAck() || inDialog(req)):
				if l := s.legOf(req); l != nil {
					l.hold.Store(o.onHold())
					if req.IsInvite() {
						l.lastRTP.Store(time.Now().UnixNano())
					}
				}
			}
			if req.IsInvite() && !inDialog(req) {
				s.keepOrigin(req, tx) // for its 487's To tag (totag.go)
				if enc.present {
					s.keepIAM(req, tx, &enc)
				}
			}
			if req.IsInvite() && strings.EqualFold(req.Recipient.Scheme, "sips") {
				tx = &sipsTx{ServerTransaction: tx}
			}
			if o != nil && (len(o.streams) > 1 || len(o.edits) > 0) {
				// diago takes one audio stream, with at most one SDES
				// key; the answer gets the others back, rejected
				// (sdp.go).
				req.SetBody(o.reduce(req.Body()))
				if req.IsInvite() {
					tx = &answerTx{ServerTransaction: tx, o: o}
				}
			}
			if req.IsInvite() && inDialog(req) {
				if l := s.legOf(req); l != nil {
					tx = &inDialogSDPTx{ServerTransaction: tx, l: l, offerless: len(req.Body()) == 0}
				}
			}
		}
		next(req, tx)
	}
}

func inDialog(req *sip.Request) bool {
	to := req.To()
	return to != nil && to.Params.Has("tag")
}

// acceptable answers, and reports false for, a new INVITE the B2BUA must
// not take on: one without Contact (400: RFC 3261 §8.1.1.8 requires it of
// a request that can set up a dialog; diago drops it unanswered, so the
// caller would retransmit for 32 s and get nothing), one whose
// Max-Forwards is spent (483: it would forward it on the subscriber's leg,
// and B2BUAs take part in loop detection, RFC 7332 §3), and one that
// requires an extension other than 100rel (Require, RFC 3261 §8.2.2.3:
// 420 with Unsupported naming those). 100rel is done (prack.go); the
// others a caller could require of it (timer, precondition, replaces ...)
// are not, and answering as if they were would break the caller's
// expectation.
func (s *Server) acceptable(req *sip.Request, tx sip.ServerTransaction) bool {
	if req.Contact() == nil {
		s.m.refused.WithLabelValues("no-contact").Inc()
		_ = tx.Respond(sip.NewResponseFromRequest(req, 400, "Missing Contact Header", nil))
		return false
	}
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		s.m.refused.WithLabelValues("too-many-hops").Inc()
		_ = tx.Respond(sip.NewResponseFromRequest(req, 483, "Too Many Hops", nil))
		return false
	}
	var tags []string
	for _, h := range req.GetHeaders("Require") {
		for _, t := range strings.Split(h.Value(), ",") {
			if t = strings.TrimSpace(t); t != "" && !strings.EqualFold(t, "100rel") {
				tags = append(tags, t)
			}
		}
	}
	if len(tags) == 0 {
		return true
	}
	s.m.refused.WithLabelValues("bad-extension").Inc()
	res := sip.NewResponseFromRequest(req, 420, "Bad Extension", nil)
	res.AppendHeader(sip.NewHeader("Unsupported", strings.Join(tags, ", ")))
	_ = tx.Respond(res)
	return false
}

// checkSDP reduces req's body to its SDP (reduceToSDP) and checks it
// (parseOffer): the offer (or an ACK's answer), nil when the request
// carries none, or why it is refused; and the ISUP IAM the body carried.
func (s *Server) checkSDP(req *sip.Request) (*offer, encapsulated, *sdpError) {
	enc, serr := reduceToSDP(req)
	if serr != nil {
		return nil, enc, serr
	}
	if len(req.Body()) == 0 {
		return nil, enc, nil
	}
	o, serr := parseOffer(req.Body(), s.srtpUse(req))
	if serr != nil {
		return nil, enc, serr
	}
	return &o, enc, nil
}

// refuseBody answers an INVITE whose body cannot be taken (checkSDP), and
// counts a new one refused: 415 names what the B2BUA accepts.
func (s *Server) refuseBody(req *sip.Request, tx sip.ServerTransaction, serr *sdpError) {
	reason := "sdp-malformed"
	res := sip.NewResponseFromRequest(req, serr.code, serr.reason, nil)
	switch serr.code {
	case 415:
		reason = "body-unsupported"
		if serr == errEncoding {
			res.AppendHeader(sip.NewHeader("Accept-Encoding", "identity"))
		} else {
			res.AppendHeader(sip.NewHeader("Accept", acceptTypes))
		}
	case 488:
		reason = "sdp-not-acceptable"
	}
	if !inDialog(req) {
		s.m.refused.WithLabelValues(reason).Inc()
	}
	_ = tx.Respond(res)
}

func (s *Server) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	l := s.legOf(req)
	if l == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	d, err := parseDTMFInfo(ct, req.Body())
	if err != nil {
		code, phrase := 415, "Unsupported Media Type"
		if err == errNoDTMF {
			code, phrase = 400, "No DTMF Signal"
		}
		res := sip.NewResponseFromRequest(req, code, phrase, nil)
		if code == 415 {
			res.AppendHeader(sip.NewHeader("Accept", "application/dtmf-relay, application/dtmf"))
		}
		_ = tx.Respond(res)
		return
	}
	// The digit is queued before the 200 goes: a caller sends its next
	// INFO once this one is answered, and sipgo may run that request's
	// handler before this one returns, so answering first let a PIN's
	// digits arrive out of order (TestPINByINFO read "2468#" as wrong).
	l.digit(d)
	_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
}

func (s *Server) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	l := s.legOf(req)
	if l == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	body := req.Body()
	if len(body) == 0 {
		_ = tx.Respond(s.withContact(req, sip.NewResponseFromRequest(req, 200, "OK", nil)))
		return
	}
	o, serr := parseOffer(body, s.srtpUse(req))
	if serr != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, serr.code, serr.reason, nil))
		return
	}
	ms := l.med.MediaSession()
	if ms == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 491, "Request Pending", nil))
		return
	}
	cur, _ := netip.AddrFromSlice(ms.Raddr.IP)
	if !o.addr.IsUnspecified() && (o.addr != cur.Unmap() || o.port != ms.Raddr.Port) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 488, "Media Address Change Needs re-INVITE", nil))
		return
	}
	fork := ms.Fork()
	if err := fork.RemoteSDP(o.reduce(body), false); err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", l.sdpOut.stamp(o.expandAnswer(fork.LocalSDP(true))))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	l.hold.Store(o.onHold())
	l.lastRTP.Store(time.Now().UnixNano())
	if err := tx.Respond(s.withContact(req, res)); err != nil {
		s.log.Debug("b2bua: UPDATE answer not sent", "call_id", l.callID, "error", err)
	}
}

func (s *Server) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	if n := len(req.GetHeaders("Refer-To")); n != 1 {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 400, "Refer-To Required Once", nil))
		return
	}
	l := s.legOf(req)
	if l == nil || l.call == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, 403, "Call Transfer Not Allowed", nil))
	l.call.step("transfer", "refused", "by the "+l.name+" to "+req.GetHeader("Refer-To").Value())
}

// answerTx is an INVITE's server transaction whose SDP answers are put
// back into the shape of an offer with several streams (offer.expandAnswer)
// on the way out: diago answered the offer reduced to its audio stream.
type answerTx struct {
	sip.ServerTransaction
	o *offer
}

func (t *answerTx) Respond(res *sip.Response) error {
	if b := res.Body(); len(b) > 0 && res.StatusCode < 300 {
		if ct := res.ContentType(); ct != nil && strings.EqualFold(ct.Value(), "application/sdp") {
			res.SetBody(t.o.expandAnswer(b))
		}
	}
	return t.ServerTransaction.Respond(res)
}

// sipsTx is the server transaction of an INVITE to a sips: URI, whose
// responses' Contact must be sips: too (RFC 3261 §12.1.1): diago's is
// sip: with transport=tls on the TLS transport.
type sipsTx struct{ sip.ServerTransaction }

func (t *sipsTx) Respond(res *sip.Response) error {
	if c := res.Contact(); c != nil {
		c.Address.Scheme = "sips"
		if c.Address.UriParams != nil {
			c.Address.UriParams.Remove("transport")
		}
	}
	return t.ServerTransaction.Respond(res)
}

// withContact adds our Contact to a 2xx to a target-refresh request.
func (s *Server) withContact(req *sip.Request, res *sip.Response) *sip.Response {
	host, port := s.contactHostPort(req.Transport())
	u := sip.Uri{Scheme: "sip", Host: host, Port: port}
	switch {
	case strings.EqualFold(req.Recipient.Scheme, "sips"):
		u.Scheme = "sips"
	case req.Transport() == "TLS":
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", "tls") // as diago's Contact on the TLS transport
	}
	res.AppendHeader(&sip.ContactHeader{Address: u})
	return res
}

func (s *Server) contactHostPort(transport string) (string, int) {
	a := addrOf(s.udpConn)
	if t := addrOf(s.tlsLn); transport == "TLS" && t != nil {
		a = t
	} else if transport == "TCP" || a == nil {
		if t := addrOf(s.tcpLn); t != nil {
			a = t
		} else if a == nil {
			a = addrOf(s.tlsLn)
		}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	host := ap.Addr().String()
	if s.cfg.Advertise != "" {
		host = s.cfg.Advertise
	}
	return host, int(ap.Port())
}

// watchRTP releases calls whose answered legs have sent no RTP for
// RTPTimeout (legs on hold excepted): the caller's side is told through
// the call's context, which every wait of the treatment watches.
func (s *Server) watchRTP() {
	defer s.serveWG.Done()
	period := s.cfg.RTPTimeout / 4
	if period > time.Second {
		period = time.Second
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-s.watchStop:
			return
		case now := <-t.C:
			limit := now.Add(-s.cfg.RTPTimeout).UnixNano()
			s.mu.Lock()
			for c := range s.calls {
				c.mu.Lock()
				legs := [2]*leg{c.caller, c.out}
				c.mu.Unlock()
				for _, l := range legs {
					if l != nil && l.confirmed.Load() && !l.hold.Load() && l.lastRTP.Load() < limit {
						c.cancel(errRTPTimeout)
					}
				}
			}
			s.mu.Unlock()
		}
	}
}
