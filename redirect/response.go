package redirect

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"callgate/policy"
	"callgate/policy/token"
)

// respond computes the response to one request parsed by sipgo: one that
// sipgo has matched to a new server transaction (stateful path), or a
// datagram of the stateless UDP path's fallback; nil means no response (ACK).
func (s *Server) respond(req *sip.Request) *sip.Response {
	var (
		a   answer
		buf [512]byte
	)
	a.buf = buf[:0]
	a.bud = s.budgets.Get().(*policy.Budget)
	res := s.respondWith(req, &a)
	s.budgets.Put(a.bud)
	return res
}

// respondWith is respond with the caller's answer a: a stateless reader's
// own, whose decision may be deferred (deferred.go; the response is then
// nil and a.deferred set).
func (s *Server) respondWith(req *sip.Request, a *answer) *sip.Response {
	var (
		v   reqView
		ext [8]extHeader
	)
	v.fillFromRequest(req, ext[:0])
	s.answerView(&v, req.Source(), a)
	return s.sipResponse(req, a)
}

// sipResponse is the response to req that a holds, nil for none.
func (s *Server) sipResponse(req *sip.Request, a *answer) *sip.Response {
	if a.code == 0 {
		return nil
	}
	res := s.reply(req, a.code, a.reason)
	for _, h := range a.fixed[:a.nfixed] {
		res.AppendHeader(s.fixedSIP[h])
	}
	if a.unsupported != nil {
		res.AppendHeader(sip.NewHeader("Unsupported", string(a.unsupported)))
	}
	if a.contact != nil {
		res.AppendHeader(sip.NewHeader("Contact", string(a.contact)))
	}
	for _, h := range a.tags {
		res.AppendHeader(sip.NewHeader(h.Name, h.Value))
	}
	for _, h := range a.hdrs[:a.nhdrs] {
		res.AppendHeader(sip.NewHeader(h.Name, h.Value))
	}
	res.SetBody(nil) // Content-Length: 0, after the other headers
	return res
}

// answerView decides the answer to a request. peer is the source address
// ("ip:port") given to the engine.
func (s *Server) answerView(v *reqView, peer string, a *answer) {
	a.reset()
	if v.method == string(sip.ACK) {
		// Stateful: an ACK reaching the core matched no transaction (its
		// INVITE's transaction has ended): nothing to do, RFC 3261
		// §17.2.3. Stateless: the ACK of our 3xx-6xx, absorbed (§8.2.7).
		return
	}
	if v.version != "SIP/2.0" {
		s.stats.malformed.Add(1)
		a.set(505, "Version Not Supported")
		return
	}
	reason := v.malformed
	if reason == "" {
		reason = v.missingHeader()
	}
	if reason != "" {
		s.stats.malformed.Add(1)
		a.set(400, reason)
		return
	}
	switch v.method {
	case string(sip.INVITE):
		s.stats.invites.Add(1)
		s.invite(v, peer, a)
	case string(sip.OPTIONS):
		// SBC keep-alive. Max-Forwards 0 is fine: we are the final
		// recipient (RFC 3261 §16.3 item 3, §11).
		s.stats.options.Add(1)
		a.set(200, "OK")
		a.add(hdrAllow)
		a.add(hdrAccept)
	case string(sip.CANCEL):
		// A CANCEL that reaches the core matched no INVITE transaction
		// (RFC 3261 §9.2): 481. Stateful: sipgo answered one that matched
		// (200, and 487 when the INVITE was still pending). Stateless:
		// there is no transaction to match, ever (see stateless.go).
		s.stats.other.Add(1)
		a.set(481, "Call/Transaction Does Not Exist")
	default:
		s.stats.other.Add(1)
		a.set(405, "Method Not Allowed")
		a.add(hdrAllow)
	}
}

// invite answers an INVITE: checks, overload control, the decision, and
// the decision's response.
func (s *Server) invite(v *reqView, peer string, a *answer) {
	switch v.ruri.scheme {
	case "sip", "sips", "tel":
	default:
		s.stats.malformed.Add(1)
		a.set(416, "Unsupported URI Scheme")
		return
	}
	if v.hasMaxFwd && v.maxFwd == 0 {
		a.set(483, "Too Many Hops")
		return
	}
	if v.toTagged {
		// A re-INVITE: a redirect server holds no dialogs.
		a.set(481, "Call/Transaction Does Not Exist")
		return
	}
	if appendRequireTags(a, v) {
		// RFC 3261 §8.2.2.3: we support no extension that needs Require.
		a.set(420, "Bad Extension")
		return
	}

	now := s.now()
	if !s.bucket.take(now) {
		s.overloaded(a)
		return
	}
	if n := s.inflight.Add(1); n > int64(s.cfg.MaxInFlight) {
		s.inflight.Add(-1)
		s.overloaded(a)
		return
	}
	defer s.endInflight(a)

	if s.isEnrolment(v) {
		a.beforeWait()
		s.enrol(v, peer, a) // enrol.go: call keys, not a decision
		return
	}
	// The call and the decision live in a (the reader's, on the stateless
	// path): the Tagger gets pointers to them, which would otherwise move
	// them to the heap for every INVITE.
	var err error
	outgoing := s.originating(peer)
	a.call, err = callFromView(v, peer, outgoing)
	if err != nil {
		a.set(404, "Not A Telephone Number")
		return
	}
	if v.iam != nil || v.iamErr != nil {
		s.countIAM(v, peer, &a.call, outgoing)
	}
	if outgoing {
		a.call.Direction = policy.DirectionOriginating
	}
	// STIR/SHAKEN: verify an INVITE's Identity before the engine runs;
	// sign an originator's INVITE that has none (see stir.go).
	if s.cfg.Verifier != nil {
		if v.hasIdentity() {
			a.beforeWait() // the certificate may have to be fetched
		}
		s.verifyIdentity(v, now, &a.call, &a.stir)
	}
	if s.cfg.Signer != nil && !v.hasIdentity() {
		if o := s.originator(peer); o != nil {
			s.authenticate(o, &a.call, now, &a.stir)
		}
	}
	// Without a screening URI of our own, the engine must know that only
	// a route's SIP URI reaches the B2BUA (else: its no-route fallback).
	a.call.DefaultRoute = s.screen != nil
	if s.cfg.DecideTimeout > 0 {
		a.deadline = now.Add(s.cfg.DecideTimeout) // else zero: no budget
	}
	a.bud.AllowDefer(s.mayDefer(a))
	s.decideInvite(v, a)
}

// countIAM counts an INVITE that carried an ISUP IAM by what it gave
// (Builder.IAM), and logs, rate-limited, one that did not read: it is
// ignored, as a body part the server does not need.
func (s *Server) countIAM(v *reqView, peer string, c *policy.Call, outgoing bool) {
	switch {
	case v.iamErr != nil:
		s.stats.iamsMalformed.Add(1)
		if ok, n := s.iamLog.Allow(time.Now(), time.Minute); ok {
			s.log.Info("redirect: ISUP part of the INVITE ignored: it does not read as an IAM", "call_id", v.callID, "peer", peer,
				"err", v.iamErr, "suppressed_since_last", n)
		}
	default:
		iam := v.iam
		v.iam = nil
		if headers, _ := callFromView(v, peer, outgoing); headers == *c {
			s.stats.iamsUnused.Add(1)
		} else {
			s.stats.iamsMapped.Add(1)
		}
		v.iam = iam
	}
}

// endInflight ends an INVITE's turn among the decisions in flight
// (MaxInFlight, and what Drain waits for), unless its decision was
// deferred: the goroutine deciding it then keeps the turn (deferred.go).
func (s *Server) endInflight(a *answer) {
	if !a.deferred {
		s.inflight.Add(-1)
	}
}

// decideInvite asks the engine about a.call under a.bud, by a.deadline,
// and puts the decision's response in a. A decision deferred (a.bud
// allowed it, deferred.go) leaves a without a response and a.deferred
// set.
func (s *Server) decideInvite(v *reqView, a *answer) {
	var f policy.Fault
	a.dec, f = s.guard.Decide(a.bud, &a.call, a.deadline)
	switch f {
	case policy.FaultNone:
	case policy.FaultDeferred:
		a.deferred = true
		return
	default:
		s.decideFault(f, &a.call, a)
		return
	}
	if a.dec.FellBack() {
		s.fellBack(&a.call, &a.dec)
	}
	s.decisionAnswer(v, &a.call, &a.dec, a)
}

// decideFault answers an INVITE whose decision cannot be used (see
// policy.Guard): late -> 503 with Retry-After (the upstream retries or
// tries another server), a panic or no usable action -> 500. Each is
// counted; late and invalid answers are logged here, rate-limited (the
// guard logs panics).
func (s *Server) decideFault(f policy.Fault, c *policy.Call, a *answer) {
	switch f {
	case policy.FaultLate:
		s.stats.decideLate.Add(1)
		a.set(503, "Service Unavailable")
		a.add(hdrRetryAfter)
	case policy.FaultPanic:
		s.stats.decidePanics.Add(1)
		a.set(500, "Server Internal Error")
		return
	default:
		s.stats.decideErrors.Add(1)
		a.set(500, "Decision Unavailable")
	}
	if ok, n := s.faultLog.Allow(time.Now(), time.Second); ok {
		s.log.Warn("redirect: decision unusable, INVITE refused", "fault", f.String(), "status", a.code,
			"decide_timeout", s.cfg.DecideTimeout.String(), "calling", c.Calling.String(), "called", c.Called.String(),
			"peer", c.Peer, "suppressed_since_last", n)
	}
}

// fellBack counts a decision the engine gave as its no-route fallback and
// warns, rate-limited: the call did not get its treatment.
func (s *Server) fellBack(c *policy.Call, d *policy.Decision) {
	s.stats.noRouteFallback.Add(1)
	if ok, n := s.fallbackLog.Allow(time.Now(), time.Minute); ok {
		s.log.Warn("redirect: no way to the B2BUA (the route has no SIP URI and ScreeningURI is not set): the call got the engine's no-route fallback instead of its treatment",
			"action", d.Action.String(), "subscriber", d.Subscriber, "called", c.Called.String(), "suppressed_since_last", n)
	}
}

func (s *Server) overloaded(a *answer) {
	s.stats.overload.Add(1)
	a.set(503, "Service Unavailable")
	a.add(hdrRetryAfter)
}

// appendRequireTags puts the option tags of the Require headers, joined
// with ", ", in a.unsupported; it reports whether there were any.
func appendRequireTags(a *answer, v *reqView) bool {
	start := len(a.buf)
	for _, h := range v.ext {
		if h.kind != extRequire {
			continue
		}
		if t := strings.TrimSpace(h.value); t != "" {
			if len(a.buf) > start {
				a.buf = append(a.buf, ", "...)
			}
			a.buf = append(a.buf, t...)
		}
	}
	if len(a.buf) == start {
		return false
	}
	a.unsupported = a.buf[start:len(a.buf):len(a.buf)]
	return true
}

// decisionAnswer turns a decision into the answer:
// Allow -> 302 to the continue route; Block -> 603 (or 608 + Call-Info);
// BlockWithAnnouncement (Reject with Media: the B2BUA plays the
// announcement as early media, then declines), Screen, Challenge,
// Voicemail -> 302 to the B2BUA with a signed token: to the decision's
// route's SIP URI, else to the ScreeningURI.
func (s *Server) decisionAnswer(v *reqView, c *policy.Call, d *policy.Decision, a *answer) {
	switch d.Action {
	case policy.ActionAllow:
		secure := sipsRequest(v)
		tpl := s.cont
		if secure {
			tpl = s.secureCont // nil when there is no sips: continue route
		}
		if d.Route.Name != "" {
			if t, ok := s.overrides[d.Route.Name]; ok {
				tpl = t
			}
		}
		if secure && (tpl == nil || !isSIPS(tpl.String())) {
			s.refuseSIPS(a) // sips.go: no downgrade to sip: or tel:
			return
		}
		start := len(a.buf)
		a.buf = appendDisplayName(a.buf, &d.Brand) // brand.go: "" unless branded
		a.buf = append(a.buf, '<')
		a.buf = tpl.appendTo(a.buf, c.Called, c.Calling, c.OriginalCalled)
		a.buf = append(a.buf, '>')
		a.contact = a.buf[start:len(a.buf):len(a.buf)]
		a.set(302, "Moved Temporarily")
		if s.cfg.Tagger != nil {
			a.tags = s.cfg.Tagger(c, d)
		}
		appendStirHeaders(a, v, c, d)
		if !d.Brand.IsZero() {
			brandHeaders(a, c, d) // after STIR/SHAKEN's, whose P-Asserted-Identity it leaves alone
		}
		s.stats.redirects.Add(1)
		return

	case policy.ActionBlock:
		s.stats.declined.Add(1)
		if identityReject(a, d) {
			return
		}
		if s.cfg.Reject608 {
			a.set(608, "Rejected")
			if s.rejectInfo {
				a.add(hdrCallInfo)
			}
			return
		}
		a.set(603, "Decline")
		return

	case policy.ActionBlockWithAnnouncement, policy.ActionScreen, policy.ActionChallenge, policy.ActionVoicemail:
		secure := sipsRequest(v)
		tpl := s.screenTemplate(secure)
		if d.Route.SIPURI != "" {
			if t := s.routeTemplate(d.Route.SIPURI); t != nil {
				tpl = t
			}
		}
		if secure && (tpl != nil || s.screen != nil) && (tpl == nil || !isSIPS(tpl.String())) {
			s.refuseSIPS(a) // sips.go: there is a B2BUA, but not one reached over TLS
			return
		}
		if tpl == nil {
			// The engine falls back when there is no way (Call.DefaultRoute
			// is false without a ScreeningURI), so only a route SIP URI that
			// is not a usable template gets here (logged by routeTemplate).
			s.stats.decideErrors.Add(1)
			a.set(500, "No Route To Screening")
			return
		}
		start := len(a.buf)
		b := append(a.buf, '<')
		b = tpl.appendTo(b, c.Called, c.Calling, c.OriginalCalled)
		// The token goes among the URI parameters, before any URI headers:
		// it is appended, then rotated in front of the headers.
		q := indexByte(b[start:], '?')
		hdrEnd := len(b)
		b = append(b, ';')
		b = append(b, token.URIParam...)
		b = append(b, '=')
		var err error
		b, err = s.signer.AppendSign(b, token.Claims{
			Action:         d.Action,
			Announcement:   d.Announcement,
			PINAllowed:     d.PINAllowed,
			Subscriber:     d.Subscriber,
			Called:         c.Called,
			Calling:        c.Calling,
			OriginalCalled: c.OriginalCalled,
			Presentation:   c.Presentation,
			Voicemail:      d.Voicemail,
			Expires:        s.tokenExpiry(s.txHash(v)),
		})
		if err != nil {
			a.buf = b[:start]
			s.stats.decideErrors.Add(1)
			s.log.Error("redirect: cannot sign screening token", "called", c.Called.String(), "action", d.Action.String(), "error", err)
			a.set(500, "Server Internal Error")
			return
		}
		if q >= 0 {
			rotate(b[start+q:], hdrEnd-start-q)
		}
		b = append(b, '>')
		a.buf = b
		a.contact = b[start:len(b):len(b)]
		a.set(302, "Moved Temporarily")
		s.stats.screened.Add(1)
		return
	}
	// An engine answering without an action is a bug; say so and let the
	// upstream proxy apply its own failure treatment.
	s.stats.decideErrors.Add(1)
	s.log.Error("redirect: decision without a usable action", "called", c.Called.String(), "action", uint8(d.Action))
	a.set(500, "Decision Unavailable")
}

// routeTemplate compiles (once) a screening URI from the store's route.
func (s *Server) routeTemplate(src string) *template {
	if v, ok := s.routeTpl.Load(src); ok {
		return v.(*template)
	}
	t, err := compileTemplate("route SIPURI", src)
	if err != nil {
		s.log.Error("redirect: unusable route SIP URI, using ScreeningURI (500 when there is none); fix the route", "error", err)
		t = nil
	}
	s.routeTpl.Store(src, t)
	return t
}

// rotate moves b[:k] to the end of b in place.
func rotate(b []byte, k int) {
	reverse(b[:k])
	reverse(b[k:])
	reverse(b)
}

func reverse(b []byte) {
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
}

func indexByte(b []byte, c byte) int {
	for i := range b {
		if b[i] == c {
			return i
		}
	}
	return -1
}

// reply builds a response to req per RFC 3261 §8.2.6: Via, From, To (with
// our tag), Call-ID and CSeq from the request; the top Via gets received and
// rport (RFC 3261 §18.2.1, RFC 3581 §4); the destination follows RFC 3261
// §18.2.2 / RFC 3581 §4 (over UDP: the source address, and the source port
// when rport was asked for, else the Via port). Headers that do not change
// are shared with the request rather than copied.
func (s *Server) reply(req *sip.Request, code int, reason string) *sip.Response {
	res := sip.NewResponse(code, reason)
	src := req.Source()
	srcAP, srcErr := netip.ParseAddrPort(src)
	dest := src
	top := true
	for _, h := range req.Headers() {
		if v, ok := h.(*sip.ViaHeader); ok {
			if top {
				top = false
				if srcErr == nil {
					v, dest = topVia(v, srcAP, src)
				}
			}
			res.AppendHeader(v)
		} else if n := h.Name(); n == "Via" {
			res.AppendHeader(h) // malformed lower Via, kept verbatim
		}
	}
	if h := req.From(); h != nil {
		res.AppendHeader(h)
	}
	if to := req.To(); to != nil {
		if code == 100 || to.Params.Has("tag") {
			res.AppendHeader(to)
		} else {
			params := make(sip.HeaderParams, len(to.Params), len(to.Params)+1)
			copy(params, to.Params)
			params.Add("tag", s.toTag(req))
			res.AppendHeader(&sip.ToHeader{DisplayName: to.DisplayName, Address: to.Address, Params: params})
		}
	}
	if h := req.CallID(); h != nil {
		res.AppendHeader(h)
	}
	if h := req.CSeq(); h != nil {
		res.AppendHeader(h)
	}
	if s.hdrServer != nil {
		res.AppendHeader(s.hdrServer)
	}
	res.SetTransport(req.Transport())
	res.SetDestination(dest)
	return res
}

// topVia returns the top Via to put in the response and where an unreliable
// transport sends it. The Via is copied only when it changes.
func topVia(v *sip.ViaHeader, src netip.AddrPort, srcStr string) (*sip.ViaHeader, string) {
	rport, hasRport := v.Params.Get("rport")
	askRport := hasRport && rport == ""
	host := strings.TrimSuffix(strings.TrimPrefix(v.Host, "["), "]")
	sentBy, err := netip.ParseAddr(host)
	needReceived := err != nil || sentBy.Unmap() != src.Addr().Unmap()
	port := v.Port
	if port <= 0 {
		port = sip.DefaultPort(v.Transport)
	}
	if askRport {
		port = int(src.Port())
	}
	dest := srcStr
	if port != int(src.Port()) {
		dest = netip.AddrPortFrom(src.Addr(), uint16(port)).String()
	}
	if !askRport && !needReceived {
		return v, dest
	}
	nv := v.Clone()
	nv.Params.Add("received", src.Addr().Unmap().String())
	if askRport {
		nv.Params.Add("rport", strconv.Itoa(int(src.Port())))
	}
	return nv, dest
}

// toTag derives our To tag from the request's transaction identity (see
// txHash), so a retransmission gets the same tag (RFC 3261 §8.2.6.2, and
// §8.2.7 for the stateless case) without keeping state.
func (s *Server) toTag(req *sip.Request) string {
	var callID, fromTag, branch string
	var seq uint32
	if id := req.CallID(); id != nil {
		callID = string(*id)
	}
	if f := req.From(); f != nil {
		fromTag, _ = f.Params.Get("tag")
	}
	if v := req.Via(); v != nil {
		branch, _ = v.Params.Get("branch")
	}
	if c := req.CSeq(); c != nil {
		seq = c.SeqNo
	}
	var b [18]byte
	return string(appendToTag(b[:0], s.txHashOf(callID, fromTag, branch, seq)))
}
