package ssp

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"callgate/scp/ain"
	"callgate/sigtran/ber"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
	"callgate/sigtran/tcap"
	"callgate/simulators/ssp/hist"
)

// Scenario is one kind of call in a load mix.
type Scenario struct {
	// Name labels the scenario in reports (default "scenario N").
	Name string
	// Weight is the scenario's share of the calls (default 1).
	Weight int
	// TA is the call. When Called / Calling ranges are set, each call
	// takes the next number of the range instead of TA.Called / Calling.
	TA      TA
	Called  *NumberRange
	Calling *NumberRange
	// Trigger is the query sent for the call (default
	// TriggerTermination). With an originating trigger TA.Calling is the
	// line placing the call (its UserID) and TA.Called what it dialled.
	Trigger Trigger
}

// DefaultPace is LoadConfig.Pace's default.
const DefaultPace = 100 * time.Microsecond

// LoadConfig configures Client.Load.
type LoadConfig struct {
	// Rate is the target calls per second; 0 sends as fast as
	// Concurrency allows (closed loop).
	Rate float64
	// Concurrency bounds the queries outstanding at once (default 256).
	// When they are all outstanding the generator waits, and the achieved
	// rate falls below Rate.
	Concurrency int
	// Duration is how long to send (required unless Calls is set).
	Duration time.Duration
	// Calls stops after this many calls (0: no limit).
	Calls int64
	// Pace is the pacing quantum of a rated load (default 100 µs): the
	// generator sleeps only when the next call is due more than Pace
	// ahead, then sends every call due since, back to back (they leave in
	// one write). The average rate is the same whatever Pace; a longer one
	// sends fewer, bigger bursts, which costs the generator and the SCP
	// fewer wake-ups per call (and adds up to Pace to when a call is sent).
	// Go's timers do not wake much sooner than a millisecond in a process
	// with nothing else to run (its poller waits in whole milliseconds), so
	// below that the bursts are in practice about a millisecond apart
	// (bench/scp/README.md measured what a sub-millisecond pace does).
	Pace time.Duration
	// Scenarios is the mix; calls cycle through it by weight.
	Scenarios []Scenario
	// Progress, if set, is called every ProgressEvery (default 500 ms)
	// from a separate goroutine.
	Progress      func(Progress)
	ProgressEvery time.Duration
	// TimelineStep, if set, has the Summary say per slice of the run this
	// long how many answers came, how many took longer than TimelineSlow
	// (default 2 ms) and the slowest (timeline.go). It needs Duration.
	TimelineStep time.Duration
	TimelineSlow time.Duration
}

// Progress is a snapshot of a running load.
type Progress struct {
	Elapsed                                  time.Duration
	Sent, Answered, Gapped, Timeouts, Errors int64
	Outstanding                              int64
	// Rate is answers per second over the last interval.
	Rate float64
	// P99 is the 99th percentile latency so far.
	P99 time.Duration
}

// Summary is the result of a load run.
type Summary struct {
	Duration    time.Duration `json:"-"`
	DurationS   float64       `json:"durationSeconds"`
	TargetRate  float64       `json:"targetRate"`
	Concurrency int           `json:"concurrency"`
	Calls       int64         `json:"calls"`    // calls generated (sent + gapped + failed to send)
	Sent        int64         `json:"sent"`     // queries sent
	Answered    int64         `json:"answered"` // answers received in time
	Gapped      int64         `json:"gapped"`   // calls not queried (ACG)
	Timeouts    int64         `json:"timeouts"`
	Errors      int64         `json:"errors"`  // send failures, returned queries, undecodable answers
	NotSent     int64         `json:"notSent"` // of Errors: calls not sent (no active association, DUNA from every SG, send refused)
	// AssociationLosses counts the associations lost during the run
	// without an orderly ASP Down (the SCP died, the network broke): the
	// results then do not measure a working SCP.
	AssociationLosses uint64 `json:"associationLosses"`
	// Peers are the run's counts per SCP (several with a mated pair):
	// what each was sent and answered, and the queries lost in flight
	// with an association that went down.
	Peers []PeerStats `json:"peers"`
	// UnavailableVia are the SGs that reported the SCP's point code
	// unavailable (DUNA) at the run's end (Client.UnavailableVia): the
	// queries went through the other SGs.
	UnavailableVia []string `json:"dpcUnavailableVia,omitempty"`
	// NotReached are the Config.Connect addresses to which no association
	// carried a query during the run (that SCP down or unreachable
	// throughout): the others took its share.
	NotReached   []string         `json:"notReached,omitempty"`
	SendRate     float64          `json:"sendRate"`
	AnswerRate   float64          `json:"answerRate"`
	Latency      hist.Summary     `json:"latency"`
	Operations   map[string]int64 `json:"operations"`
	ErrorSamples []string         `json:"errorSamples,omitempty"`
	ACG          []GapControl     `json:"acgControls,omitempty"`
	// Histogram is the latency distribution (for plots).
	Histogram *hist.Snapshot `json:"-"`
	// Timeline is when the answers and the slow ones came
	// (LoadConfig.TimelineStep).
	Timeline []TimelineSlice `json:"timeline,omitempty"`
}

// Outcome slots of a load run: the answering operations a terminating
// switch expects, then the non-operation outcomes.
var outcomeNames = [...]string{
	"authorizeTermination", "disconnect", "forwardCall", "sendToResource", "analyzeRoute",
	"continue", "offerCall", "collectInformation", "otherOperation",
	OutcomeReject, OutcomeError, OutcomeAbort, OutcomeNone, OutcomeReturned,
}

const (
	oOther = 8 + iota
	oReject
	oError
	oAbort
	oNone
	oReturned
	nOutcomes
)

func opOutcome(op ain.OpCode) int {
	switch op {
	case ain.OpAuthorizeTermination:
		return 0
	case ain.OpDisconnect:
		return 1
	case ain.OpForwardCall:
		return 2
	case ain.OpSendToResource:
		return 3
	case ain.OpAnalyzeRoute:
		return 4
	case ain.OpContinue:
		return 5
	case ain.OpOfferCall:
		return 6
	case ain.OpCollectInformation:
		return 7
	}
	return oOther
}

// template is one pre-encoded query (SCCP UDT carrying the TCAP Query)
// with the offsets of what changes from call to call.
type template struct {
	name    string
	b       []byte
	tidOff  int
	called  digitPatch
	calling digitPatch
	dnOff   int // UserID dn octets, -1 if not patched
	// dnCalling: the UserID dn follows the calling number (an originating
	// trigger: the query is about the line placing the call), not the
	// called one.
	dnCalling bool
	cr, gr    *NumberRange
	fixed     []byte // called digits for the ACG check when not patched
	seq       uint64
}

// digitPatch locates the BCD octets of an AINDigits parameter.
type digitPatch struct {
	off, n int // -1 offset: absent / not patched
}

// writeBCD packs ASCII digits into BCD at b, low nibble first; an odd count
// keeps its filler nibble (0).
func writeBCD(b []byte, digits []byte) {
	for i, d := range digits {
		v := d - '0'
		if i&1 == 0 {
			b[i/2] = b[i/2]&0xF0 | v
		} else {
			b[i/2] = b[i/2]&0x0F | v<<4
		}
	}
}

// buildTemplate encodes sc's first call and finds the patch points.
func (c *Client) buildTemplate(sc *Scenario, idx int) (*template, error) {
	t := &template{name: sc.Name, cr: sc.Called, gr: sc.Calling, dnOff: -1,
		called: digitPatch{-1, 0}, calling: digitPatch{-1, 0}}
	if t.name == "" {
		t.name = fmt.Sprintf("scenario %d", idx+1)
	}
	ta := sc.TA
	if sc.Called != nil {
		ta.Called = sc.Called.First
	}
	if sc.Calling != nil {
		ta.Calling = sc.Calling.First
	}
	var qp query
	var err error
	if sc.Trigger.Originating() {
		qp, err = ta.originationQuery(sc.Trigger)
	} else {
		qp, err = ta.terminationQuery()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.name, err)
	}
	params := qp.params
	t.dnCalling = sc.Trigger.Originating()
	comps := [1]tcap.Component{{Type: tcap.InvokeLast, HasInvokeID: true, InvokeID: invokeID,
		Op: tcap.PrivateOp(uint16(sc.Trigger.Op())), ParamTag: tcap.ParamSet, Params: params}}
	q := tcap.Message{Type: tcap.QueryWithPermission, OrigTID: tcap.NewTID(0), HasComponents: true, Components: comps[:]}
	tc, err := q.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%s: encoding the query: %w", t.name, err)
	}
	udt := sccp.Message{Variant: sccp.ANSI, Type: sccp.UDT, Class: sccp.Class0Return,
		Called: c.called, Calling: c.calling, Data: tc}
	t.b, err = udt.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%s: encoding the UDT: %w", t.name, err)
	}
	// The TCAP package is the tail of the UDT and the parameters the tail
	// of the TCAP package (one component, parameters last).
	tcOff := len(t.b) - len(tc)
	pkg, _, err := ber.Parse(tc)
	if err != nil || len(pkg.Value) < 6 || pkg.Value[0] != 0xC7 || pkg.Value[1] != 4 {
		return nil, fmt.Errorf("%s: unexpected query layout", t.name)
	}
	t.tidOff = tcOff + pkg.HeaderLen + 2
	pOff := len(t.b) - len(params)
	it := ber.NewIter(params, pOff)
	for p, ok := it.Next(); ok; p, ok = it.Next() {
		if p.Class != ber.Context {
			continue
		}
		valOff := p.Offset + p.HeaderLen
		switch {
		case p.Tag == qp.calledTag:
			t.called = digitPatch{valOff + 2, qp.calledN}
		case p.Tag == ain.TagCallingPartyID:
			t.calling = digitPatch{valOff + 2, qp.callingN}
		case p.Tag == ain.TagUserID && p.Constructed:
			inner, _, err := ber.ParseAt(p.Value, valOff)
			if err == nil && inner.Tag == 1 && len(inner.Value) == 5 {
				t.dnOff = inner.Offset + inner.HeaderLen
			}
		}
	}
	if sc.Called != nil && t.called.off < 0 {
		return nil, fmt.Errorf("%s: CalledPartyID not found in the encoded query", t.name)
	}
	if sc.Calling != nil && t.calling.off < 0 {
		return nil, fmt.Errorf("%s: CallingPartyID not found in the encoded query", t.name)
	}
	// The UserID dn follows the called number (the calling one for an
	// originating trigger) unless it was given.
	follow, followRange := ta.Called, sc.Called
	if t.dnCalling {
		follow, followRange = ta.Calling, sc.Calling
	}
	if _, nanp := follow.National(); followRange == nil || sc.TA.UserDN != "" || !nanp {
		t.dnOff = -1
	} else if t.dnOff < 0 {
		return nil, fmt.Errorf("%s: UserID dn not found in the encoded query", t.name)
	}
	if sc.Called == nil {
		t.fixed = appendCalledDigits(nil, ta.Called)
	}
	return t, nil
}

// loadRun is the state of one Client.Load.
type loadRun struct {
	c       *Client
	cfg     LoadConfig
	start   time.Time
	timeout time.Duration

	free  chan int32
	slots []loadSlot

	hist                                          hist.Histogram
	tl                                            *timeline
	outcomes                                      [nOutcomes]atomic.Int64
	calls, sent, answered, gapped, timeouts, errs atomic.Int64
	notSent                                       atomic.Int64

	errMu      sync.Mutex
	errSamples []string
}

type loadSlot struct {
	// state packs the dialogue ID (high 32 bits) and the send time in ms
	// since start, plus one (low 32 bits); 0 when the slot is idle. One
	// word, so a sweep never pairs one call's ID with another's time.
	state atomic.Uint64
	call  call
}

func (r *loadRun) noteErr(format string, args ...any) {
	r.errs.Add(1)
	r.errMu.Lock()
	if len(r.errSamples) < 5 {
		msg := fmt.Sprintf(format, args...)
		dup := false
		for _, s := range r.errSamples {
			dup = dup || s == msg
		}
		if !dup {
			r.errSamples = append(r.errSamples, msg)
		}
	}
	r.errMu.Unlock()
}

func (r *loadRun) release(slot int32) {
	r.slots[slot].state.Store(0)
	r.free <- slot
}

// complete records an answer; it runs on an association's reader.
func (r *loadRun) complete(cl *call, s *rxScratch, v *tcap.Verdict, now time.Time) {
	took := now.Sub(cl.sent)
	r.hist.Record(took)
	if r.tl != nil {
		r.tl.record(now.Sub(r.start), took)
	}
	r.answered.Add(1)
	o := oNone
	switch {
	case s.msg.Type == tcap.Abort:
		o = oAbort
	default:
		for i := range s.msg.Components {
			tc := &s.msg.Components[i]
			if tc.Type.IsInvoke() {
				if tc.Op.Class == tcap.Private && ain.OpCode(tc.Op.Code) == ain.OpACG {
					continue
				}
				if tc.Op.Class == tcap.Private {
					o = opOutcome(ain.OpCode(tc.Op.Code))
				} else {
					o = oOther
				}
				break
			}
			if tc.Type == tcap.Reject {
				o = oReject
				break
			}
			if tc.Type == tcap.ReturnError {
				o = oError
				break
			}
		}
	}
	if v.Action != tcap.Deliver && o != oAbort {
		r.noteErr("answer with a problem: %s", verdictReason(v))
	}
	r.outcomes[o].Add(1)
	r.release(cl.slot)
}

// fail ends a call without an answer from the SCP.
func (r *loadRun) fail(cl *call, outcome string, now time.Time) {
	if outcome == OutcomeReturned {
		r.outcomes[oReturned].Add(1)
		r.noteErr("query returned by the SCCP network")
	}
	r.release(cl.slot)
}

// sweepSlots times out calls older than the timeout.
func (r *loadRun) sweepSlots(now time.Time) {
	nowMs := uint64(now.Sub(r.start).Milliseconds())
	toMs := uint64(r.timeout.Milliseconds())
	for i := range r.slots {
		st := r.slots[i].state.Load()
		if st == 0 {
			continue
		}
		sentMs := st&0xFFFFFFFF - 1
		if nowMs < sentMs+toMs {
			continue
		}
		id := tcap.DialogueID(st >> 32)
		if r.c.pend.take(id) != nil {
			r.c.tx.End(id)
			r.timeouts.Add(1)
			r.c.st.timeouts.Add(1)
			if a := r.slots[i].call.acct.Load(); a != nil {
				a.onTimeout()
			}
			r.release(int32(i))
		}
	}
}

// Load runs a load test: calls from cfg.Scenarios at cfg.Rate, at most
// cfg.Concurrency outstanding, for cfg.Duration (or cfg.Calls calls), then
// waits for the last answers (up to the call timeout) and returns the
// summary. Queries are pre-encoded per scenario; each call only patches its
// transaction ID and numbers, and answers are classified on the reader
// without decoding the AIN arguments (acg excepted), so the generator
// costs little CPU next to the SCP it measures.
func (c *Client) Load(ctx context.Context, cfg LoadConfig) (*Summary, error) {
	if len(cfg.Scenarios) == 0 {
		return nil, errors.New("ssp: load without scenarios")
	}
	if cfg.Duration <= 0 && cfg.Calls <= 0 {
		return nil, errors.New("ssp: load needs a duration or a call count")
	}
	if cfg.Rate < 0 {
		return nil, errors.New("ssp: negative rate")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 256
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = 500 * time.Millisecond
	}
	var tmpls []*template
	var wheel []int32
	for i := range cfg.Scenarios {
		sc := &cfg.Scenarios[i]
		t, err := c.buildTemplate(sc, i)
		if err != nil {
			return nil, err
		}
		tmpls = append(tmpls, t)
		w := sc.Weight
		if w <= 0 {
			w = 1
		}
		for k := 0; k < w; k++ {
			wheel = append(wheel, int32(i))
		}
	}
	// Interleave the wheel so that a 9:1 mix is not 9 then 1.
	wheel = interleave(wheel, len(tmpls))

	r := &loadRun{c: c, cfg: cfg, timeout: c.cfg.Timeout,
		free: make(chan int32, cfg.Concurrency), slots: make([]loadSlot, cfg.Concurrency)}
	for i := range r.slots {
		r.slots[i].call = call{run: r, slot: int32(i)}
		r.free <- int32(i)
	}
	if cfg.TimelineSlow <= 0 {
		cfg.TimelineSlow = 2 * time.Millisecond
	}
	r.tl = newTimeline(cfg.TimelineStep, cfg.TimelineSlow, cfg.Duration+r.timeout)
	// Collect the set-up's garbage (templates, slots, the timeline, the
	// connection's buffers) now: the run itself allocates nothing per
	// call, so without this the first GC cycle, with its pause, would come
	// a second or so into the run, mid-measurement.
	runtime.GC()
	r.start = time.Now()
	lossesBefore := c.ep.Stats().Losses
	peersBefore := c.peers.snapshot()

	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(1)
	go func() { // timeouts and progress
		defer bg.Done()
		tick := min(max(r.timeout/8, 5*time.Millisecond), 100*time.Millisecond)
		t := time.NewTicker(tick)
		defer t.Stop()
		lastP, lastN := r.start, int64(0)
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				r.sweepSlots(now)
				if cfg.Progress != nil && now.Sub(lastP) >= cfg.ProgressEvery {
					n := r.answered.Load()
					p := r.progress(now)
					p.Rate = float64(n-lastN) / now.Sub(lastP).Seconds()
					cfg.Progress(p)
					lastP, lastN = now, n
				}
			}
		}
	}()

	r.generate(ctx, tmpls, wheel)
	sendEnd := time.Now()

	// Wait for the outstanding answers; the sweep times out the rest.
	for deadline := time.Now().Add(r.timeout + 200*time.Millisecond); len(r.free) < cfg.Concurrency && time.Now().Before(deadline); {
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	bg.Wait()
	// Anything still outstanding now has outlived the timeout.
	r.sweepSlots(time.Now().Add(r.timeout + time.Hour))

	snap := r.hist.Snapshot()
	sent := sendEnd.Sub(r.start)
	s := &Summary{Duration: sent, DurationS: sent.Seconds(), TargetRate: cfg.Rate, Concurrency: cfg.Concurrency,
		Calls: r.calls.Load(), Sent: r.sent.Load(), Answered: r.answered.Load(), Gapped: r.gapped.Load(),
		Timeouts: r.timeouts.Load(), Errors: r.errs.Load(), Latency: snap.Summary(), Histogram: snap,
		Operations: map[string]int64{}, ErrorSamples: r.errSamples, ACG: c.gaps.Controls(time.Now()),
		NotSent: r.notSent.Load(), AssociationLosses: c.ep.Stats().Losses - lossesBefore,
		Peers: peerDelta(peersBefore, c.peers.snapshot()), UnavailableVia: c.UnavailableVia(), Timeline: r.tl.result()}
	if s.Sent > 0 {
		s.NotReached = notReached(c.cfg.Connect, s.Peers)
	}
	if sec := sent.Seconds(); sec > 0 {
		s.SendRate = float64(s.Sent) / sec
		s.AnswerRate = float64(s.Answered) / sec
	}
	for i := range r.outcomes {
		if n := r.outcomes[i].Load(); n > 0 {
			s.Operations[outcomeNames[i]] = n
		}
	}
	if s.Gapped > 0 {
		s.Operations[OutcomeGapped] = s.Gapped
	}
	if s.Timeouts > 0 {
		s.Operations[OutcomeTimeout] = s.Timeouts
	}
	return s, ctx.Err()
}

// interleave spreads each scenario's entries evenly over the wheel.
func interleave(wheel []int32, n int) []int32 {
	count := make([]int, n)
	for _, w := range wheel {
		count[w]++
	}
	out := make([]int32, 0, len(wheel))
	acc := make([]float64, n)
	for len(out) < len(wheel) {
		best := -1
		for i := range count {
			if count[i] == 0 {
				continue
			}
			acc[i] += float64(count[i])
			if best < 0 || acc[i] > acc[best] {
				best = i
			}
		}
		acc[best] -= float64(len(wheel))
		out = append(out, int32(best))
	}
	return out
}

func (r *loadRun) progress(now time.Time) Progress {
	return Progress{Elapsed: now.Sub(r.start), Sent: r.sent.Load(), Answered: r.answered.Load(),
		Gapped: r.gapped.Load(), Timeouts: r.timeouts.Load(), Errors: r.errs.Load(),
		Outstanding: int64(len(r.slots) - len(r.free)), P99: r.hist.Quantile(0.99)}
}

// generate is the single sending goroutine: pace, pick, patch, send.
func (r *loadRun) generate(ctx context.Context, tmpls []*template, wheel []int32) {
	c := r.c
	cfg := &r.cfg
	buf := make([]byte, 0, 512)
	var digits [24]byte
	var interval time.Duration
	if cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) / cfg.Rate)
	}
	pace := cfg.Pace
	if pace <= 0 {
		pace = DefaultPace
	}
	end := time.Time{}
	if cfg.Duration > 0 {
		end = r.start.Add(cfg.Duration)
	}
	endTimer := time.NewTimer(time.Hour)
	if !end.IsZero() {
		endTimer.Reset(cfg.Duration)
	}
	defer endTimer.Stop()
	// One timer for every pacing sleep: time.After allocated one per sleep,
	// and that garbage brought the generator's own GC pauses into its runs.
	paceTimer := time.NewTimer(time.Hour)
	defer paceTimer.Stop()
	// The Query's component, for the transaction layer's bookkeeping of
	// our invoke (Send looks at component types and IDs only).
	comps := [1]tcap.Component{{Type: tcap.InvokeLast, HasInvokeID: true, InvokeID: invokeID,
		Op: tcap.PrivateOp(uint16(ain.OpTerminationAttempt)), ParamTag: tcap.ParamSet}}
	q := tcap.Message{Type: tcap.QueryWithPermission, HasComponents: true, Components: comps[:]}
	pd := m3ua.ProtocolData{OPC: uint32(c.cfg.OPC), DPC: uint32(c.cfg.DPC), SI: m3ua.SISCCP, NI: c.ni}

	for n := int64(0); ; n++ {
		if cfg.Calls > 0 && n >= cfg.Calls {
			return
		}
		now := time.Now()
		if !end.IsZero() && !now.Before(end) {
			return
		}
		if ctx.Err() != nil {
			return
		}
		if interval > 0 {
			due := r.start.Add(time.Duration(n) * interval)
			// Sleeping costs more than it buys below the pace (~100 µs):
			// send a few calls early instead; the schedule keeps the
			// average rate.
			if wait := due.Sub(now); wait > pace {
				paceTimer.Reset(wait)
				select {
				case <-paceTimer.C:
				case <-ctx.Done():
					return
				case <-endTimer.C:
					return
				}
			}
		}
		t := tmpls[wheel[n%int64(len(wheel))]]
		seq := t.seq
		t.seq++
		buf = append(buf[:0], t.b...)
		called := t.fixed
		if t.cr != nil {
			called = appendCalledDigits(digits[:0], t.cr.At(seq))
			writeBCD(buf[t.called.off:], called[:t.called.n])
			if t.dnOff >= 0 && !t.dnCalling {
				writeBCD(buf[t.dnOff:], called[len(called)-10:])
			}
		}
		if t.gr != nil {
			var cd [24]byte
			d := appendCalledDigits(cd[:0], t.gr.At(seq))
			writeBCD(buf[t.calling.off:], d[:t.calling.n])
			if t.dnOff >= 0 && t.dnCalling {
				writeBCD(buf[t.dnOff:], d[len(d)-10:])
			}
		}
		r.calls.Add(1)
		if !c.cfg.IgnoreACG && c.gaps.Check(called, now) {
			r.gapped.Add(1)
			c.st.gapped.Add(1)
			continue
		}
		if !c.ep.Available(uint32(c.cfg.DPC)) {
			c.st.sendErr.Add(1)
			r.notSent.Add(1)
			r.noteErr("%v: %v", ErrUnavailable, c.cfg.DPC)
			continue
		}
		var slot int32
		select {
		case slot = <-r.free:
		default:
			select {
			case slot = <-r.free:
			case <-ctx.Done():
				return
			case <-endTimer.C:
				return
			}
		}
		id, err := c.tx.Begin(c.peer)
		if err != nil {
			r.noteErr("%v", err)
			r.free <- slot
			continue
		}
		if err := c.tx.Send(id, &q); err != nil {
			c.tx.End(id)
			r.noteErr("%v", err)
			r.free <- slot
			continue
		}
		buf[t.tidOff], buf[t.tidOff+1], buf[t.tidOff+2], buf[t.tidOff+3] = byte(id>>24), byte(id>>16), byte(id>>8), byte(id)
		sl := &r.slots[slot]
		sent := time.Now()
		sl.call.id, sl.call.sent = id, sent
		sl.state.Store(uint64(id)<<32 | uint64(sent.Sub(r.start).Milliseconds()+1))
		c.pend.put(&sl.call)
		pd.SLS, pd.Data = sls(id), buf
		sl.call.acct.Store(nil)
		acct, err := c.send(pd, sent)
		if err != nil {
			if c.pend.take(id) != nil {
				c.tx.End(id)
				r.notSent.Add(1)
				r.noteErr("%v", err)
				r.release(slot)
			}
			continue
		}
		sl.call.acct.Store(acct)
		r.sent.Add(1)
	}
}
