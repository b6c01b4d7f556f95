package m3ua

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"callgate/sigtran/transport"
)

// Association is one transport association of an Endpoint and the ASP
// state on it.
type Association struct {
	ep     *Endpoint
	id     uint64
	conn   transport.Conn
	client bool

	state         atomic.Int32 // ASPState
	reachedActive atomic.Bool
	// asOut (dialling side): the SG announced the AS inactive or pending
	// since this ASP went active; Endpoint.Send routes elsewhere.
	asOut atomic.Bool
	// dest (dialling side) is what this SG reported about destinations
	// with SSNM: availability is learnt per SG (RFC 4666 §4.5.1) and
	// forgotten with the association.
	dest destTable

	out  outbox        // messages waiting to be written (outbox.go)
	kick chan struct{} // wakes the writer
	// readerBusy is set while the reader handles a batch of messages it
	// read: what is queued meanwhile is written at the batch's end.
	readerBusy atomic.Bool

	done      chan struct{}
	downAcked chan struct{} // closed on ASP Down Ack
	downOnce  sync.Once
	// downSent (dialling side): this end sent ASP Down, so an ASP Down
	// Ack is the answer, not the SG taking the ASP down.
	downSent  atomic.Bool
	closeOnce sync.Once
	closeErr  error

	// rc is the routing context outgoing DATA carries: bit 32 set when
	// present. Atomic because ASP Active may change it while SendData runs.
	rc atomic.Uint64

	// rd is the goroutine reading the association (reader.go); another
	// takes its place when ReleaseReader gives up on one stuck in the
	// Handler.
	rd atomic.Pointer[readerState]
	// value is what the endpoint's user keeps with the association
	// (Value, SetValue).
	value atomic.Value

	// registered is the copy-on-write list of RCs this association
	// registered with REG REQ (written under mu, read lock-free by the
	// DATA path).
	registered atomic.Pointer[[]uint32]

	mu        sync.Mutex
	peerASPID uint32
	hasPeerID bool
	awaiting  uint8 // client: the await* answer being waited for
	sentAt    time.Time
	retries   int
	// regRepeats counts REG REQs repeated for want of an answer: as many
	// late REG RSPs are duplicates, ignored rather than answered with ERR.
	regRepeats int
	beatSeq    uint64
	beatData   [16]byte
	beatOut    bool
	beatAt     time.Time
	// activeRCs are the RCs named by the last ASP Active; empty means
	// every AS of the association.
	activeRCs []uint32
	// inactiveAcked is closed when the ASP Inactive Ack Drain waits for
	// arrives (or its repetition gives up).
	inactiveAcked chan struct{}
	// fences are the fence BEATs awaiting their Ack (drain.go).
	fenceSeq uint64
	fences   map[uint64]chan struct{}
}

const (
	awaitNone uint8 = iota
	awaitUpAck
	awaitRegRsp
	awaitActiveAck
	awaitInactiveAck
)

func newAssociation(e *Endpoint, conn transport.Conn, client bool) *Association {
	a := &Association{
		ep:     e,
		id:     e.nextID.Add(1),
		conn:   conn,
		client: client,
		kick:   make(chan struct{}, 1),
		done:   make(chan struct{}),

		downAcked: make(chan struct{}),
	}
	if client && len(e.cfg.RoutingContexts) > 0 {
		a.setRC(e.cfg.RoutingContexts[0])
	}
	return a
}

// ID identifies the association within its endpoint.
func (a *Association) ID() uint64 { return a.id }

// State returns the ASP state on this association.
func (a *Association) State() ASPState { return ASPState(a.state.Load()) }

// RemoteAddr returns the peer's transport address.
func (a *Association) RemoteAddr() net.Addr { return a.conn.RemoteAddr() }

// LocalAddr returns this end's transport address.
func (a *Association) LocalAddr() net.Addr { return a.conn.LocalAddr() }

// Done is closed when the association is gone.
func (a *Association) Done() <-chan struct{} { return a.done }

func (a *Association) info() AssociationInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	return AssociationInfo{
		ID: a.id, Network: a.conn.Network(), Local: a.conn.LocalAddr().String(), Remote: a.conn.RemoteAddr().String(),
		Streams: a.conn.Streams(), State: a.State(), PeerASPID: a.peerASPID, HasPeerASPID: a.hasPeerID,
		Client: a.client, QueuedForSending: a.out.queued(),
	}
}

const rcPresent = 1 << 32

func (a *Association) setRC(rc uint32) { a.rc.Store(rcPresent | uint64(rc)) }

func (a *Association) routingContext() (uint32, bool) {
	v := a.rc.Load()
	return uint32(v), v&rcPresent != 0
}

func (a *Association) rcList() []uint32 {
	if rc, ok := a.routingContext(); ok {
		return []uint32{rc}
	}
	return nil
}

// dataStream maps an SLS onto the data streams 1..n-1 so that one
// signalling relation (one SLS) keeps its order; stream 0 is for
// management. A single-stream transport (TCP) uses stream 0.
func dataStream(streams uint16, sls uint8) uint16 {
	if streams <= 1 {
		return 0
	}
	return 1 + uint16(sls)%(streams-1)
}

// SendData queues pd on this association, on the data stream chosen by its
// SLS, with the association's routing context and the endpoint's network
// appearance. It never blocks: a full queue returns ErrSendQueueFull.
// Called by a Handler on the reader goroutine (deciding inline), the
// message goes out with the other answers to the batch the reader read,
// in one write; from any other goroutine it is written at once, unless
// the reader is in a batch, whose end writes it (outbox.go).
func (a *Association) SendData(pd ProtocolData) error {
	e := a.ep
	if !a.carriesData() {
		e.stats.drop.Add(1)
		return ErrNotActive
	}
	// The association may have failed since: fail sets ASPStateDown
	// before it closes the association (isClosed), so the state says it
	// at the cost of one atomic load.
	if a.State() == ASPStateDown {
		return ErrNotActive
	}
	err := a.queueData(&pd, dataStream(a.conn.Streams(), pd.SLS), e.cfg.SendQueue)
	if err == ErrSendQueueFull {
		e.stats.drop.Add(1)
	}
	return err
}

// carriesData reports whether DATA may go both ways on the association:
// ASP-ACTIVE, or ASP-INACTIVE while the endpoint drains (what the peer sent
// before it saw the deactivation is still answered; see drain.go).
func (a *Association) carriesData() bool {
	switch a.State() {
	case ASPStateActive:
		return true
	case ASPStateInactive:
		return a.ep.draining.Load()
	}
	return false
}

// sendMgmt queues a management message on stream 0. It is never refused
// for want of queue space (management must not be lost); once the
// association is closed it is dropped.
func (a *Association) sendMgmt(msg Message) {
	if a.isClosed() {
		return
	}
	if err := a.queueMsg(msg, 0); err != nil {
		a.ep.log.Error("m3ua encode failed", "assoc", a.id, "msg", MessageName(msg.MessageClass(), msg.MessageType()), "err", err)
		return
	}
	if msg.MessageClass() == ClassMGMT && msg.MessageType() == TypeERR {
		a.ep.stats.errOut.Add(1)
	}
}

func (a *Association) start() {
	e := a.ep
	e.wg.Add(3)
	go func() { defer e.wg.Done(); a.writer() }()
	r := &readerState{}
	a.rd.Store(r)
	go func() { defer e.wg.Done(); a.reader(r) }()
	go func() { defer e.wg.Done(); a.timers() }()
	if a.client {
		a.mu.Lock()
		a.awaiting, a.sentAt, a.retries = awaitUpAck, time.Now(), 0
		a.mu.Unlock()
		a.sendMgmt(a.aspUp())
	}
}

func (a *Association) aspUp() *ASPUp {
	up := &ASPUp{Info: a.ep.cfg.Info}
	if id := a.ep.cfg.ASPIdentifier; id != nil {
		up.ASPIdentifier, up.HasASPIdentifier = *id, true
	}
	return up
}

// aspActive names the configured RCs, or those granted by REG RSP when
// the association registered its keys.
func (a *Association) aspActive() *ASPActive {
	rcs := a.ep.cfg.RoutingContexts
	if len(a.ep.cfg.Register) > 0 {
		rcs = a.RegisteredRCs()
	}
	return &ASPActive{TrafficMode: a.ep.cfg.TrafficMode, RoutingContexts: rcs}
}

func (a *Association) count(c Class) {
	if c <= ClassASPTM {
		a.ep.stats.out[c].Add(1)
	}
}

var (
	errOrderlyClose  = errors.New("closed by this end")
	errHeartbeatLost = errors.New("heartbeat lost: BEAT not acknowledged in time")
)

// readFailed answers a message the transport could not deliver with ERR
// (RFC 4666 §3.8.1: the peer learns why) and reports whether the
// association can go on: true for a message over Config.MaxMessage on
// SCTP (discarded whole), false for a broken TCP framing (the byte stream
// cannot be resynchronised; the ERR is written directly, as the writer is
// about to stop) and for every other read error.
func (a *Association) readFailed(err error) bool {
	var fe *transport.FrameError
	var tl *transport.MessageTooLongError
	framing := errors.As(err, &fe)
	tooLong := errors.As(err, &tl)
	if !framing && !tooLong {
		return false
	}
	a.ep.stats.decodeErr.Add(1)
	var hdr [8]byte
	if framing {
		hdr = fe.Header
	}
	if tooLong {
		hdr = tl.Header
		a.ep.stats.tooLong.Add(1)
		what := "message discarded, association kept"
		if framing {
			what = "association closed: the TCP framing is lost"
		}
		a.ep.log.Warn("m3ua message over the size limit, answered with ERR Protocol Error", "assoc", a.id,
			"remote", a.conn.RemoteAddr().String(), "length", tl.Length, "max", tl.Max,
			"class", hdr[2], "type", hdr[3], "then", what)
	}
	if hdr == [8]byte{} {
		return false
	}
	code := CodeProtocolError
	if hdr[0] != Version {
		code = CodeInvalidVersion
	}
	m := &Err{Code: code, Diagnostic: slices.Clone(hdr[:])}
	if !framing {
		a.sendMgmt(m)
		return true
	}
	// Written here, behind what is queued: the writer is about to stop.
	a.flush()
	if b, merr := m.MarshalBinary(); merr == nil {
		a.out.wmu.Lock()
		a.tap(true, 0, b)
		a.conn.WriteMsg(b, 0)
		a.out.wmu.Unlock()
		a.ep.stats.errOut.Add(1)
	}
	return false
}

// tap shows msg to Config.Tap, if any.
func (a *Association) tap(out bool, stream uint16, msg []byte) {
	if t := a.ep.cfg.Tap; t != nil {
		t(a, out, stream, msg)
	}
}

// timers drives ack retransmission and the heartbeat.
func (a *Association) timers() {
	cfg := &a.ep.cfg
	tick := cfg.AckTimeout
	if cfg.HeartbeatInterval > 0 {
		tick = min(tick, cfg.HeartbeatInterval, cfg.HeartbeatTimeout)
	}
	tick = max(tick/4, 5*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-a.done:
			return
		case now := <-t.C:
			if err := a.onTick(now); err != nil {
				a.fail(err)
				return
			}
		}
	}
}

func (a *Association) onTick(now time.Time) error {
	cfg := &a.ep.cfg
	var resend Message
	a.mu.Lock()
	if a.awaiting != awaitNone && now.Sub(a.sentAt) >= cfg.AckTimeout {
		if a.awaiting == awaitInactiveAck && a.retries >= cfg.AckRetries {
			// An SG that does not acknowledge ASP Inactive is given up
			// on, not dropped: the association still carries the answers.
			a.inactiveAckReceivedLocked()
			a.mu.Unlock()
			a.ep.log.Warn("m3ua no ASP Inactive Ack: going on with the drain", "assoc", a.id, "tries", cfg.AckRetries+1)
			return nil
		}
		if a.retries >= cfg.AckRetries {
			w := a.awaiting
			a.mu.Unlock()
			tries := cfg.AckRetries + 1
			switch w {
			case awaitUpAck:
				return fmt.Errorf("no ASP Up Ack after %d tries", tries)
			case awaitRegRsp:
				return fmt.Errorf("no REG RSP after %d tries", tries)
			}
			return fmt.Errorf("no ASP Active Ack after %d tries", tries)
		}
		a.retries++
		a.sentAt = now
		switch a.awaiting {
		case awaitUpAck:
			resend = a.aspUp()
		case awaitRegRsp:
			resend = a.regReq()
			a.regRepeats++
		case awaitInactiveAck:
			resend = a.aspInactive()
		default:
			resend = a.aspActive()
		}
	}
	var beat *Beat
	if cfg.HeartbeatInterval > 0 {
		if a.beatOut && now.Sub(a.beatAt) >= cfg.HeartbeatTimeout {
			a.mu.Unlock()
			a.ep.stats.heartbeatLoss.Add(1)
			return errHeartbeatLost
		}
		if !a.beatOut && now.Sub(a.beatAt) >= cfg.HeartbeatInterval {
			a.beatSeq++
			// Heartbeat Data: association id and sequence number, so a
			// stale or foreign BEAT Ack is recognised.
			binary.BigEndian.PutUint64(a.beatData[:8], a.id)
			binary.BigEndian.PutUint64(a.beatData[8:], a.beatSeq)
			a.beatOut, a.beatAt = true, now
			beat = &Beat{Data: slices.Clone(a.beatData[:])}
		}
	}
	a.mu.Unlock()
	if resend != nil {
		a.ep.log.Debug("m3ua resending", "assoc", a.id, "msg", MessageName(resend.MessageClass(), resend.MessageType()))
		a.sendMgmt(resend)
	}
	if beat != nil {
		a.sendMgmt(beat)
	}
	return nil
}

// fail tears the association down once.
func (a *Association) fail(err error) {
	a.closeOnce.Do(func() {
		a.closeErr = err
		if !errors.Is(err, errOrderlyClose) {
			// Recorded before the transport closes, so that whoever sees
			// the association go can already read why.
			a.ep.mu.Lock()
			a.ep.lastErr = err
			a.ep.mu.Unlock()
		}
		prev := ASPState(a.state.Swap(int32(ASPStateDown)))
		close(a.done)
		a.conn.Close()
		e := a.ep
		switch {
		case errors.Is(err, errOrderlyClose):
			e.log.Info("m3ua association closed", "assoc", a.id, "remote", a.conn.RemoteAddr().String())
		case prev == ASPStateDown:
			// A drop after ASP Down is the orderly end of the association
			// (an ASP closes its transport after ASP Down Ack), not a
			// loss of service: neither counted nor warned about.
			e.log.Info("m3ua association closed", "assoc", a.id, "remote", a.conn.RemoteAddr().String(), "by", "peer after ASP Down", "err", err)
		default:
			e.stats.losses.Add(1)
			e.log.Warn("m3ua association lost", "assoc", a.id, "remote", a.conn.RemoteAddr().String(), "state", prev.String(), "err", err)
		}
		e.detach(a)
	})
}

// closeGraceful ends the association in order, bounded by wait: the
// dialling side sends ASP Down and waits for its Ack; the accepting side
// tells an ASP that is up that it is down with an ASP Down Ack it did not
// ask for (RFC 4666 §4.3.4.2: the ASP then considers itself ASP-DOWN) and
// waits for a BEAT round trip behind it. Either way the peer sees an
// orderly ASP Down rather than a lost association (closing a TCP socket
// with unread input resets it, which can discard what is in flight).
func (a *Association) closeGraceful(wait time.Duration) {
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	switch {
	case a.State() == ASPStateDown:
	case a.client:
		a.downSent.Store(true)
		a.sendMgmt(&ASPDown{})
		select {
		case <-a.downAcked:
		case <-a.done:
		case <-timeout.C:
		}
	default:
		a.sendMgmt(&ASPDownAck{})
		a.setState(ASPStateDown)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		_ = a.roundTrip(ctx) // best effort: closing anyway
		cancel()
	}
	a.fail(errOrderlyClose)
}

// setState changes the ASP state and republishes the endpoint's active
// list and AS state.
func (a *Association) setState(s ASPState) {
	if s == ASPStateActive {
		a.reachedActive.Store(true)
	}
	e := a.ep
	e.mu.Lock()
	if a.State() == ASPStateDown && a.isClosed() {
		e.mu.Unlock()
		return
	}
	prev := ASPState(a.state.Swap(int32(s)))
	var ns []notice
	if prev != s {
		ns = e.updateASLocked()
	}
	e.mu.Unlock()
	if prev != s {
		e.log.Info("m3ua ASP state", "assoc", a.id, "from", prev.String(), "to", s.String())
	}
	flush(ns)
}

func (a *Association) isClosed() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// sendErr answers a bad message with ERR; the Diagnostic Information
// carries the offending message (RFC 4666 §3.8.1), capped in size.
func (a *Association) sendErr(code ErrorCode, offending []byte, rcs []uint32) {
	const maxDiag = 256
	diag := offending
	if len(diag) > maxDiag {
		diag = diag[:maxDiag]
	}
	m := &Err{Code: code, Diagnostic: slices.Clone(diag), RoutingContexts: rcs}
	a.ep.log.Warn("m3ua sending ERR", "assoc", a.id, "code", code.String())
	a.sendMgmt(m)
}

// handle processes one received message; rx is the reader's DATA.
func (a *Association) handle(b []byte, stream uint16, rx *Data, at time.Time) {
	e := a.ep
	h, err := ParseHeader(b)
	if err != nil {
		e.stats.decodeErr.Add(1)
		code, _ := CodeOf(err)
		e.log.Warn("m3ua bad message", "assoc", a.id, "err", err)
		a.sendErr(code, b, nil)
		return
	}
	b = b[:h.Length]
	e.stats.countIn(h.Class)
	if h.Class == ClassTransfer && h.Type == TypeDATA {
		a.handleData(b, rx, at)
		return
	}
	if h.Class == ClassRKM && e.cfg.Registrar == nil && !(a.client && len(e.cfg.Register) > 0) {
		// Without a Registrar or keys to register this end is an M3UA
		// without RKM (counted as an undecodable message, as before RKM
		// was implemented).
		e.stats.decodeErr.Add(1)
		a.sendErr(CodeUnsupportedMessageClass, b, nil)
		return
	}
	m, err := Decode(b)
	if err != nil {
		e.stats.decodeErr.Add(1)
		e.log.Warn("m3ua bad message", "assoc", a.id, "msg", MessageName(h.Class, h.Type), "err", err)
		// Never answer an ERR with an ERR: two peers could loop.
		if !(h.Class == ClassMGMT && h.Type == TypeERR) {
			code, _ := CodeOf(err)
			a.sendErr(code, b, nil)
		}
		return
	}
	e.log.Debug("m3ua received", "assoc", a.id, "msg", MessageName(h.Class, h.Type), "stream", stream)
	switch m := m.(type) {
	case *Err:
		e.stats.errIn.Add(1)
		if m.Code == CodeDestinationStatusUnknown && a.client {
			// The SG's answer to our DAUD for a destination it knows
			// nothing about (audit.go): not a fault, and what we assume
			// about it (available) stands.
			e.log.Info("m3ua the SG does not know the destination audited", "assoc", a.id, "apc", m.AffectedPCs)
			break
		}
		e.log.Warn("m3ua peer sent ERR", "assoc", a.id, "code", m.Code.String(), "rc", m.RoutingContexts)
	case *Notify:
		a.handleNotify(m)
	case *Beat:
		a.sendMgmt((*BeatAck)(m))
	case *BeatAck:
		if a.fenceAcked(m.Data) {
			return
		}
		a.mu.Lock()
		if a.beatOut && string(m.Data) == string(a.beatData[:]) {
			a.beatOut = false
		}
		a.mu.Unlock()
	case *ASPUp:
		a.serverOnly(b, func() { a.onASPUp(m, b) })
	case *ASPDown:
		a.serverOnly(b, func() {
			a.sendMgmt(&ASPDownAck{})
			a.setState(ASPStateDown)
		})
	case *ASPActive:
		a.serverOnly(b, func() { a.onASPActive(m, b) })
	case *ASPInactive:
		a.serverOnly(b, func() {
			if a.State() == ASPStateDown {
				a.sendErr(CodeUnexpectedMessage, b, nil)
				return
			}
			// An RC we do not serve names no AS this ASP could leave
			// (RFC 4666 §4.3.4.4): ERR Invalid Routing Context, as for
			// ASP Active, and the ASP's state stays as it is.
			if bad := a.badRCs(m.RoutingContexts); len(bad) > 0 {
				a.sendErr(CodeInvalidRoutingContext, b, bad)
				return
			}
			a.sendMgmt(&ASPInactiveAck{RoutingContexts: m.RoutingContexts})
			a.setState(ASPStateInactive)
		})
	case *ASPUpAck:
		a.clientOnly(b, func() {
			register := len(e.cfg.Register) > 0
			a.mu.Lock()
			ok := a.awaiting == awaitUpAck
			if ok {
				// Registration comes between ASP Up and ASP Active: the
				// RCs ASP Active names are the ones REG RSP grants.
				next := awaitActiveAck
				if register {
					next = awaitRegRsp
				}
				a.awaiting, a.sentAt, a.retries = next, time.Now(), 0
			}
			a.mu.Unlock()
			if !ok {
				return // a late duplicate
			}
			a.setState(ASPStateInactive)
			if e.draining.Load() {
				// Up, but not to take traffic: the endpoint is draining.
				a.mu.Lock()
				a.awaiting = awaitNone
				a.mu.Unlock()
				return
			}
			if register {
				a.sendMgmt(a.regReq())
			} else {
				a.sendMgmt(a.aspActive())
			}
		})
	case *ASPActiveAck:
		a.clientOnly(b, func() {
			a.mu.Lock()
			ok := a.awaiting == awaitActiveAck
			if ok {
				a.awaiting = awaitNone
			}
			a.mu.Unlock()
			if ok {
				a.asOut.Store(false) // an AS-INACTIVE NTFY before this is history
				a.setState(ASPStateActive)
				a.audit()
			}
		})
	case *ASPDownAck:
		a.clientOnly(b, func() {
			was := a.State()
			a.setState(ASPStateDown)
			a.downOnce.Do(func() { close(a.downAcked) })
			if !a.downSent.Load() && was != ASPStateDown {
				a.returnFromDown()
			}
		})
	case *ASPInactiveAck:
		a.clientOnly(b, func() {
			a.mu.Lock()
			if a.awaiting == awaitInactiveAck {
				a.inactiveAckReceivedLocked()
			}
			a.mu.Unlock()
			a.setState(ASPStateInactive)
		})
	case *DUNA:
		a.clientOnly(b, func() {
			a.dest.update(m.AffectedPCs, func(s *DestinationState) { s.Available = false; s.Restricted = false })
			e.log.Info("m3ua DUNA", "assoc", a.id, "remote", a.conn.RemoteAddr().String(), "apc", m.AffectedPCs)
			for _, apc := range m.AffectedPCs {
				if !e.Available(apc.PC) {
					e.log.Warn("m3ua destination unavailable through every SG", "apc", apc)
				}
			}
		})
	case *DAVA:
		a.clientOnly(b, func() {
			a.dest.update(m.AffectedPCs, func(s *DestinationState) { *s = DestinationState{Available: true} })
			e.log.Info("m3ua DAVA", "assoc", a.id, "remote", a.conn.RemoteAddr().String(), "apc", m.AffectedPCs)
		})
	case *DRST:
		a.clientOnly(b, func() {
			a.dest.update(m.AffectedPCs, func(s *DestinationState) { s.Available = true; s.Restricted = true })
		})
	case *SCON:
		a.clientOnly(b, func() {
			lvl := m.CongestionLevel
			if !m.HasCongestionLevel {
				lvl = CongestionLevel1
			}
			a.dest.update(m.AffectedPCs, func(s *DestinationState) { s.Congestion = lvl })
			e.log.Info("m3ua SCON", "assoc", a.id, "apc", m.AffectedPCs, "level", lvl)
		})
	case *DUPU:
		a.clientOnly(b, func() {
			u := uint8(m.UserCause.User)
			a.dest.update(m.AffectedPCs, func(s *DestinationState) {
				if !slices.Contains(s.UnavailableUsers, u) {
					s.UnavailableUsers = append(slices.Clip(s.UnavailableUsers), u)
				}
			})
			e.log.Info("m3ua DUPU", "assoc", a.id, "apc", m.AffectedPCs, "user", m.UserCause.User, "cause", m.UserCause.Cause)
		})
	case *DAUD:
		a.serverOnly(b, func() { a.onDAUD(m, b) })
	case *RegReq:
		a.serverOnly(b, func() { a.onRegReq(m) })
	case *DeregReq:
		a.serverOnly(b, func() { a.onDeregReq(m) })
	case *RegRsp:
		// Only an answer to our own outstanding REG REQ is expected.
		if !a.onRegRsp(m) {
			a.sendErr(CodeUnexpectedMessage, b, nil)
		}
	case *DeregRsp:
		// This end never sends DEREG REQ.
		a.sendErr(CodeUnexpectedMessage, b, nil)
	}
}

// returnFromDown answers an ASP Down Ack this end did not ask for: the
// SG took the ASP down (management, an SG restarting its ASP state), and
// RFC 4666 §4.3.4.2 has the ASP initiate the procedures that return it to
// its previous state. ASP Up goes out after AckTimeout, through the
// ack-retransmission timer, not at once: an SG that is closing the
// association (as ours does on Close: unsolicited ASP Down Ack, then
// close) is gone by then. The ASP Up Ack leads to ASP Active (or REG REQ)
// as after any ASP Up; an SG that never answers fails the association
// like an unanswered ASP Up, and it is dialled anew. A draining endpoint
// does not come back.
func (a *Association) returnFromDown() {
	a.mu.Lock()
	if a.awaiting == awaitInactiveAck {
		a.inactiveAckReceivedLocked() // down is past inactive: Drain waits no more
	}
	back := !a.ep.draining.Load()
	if back {
		// retries -1: the timer's first "repeat" is the first ASP Up.
		a.awaiting, a.sentAt, a.retries = awaitUpAck, time.Now(), -1
	}
	a.mu.Unlock()
	if back {
		a.ep.log.Info("m3ua the SG took this ASP down (unsolicited ASP Down Ack): sending ASP Up again", "assoc", a.id,
			"remote", a.conn.RemoteAddr().String(), "after", a.ep.cfg.AckTimeout.String())
	}
}

// serverOnly runs f if this end manages ASP state as an SG/IPSP server,
// else answers ERR Unexpected Message.
func (a *Association) serverOnly(b []byte, f func()) {
	if a.client {
		a.sendErr(CodeUnexpectedMessage, b, nil)
		return
	}
	f()
}

func (a *Association) clientOnly(b []byte, f func()) {
	if !a.client {
		a.sendErr(CodeUnexpectedMessage, b, nil)
		return
	}
	f()
}

func (a *Association) handleData(b []byte, d *Data, at time.Time) {
	e := a.ep
	err := d.UnmarshalBinary(b)
	d.Received = at
	if err != nil {
		e.stats.decodeErr.Add(1)
		code, _ := CodeOf(err)
		e.log.Warn("m3ua bad DATA", "assoc", a.id, "err", err)
		a.sendErr(code, b, nil)
		return
	}
	if !a.carriesData() {
		a.sendErr(CodeUnexpectedMessage, b, nil)
		return
	}
	if d.HasRoutingContext && !a.rcAllowed(d.RoutingContext) {
		a.sendErr(CodeInvalidRoutingContext, b, []uint32{d.RoutingContext})
		return
	}
	if na := e.cfg.NetworkAppearance; na != nil && d.HasNetworkAppearance && d.NetworkAppearance != *na {
		a.sendErr(CodeInvalidNetworkAppearance, b, nil)
		return
	}
	if e.cfg.Handler != nil {
		e.cfg.Handler(a, d)
	}
}

func (a *Association) handleNotify(m *Notify) {
	e := a.ep
	e.log.Info("m3ua NTFY", "assoc", a.id, "status", m.Status.String(), "rc", m.RoutingContexts)
	if !a.client {
		return
	}
	if m.Status.Type == StatusTypeASStateChange {
		var s ASState
		switch m.Status.Info {
		case StatusASActive:
			s = ASStateActive
		case StatusASInactive:
			s = ASStateInactive
		case StatusASPending:
			s = ASStatePending
		default:
			return
		}
		e.mu.Lock()
		e.asState = s
		e.mu.Unlock()
		switch {
		case s == ASStateActive:
			a.asOut.Store(false)
		case a.State() == ASPStateActive && !a.asOut.Swap(true):
			e.log.Info("m3ua the SG announced the AS out of service: routing elsewhere", "assoc", a.id, "as", s.String())
		}
		return
	}
	if m.Status.Type == StatusTypeOther && m.Status.Info == StatusAlternateASPActive && a.State() == ASPStateActive {
		// Override mode: another ASP took the traffic; the SG now sees
		// this ASP as inactive (RFC 4666 §4.3.4.3). Stay up as standby.
		a.setState(ASPStateInactive)
	}
}

func (a *Association) onASPUp(m *ASPUp, b []byte) {
	wasActive := a.State() == ASPStateActive
	a.mu.Lock()
	a.peerASPID, a.hasPeerID = m.ASPIdentifier, m.HasASPIdentifier
	a.mu.Unlock()
	// ASP Up while inactive or active means the ASP restarted: it is
	// inactive now either way (RFC 4666 §4.3.4.1). The Ack goes first so
	// that any NTFY the state change causes follows it.
	a.sendMgmt(&ASPUpAck{})
	if wasActive {
		// RFC 4666 §4.3.4.1: ASP Up from an active ASP is acknowledged
		// and also answered with ERR Unexpected Message.
		a.sendErr(CodeUnexpectedMessage, b, nil)
	}
	a.setState(ASPStateInactive)
	e := a.ep
	e.mu.Lock()
	s := e.asState
	e.mu.Unlock()
	// Tell the newly up ASP the AS state when it is not the one a state
	// change just announced to everybody.
	if s == ASStateActive || s == ASStatePending {
		info := StatusASActive
		if s == ASStatePending {
			info = StatusASPending
		}
		a.sendMgmt(&Notify{Status: Status{StatusTypeASStateChange, info}, RoutingContexts: e.cfg.RoutingContexts})
	}
}

func (a *Association) onASPActive(m *ASPActive, b []byte) {
	e := a.ep
	if a.State() == ASPStateDown {
		a.sendErr(CodeUnexpectedMessage, b, nil)
		return
	}
	if e.draining.Load() {
		// Taken out of service (drain.go): RFC 4666 §3.8.1's answer to an
		// activation refused for management reasons.
		a.sendErr(CodeRefusedManagementBlocked, b, m.RoutingContexts)
		return
	}
	if m.TrafficMode != TrafficModeNone && m.TrafficMode != e.cfg.TrafficMode {
		a.sendErr(CodeUnsupportedTrafficMode, b, nil)
		return
	}
	if bad := a.badRCs(m.RoutingContexts); len(bad) > 0 {
		a.sendErr(CodeInvalidRoutingContext, b, bad)
		return
	}
	reg := a.RegisteredRCs()
	switch {
	case len(m.RoutingContexts) > 0:
		a.setRC(m.RoutingContexts[0])
	case len(e.cfg.RoutingContexts) > 0:
		a.setRC(e.cfg.RoutingContexts[0])
	case len(reg) > 0:
		a.setRC(reg[0])
	}
	a.mu.Lock()
	a.activeRCs = slices.Clone(m.RoutingContexts)
	a.mu.Unlock()

	var ns []notice
	e.mu.Lock()
	if e.cfg.TrafficMode == TrafficModeOverride {
		// One active ASP: the newcomer takes over, the others are told
		// an alternate ASP is active and become inactive.
		alt := &Notify{Status: Status{StatusTypeOther, StatusAlternateASPActive}, RoutingContexts: e.cfg.RoutingContexts}
		a.mu.Lock()
		alt.ASPIdentifier, alt.HasASPIdentifier = a.peerASPID, a.hasPeerID
		a.mu.Unlock()
		for _, o := range e.assocs {
			if o != a && o.State() == ASPStateActive {
				o.state.Store(int32(ASPStateInactive))
				e.log.Info("m3ua ASP state", "assoc", o.id, "from", ASPStateActive.String(), "to", ASPStateInactive.String(), "why", "alternate ASP active")
				ns = append(ns, notice{o, alt})
			}
		}
	}
	e.mu.Unlock()
	a.sendMgmt(&ASPActiveAck{TrafficMode: m.TrafficMode, RoutingContexts: m.RoutingContexts})
	flush(ns)
	a.setState(ASPStateActive) // announces AS-ACTIVE if the AS changed state
	a.reportDestinations()
}

// badRCs returns the RCs of rcs that may not be used on this association.
func (a *Association) badRCs(rcs []uint32) []uint32 {
	var bad []uint32
	for _, rc := range rcs {
		if !a.rcAllowed(rc) {
			bad = append(bad, rc)
		}
	}
	return bad
}

// rcAllowed reports whether rc may be used on this association: a
// configured RC, or one this association registered. A client that
// registers its keys accepts only the RCs granted to it.
func (a *Association) rcAllowed(rc uint32) bool {
	if !(a.client && len(a.ep.cfg.Register) > 0) && a.ep.rcAllowed(rc) {
		return true
	}
	reg := a.registered.Load()
	return reg != nil && slices.Contains(*reg, rc)
}

// RegisteredRCs returns the routing contexts this association registered
// with REG REQ and has not deregistered, in registration order: on the
// accepting side those its Registrar granted the peer, on the dialling
// side (Config.Register) those the peer granted, in key order.
func (a *Association) RegisteredRCs() []uint32 {
	if reg := a.registered.Load(); reg != nil {
		return slices.Clone(*reg)
	}
	return nil
}

// onRegReq answers REG REQ with one Registration Result per Routing Key,
// in order (RFC 4666 §3.6.2).
func (a *Association) onRegReq(m *RegReq) {
	e := a.ep
	rsp := &RegRsp{Results: make([]RegResult, len(m.Keys))}
	for i, k := range m.Keys {
		rc, st := e.cfg.Registrar(a, k)
		if st == RegStatusSuccess && rc == 0 {
			e.log.Warn("m3ua Registrar granted RC 0; refusing the key", "assoc", a.id, "local_rk_id", k.LocalRKID)
			st = RegStatusUnknown
		}
		if st != RegStatusSuccess {
			rc = 0 // RFC 4666 §3.6.2: RC 0 when the registration failed
		} else {
			a.register(rc)
		}
		rsp.Results[i] = RegResult{LocalRKID: k.LocalRKID, Status: st, RoutingContext: rc}
		e.log.Info("m3ua REG REQ", "assoc", a.id, "local_rk_id", k.LocalRKID, "dpc", k.DPC, "rc", rc, "status", st.String())
	}
	a.sendMgmt(rsp)
}

func (a *Association) register(rc uint32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var next []uint32
	if cur := a.registered.Load(); cur != nil {
		if slices.Contains(*cur, rc) {
			return
		}
		next = slices.Clone(*cur)
	}
	next = append(next, rc)
	a.registered.Store(&next)
}

// onDeregReq answers DEREG REQ with one Deregistration Result per RC, in
// order (RFC 4666 §3.6.4). Only this association's own registrations can
// be removed, and not while it is active for them.
func (a *Association) onDeregReq(m *DeregReq) {
	rsp := &DeregRsp{Results: make([]DeregResult, len(m.RoutingContexts))}
	for i, rc := range m.RoutingContexts {
		st := a.deregister(rc)
		rsp.Results[i] = DeregResult{RoutingContext: rc, Status: st}
		a.ep.log.Info("m3ua DEREG REQ", "assoc", a.id, "rc", rc, "status", st.String())
	}
	a.sendMgmt(rsp)
}

func (a *Association) deregister(rc uint32) DeregStatus {
	if rc == 0 {
		return DeregStatusInvalidRC
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	cur := a.registered.Load()
	if cur == nil || !slices.Contains(*cur, rc) {
		return DeregStatusNotRegistered
	}
	if a.State() == ASPStateActive && (len(a.activeRCs) == 0 || slices.Contains(a.activeRCs, rc)) {
		return DeregStatusASPActive
	}
	next := slices.DeleteFunc(slices.Clone(*cur), func(x uint32) bool { return x == rc })
	a.registered.Store(&next)
	return DeregStatusSuccess
}
