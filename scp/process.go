package scp

import (
	"strconv"
	"time"

	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/scp/ain"
	"callgate/scp/overload"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
	"callgate/sigtran/tcap"
)

// Our invoke IDs. The SSP's invoke IDs live in its own space; we number
// ours per dialogue from 2 like the reference vectors (P-01R..P-05R): the
// answer is invoke 2 linked to the query's invoke, and when an ACG goes
// first it is invoke 2 (unlinked) and the answer invoke 3.
const (
	firstInvokeID = 2
)

// worker is the scratch state one goroutine needs to answer a query:
// decoders, argument structs and buffers reused for every message, so the
// steady state allocates nothing.
type worker struct {
	id  int
	udt sccp.Message // the received SCCP message
	out sccp.Message // the answer's SCCP message
	q   tcap.Message // the received TCAP package
	rsp tcap.Message // the answer package
	cs  [2]tcap.Component

	ta ain.TerminationAttemptArg
	ia ain.InfoAnalyzedArg
	ic ain.InfoCollectedArg
	rc ain.ResourceClearArg
	cl ain.CloseArg

	ans, acg    []byte // answer / acg Parameter Set contents
	tcapBuf     []byte
	sccpBuf     []byte
	ann         [3]byte // announcement element
	redir       [2]byte // forwardCall redirectionInformation
	gta         [8]byte // acg globalTitleAddress
	bud         policy.Budget
	peerPC      uint32
	peerStr     string
	havePeerStr bool
}

func newWorker(id int) *worker {
	return &worker{
		id: id, ans: make([]byte, 0, 256), acg: make([]byte, 0, 64),
		tcapBuf: make([]byte, 0, 512), sccpBuf: make([]byte, 0, 640),
	}
}

// peer returns the OPC as text for the decision log ("244-1-10"),
// formatting it only when the peer changes.
func (w *worker) peer(pc uint32, v sccp.Variant) string {
	if !w.havePeerStr || w.peerPC != pc {
		w.peerPC, w.peerStr, w.havePeerStr = pc, sccp.PointCode(pc).Format(v), true
	}
	return w.peerStr
}

// handle answers one DATA message. shed is safeNone for a query to decide,
// or why it must get the safe answer without asking the engine.
func (s *Service) handle(w *worker, snd sender, pd *m3ua.ProtocolData, arrived time.Time, shed safeReason) {
	m := s.met
	if pd.SI != m3ua.SISCCP {
		m.drops[dropNotSCCP].Inc()
		return
	}
	if s.cfg.PointCode != 0 && pd.DPC != uint32(s.cfg.PointCode) {
		m.drops[dropForeignDPC].Inc()
		s.logDrop("DATA for another point code", "dpc", sccp.PointCode(pd.DPC).Format(s.cfg.Variant))
		return
	}
	if err := w.udt.Decode(pd.Data, s.cfg.Variant); err != nil {
		m.drops[dropBadSCCP].Inc()
		s.logDrop("undecodable SCCP", "opc", sccp.PointCode(pd.OPC).Format(s.cfg.Variant), "err", err)
		return
	}
	u := &w.udt
	if u.Type.IsService() {
		m.drops[dropServiceMsg].Inc()
		s.logDrop("SCCP message returned to us", "cause", u.Cause.String())
		return
	}
	if u.Called.HasSSN && u.Called.SSN != s.cfg.SSN {
		s.returnMsg(w, snd, pd, sccp.CauseUnequippedUser)
		return
	}
	if u.NeedsReassembly() {
		s.returnMsg(w, snd, pd, sccp.CauseCannotReassemble)
		return
	}
	peer := s.peerKey(u, pd)
	v := s.tx.Receive(peer, &w.q, w.q.Decode(u.Data))
	switch v.Action {
	case tcap.SendAbort, tcap.SendReject:
		out, err := s.tx.AppendReply(w.tcapBuf[:0], &v)
		w.tcapBuf = out
		if err != nil {
			m.drops[dropEncode].Inc()
			return
		}
		in := inNone
		if v.Action == tcap.SendReject {
			m.rejects.WithLabelValues(v.Problem.String()).Inc()
			in = inOther
		} else {
			m.aborts.WithLabelValues(v.Cause.String()).Inc()
		}
		s.logDrop("malformed TCAP answered", "action", v.Action.String(), "reason", v.Reason)
		s.sendTCAP(w, snd, pd, arrived, in, outOf(v.Action))
		return
	case tcap.Discard:
		m.drops[dropTCAP].Inc()
		return
	}
	// Deliver.
	inv := firstInvoke(&w.q)
	switch {
	case w.q.Type == tcap.Abort, w.q.Type == tcap.Unidirectional:
		m.queries[inNone][outNone].Inc()
		return
	case inv == nil:
		// A package without an invoke: nothing to answer, but a query or
		// a conversation that leaves us the choice is ended cleanly.
		if v.HasDialogue && !v.Ended && v.CanEnd {
			s.respond(w, snd, pd, arrived, &v, inNone, outNone)
		} else if v.HasDialogue && !v.Ended && w.q.Type.IsQuery() {
			s.tx.End(v.Dialogue)
		}
		m.queries[inNone][outNone].Inc()
		return
	}
	if inv.Op.Class != tcap.Private {
		s.reject(w, snd, pd, arrived, &v, inv, tcap.InvokeUnrecognisedOperation, inOther)
		return
	}
	switch op := ain.OpCode(inv.Op.Code); op {
	case ain.OpTerminationAttempt:
		if !w.q.Type.IsQuery() {
			s.reject(w, snd, pd, arrived, &v, inv, tcap.InvokeUnrecognisedOperation, inTerminationAttempt)
			return
		}
		if err := w.ta.Unmarshal(inv.Params); err != nil {
			s.logDrop("malformed terminationAttempt", "opc", w.peer(pd.OPC, s.cfg.Variant), "err", err)
			s.reject(w, snd, pd, arrived, &v, inv, tcap.InvokeIncorrectParameter, inTerminationAttempt)
			return
		}
		s.terminationAttempt(w, snd, pd, arrived, &v, inv, peer, shed)
	case ain.OpInfoAnalyzed, ain.OpInfoCollected:
		s.origination(w, snd, pd, arrived, &v, inv, op, shed)
	case ain.OpResourceClear:
		// Only a sendToResource without disconnectFlag leads here, and we
		// send those only to block with an announcement: finish the
		// block. (We always set disconnectFlag; this serves switches that
		// report resourceClear anyway.)
		if err := w.rc.Unmarshal(inv.Params); err != nil {
			s.reject(w, snd, pd, arrived, &v, inv, tcap.InvokeIncorrectParameter, inResourceClear)
			return
		}
		w.ans = (&ain.DisconnectArg{}).Marshal(w.ans[:0])
		s.answer(w, snd, pd, arrived, &v, inv, ain.OpDisconnect, nil, inResourceClear)
	case ain.OpClose:
		if err := w.cl.Unmarshal(inv.Params); err != nil {
			s.reject(w, snd, pd, arrived, &v, inv, tcap.InvokeIncorrectParameter, inClose)
			return
		}
		// The switch closes the transaction: nothing to answer. If it
		// left us permission to end, end it so it does not wait for us.
		if v.HasDialogue && !v.Ended {
			if v.CanEnd {
				s.respond(w, snd, pd, arrived, &v, inClose, outNone)
				return
			}
			s.tx.End(v.Dialogue)
		}
		m.queries[inClose][outNone].Inc()
	default:
		s.reject(w, snd, pd, arrived, &v, inv, tcap.InvokeUnrecognisedOperation, inOther)
	}
}

func outOf(a tcap.Action) outOp {
	if a == tcap.SendReject {
		return outReject
	}
	return outAbort
}

func firstInvoke(m *tcap.Message) *tcap.Component {
	for i := range m.Components {
		if m.Components[i].Type.IsInvoke() {
			return &m.Components[i]
		}
	}
	return nil
}

// terminationAttempt translates the query into a Call, asks the engine
// (unless the query is shed) and answers.
func (s *Service) terminationAttempt(w *worker, snd sender, pd *m3ua.ProtocolData, arrived time.Time,
	v *tcap.Verdict, inv *tcap.Component, peer tcap.PeerKey, shed safeReason) {
	ta := &w.ta
	call, unreadable := callFromTA(ta, &s.cfg)
	call.Peer = w.peer(pd.OPC, s.cfg.Variant)

	called, haveCalled := calledDigits(ta, call.Called)
	code := uint64(0)
	if haveCalled {
		code = codeKey(&called, s.cfg.Overload.CodeDigits)
	}
	s.ovl.Observe(w.id, code)
	now := time.Now()

	why := shed
	if why == safeNone && unreadable != nil {
		why = safeNumber
		s.noteUnreadable(unreadable, &call)
	}
	if why == safeNone && s.ovl.IsControlled(code) {
		// Over capacity, and this is one of the codes being gapped: the
		// switches will soon send few of these; until then they are the
		// excess, answered without the engine to keep the rest in budget.
		why = safeOverload
	}
	var d policy.Decision
	if why == safeNone {
		d, why = s.decide(w, &call, arrived.Add(s.cfg.TimeBudget))
	}
	var op ain.OpCode
	if why == safeNone {
		var ok bool
		op, ok = s.encodeDecision(w, &d, ta, called, haveCalled)
		if !ok {
			why = safeUnencoded
		}
	}
	var gap *overload.Gap
	var g overload.Gap
	if why != safeNone {
		op = s.encodeSafe(w, ta, called, haveCalled)
		s.safeAnswered(why, shed, arrived, &call, now, op == ain.OpForwardCall)
		var ok bool
		if g, ok = s.ovl.Shed(code, uint64(peer), now.UnixNano()); ok {
			gap = &g
		}
	} else {
		if d.FellBack() {
			s.fellBack(&call, &d)
		}
		var ok bool
		if g, ok = s.ovl.Control(code, uint64(peer), now.UnixNano()); ok {
			gap = &g
		}
	}
	if gap != nil {
		w.acg = s.encodeACG(w, w.acg[:0], code, gap)
		s.met.acg.Inc()
	}
	s.answer(w, snd, pd, arrived, v, inv, op, gap, inTerminationAttempt)
}

// decide asks the engine through the guard under the query's deadline,
// with the worker's Budget. A decision that panics, comes after the
// deadline or has no usable action yields the reason for the safe answer
// instead (the guard logs panics, rate-limited).
func (s *Service) decide(w *worker, c *policy.Call, deadline time.Time) (policy.Decision, safeReason) {
	d, f := s.guard.Decide(&w.bud, c, deadline)
	switch f {
	case policy.FaultNone:
		return d, safeNone
	case policy.FaultLate:
		return d, safeTimeout
	case policy.FaultPanic:
		return d, safePanic
	}
	return d, safeInvalid
}

// safeAnswered counts, records and (unless the query was shed, which the
// overload metrics and ACG report) logs a safe answer; forwarded says the
// safe answer sent was forwardCall.
func (s *Service) safeAnswered(why, shed safeReason, arrived time.Time, c *policy.Call, now time.Time, forwarded bool) {
	s.met.safe[why].Inc()
	s.recordSafe(arrived, c, now, forwarded)
	if shed == safeNone && why != safeOverload && why != safeNumber { // noteUnreadable logged it
		s.noteSafe(why, c)
	}
}

// recordSafe puts a safe answer in the decision log: allow (authorize or
// continue), or screen via the safe forward number when forwarded.
func (s *Service) recordSafe(arrived time.Time, c *policy.Call, now time.Time, forwarded bool) {
	if s.dlog == nil {
		return
	}
	var d policy.Decision
	d.Action = policy.ActionAllow
	if forwarded {
		d.Action = policy.ActionScreen
		d.Route.RoutingNumber = s.safeForwardNumber()
	}
	d.Trace.Add(policy.RuleCancelled, policy.OutcomeYes)
	s.dlog.Record(decisionlog.NewRecord(arrived, c, &d, now.Sub(arrived)))
}

// noteSafe logs (rate-limited) why a query got the safe answer. Shed
// queries are not logged one by one: the overload is logged by the
// metrics and the ACG it triggers.
func (s *Service) noteSafe(why safeReason, c *policy.Call) {
	ok, n := s.safeLog.Allow(time.Now(), time.Second)
	if !ok {
		return
	}
	msg := "decision engine failed: answering with the safe answer"
	switch why {
	case safeTimeout:
		msg = "decision not made within the time budget: answering with the safe answer"
	case safeInvalid:
		msg = "decision engine returned no usable action: answering with the safe answer"
	case safeUnencoded:
		msg = "decision cannot be encoded as an AIN answer: answering with the safe answer"
	}
	safe := s.cfg.SafeAnswer.String()
	if c.Direction == policy.DirectionOriginating {
		safe = "continue" // the only safe answer to an originating trigger
	}
	s.log.Warn(msg, "reason", safeNames[why], "budget", s.cfg.TimeBudget.String(), "safe_answer", safe,
		"direction", c.Direction.String(), "calling", c.Calling.String(), "called", c.Called.String(), "peer", c.Peer,
		"suppressed_since_last", n)
}

// fellBack counts a decision the engine gave as its no-route fallback
// (no egress route with a routing number for this provider) and warns,
// rate-limited: the call did not get its treatment.
func (s *Service) fellBack(c *policy.Call, d *policy.Decision) {
	s.met.fallback.Inc()
	if ok, n := s.fallbackLog.Allow(time.Now(), time.Minute); ok {
		s.log.Warn("no egress route with a routing number for this subscriber's provider: the call got the engine's no-route fallback instead of its treatment (fix: callgate route list, callgate provider route)",
			"action", d.Action.String(), "subscriber", d.Subscriber, "called", c.Called.String(), "suppressed_since_last", n)
	}
}

// answer sends op (parameters in w.ans), preceded by an acg (parameters in
// w.acg) when gap is set, in a Response when the switch gave us permission
// to end the transaction, else in a Conversation With Permission.
func (s *Service) answer(w *worker, snd sender, pd *m3ua.ProtocolData, arrived time.Time,
	v *tcap.Verdict, inv *tcap.Component, op ain.OpCode, gap *overload.Gap, in inOp) {
	cs := w.cs[:0]
	id := uint8(firstInvokeID)
	if gap != nil {
		cs = append(cs, tcap.Component{Type: tcap.InvokeLast, HasInvokeID: true, InvokeID: id,
			Op: tcap.PrivateOp(uint16(ain.OpACG)), ParamTag: tcap.ParamSet, Params: w.acg})
		id++
	}
	cs = append(cs, tcap.Component{Type: tcap.InvokeLast, HasInvokeID: true, InvokeID: id,
		HasCorrelationID: inv.HasInvokeID, CorrelationID: inv.InvokeID,
		Op: tcap.PrivateOp(uint16(op)), ParamTag: tcap.ParamSet, Params: w.ans})
	s.sendComponents(w, snd, pd, arrived, v, cs, in, outFor(op))
}

func outFor(op ain.OpCode) outOp {
	switch op {
	case ain.OpAuthorizeTermination:
		return outAuthorizeTermination
	case ain.OpDisconnect:
		return outDisconnect
	case ain.OpForwardCall:
		return outForwardCall
	case ain.OpSendToResource:
		return outSendToResource
	case ain.OpContinue:
		return outContinue
	}
	return outNone
}

// reject answers a bad invoke with a Reject carrying its invoke ID.
func (s *Service) reject(w *worker, snd sender, pd *m3ua.ProtocolData, arrived time.Time,
	v *tcap.Verdict, inv *tcap.Component, p tcap.Problem, in inOp) {
	s.met.rejects.WithLabelValues(p.String()).Inc()
	cs := append(w.cs[:0], tcap.Component{Type: tcap.Reject, HasCorrelationID: inv.HasInvokeID,
		CorrelationID: inv.InvokeID, Problem: p})
	s.sendComponents(w, snd, pd, arrived, v, cs, in, outReject)
}

// respond ends the dialogue with an empty Response.
func (s *Service) respond(w *worker, snd sender, pd *m3ua.ProtocolData, arrived time.Time, v *tcap.Verdict, in inOp, out outOp) {
	s.sendComponents(w, snd, pd, arrived, v, w.cs[:0], in, out)
}

func (s *Service) sendComponents(w *worker, snd sender, pd *m3ua.ProtocolData, arrived time.Time,
	v *tcap.Verdict, cs []tcap.Component, in inOp, out outOp) {
	w.rsp = tcap.Message{Type: tcap.ConversationWithPerm, Components: cs}
	if v.CanEnd {
		w.rsp.Type = tcap.Response
	}
	if err := s.tx.Send(v.Dialogue, &w.rsp); err != nil {
		s.met.drops[dropEncode].Inc()
		s.logDrop("cannot answer on the dialogue", "err", err)
		return
	}
	b, err := w.rsp.AppendTo(w.tcapBuf[:0])
	w.tcapBuf = b
	if err != nil {
		s.met.drops[dropEncode].Inc()
		s.logDrop("cannot encode the TCAP answer", "err", err)
		return
	}
	s.sendTCAP(w, snd, pd, arrived, in, out)
}

// sendTCAP wraps w.tcapBuf in the SCCP answer to w.udt and sends it back
// on the query's routing label.
func (s *Service) sendTCAP(w *worker, snd sender, pd *m3ua.ProtocolData, arrived time.Time, in inOp, out outOp) {
	if !w.udt.Answer(&w.out, w.tcapBuf) {
		s.met.drops[dropEncode].Inc()
		return
	}
	b, err := w.out.AppendTo(w.sccpBuf[:0])
	w.sccpBuf = b
	if err != nil {
		s.met.drops[dropEncode].Inc()
		s.logDrop("cannot encode the SCCP answer", "err", err)
		return
	}
	if err := snd.SendData(pd.Reply(b)); err != nil {
		s.met.drops[dropSendFailed].Inc()
		s.logDrop("cannot send the answer", "err", err)
		return
	}
	s.met.queries[in][out].Inc()
	s.met.latency.Observe(time.Since(arrived).Seconds())
}

// returnMsg returns an undeliverable message with UDTS/XUDTS when its
// sender asked for it.
func (s *Service) returnMsg(w *worker, snd sender, pd *m3ua.ProtocolData, cause sccp.ReturnCause) {
	if !w.udt.Return(&w.out, cause) {
		s.met.drops[dropNoReturn].Inc()
		return
	}
	b, err := w.out.AppendTo(w.sccpBuf[:0])
	w.sccpBuf = b
	if err != nil {
		s.met.drops[dropEncode].Inc()
		return
	}
	if err := snd.SendData(pd.Reply(b)); err != nil {
		s.met.drops[dropSendFailed].Inc()
		return
	}
	s.met.udts.WithLabelValues(cause.String()).Inc()
	s.met.queries[inNone][outUDTS].Inc()
}

func (s *Service) logDrop(msg string, args ...any) {
	if ok, n := s.dropLog.Allow(time.Now(), time.Second); ok {
		if n > 0 {
			args = append(args, "suppressed_since_last", strconv.FormatUint(n, 10))
		}
		s.log.Warn("scp: "+msg, args...)
	}
}
