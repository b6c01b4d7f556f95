package scp

import (
	"strconv"
	"sync/atomic"
	"time"

	"callgate/policy"
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
// steady state allocates nothing. Each pool worker has one, and so has
// each association's reader (deciding inline).
type worker struct {
	id  int
	cur request // the message being answered
	cnt *counts // this worker's shard of the per-query counters

	// An association reader's state (inline.go): the association, and
	// when the query being decided was read (unix ns; 0 idle, -1 given
	// up on by the ticker).
	assoc *m3ua.Association
	busy  atomic.Int64
	avg   time.Duration // moving average of the time to answer a query
	// The batch (its m3ua.Data.Received) of the last query decided on
	// the reader, and how long after that read it was done with (0: the
	// query after it was not decided here): where the next query of the
	// batch begins.
	lastBatch time.Time
	lastDone  time.Duration
	held      []*job // queries read for the workers, not yet handed on (handoff.go)

	udt sccp.Message // the received SCCP message
	out sccp.Message // a returned message's UDTS/XUDTS/LUDTS (returnMsg)
	// ansHdr keeps the SCCP header of the last answer: the next query
	// from the same switch (same addresses) reuses it.
	ansHdr sccp.AnswerCache
	pkg    tcap.Message // the received TCAP package
	rsp    tcap.Message // the answer package
	cs     [2]tcap.Component

	ta  ain.TerminationAttemptArg
	ia  ain.InfoAnalyzedArg
	ic  ain.InfoCollectedArg
	rc  ain.ResourceClearArg
	cl  ain.CloseArg
	ovf ain.AcgOverflowArg

	fwd    ain.ForwardCallArg       // the forwardCall answer (encodeForward)
	called ain.Digits               // the dialled number, when built (calledDigits)
	brand  [2 * maxDisplayItem]byte // a branded authorizeTermination's texts

	ans, acg    []byte // answer / acg Parameter Set contents
	tcapBuf     []byte
	sccpBuf     []byte
	ann         [3]byte // announcement element
	redir       [2]byte // forwardCall redirectionInformation
	gta         [8]byte // acg globalTitleAddress
	bud         policy.Budget
	deferred    bool // deciding a deferred query (deferred.go): it is not deferred again
	peerPC      uint32
	peerStr     string
	havePeerStr bool
}

// request is the one message a worker is answering: where it came from and
// where the answer goes, when it arrived, whether it is to be shed, and
// once the transaction layer has seen it, its verdict and the invoke being
// answered. It lives in its worker (worker.cur) and is overwritten by the
// next message, so nothing is allocated per query; the answering steps are
// its methods.
type request struct {
	s       *Service
	w       *worker
	snd     sender            // the association it came on (or a test double)
	pd      m3ua.ProtocolData // its routing label (a copy); the answer goes back on it
	arrived time.Time         // when it was read
	shed    safeReason        // safeNone, or why it gets the safe answer without the engine
	took    time.Duration     // from arrival to the answer queued (0: none sent)
	// decided is when the engine's decision ended (zero: not decided):
	// the answer is queued within a microsecond of it, so it stands for
	// the answer's time and the clock is not read again.
	decided time.Time
	peer    tcap.PeerKey    // the remote TCAP user
	v       tcap.Verdict    // the transaction layer's verdict
	inv     *tcap.Component // the invoke answered
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

// counts returns the worker's counter shard, taking one the first time.
func (w *worker) counts(s *Service) *counts {
	if w.cnt == nil {
		w.cnt = s.met.hot.shard()
	}
	return w.cnt
}

// handle answers one DATA message. shed is safeNone for a query to decide,
// or why it must get the safe answer without asking the engine.
func (s *Service) handle(w *worker, snd sender, pd *m3ua.ProtocolData, arrived time.Time, shed safeReason) {
	w.counts(s)
	q := &w.cur
	q.s, q.w, q.snd, q.pd, q.arrived, q.shed, q.inv, q.took, q.decided = s, w, snd, *pd, arrived, shed, nil, 0, time.Time{}
	if !q.checkSCCP() {
		return
	}
	q.dispatch()
}

// checkSCCP decodes the SCCP message and reports whether it carries a
// TCAP package for us; what does not is dropped, or returned to its
// sender when it asked for that.
func (q *request) checkSCCP() bool {
	s, w, pd := q.s, q.w, &q.pd
	if pd.SI != m3ua.SISCCP {
		w.cnt.drops[dropNotSCCP].Add(1)
		return false
	}
	if s.cfg.PointCode != 0 && pd.DPC != uint32(s.cfg.PointCode) {
		w.cnt.drops[dropForeignDPC].Add(1)
		s.logDrop("DATA for another point code", "dpc", sccp.PointCode(pd.DPC).Format(s.cfg.Variant))
		return false
	}
	if err := w.udt.Decode(pd.Data, s.cfg.Variant); err != nil {
		w.cnt.drops[dropBadSCCP].Add(1)
		s.logDrop("undecodable SCCP", "opc", sccp.PointCode(pd.OPC).Format(s.cfg.Variant), "err", err)
		return false
	}
	u := &w.udt
	if u.Type.IsService() {
		w.cnt.drops[dropServiceMsg].Add(1)
		s.logDrop("SCCP message returned to us", "cause", u.Cause.String())
		return false
	}
	if !s.forUs(&u.Called) {
		q.returnMsg(sccp.CauseUnequippedUser)
		return false
	}
	if u.NeedsReassembly() {
		q.returnMsg(sccp.CauseCannotReassemble)
		return false
	}
	return true
}

// forUs reports whether a called party address reaching our point code
// names our subsystem. SSN 0 is "SSN not known/not used" (ANSI T1.112.3):
// routed on global title, the STP's final translation gave our point code
// and left the subsystem to us, and the only subsystem here is the AIN
// service's. Routed on SSN, SSN 0 names no subsystem, so like any SSN we
// do not serve it gets "unequipped user". No SSN at all is ours too.
func (s *Service) forUs(a *sccp.Address) bool {
	return !a.HasSSN || a.SSN == s.cfg.SSN || a.SSN == 0 && a.Routing == sccp.RouteOnGT
}

// dispatch hands the TCAP package to the transaction layer and answers
// what it delivers by operation.
func (q *request) dispatch() {
	s, w := q.s, q.w
	q.peer = s.peerKey(&w.udt, &q.pd)
	q.v = s.tx.Receive(q.peer, &w.pkg, w.pkg.Decode(w.udt.Data))
	v := &q.v
	switch v.Action {
	case tcap.SendAbort, tcap.SendReject:
		out, err := s.tx.AppendReply(w.tcapBuf[:0], v)
		w.tcapBuf = out
		if err != nil {
			w.cnt.drops[dropEncode].Add(1)
			return
		}
		in := inNone
		if v.Action == tcap.SendReject {
			s.met.rejects.WithLabelValues(v.Problem.String()).Inc()
			in = inOther
		} else {
			s.met.aborts.WithLabelValues(v.Cause.String()).Inc()
		}
		s.logDrop("malformed TCAP answered", "action", v.Action.String(), "reason", v.Reason)
		q.sendTCAP(in, outOf(v.Action))
		return
	case tcap.Discard:
		w.cnt.drops[dropTCAP].Add(1)
		return
	}
	// Deliver.
	q.inv = firstInvoke(&w.pkg)
	switch {
	case w.pkg.Type == tcap.Unidirectional && q.inv != nil && q.inv.Op.Class == tcap.Private &&
		ain.OpCode(q.inv.Op.Code) == ain.OpACGOverflow:
		// A report that needs no answer may come without a transaction.
		if w.ovf.Unmarshal(q.inv.Params) == nil {
			q.acgOverflow()
			return
		}
		w.cnt.queries[inOther][outNone].Add(1)
		return
	case w.pkg.Type == tcap.Abort, w.pkg.Type == tcap.Unidirectional:
		w.cnt.queries[inNone][outNone].Add(1)
		return
	case q.inv == nil:
		// A package without an invoke: nothing to answer, but a query or
		// a conversation that leaves us the choice is ended cleanly.
		if v.HasDialogue && !v.Ended && v.CanEnd {
			q.respond(inNone, outNone)
		} else if v.HasDialogue && !v.Ended && w.pkg.Type.IsQuery() {
			s.tx.End(v.Dialogue)
		}
		w.cnt.queries[inNone][outNone].Add(1)
		return
	}
	inv := q.inv
	if inv.Op.Class != tcap.Private {
		q.reject(tcap.InvokeUnrecognisedOperation, inOther)
		return
	}
	switch op := ain.OpCode(inv.Op.Code); op {
	case ain.OpTerminationAttempt:
		if !w.pkg.Type.IsQuery() {
			q.reject(tcap.InvokeUnrecognisedOperation, inTerminationAttempt)
			return
		}
		if err := w.ta.Unmarshal(inv.Params); err != nil {
			s.logDrop("malformed terminationAttempt", "opc", w.peer(q.pd.OPC, s.cfg.Variant), "err", err)
			q.reject(tcap.InvokeIncorrectParameter, inTerminationAttempt)
			return
		}
		q.terminationAttempt()
	case ain.OpInfoAnalyzed, ain.OpInfoCollected:
		q.origination(op)
	case ain.OpResourceClear:
		// Only a sendToResource without disconnectFlag leads here, and we
		// send those only to block with an announcement: finish the
		// block. (We always set disconnectFlag; this serves switches that
		// report resourceClear anyway.)
		if err := w.rc.Unmarshal(inv.Params); err != nil {
			q.reject(tcap.InvokeIncorrectParameter, inResourceClear)
			return
		}
		w.ans = (&ain.DisconnectArg{}).Marshal(w.ans[:0])
		q.answer(ain.OpDisconnect, nil, inResourceClear)
	case ain.OpClose:
		if err := w.cl.Unmarshal(inv.Params); err != nil {
			q.reject(tcap.InvokeIncorrectParameter, inClose)
			return
		}
		// The switch closes the transaction: nothing to answer. If it
		// left us permission to end, end it so it does not wait for us.
		q.endQuietly(inClose)
	case ain.OpACGOverflow:
		if err := w.ovf.Unmarshal(inv.Params); err != nil {
			q.reject(tcap.InvokeIncorrectParameter, inOther)
			return
		}
		q.acgOverflow()
	default:
		q.reject(tcap.InvokeUnrecognisedOperation, inOther)
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

// terminationAttempt translates the query (in w.ta) into a Call, asks the
// engine (unless the query is shed) and answers.
func (q *request) terminationAttempt() {
	s, w := q.s, q.w
	ta := &w.ta
	var call policy.Call
	unreadable := callFromTA(&call, ta, &s.cfg)
	if s.prefetch != nil && call.Called != 0 {
		s.prefetch.PrefetchCall(call.Called)
	}
	call.Peer = w.peer(q.pd.OPC, s.cfg.Variant)

	called := calledDigits(&w.called, ta, call.Called)
	code := uint64(0)
	if called != nil {
		code = codeKey(called, s.cfg.Overload.CodeDigits)
	}
	if !w.deferred {
		s.ovl.Observe(w.id, code) // else seen when it was first read
	}
	// The overload control's clock (ACG resend intervals of seconds):
	// the arrival is close enough, and saves reading the clock.
	now := q.arrived.UnixNano()

	why := q.shed
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
		if s.prefetch != nil && call.Called != 0 {
			s.prefetch.PrefetchLookup(call.Called, call.Calling)
		}
		d, why = s.decide(w, &call, q.arrived.Add(s.cfg.TimeBudget))
		if why == safeDeferred {
			q.deferQuery()
			return
		}
	}
	var op ain.OpCode
	if why == safeNone {
		var ok bool
		op, ok = s.encodeDecision(w, &d, ta, called)
		if !ok {
			why = safeUnencoded
		}
	}
	if why != safeNone {
		op = s.encodeSafe(w, ta, called)
		q.safeAnswered(why, &call, time.Now(), op == ain.OpForwardCall)
	} else if d.FellBack() {
		s.fellBack(w, &call, &d)
	}
	var gap *overload.Gap
	if g, ok := s.acgFor(code, uint64(q.peer), now, why); ok {
		gap = &g
		w.acg = s.encodeACG(w, w.acg[:0], code, gap)
		if g.Removes() {
			w.cnt.acgRemoved.Add(1)
		} else {
			w.cnt.acg.Add(1)
		}
	}
	q.answer(op, gap, inTerminationAttempt)
}

// decide asks the engine through the guard under the query's deadline,
// with the worker's Budget. A decision that panics, comes after the
// deadline or has no usable action yields the reason for the safe answer
// instead (the guard logs panics, rate-limited).
//
// A decision that would wait is deferred when it may be (deferred.go):
// safeDeferred says so, and the caller hands the query on (deferQuery)
// before anything is counted or sent.
func (s *Service) decide(w *worker, c *policy.Call, deadline time.Time) (policy.Decision, safeReason) {
	w.bud.AllowDefer(s.mayDefer(w))
	d, f := s.guard.Decide(&w.bud, c, deadline)
	switch f {
	case policy.FaultNone:
		w.cur.decided, _ = w.bud.Ended()
		return d, safeNone
	case policy.FaultDeferred:
		return d, safeDeferred
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
func (q *request) safeAnswered(why safeReason, c *policy.Call, now time.Time, forwarded bool) {
	s := q.s
	q.w.cnt.safe[why].Add(1)
	s.recordSafe(q.arrived, c, now, forwarded)
	if q.shed == safeNone && why != safeOverload && why != safeNumber { // noteUnreadable logged it
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
	s.dlog.RecordDecision(arrived, c, &d, now.Sub(arrived))
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
func (s *Service) fellBack(w *worker, c *policy.Call, d *policy.Decision) {
	w.cnt.fallback.Add(1)
	if ok, n := s.fallbackLog.Allow(time.Now(), time.Minute); ok {
		s.log.Warn("no egress route with a routing number for this subscriber's provider: the call got the engine's no-route fallback instead of its treatment (fix: callgate route list, callgate provider route)",
			"action", d.Action.String(), "subscriber", d.Subscriber, "called", c.Called.String(), "suppressed_since_last", n)
	}
}

// answer sends op (parameters in w.ans), preceded by an acg (parameters in
// w.acg) when gap is set, in a Response when the switch gave us permission
// to end the transaction, else in a Conversation With Permission.
func (q *request) answer(op ain.OpCode, gap *overload.Gap, in inOp) {
	w, inv := q.w, q.inv
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
	q.sendComponents(cs, in, outFor(op))
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

// reject answers the bad invoke with a Reject carrying its invoke ID.
func (q *request) reject(p tcap.Problem, in inOp) {
	q.s.met.rejects.WithLabelValues(p.String()).Inc()
	cs := append(q.w.cs[:0], tcap.Component{Type: tcap.Reject, HasCorrelationID: q.inv.HasInvokeID,
		CorrelationID: q.inv.InvokeID, Problem: p})
	q.sendComponents(cs, in, outReject)
}

// respond ends the dialogue with an empty Response.
func (q *request) respond(in inOp, out outOp) {
	q.sendComponents(q.w.cs[:0], in, out)
}

func (q *request) sendComponents(cs []tcap.Component, in inOp, out outOp) {
	s, w := q.s, q.w
	w.rsp = tcap.Message{Type: tcap.ConversationWithPerm, Components: cs}
	if q.v.CanEnd {
		w.rsp.Type = tcap.Response
	}
	if err := s.tx.Send(q.v.Dialogue, &w.rsp); err != nil {
		w.cnt.drops[dropEncode].Add(1)
		s.logDrop("cannot answer on the dialogue", "err", err)
		return
	}
	b, err := w.rsp.AppendTo(w.tcapBuf[:0])
	w.tcapBuf = b
	if err != nil {
		w.cnt.drops[dropEncode].Add(1)
		s.logDrop("cannot encode the TCAP answer", "err", err)
		return
	}
	q.sendTCAP(in, out)
}

// sendTCAP wraps w.tcapBuf in the SCCP answer to w.udt and sends it back
// on the query's routing label.
func (q *request) sendTCAP(in inOp, out outOp) {
	s, w := q.s, q.w
	b, err := w.ansHdr.AppendAnswer(w.sccpBuf[:0], &w.udt, w.tcapBuf)
	w.sccpBuf = b
	if err != nil {
		w.cnt.drops[dropEncode].Add(1)
		if err != sccp.ErrNotAnswerable {
			s.logDrop("cannot encode the SCCP answer", "err", err)
		}
		return
	}
	if err := q.snd.SendData(q.pd.Reply(b)); err != nil {
		w.cnt.drops[dropSendFailed].Add(1)
		s.logDrop("cannot send the answer", "err", err)
		return
	}
	if q.decided.IsZero() {
		q.took = time.Since(q.arrived)
	} else {
		q.took = q.decided.Sub(q.arrived)
	}
	w.cnt.answered(in, out, q.took)
}

// returnMsg returns the undeliverable message with UDTS/XUDTS when its
// sender asked for it.
func (q *request) returnMsg(cause sccp.ReturnCause) {
	s, w := q.s, q.w
	if !w.udt.Return(&w.out, cause) {
		w.cnt.drops[dropNoReturn].Add(1)
		return
	}
	b, err := w.out.AppendTo(w.sccpBuf[:0])
	w.sccpBuf = b
	if err != nil {
		w.cnt.drops[dropEncode].Add(1)
		return
	}
	if err := q.snd.SendData(q.pd.Reply(b)); err != nil {
		w.cnt.drops[dropSendFailed].Add(1)
		return
	}
	s.met.udts.WithLabelValues(cause.String()).Inc()
	w.cnt.queries[inNone][outUDTS].Add(1)
}

func (s *Service) logDrop(msg string, args ...any) {
	if ok, n := s.dropLog.Allow(time.Now(), time.Second); ok {
		if n > 0 {
			args = append(args, "suppressed_since_last", strconv.FormatUint(n, 10))
		}
		s.log.Warn("scp: "+msg, args...)
	}
}
