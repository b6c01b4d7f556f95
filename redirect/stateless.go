package redirect

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"

	"github.com/emiago/sipgo/sip"

	"callgate/policy"
)

// The stateless UDP path (the default; Config.Stateful turns it off).
//
// A redirect server is the textbook stateless UAS (RFC 3261 §8.2.7): every
// answer is final and a function of the request alone, so it keeps no
// transaction. A fixed set of reader goroutines (Config.UDPReaders) each
// loop on read -> scan -> decide -> write with their own buffers, a batch
// of datagrams per read and write (udpbatch.go): no goroutine, timer or
// transaction per request, and no allocation for a well-formed INVITE, ACK,
// CANCEL or OPTIONS. What that means on the wire:
//
//   - INVITE: the final response is sent once. If it is lost, the upstream
//     client transaction retransmits the INVITE (Timer A) and gets the same
//     response again: same decision, same To tag, same token (txid.go).
//   - ACK (for our 3xx-6xx, or stray): absorbed, nothing sent. There is no
//     final response to stop retransmitting.
//   - CANCEL: 481 Call/Transaction Does Not Exist. RFC 3261 §9.2 answers a
//     CANCEL that matches no server transaction with 481, and a stateless
//     server has none to match: whether the INVITE was answered a moment
//     ago, is being decided by another reader, or was never seen, it cannot
//     tell, so it never claims a transaction it does not hold (200 would).
//     The INVITE gets (or got) its final answer regardless, and the 481 ends
//     the CANCEL's client transaction without effect on the call. (The
//     stateful path answers 200, and 487 to a pending INVITE, when the
//     CANCEL matches an INVITE transaction; 481 otherwise.)
//   - OPTIONS 200, other methods 405, Max-Forwards 0 483, etc.: as the
//     stateful server (answerView is shared).
//   - Malformed requests, and anything outside the scanner's plain subset of
//     the grammar (scan.go): handed to the fallback, prescan and sipgo's
//     (lenient) parser, and answered by the same code as the stateful path,
//     still without a transaction.
//   - Overload: MaxRate (token bucket) and MaxInFlight (decisions running
//     at once: one per reader, plus the deferred ones) give 503 +
//     Retry-After as before.
//     Requests the readers cannot keep up with wait in the socket's receive
//     buffer (4 MiB, milliseconds of traffic at full rate).
//   - 100 Trying is never sent: a stateless server sends only final
//     responses, and the upstream's Timer A retransmissions cover a slow
//     decision (each retransmission is decided again).
//   - A decision that would wait for a signal's look-up (reputation) is
//     deferred: the INVITE is copied, decided and answered on a goroutine
//     of its own, and the reader goes on with the datagrams after it
//     (deferred.go).
//
// Responses carry the request's Via headers in order (the top one with
// received, and rport filled in when asked for, RFC 3581 §4), From, To with
// our tag, Call-ID and CSeq copied from the request, then the same headers
// as the stateful path; they go to the source address, and to the source
// port when rport was asked for, else the Via port (RFC 3261 §18.2.2).

// udpReader is one reader goroutine's state, reused for every datagram.
type udpReader struct {
	out      []byte // the response being written (a batch slot's buffer)
	msg      *fastMsg
	ans      answer
	sr       scanResult
	spans    [16][2]int
	wbuf     bytes.Buffer // fallback responses
	lastSrc  netip.AddrPort
	lastPeer string
}

func newUDPReader() *udpReader {
	r := &udpReader{
		out: make([]byte, 0, 2048),
		msg: newFastMsg(),
	}
	r.ans.buf = make([]byte, 0, 1024)
	r.ans.bud = new(policy.Budget)
	r.sr.lines = r.spans[:0]
	return r
}

// peer returns src as "ip:port" (what sipgo's Source() gives), cached: a
// redirect server hears from a handful of proxies.
func (r *udpReader) peer(src netip.AddrPort) string {
	if src != r.lastSrc || r.lastPeer == "" {
		r.lastSrc = src
		r.lastPeer = netip.AddrPortFrom(src.Addr().Unmap(), src.Port()).String()
	}
	return r.lastPeer
}

// serveStatelessUDP runs the reader goroutines until conn is closed, and
// returns when they and the INVITEs they deferred (deferred.go) are done.
func (s *Server) serveStatelessUDP(conn *net.UDPConn) error {
	var wg sync.WaitGroup
	errs := make([]error, s.readers)
	for i := range s.readers {
		b := newUDPBatch(s, udpBatchSize)
		var err error
		if b.io, err = newBatchIO(conn, b.in); err != nil {
			errs[i] = err
			conn.Close() // stops the readers already started
			break
		}
		b.deferTo(conn)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.readLoop(b)
		}()
	}
	wg.Wait()
	s.deferWG.Wait() // the readers, which defer INVITEs, have returned
	return errors.Join(errs...)
}

// handleDatagram answers one datagram: the response and its destination,
// or ok false when nothing is to be sent.
func (s *Server) handleDatagram(r *udpReader, data []byte, src netip.AddrPort) (out []byte, dst netip.AddrPort, ok bool) {
	switch scanRequest(data, r.msg) {
	case scanDrop:
		return nil, dst, false
	case scanFallback:
		return s.fallbackDatagram(r, data, src)
	}
	s.stats.fastPath.Add(1)
	m := r.msg
	s.answerView(&m.reqView, r.peer(src), &r.ans)
	if r.ans.code == 0 {
		return nil, dst, false
	}
	r.out, dst = s.appendFastResponse(r.out[:0], m, &r.ans, src)
	return r.out, dst, true
}

// appendFastResponse writes the response to a scanned request.
func (s *Server) appendFastResponse(b []byte, m *fastMsg, a *answer, src netip.AddrPort) ([]byte, netip.AddrPort) {
	b = append(b, "SIP/2.0 "...)
	b = strconv.AppendInt(b, int64(a.code), 10)
	b = append(b, ' ')
	b = append(b, a.reason...)
	b = append(b, "\r\n"...)

	// Top Via: RFC 3261 §18.2.1 received when sent-by is not the source
	// address, RFC 3581 §4 received and rport when rport was asked for.
	t := &m.top
	srcAddr := src.Addr().Unmap()
	needReceived := true
	if t.bracketed || isIPv4Literal(t.host) {
		if a, err := netip.ParseAddr(t.host); err == nil && a.Unmap() == srcAddr {
			needReceived = false
		}
	}
	port := t.port
	if port == 0 {
		port = 5060 // RFC 3261 §18.2.2, UDP
	}
	if t.askRport {
		port = int(src.Port())
	}
	dst := netip.AddrPortFrom(src.Addr(), uint16(port))
	top := m.vias[0]
	b = append(b, "Via: "...)
	if !t.askRport && !needReceived {
		b = append(b, top...)
	} else {
		b = append(b, top[:t.paramsAt]...)
		params := top[t.paramsAt:t.end]
		first := true
		eachParam(params, func(name, value string, hasValue bool) bool {
			if !first {
				b = append(b, ';')
			}
			first = false
			switch {
			case name == "rport" && t.askRport:
				b = append(b, "rport="...)
				b = strconv.AppendUint(b, uint64(src.Port()), 10)
			case name == "received":
				b = append(b, "received="...)
				b = srcAddr.AppendTo(b)
			default:
				b = append(b, name...)
				if hasValue {
					b = append(b, '=')
					b = append(b, value...)
				}
			}
			return true
		})
		if !t.hasReceived {
			b = append(b, ";received="...)
			b = srcAddr.AppendTo(b)
		}
		b = append(b, top[t.end:]...)
	}
	b = append(b, "\r\n"...)
	for _, v := range m.vias[1:m.nvias] {
		b = append(b, "Via: "...)
		b = append(b, v...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "From: "...)
	b = append(b, m.fromV...)
	b = append(b, "\r\nTo: "...)
	b = append(b, m.toV...)
	if !m.toTagged {
		b = append(b, ";tag="...)
		b = appendToTag(b, s.txHash(&m.reqView))
	}
	b = append(b, "\r\nCall-ID: "...)
	b = append(b, m.callIDV...)
	b = append(b, "\r\nCSeq: "...)
	b = append(b, m.cseqV...)
	b = append(b, "\r\n"...)
	b = append(b, s.rawServer...)
	for _, h := range a.fixed[:a.nfixed] {
		b = append(b, s.fixedRaw[h]...)
	}
	if a.unsupported != nil {
		b = append(b, "Unsupported: "...)
		b = append(b, a.unsupported...)
		b = append(b, "\r\n"...)
	}
	if a.contact != nil {
		b = append(b, "Contact: "...)
		b = append(b, a.contact...)
		b = append(b, "\r\n"...)
	}
	for _, h := range a.tags {
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, h.Value...)
		b = append(b, "\r\n"...)
	}
	for _, h := range a.hdrs[:a.nhdrs] {
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, h.Value...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Content-Length: 0\r\n\r\n"...)
	return b, dst
}

func isIPv4Literal(h string) bool {
	for i := 0; i < len(h); i++ {
		if c := h[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return h != ""
}

// fallbackDatagram answers a datagram the scanner left alone, with the
// stateful path's code but no transaction: prescan's raw 400 for what sipgo
// cannot parse, else sipgo's parser and respond.
func (s *Server) fallbackDatagram(r *udpReader, data []byte, src netip.AddrPort) ([]byte, netip.AddrPort, bool) {
	s.stats.fallback.Add(1)
	r.sr.lines = r.spans[:0]
	prescan(data, &r.sr)
	switch {
	case r.sr.code < 0:
		if !bytes.HasPrefix(data, []byte("SIP/")) {
			s.stats.malformed.Add(1)
		}
		return nil, src, false
	case r.sr.code > 0:
		s.stats.malformed.Add(1)
		s.log.Debug("redirect: malformed request", "peer", src.String(), "status", r.sr.code, "reason", r.sr.reason)
		r.out = s.appendRawReply(r.out[:0], data, &r.sr)
		return r.out, src, true
	}
	if len(bytes.Trim(data, "\r\n")) == 0 {
		return nil, src, false
	}
	msg, err := s.parser.ParseSIP(data)
	if err != nil {
		s.stats.malformed.Add(1)
		s.log.Debug("redirect: unparseable datagram dropped", "peer", src.String(), "error", err)
		return nil, src, false
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		return nil, src, false
	}
	req.SetSource(r.peer(src))
	req.SetTransport("UDP")
	// The reader's own answer and Budget: the decision may be deferred
	// (deferred.go) as on the scanner's path.
	res := s.respondWith(req, &r.ans)
	if res == nil {
		return nil, src, false
	}
	out, dst := r.wire(res, src)
	return out, dst, true
}

// wire writes res, the response to a datagram from src, into r.out and
// returns it with its destination.
func (r *udpReader) wire(res *sip.Response, src netip.AddrPort) ([]byte, netip.AddrPort) {
	dst, err := netip.ParseAddrPort(res.Destination())
	if err != nil {
		dst = src
	} else if src.Addr().Is6() && dst.Addr().Is4() {
		// A dual-stack socket sends to IPv4 peers by their mapped address.
		dst = netip.AddrPortFrom(netip.AddrFrom16(dst.Addr().As16()), dst.Port())
	}
	r.wbuf.Reset()
	res.StringWrite(&r.wbuf)
	r.out = append(r.out[:0], r.wbuf.Bytes()...)
	return r.out, dst
}
