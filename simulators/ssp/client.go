package ssp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"callgate/scp/ain"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/pcap"
	"callgate/sigtran/sccp"
	"callgate/sigtran/tcap"
)

// Defaults of the golden vectors' network.
var (
	DefaultOPC = sccp.ANSIPointCode(244, 1, 10) // the SSP
	DefaultDPC = sccp.ANSIPointCode(244, 2, 20) // the SCP
)

// Default values of Config.
const (
	DefaultSSN            = 249
	DefaultSCPSSN         = 248
	DefaultTimeout        = 2 * time.Second
	DefaultConnectTimeout = 5 * time.Second
	DefaultCaptureLimit   = 100000
)

// Config configures a Client. Zero values take the defaults noted.
type Config struct {
	// Network is "tcp" (default) or "sctp".
	Network string
	// Connect lists the SG (or IPSP peer) addresses, "host:port"; one
	// association each, load-shared by SLS.
	Connect []string
	// Role is m3ua.RoleASP (default: the switch is an ASP of an AS served
	// by the SCP's SG side) or m3ua.RoleIPSP (IPSP client).
	Role m3ua.Role
	// RoutingContexts are sent in ASP Active and the first one in DATA.
	// Nil means none (single AS per association).
	RoutingContexts []uint32
	// Register registers a Routing Key with M3UA RKM (REG REQ) on each
	// association instead of relying on a provisioned routing context:
	// the key is DPC (the SCP) with service indicator SCCP, asking for
	// RoutingContexts[0] when one is set; the RC the SCP side grants is
	// then the one used. A refused key fails Dial at once with the
	// Registration Status (*m3ua.RegistrationError).
	Register bool
	// ASPIdentifier, when set, is sent in ASP Up.
	ASPIdentifier *uint32
	// OPC/DPC are the SSP's and the SCP's ANSI point codes (defaults
	// 244-1-10 and 244-2-20); SSN/SCPSSN their subsystems (249, 248).
	OPC, DPC    sccp.PointCode
	SSN, SCPSSN uint8
	// International sets the MTP network indicator to international (0)
	// instead of national (2).
	International bool
	// Timeout bounds each call (default 2 s); a context deadline that is
	// sooner wins.
	Timeout time.Duration
	// ConnectTimeout bounds Dial's wait for ASP-ACTIVE (default 5 s).
	ConnectTimeout time.Duration
	// HeartbeatInterval is the M3UA BEAT period (default: m3ua's 10 s;
	// negative disables).
	HeartbeatInterval time.Duration
	// Capture keeps every M3UA message sent and received, ASP management
	// and DATA (see Capture), up to CaptureLimit messages (default 100000).
	Capture      bool
	CaptureLimit int
	// OnMessage, if set, is called for every M3UA message sent or
	// received (as Capture keeps them), on the association's writer or
	// reader goroutine. It must not block.
	OnMessage func(Captured)
	// IgnoreACG keeps recording the SCP's acg controls (Gaps) but never
	// gaps a call: for replays and tests that want every query sent.
	IgnoreACG bool
	// Logger defaults to a logger that discards.
	Logger *slog.Logger
}

func (c *Config) defaults() error {
	if c.Network == "" {
		c.Network = "tcp"
	}
	if len(c.Connect) == 0 {
		return errors.New("ssp: no address to connect to")
	}
	if c.Role == 0 {
		c.Role = m3ua.RoleASP
	}
	if c.Role != m3ua.RoleASP && c.Role != m3ua.RoleIPSP {
		return fmt.Errorf("ssp: role %v: a switch connects as ASP or IPSP", c.Role)
	}
	if c.OPC == 0 {
		c.OPC = DefaultOPC
	}
	if c.DPC == 0 {
		c.DPC = DefaultDPC
	}
	if !c.OPC.Valid(sccp.ANSI) || !c.DPC.Valid(sccp.ANSI) {
		return fmt.Errorf("ssp: point codes %v/%v are not 24-bit ANSI point codes", c.OPC, c.DPC)
	}
	if c.Register && len(c.RoutingContexts) > 1 {
		return fmt.Errorf("ssp: register: a Routing Key asks for one routing context, not %d", len(c.RoutingContexts))
	}
	if c.SSN == 0 {
		c.SSN = DefaultSSN
	}
	if c.SCPSSN == 0 {
		c.SCPSSN = DefaultSCPSSN
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.CaptureLimit <= 0 {
		c.CaptureLimit = DefaultCaptureLimit
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Stats counts what the Client saw.
type Stats struct {
	Sent      int64 // queries sent
	Answered  int64 // answers matched to an outstanding call
	Gapped    int64 // calls not queried because of ACG
	Timeouts  int64 // calls that got no answer in time
	Late      int64 // answers for calls already timed out or unknown TIDs
	Returned  int64 // queries returned by SCCP (UDTS/XUDTS)
	BadInput  int64 // received DATA that is not SCCP/TCAP we understand
	ACG       int64 // acg components received
	SendError int64 // queries the M3UA endpoint refused (queue full, down)
}

type counters struct {
	sent, answered, gapped, timeouts, late, returned, bad, acg, sendErr atomic.Int64
}

// Client is a simulated switch connected to an SCP. It is safe for
// concurrent use: many goroutines may call TerminationAttempt at once.
type Client struct {
	cfg   Config
	ep    *m3ua.Endpoint
	tx    *tcap.Transactions
	peer  tcap.PeerKey
	pend  *pendingTable
	gaps  *GapTable
	peers *peerTable
	ni    uint8

	called, calling sccp.Address // SCP's and ours

	st  counters
	cap capture

	scratch sync.Pool // *rxScratch
	bufs    sync.Pool // *[]byte for encoding queries

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool
}

// rxScratch is the reader's decoding state, pooled because each
// association has its own reader goroutine.
type rxScratch struct {
	udt sccp.Message
	msg tcap.Message // its component slice is reused by Decode
	acg ain.AcgArg
}

// Dial connects to the SCP side, brings an association to ASP-ACTIVE and
// returns the Client. It fails if no association is active within
// ConnectTimeout (or ctx ends first).
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	c := &Client{
		cfg:     cfg,
		pend:    newPendingTable(),
		gaps:    NewGapTable(),
		peers:   newPeerTable(),
		peer:    tcap.PeerKey(cfg.DPC)<<8 | tcap.PeerKey(cfg.SCPSSN),
		called:  sccp.NewSSNAddress(cfg.DPC, cfg.SCPSSN),
		calling: sccp.NewSSNAddress(cfg.OPC, cfg.SSN),
		ni:      m3ua.NINational,
	}
	if cfg.International {
		c.ni = m3ua.NIInternational
	}
	c.cap.limit = cfg.CaptureLimit
	c.scratch.New = func() any { return &rxScratch{msg: tcap.Message{Components: make([]tcap.Component, 0, 4)}} }
	c.bufs.New = func() any { b := make([]byte, 0, 512); return &b }
	// Dialogues end by an answer or by our own per-call timeout (End); the
	// table's timeout is only a backstop for anything left behind.
	c.tx = tcap.NewTransactions(tcap.Config{Timeout: max(4*cfg.Timeout, 30*time.Second), Tick: 100 * time.Millisecond})

	mcfg := m3ua.Config{
		Role:              cfg.Role,
		Network:           cfg.Network,
		Connect:           cfg.Connect,
		RoutingContexts:   cfg.RoutingContexts,
		ASPIdentifier:     cfg.ASPIdentifier,
		Info:              "callgate sspsim",
		HeartbeatInterval: cfg.HeartbeatInterval,
		Handler:           c.onData,
		Logger:            cfg.Logger,
		Tap:               c.tap(),
	}
	if cfg.Register {
		mcfg.Register, mcfg.RoutingContexts = []m3ua.RoutingKey{routingKey(cfg)}, nil
	}
	if cfg.Role == m3ua.RoleASP {
		// The SCP's point code is the one destination the switch sends
		// to: audited on every new association (RFC 4666 §4.5.3), so that
		// an STP that cannot reach it is known without waiting for its
		// next report. An IPSP peer is the SCP itself: nothing to audit.
		mcfg.Audit = []uint32{uint32(cfg.DPC)}
	}
	ep, err := m3ua.NewEndpoint(mcfg)
	if err != nil {
		return nil, err
	}
	c.ep = ep
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if err := ep.Start(c.ctx); err != nil {
		c.cancel()
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	if err := waitActive(wctx, ep, cfg.Register); err != nil {
		ep.Close()
		c.cancel()
		return nil, fmt.Errorf("ssp: %s %v: association to %v not ASP-ACTIVE: %w", cfg.Network, cfg.Role, cfg.Connect, err)
	}
	c.wg.Add(1)
	go c.sweep()
	return c, nil
}

// routingKey is the key the switch registers: traffic for the SCP's point
// code to SCCP, in the provisioned routing context if there is one.
func routingKey(cfg Config) m3ua.RoutingKey {
	k := m3ua.RoutingKey{DPC: uint32(cfg.DPC), ServiceIndicators: []uint8{m3ua.SISCCP}}
	if len(cfg.RoutingContexts) > 0 {
		k.RoutingContext, k.HasRoutingContext = cfg.RoutingContexts[0], true
	}
	return k
}

// waitActive waits for an ASP-ACTIVE association. When registering, a
// refused Routing Key ends the wait at once: it is a provisioning error
// that redialling within the connect timeout will not cure.
func waitActive(ctx context.Context, ep *m3ua.Endpoint, register bool) error {
	if !register {
		return ep.WaitActive(ctx, 1)
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for ep.ActiveCount() < 1 {
		var re *m3ua.RegistrationError
		if err := ep.LastError(); errors.As(err, &re) {
			return err
		}
		select {
		case <-ctx.Done():
			return ep.WaitActive(ctx, 1) // the timeout error, with the last failure
		case <-t.C:
		}
	}
	return nil
}

// sweep advances the transaction table's clock and drops dialogues left
// behind (answers that never came for calls whose owner is gone).
func (c *Client) sweep() {
	defer c.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			c.tx.Sweep(nil)
		}
	}
}

// Close sends ASP Down and closes the associations. Outstanding calls end
// with their timeout.
func (c *Client) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	err := c.ep.Close()
	c.cancel()
	c.wg.Wait()
	return err
}

// Endpoint exposes the M3UA endpoint (state, statistics).
func (c *Client) Endpoint() *m3ua.Endpoint { return c.ep }

// Gaps returns the Client's ACG gap table.
func (c *Client) Gaps() *GapTable { return c.gaps }

// Outstanding returns the number of calls waiting for an answer.
func (c *Client) Outstanding() int { return c.pend.len() }

// Peers returns the counts per SCP (remote address), in the order the
// SCPs were first used.
func (c *Client) Peers() []PeerStats { return c.peers.snapshot() }

// Stats returns the Client's counters.
func (c *Client) Stats() Stats {
	s := &c.st
	return Stats{Sent: s.sent.Load(), Answered: s.answered.Load(), Gapped: s.gapped.Load(),
		Timeouts: s.timeouts.Load(), Late: s.late.Load(), Returned: s.returned.Load(),
		BadInput: s.bad.Load(), ACG: s.acg.Load(), SendError: s.sendErr.Load()}
}

// invokeID is the invoke ID of our terminationAttempt (as in the vectors).
const invokeID = 1

// sls spreads dialogues over signalling links while keeping each one on
// one link (and SCTP stream): the answer comes back with the same SLS.
func sls(id tcap.DialogueID) uint8 { return uint8(id ^ id>>8 ^ id>>16) }

// TerminationAttempt sends one terminationAttempt and waits for the answer.
// A call to a gapped code is answered locally (Operation "gapped", no
// error). A call without an answer within the timeout returns Operation
// "timeout" and ErrTimeout. Other errors mean the query could not be built
// or sent.
func (c *Client) TerminationAttempt(ctx context.Context, ta TA) (Answer, error) {
	arg, err := ta.Arg()
	if err != nil {
		return Answer{}, err
	}
	var digits [20]byte
	if !c.cfg.IgnoreACG && c.gaps.Check(appendCalledDigits(digits[:0], ta.Called), time.Now()) {
		c.st.gapped.Add(1)
		return Answer{Operation: OutcomeGapped, Params: []ain.Field{}}, nil
	}
	bp := c.bufs.Get().(*[]byte)
	defer c.bufs.Put(bp)
	params := arg.Marshal((*bp)[:0])
	a, err := c.query(ctx, ain.OpTerminationAttempt, params, bp)
	return a, err
}

// Invoke sends an arbitrary AIN query — operation op with the given
// Parameter Set contents, in a Query With Permission — and waits for the
// answer like TerminationAttempt, without the ACG check (the called number
// is not known here). Replays use it to send captured arguments unchanged.
func (c *Client) Invoke(ctx context.Context, op ain.OpCode, params []byte) (Answer, error) {
	bp := c.bufs.Get().(*[]byte)
	defer c.bufs.Put(bp)
	*bp = append((*bp)[:0], params...)
	return c.query(ctx, op, *bp, bp)
}

// ErrUnavailable is returned for calls while every SG reports the SCP's
// point code unavailable (M3UA DUNA): a switch does not route queries to a
// destination it knows to be down. While one SG of several still reaches
// it, the queries go through that one (UnavailableVia names the others).
var ErrUnavailable = errors.New("ssp: SCP point code reported unavailable (DUNA) by every SG")

// UnavailableVia lists the SGs (remote addresses) on an active association
// that report the SCP's point code unavailable (DUNA): the STP of a mated
// pair that has lost its route to the SCP. Queries go through the others.
func (c *Client) UnavailableVia() []string {
	var out []string
	for _, r := range c.ep.Routes(uint32(c.cfg.DPC)) {
		if !r.State.Available {
			out = append(out, r.Remote)
		}
	}
	return out
}

// query sends params (which live at the start of *bp) and waits.
func (c *Client) query(ctx context.Context, op ain.OpCode, params []byte, bp *[]byte) (Answer, error) {
	if c.closed.Load() {
		return Answer{}, m3ua.ErrClosed
	}
	if !c.ep.Available(uint32(c.cfg.DPC)) {
		c.st.sendErr.Add(1)
		return Answer{}, fmt.Errorf("%w: %v", ErrUnavailable, c.cfg.DPC)
	}
	id, err := c.tx.Begin(c.peer)
	if err != nil {
		return Answer{}, fmt.Errorf("ssp: %w", err)
	}
	comps := [1]tcap.Component{{Type: tcap.InvokeLast, HasInvokeID: true, InvokeID: invokeID,
		Op: tcap.PrivateOp(uint16(op)), ParamTag: tcap.ParamSet, Params: params}}
	q := tcap.Message{Type: tcap.QueryWithPermission, HasComponents: true, Components: comps[:]}
	if err := c.tx.Send(id, &q); err != nil {
		c.tx.End(id)
		return Answer{}, fmt.Errorf("ssp: %w", err)
	}
	tc, err := q.AppendTo(params[len(params):])
	if err != nil {
		c.tx.End(id)
		return Answer{}, fmt.Errorf("ssp: encoding the query: %w", err)
	}
	udt := sccp.Message{Variant: sccp.ANSI, Type: sccp.UDT, Class: sccp.Class0Return,
		Called: c.called, Calling: c.calling, Data: tc}
	out, err := udt.AppendTo(tc[len(tc):])
	if err != nil {
		c.tx.End(id)
		return Answer{}, fmt.Errorf("ssp: encoding the UDT: %w", err)
	}
	*bp = out[:0]

	cl := &call{id: id, ch: make(chan reply, 1)}
	pd := m3ua.ProtocolData{OPC: uint32(c.cfg.OPC), DPC: uint32(c.cfg.DPC), SI: m3ua.SISCCP, NI: c.ni, SLS: sls(id), Data: out}
	cl.sent = time.Now()
	c.pend.put(cl)
	acct, err := c.send(pd, cl.sent)
	if err != nil {
		c.pend.take(id)
		c.tx.End(id)
		return Answer{}, err
	}
	cl.acct.Store(acct)

	timeout := c.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var r reply
	select {
	case r = <-cl.ch:
	case <-timer.C:
		if c.pend.take(id) != nil {
			c.tx.End(id)
			c.st.timeouts.Add(1)
			if a := cl.acct.Load(); a != nil {
				a.onTimeout()
			}
			return Answer{Operation: OutcomeTimeout, TID: id.TID().String(), Params: []ain.Field{}}, ErrTimeout
		}
		r = <-cl.ch // the answer won the race
	case <-ctx.Done():
		if c.pend.take(id) != nil {
			c.tx.End(id)
			return Answer{Operation: OutcomeTimeout, TID: id.TID().String(), Params: []ain.Field{}}, ctx.Err()
		}
		r = <-cl.ch
	}
	return c.finish(cl, &r)
}

// send hands a query to M3UA and records it, also in the account of the
// association M3UA chose.
func (c *Client) send(pd m3ua.ProtocolData, at time.Time) (*assocAcct, error) {
	as, err := c.ep.SendVia(pd)
	if err != nil {
		c.st.sendErr.Add(1)
		if errors.Is(err, m3ua.ErrDestinationUnavailable) {
			// The DUNA came after the check in query or Load.
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, c.cfg.DPC)
		}
		return nil, fmt.Errorf("ssp: sending the query: %w", err)
	}
	c.st.sent.Add(1)
	a := c.peers.of(as)
	a.onSent()
	return a, nil
}

// tap returns the M3UA tap that records every message of the association
// (ASP management, heartbeats and DATA) for Config.Capture and OnMessage,
// or nil when neither is asked for.
func (c *Client) tap() m3ua.Tap {
	if !c.cfg.Capture && c.cfg.OnMessage == nil {
		return nil
	}
	return func(as *m3ua.Association, out bool, stream uint16, msg []byte) {
		m := Captured{Time: time.Now(), Direction: Received, Stream: stream, Message: append([]byte(nil), msg...)}
		if out {
			m.Direction = Sent
		}
		m.Local, m.Remote = pcap.AddrPortOf(as.LocalAddr()), pcap.AddrPortOf(as.RemoteAddr())
		if c.cfg.Capture {
			c.cap.add(m)
		}
		if c.cfg.OnMessage != nil {
			c.cfg.OnMessage(m)
		}
	}
}

// finish turns a reply into the caller's Answer.
func (c *Client) finish(cl *call, r *reply) (Answer, error) {
	lat := r.at.Sub(cl.sent)
	if r.returned {
		return Answer{Operation: OutcomeReturned, ReturnCause: r.cause, TID: cl.id.TID().String(),
			Latency: lat, LatencyMs: ms(lat), Params: []ain.Field{}}, nil
	}
	a, err := DecodeAnswer(r.tcap)
	a.Latency, a.LatencyMs = lat, ms(lat)
	if err != nil {
		return a, err
	}
	if r.verdict.Action != tcap.Deliver && a.Problem == "" {
		a.Problem = r.verdict.Reason
	}
	return a, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

// onData handles DATA from the SCP side on an association's reader.
func (c *Client) onData(as *m3ua.Association, d *m3ua.Data) {
	now := time.Now()
	s := c.scratch.Get().(*rxScratch)
	defer c.scratch.Put(s)
	if d.ProtocolData.SI != m3ua.SISCCP {
		c.st.bad.Add(1)
		return
	}
	if err := s.udt.Decode(d.ProtocolData.Data, sccp.ANSI); err != nil {
		c.st.bad.Add(1)
		c.cfg.Logger.Debug("ssp: undecodable SCCP", "err", err)
		return
	}
	if s.udt.Type.IsService() {
		c.onReturned(s, now)
		return
	}
	derr := s.msg.Decode(s.udt.Data)
	v := c.tx.Receive(c.peer, &s.msg, derr)
	// ACG controls apply whatever became of the call they came with.
	c.applyACG(s, now)
	if !v.HasDialogue {
		if s.msg.Type != tcap.Unidirectional {
			c.st.late.Add(1)
		}
		return
	}
	cl := c.pend.take(v.Dialogue)
	if cl == nil {
		c.st.late.Add(1)
		return
	}
	c.peers.of(as).onAnswered()
	if !v.Ended {
		// A Conversation (e.g. sendToResource waiting for resourceClear):
		// this simulator reports it and ends the dialogue on its side.
		c.tx.End(v.Dialogue)
	}
	c.st.answered.Add(1)
	if cl.run != nil {
		cl.run.complete(cl, s, &v, now)
		return
	}
	v.Reason = verdictReason(&v)
	cl.ch <- reply{at: now, tcap: append([]byte(nil), s.udt.Data...), verdict: v}
}

func verdictReason(v *tcap.Verdict) string {
	if v.Action == tcap.Deliver {
		return ""
	}
	if v.Problem != 0 {
		return fmt.Sprintf("%s: %v", v.Reason, v.Problem)
	}
	return v.Reason
}

// onReturned handles a UDTS/XUDTS: the network could not deliver one of
// our queries. The returned data is our Query; its originating TID is ours.
func (c *Client) onReturned(s *rxScratch, now time.Time) {
	c.st.returned.Add(1)
	if err := s.msg.Decode(s.udt.Data); err != nil && s.msg.OrigTID.IsZero() {
		return
	}
	if !s.msg.Type.IsQuery() || s.msg.OrigTID.Len() != 4 {
		return
	}
	id := tcap.DialogueID(s.msg.OrigTID.Uint32())
	cl := c.pend.take(id)
	if cl == nil {
		return
	}
	c.tx.End(id)
	if cl.run != nil {
		cl.run.fail(cl, OutcomeReturned, now)
		return
	}
	cl.ch <- reply{at: now, returned: true, cause: s.udt.Cause.String()}
}

// applyACG installs every acg control in the received package.
func (c *Client) applyACG(s *rxScratch, now time.Time) {
	for i := range s.msg.Components {
		tc := &s.msg.Components[i]
		if !tc.Type.IsInvoke() || tc.Op.Class != tcap.Private || ain.OpCode(tc.Op.Code) != ain.OpACG {
			continue
		}
		c.st.acg.Add(1)
		if err := s.acg.Unmarshal(tc.Params); err != nil {
			c.cfg.Logger.Warn("ssp: undecodable acg", "err", err)
			continue
		}
		g, err := ACGFromArg(&s.acg)
		if err != nil {
			c.cfg.Logger.Warn("ssp: acg ignored", "err", err)
			continue
		}
		c.gaps.Apply(g, now)
	}
}
