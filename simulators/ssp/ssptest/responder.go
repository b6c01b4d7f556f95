// Package ssptest is a minimal SCP for testing the switch simulator (and
// anything else that sends AIN queries): it accepts M3UA associations as
// an SG, answers each terminationAttempt with what a Decide function says
// (and infoAnalyzed / infoCollected with what an Originate function says),
// built from the sigtran and scp/ain codecs. It has no screening logic;
// the real SCP lives in package scp.
package ssptest

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"callgate/scp/ain"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
	"callgate/sigtran/tcap"
)

// Reply is what the responder sends for one query.
type Reply struct {
	// Op and Arg are the answering operation and its argument (nil Arg:
	// an empty parameter set). Op 0 means authorizeTermination.
	Op  ain.OpCode
	Arg ain.Arg
	// ACG, when set, is sent as an unlinked acg invoke before the answer.
	ACG *ain.AcgArg
	// Reject answers with a Reject component with this problem instead.
	Reject tcap.Problem
	// ErrorCode answers with a Return Error (AIN private error code)
	// carrying ErrorParam instead.
	ErrorCode  ain.ErrorCode
	ErrorParam ain.ErrorParam
	// Abort answers with a TCAP Abort with this P-Abort cause instead.
	Abort tcap.PAbortCause
	// Conversation keeps the dialogue open (Conversation With
	// Permission) instead of ending it with a Response.
	Conversation bool
	// Drop sends nothing (the caller times out).
	Drop bool
	// Delay holds the answer back this long.
	Delay time.Duration
}

// Decide chooses the reply for a decoded query. It runs on the
// association's reader and must be quick; ta aliases the received message.
type Decide func(ta *ain.TerminationAttemptArg) Reply

// Origination is a query at an originating trigger: infoAnalyzed (IA
// decoded) or infoCollected (IC decoded).
type Origination struct {
	Op ain.OpCode
	IA ain.InfoAnalyzedArg
	IC ain.InfoCollectedArg
}

// DecideOrigination chooses the reply for an originating query, like
// Decide; o aliases the received message.
type DecideOrigination func(o *Origination) Reply

// Config configures a Responder.
type Config struct {
	// Network "tcp" (default) or "sctp"; Listen defaults to 127.0.0.1:0.
	Network, Listen string
	// RoutingContexts accepted (default [10]; empty slice: none).
	RoutingContexts []uint32
	// Role is m3ua.RoleSG (default) or m3ua.RoleIPSP.
	Role m3ua.Role
	// Decide defaults to authorizeTermination with no parameters.
	Decide Decide
	// Originate answers infoAnalyzed and infoCollected (default: continue
	// with no parameters).
	Originate DecideOrigination
	// Registrar, when set, answers the switch's REG REQ (M3UA RKM): see
	// m3ua.Config.Registrar. Nil: RKM is refused as unsupported.
	Registrar m3ua.Registrar
	Logger    *slog.Logger
}

// Responder is a running minimal SCP.
type Responder struct {
	cfg     Config
	ep      *m3ua.Endpoint
	tx      *tcap.Transactions
	scratch sync.Pool

	queries, answered, bad atomic.Int64
}

type scratch struct {
	udt, resp sccp.Message
	msg       tcap.Message
	ta        ain.TerminationAttemptArg
	orig      Origination
	comps     [2]tcap.Component
	buf, out  []byte
}

// Start listens and returns the running responder.
func Start(cfg Config) (*Responder, error) {
	if cfg.Network == "" {
		cfg.Network = "tcp"
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.RoutingContexts == nil {
		cfg.RoutingContexts = []uint32{10}
	}
	if cfg.Role == 0 {
		cfg.Role = m3ua.RoleSG
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Responder{cfg: cfg, tx: tcap.NewTransactions(tcap.Config{})}
	r.scratch.New = func() any {
		return &scratch{buf: make([]byte, 0, 256), out: make([]byte, 0, 320), msg: tcap.Message{Components: make([]tcap.Component, 0, 2)}}
	}
	ep, err := m3ua.NewEndpoint(m3ua.Config{Role: cfg.Role, Network: cfg.Network, Listen: cfg.Listen,
		RoutingContexts: cfg.RoutingContexts, Registrar: cfg.Registrar, Handler: r.onData, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	if err := ep.Start(context.Background()); err != nil {
		return nil, err
	}
	r.ep = ep
	return r, nil
}

// Addr is the listening address.
func (r *Responder) Addr() string { return r.ep.Addr() }

// Endpoint is the responder's M3UA endpoint.
func (r *Responder) Endpoint() *m3ua.Endpoint { return r.ep }

// Queries, Answered and Bad count received queries, answers sent and
// input that was not a decodable query.
func (r *Responder) Queries() int64  { return r.queries.Load() }
func (r *Responder) Answered() int64 { return r.answered.Load() }
func (r *Responder) Bad() int64      { return r.bad.Load() }

// Close stops the responder.
func (r *Responder) Close() error { return r.ep.Close() }

func (r *Responder) onData(a *m3ua.Association, d *m3ua.Data) {
	s := r.scratch.Get().(*scratch)
	defer r.scratch.Put(s)
	if err := s.udt.Decode(d.ProtocolData.Data, sccp.ANSI); err != nil || s.udt.Type.IsService() {
		r.bad.Add(1)
		return
	}
	peer := tcap.PeerKey(s.udt.Calling.PC)<<8 | tcap.PeerKey(s.udt.Calling.SSN)
	v := r.tx.Receive(peer, &s.msg, s.msg.Decode(s.udt.Data))
	s.buf = s.buf[:0]
	switch v.Action {
	case tcap.Deliver:
	case tcap.SendAbort, tcap.SendReject:
		r.bad.Add(1)
		var err error
		if s.buf, err = r.tx.AppendReply(s.buf, &v); err != nil {
			return
		}
		r.send(a, d, s)
		return
	default:
		r.bad.Add(1)
		return
	}
	if !s.msg.Type.IsQuery() || len(s.msg.Components) == 0 {
		return
	}
	r.queries.Add(1)
	inv := s.msg.Components[0]
	var rep Reply
	switch inv.Op {
	case tcap.PrivateOp(uint16(ain.OpTerminationAttempt)):
		if err := s.ta.Unmarshal(inv.Params); err != nil {
			rep.Reject = tcap.InvokeIncorrectParameter
		} else if r.cfg.Decide != nil {
			rep = r.cfg.Decide(&s.ta)
		}
	case tcap.PrivateOp(uint16(ain.OpInfoAnalyzed)), tcap.PrivateOp(uint16(ain.OpInfoCollected)):
		rep = r.originate(s, ain.OpCode(inv.Op.Code), inv.Params)
	default:
		rep.Reject = tcap.InvokeUnrecognisedOperation
	}
	if rep.Drop {
		r.tx.End(v.Dialogue)
		return
	}
	if err := r.build(s, &v, inv.InvokeID, &rep); err != nil {
		r.cfg.Logger.Warn("ssptest: cannot answer", "err", err)
		return
	}
	if rep.Delay > 0 {
		// Copy what the delayed send needs: the scratch goes back to the
		// pool when this handler returns.
		out := append([]byte(nil), s.buf...)
		pd := d.ProtocolData
		udt := s.udt
		time.AfterFunc(rep.Delay, func() {
			var resp sccp.Message
			udt.Answer(&resp, out)
			b, err := resp.MarshalBinary()
			if err == nil && a.SendData(pd.Reply(b)) == nil {
				r.answered.Add(1)
			}
		})
		return
	}
	r.send(a, d, s)
}

func (r *Responder) send(a *m3ua.Association, d *m3ua.Data, s *scratch) {
	s.udt.Answer(&s.resp, s.buf)
	var err error
	if s.out, err = s.resp.AppendTo(s.out[:0]); err != nil {
		return
	}
	if a.SendData(d.ProtocolData.Reply(s.out)) == nil {
		r.answered.Add(1)
	}
}

// build encodes the TCAP answer into s.buf.
func (r *Responder) build(s *scratch, v *tcap.Verdict, qid uint8, rep *Reply) error {
	m := tcap.Message{Type: tcap.Response}
	if rep.Conversation {
		m.Type = tcap.ConversationWithPerm
	}
	if rep.Abort != 0 {
		m = tcap.Message{Type: tcap.Abort, AbortCause: rep.Abort}
		if err := r.tx.Send(v.Dialogue, &m); err != nil {
			return err
		}
		var err error
		s.buf, err = m.AppendTo(s.buf[:0])
		return err
	}
	comps := s.comps[:0]
	// Parameters are encoded back to back into out and sliced from it;
	// out is not reallocated below its capacity of 320.
	params := s.out[:0]
	id := uint8(2)
	if rep.ACG != nil {
		start := len(params)
		params = rep.ACG.Marshal(params)
		comps = append(comps, tcap.Component{Type: tcap.InvokeLast, HasInvokeID: true, InvokeID: id,
			Op: tcap.PrivateOp(uint16(ain.OpACG)), ParamTag: tcap.ParamSet, Params: params[start:len(params):len(params)]})
		id++
	}
	switch {
	case rep.Reject != 0:
		comps = append(comps, tcap.Component{Type: tcap.Reject, HasCorrelationID: true, CorrelationID: qid,
			Problem: rep.Reject, ParamTag: tcap.ParamSet})
	case rep.ErrorCode != 0:
		start := len(params)
		if rep.ErrorParam != nil {
			params = rep.ErrorParam.Marshal(params)
		}
		comps = append(comps, tcap.Component{Type: tcap.ReturnError, HasCorrelationID: true, CorrelationID: qid,
			Error: tcap.ErrorCode{Class: tcap.Private, Code: uint8(rep.ErrorCode)}, ParamTag: tcap.ParamSet,
			Params: params[start:len(params):len(params)]})
	default:
		op := rep.Op
		if op == 0 {
			op = ain.OpAuthorizeTermination
		}
		start := len(params)
		if rep.Arg != nil {
			params = rep.Arg.Marshal(params)
		}
		comps = append(comps, tcap.Component{Type: tcap.InvokeLast, HasInvokeID: true, InvokeID: id,
			HasCorrelationID: true, CorrelationID: qid, Op: tcap.PrivateOp(uint16(op)), ParamTag: tcap.ParamSet,
			Params: params[start:len(params):len(params)]})
	}
	m.Components = comps
	m.HasComponents = true
	if err := r.tx.Send(v.Dialogue, &m); err != nil {
		return err
	}
	var err error
	s.buf, err = m.AppendTo(s.buf[:0])
	return err
}

// originate decodes an originating query and asks Config.Originate.
func (r *Responder) originate(s *scratch, op ain.OpCode, params []byte) Reply {
	s.orig.Op = op
	var err error
	if op == ain.OpInfoAnalyzed {
		err = s.orig.IA.Unmarshal(params)
	} else {
		err = s.orig.IC.Unmarshal(params)
	}
	switch {
	case err != nil:
		return Reply{Reject: tcap.InvokeIncorrectParameter}
	case r.cfg.Originate != nil:
		return r.cfg.Originate(&s.orig)
	}
	return Reply{Op: ain.OpContinue}
}
