package redirect

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"callgate/policy"
)

// Deferred decisions on the stateless UDP path. A signal may have to wait
// for a look-up (a reputation provider asked about a caller it has not
// seen: up to reputation.budget). Waiting on a UDP reader would hold up
// the rest of its batch and every datagram it reads after. So the readers
// decide under a Budget that allows deferring (policy.Defer): a stage that
// would wait says so instead, having started its look-up and changed
// nothing, and the reader copies the INVITE with the call it made of it
// (numbers, STIR/SHAKEN result) and hands it to a goroutine of its own.
// There the INVITE is scanned again from the copy, decided under a Budget
// that does not allow deferring (the call joins the look-up and waits)
// and answered with a write on the socket; the reader goes on with the
// next datagram at once.
//
// A deferred INVITE keeps its place among the decisions in flight until
// it is answered, so MaxInFlight counts it and Drain waits for it; Serve
// (and so Stop) returns only when every deferred INVITE is done. It is
// counted once as an INVITE, and its response under its decision.
//
// At most maxDeferred INVITEs are deferred at once (the signal bounds its
// own waits, reputation.max_waiting, far lower; readers racing may pass
// the bound by one each); past that a decision that would wait waits on
// its reader, as before. sipgo's path (TCP, TLS, Config.Stateful) decides
// every request on a goroutine of its own already and never defers.

// maxDeferred bounds the goroutines deciding deferred INVITEs.
const maxDeferred = 256

// mayDefer reports whether the decision being made into a may be
// deferred now: a stateless reader's, below the bound.
func (s *Server) mayDefer(a *answer) bool {
	return a.defers && s.deferring.Load() < maxDeferred
}

// deferredInvite is one deferred INVITE and the scratch state it is
// decided and answered with.
type deferredInvite struct {
	data     []byte // the datagram, copied from the reader's buffer
	src      netip.AddrPort
	call     policy.Call
	stir     stirResult
	deadline time.Time
	r        *udpReader // scanner, answer (not deferring) and response buffers
}

func newDeferredInvite() any {
	return &deferredInvite{r: newUDPReader()}
}

// deferInvite hands the INVITE in d, whose decision a deferred, to a
// goroutine that answers it on conn. a's call, STIR/SHAKEN result and
// deadline go with it; its place among the decisions in flight too.
func (s *Server) deferInvite(conn *net.UDPConn, a *answer, d *datagram) {
	a.deferred = false
	j := s.deferredInvites.Get().(*deferredInvite)
	j.data = append(j.data[:0], d.buf[:d.n]...)
	j.src, j.call, j.stir, j.deadline = d.src, a.call, a.stir, a.deadline
	// The verifier's strings may point into the datagram, which the
	// reader reuses.
	res := &j.stir.res
	res.OrigID, res.OrigTN, res.X5U, res.Detail = strings.Clone(res.OrigID), strings.Clone(res.OrigTN), strings.Clone(res.X5U), strings.Clone(res.Detail)
	s.deferring.Add(1)
	s.stats.deferred.Add(1)
	s.deferWG.Add(1)
	go s.answerDeferred(conn, j)
}

// answerDeferred decides and answers a deferred INVITE, then gives up its
// place among the decisions in flight.
func (s *Server) answerDeferred(conn *net.UDPConn, j *deferredInvite) {
	defer s.deferWG.Done()
	if out, dst, ok := s.decideDeferred(j); ok {
		if _, err := conn.WriteToUDPAddrPort(out, dst); err != nil {
			s.stats.sendErrors.Add(1)
			if !errors.Is(err, net.ErrClosed) {
				s.log.Warn("redirect: sending response failed", "peer", dst.String(), "error", err)
			}
		}
	}
	s.inflight.Add(-1) // taken when the INVITE was read (invite)
	s.deferring.Add(-1)
	j.call, j.stir = policy.Call{}, stirResult{}
	s.deferredInvites.Put(j)
}

// decideDeferred decides j's INVITE, read again from the copy as the
// reader read it (the scanner, or the fallback's parser), and returns the
// response and its destination.
func (s *Server) decideDeferred(j *deferredInvite) ([]byte, netip.AddrPort, bool) {
	r := j.r
	a := &r.ans
	a.reset()
	a.call, a.stir, a.deadline = j.call, j.stir, j.deadline
	a.bud.AllowDefer(false)
	if scanRequest(j.data, r.msg) == scanOK {
		s.decideInvite(&r.msg.reqView, a)
		if a.code == 0 {
			return nil, j.src, false
		}
		out, dst := s.appendFastResponse(r.out[:0], r.msg, a, j.src)
		r.out = out
		return out, dst, true
	}
	msg, err := s.parser.ParseSIP(j.data)
	req, ok := msg.(*sip.Request)
	if err != nil || !ok {
		return nil, j.src, false // cannot be: it was parsed when read
	}
	req.SetSource(r.peer(j.src))
	req.SetTransport("UDP")
	var (
		v   reqView
		ext [8]extHeader
	)
	v.fillFromRequest(req, ext[:0])
	s.decideInvite(&v, a)
	res := s.sipResponse(req, a)
	if res == nil {
		return nil, j.src, false
	}
	out, dst := r.wire(res, j.src)
	return out, dst, true
}
