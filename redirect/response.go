package redirect

import (
	"context"
	"encoding/hex"
	"hash/maphash"
	"net/netip"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"callgate/policy"
	"callgate/redirect/token"
)

// respond computes the response to one request that sipgo has matched to a
// new server transaction; nil means no response (ACK).
func (s *Server) respond(req *sip.Request) *sip.Response {
	res := s.answer(req)
	if res != nil {
		res.SetBody(nil) // Content-Length: 0, after the other headers
	}
	return res
}

func (s *Server) answer(req *sip.Request) *sip.Response {
	if req.Method == sip.ACK {
		// An ACK reaching the core matched no transaction (its INVITE's
		// transaction has ended): nothing to do, RFC 3261 §17.2.3.
		return nil
	}
	if req.SipVersion != "SIP/2.0" {
		s.stats.malformed.Add(1)
		return s.reply(req, 505, "Version Not Supported")
	}
	if reason := checkHeaders(req); reason != "" {
		s.stats.malformed.Add(1)
		return s.reply(req, 400, reason)
	}
	switch req.Method {
	case sip.INVITE:
		s.stats.invites.Add(1)
		return s.invite(req)
	case sip.OPTIONS:
		// SBC keep-alive. Max-Forwards 0 is fine: we are the final
		// recipient (RFC 3261 §16.3 item 3, §11).
		s.stats.options.Add(1)
		res := s.reply(req, 200, "OK")
		res.AppendHeader(s.hdrAllow)
		res.AppendHeader(s.hdrAccept)
		return res
	case sip.CANCEL:
		// A CANCEL matching an INVITE transaction was answered by sipgo
		// (200, and 487 if the INVITE was still pending); this one matches
		// nothing (RFC 3261 §9.2).
		s.stats.other.Add(1)
		return s.reply(req, 481, "Call/Transaction Does Not Exist")
	}
	s.stats.other.Add(1)
	res := s.reply(req, 405, "Method Not Allowed")
	res.AppendHeader(s.hdrAllow)
	return res
}

// checkHeaders returns the reason phrase of a 400 for a request whose
// mandatory headers (RFC 3261 §8.1.1) are missing or unparseable, or "".
func checkHeaders(req *sip.Request) string {
	for _, h := range req.Headers() {
		switch h.(type) {
		case *sip.ViaHeader, *sip.FromHeader, *sip.ToHeader, *sip.CallIDHeader, *sip.CSeqHeader,
			*sip.MaxForwardsHeader, *sip.ContactHeader, *sip.ContentLengthHeader, *sip.ContentTypeHeader,
			*sip.RouteHeader, *sip.RecordRouteHeader, *sip.ReferToHeader, *sip.ReferredByHeader:
			continue
		}
		// The lenient parser keeps a header its sipgo parser refused as a
		// generic header under the canonical name.
		if isStrictHeader(h.Name()) {
			return "Malformed " + h.Name() + " Header"
		}
	}
	switch {
	case req.From() == nil:
		return "Missing From Header"
	case req.To() == nil:
		return "Missing To Header"
	case req.CallID() == nil || *req.CallID() == "":
		return "Missing Call-ID Header"
	case req.CSeq() == nil:
		return "Missing CSeq Header"
	case req.CSeq().MethodName != req.Method:
		return "CSeq Method Does Not Match Request"
	}
	return ""
}

// invite answers an INVITE: checks, overload control, the decision, and
// the decision's response.
func (s *Server) invite(req *sip.Request) *sip.Response {
	switch req.Recipient.Scheme {
	case "sip", "sips", "tel":
	default:
		s.stats.malformed.Add(1)
		return s.reply(req, 416, "Unsupported URI Scheme")
	}
	if mf := req.MaxForwards(); mf != nil && *mf == 0 {
		return s.reply(req, 483, "Too Many Hops")
	}
	if to := req.To(); to.Params.Has("tag") {
		// A re-INVITE: a redirect server holds no dialogs.
		return s.reply(req, 481, "Call/Transaction Does Not Exist")
	}
	if tags := requireHeader(req); tags != "" {
		// RFC 3261 §8.2.2.3: we support no extension that needs Require.
		res := s.reply(req, 420, "Bad Extension")
		res.AppendHeader(sip.NewHeader("Unsupported", tags))
		return res
	}

	if !s.bucket.take(s.now()) {
		return s.overloaded(req)
	}
	if n := s.inflight.Add(1); n > int64(s.cfg.MaxInFlight) {
		s.inflight.Add(-1)
		return s.overloaded(req)
	}
	defer s.inflight.Add(-1)

	call, err := CallFromInvite(req, req.Source())
	if err != nil {
		return s.reply(req, 404, "Not A Telephone Number")
	}
	ctx := s.baseCtx
	if s.cfg.DecideTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.DecideTimeout)
		defer cancel()
	}
	d := s.decider.Decide(ctx, call)
	return s.decisionResponse(req, &call, &d)
}

func (s *Server) overloaded(req *sip.Request) *sip.Response {
	s.stats.overload.Add(1)
	res := s.reply(req, 503, "Service Unavailable")
	res.AppendHeader(s.hdrRetryAfter)
	return res
}

// requireHeader returns the option tags of the Require headers, or "".
func requireHeader(req *sip.Request) string {
	var tags string
	for _, h := range req.Headers() {
		if n := h.Name(); len(n) == 7 && strings.EqualFold(n, "Require") {
			if v := strings.TrimSpace(h.Value()); v != "" {
				if tags != "" {
					tags += ", "
				}
				tags += v
			}
		}
	}
	return tags
}

// decisionResponse turns a decision into the response (issue 5):
// Allow -> 302 to the continue route; Block -> 603 (or 608 + Call-Info);
// BlockWithAnnouncement, Screen, Challenge, Voicemail -> 302 to the B2BUA's
// screening URI with a signed token.
func (s *Server) decisionResponse(req *sip.Request, c *policy.Call, d *policy.Decision) *sip.Response {
	var buf [512]byte
	switch d.Action {
	case policy.ActionAllow:
		tpl := s.cont
		if d.Route.Name != "" {
			if t, ok := s.overrides[d.Route.Name]; ok {
				tpl = t
			}
		}
		b := append(buf[:0], '<')
		b = tpl.appendTo(b, c.Called, c.Calling, c.OriginalCalled)
		b = append(b, '>')
		res := s.reply(req, 302, "Moved Temporarily")
		res.AppendHeader(sip.NewHeader("Contact", string(b)))
		if s.cfg.Tagger != nil {
			for _, h := range s.cfg.Tagger(c, d) {
				res.AppendHeader(sip.NewHeader(h.Name, h.Value))
			}
		}
		s.stats.redirects.Add(1)
		return res

	case policy.ActionBlock:
		s.stats.declined.Add(1)
		if s.cfg.Reject608 {
			res := s.reply(req, 608, "Rejected")
			if s.hdrCallInfo != nil {
				res.AppendHeader(s.hdrCallInfo)
			}
			return res
		}
		return s.reply(req, 603, "Decline")

	case policy.ActionBlockWithAnnouncement, policy.ActionScreen, policy.ActionChallenge, policy.ActionVoicemail:
		tpl := s.screen
		if d.Route.SIPURI != "" {
			if t := s.routeTemplate(d.Route.SIPURI); t != nil {
				tpl = t
			}
		}
		b := append(buf[:0], '<')
		b = tpl.appendTo(b, c.Called, c.Calling, c.OriginalCalled)
		// The token goes among the URI parameters, before any URI headers.
		var hdrs []byte
		if i := indexByte(b, '?'); i >= 0 {
			hdrs = append(hdrs, b[i:]...)
			b = b[:i]
		}
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
			Expires:        s.now().Add(s.cfg.TokenLifetime),
		})
		if err != nil {
			s.stats.decideErrors.Add(1)
			s.log.Error("redirect: cannot sign screening token", "called", c.Called.String(), "action", d.Action.String(), "error", err)
			return s.reply(req, 500, "Server Internal Error")
		}
		b = append(b, hdrs...)
		b = append(b, '>')
		res := s.reply(req, 302, "Moved Temporarily")
		res.AppendHeader(sip.NewHeader("Contact", string(b)))
		s.stats.screened.Add(1)
		return res
	}
	// An engine answering without an action is a bug; say so and let the
	// upstream proxy apply its own failure treatment.
	s.stats.decideErrors.Add(1)
	s.log.Error("redirect: decision without a usable action", "called", c.Called.String(), "action", uint8(d.Action))
	return s.reply(req, 500, "Decision Unavailable")
}

// routeTemplate compiles (once) a screening URI from the store's route.
func (s *Server) routeTemplate(src string) *template {
	if v, ok := s.routeTpl.Load(src); ok {
		return v.(*template)
	}
	t, err := compileTemplate("route SIPURI", src)
	if err != nil {
		s.log.Error("redirect: unusable route SIP URI, using ScreeningURI", "error", err)
		t = nil
	}
	s.routeTpl.Store(src, t)
	return t
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

// toTag derives our To tag from the request's transaction identity, so a
// retransmission gets the same tag (RFC 3261 §8.2.6.2, and §8.2.7 for the
// stateless case) without keeping state.
func (s *Server) toTag(req *sip.Request) string {
	var h maphash.Hash
	h.SetSeed(s.seed)
	if id := req.CallID(); id != nil {
		h.WriteString(string(*id))
	}
	if f := req.From(); f != nil {
		t, _ := f.Params.Get("tag")
		h.WriteString(t)
	}
	if v := req.Via(); v != nil {
		b, _ := v.Params.Get("branch")
		h.WriteString(b)
	}
	if c := req.CSeq(); c != nil {
		var n [4]byte
		n[0], n[1], n[2], n[3] = byte(c.SeqNo>>24), byte(c.SeqNo>>16), byte(c.SeqNo>>8), byte(c.SeqNo)
		h.Write(n[:])
	}
	var sum [8]byte
	v := h.Sum64()
	for i := range sum {
		sum[i] = byte(v >> (8 * i))
	}
	return "cg" + hex.EncodeToString(sum[:])
}

func hashBytes(s *Server, b []byte) uint64 { return maphash.Bytes(s.seed, b) }
