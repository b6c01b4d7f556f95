package b2bua

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/decisionlog"
)

var (
	errShutdown   = errors.New("b2bua shutting down")
	errRTPTimeout = errors.New("no RTP received within the RTP timeout")
	errLegEnded   = errors.New("the other party hung up")
)

// decision is what the B2BUA carries out for a call: the claims of a
// screening token, or the engine's decision for a gateway call.
type decision struct {
	action       policy.Action
	announcement uint32
	pinAllowed   bool
	subscriber   uint32
	called       e164.Number // the subscriber's number
	calling      e164.Number
	original     e164.Number
	presentation policy.Presentation
	voicemail    string
	ivr          bool   // a call to the subscribers' IVR (ivr.go)
	subName      string // the IVR caller's subscriber name ("" = none)
}

// call is one caller's call through the B2BUA, from the INVITE to the last
// BYE. Its treatment runs on the goroutine sipgo gave the INVITE; pumps,
// the ringback player and the RTP watchdog only signal it.
type call struct {
	s     *Server
	in    *diago.DialogServerSession
	req   *sip.Request
	id    string // the caller's Call-ID
	start time.Time
	d     decision
	ref   decisionlog.Ref
	isup  string // what the INVITE's ISUP IAM gave the call, for its steps (sipt.go)
	// What the IAM alone said of the caller, for the outbound legs'
	// headers (sipt.go): its number (0: the headers had one, or none
	// was given), and whether they need Privacy: id the INVITE lacks.
	iamCalling    e164.Number
	iamRestricted bool

	ctx    context.Context // ends when the caller hangs up, on RTP timeout and on shutdown
	cancel context.CancelCauseFunc

	caller *leg

	mu     sync.Mutex
	out    *leg // the outbound leg being talked to (watched for RTP)
	outDlg *diago.DialogClientSession

	early     bool        // 183 with SDP sent: the caller hears early media
	lateOffer bool        // the INVITE had no SDP: our offer goes in the 200, the answer in the ACK
	rel       *reliableTx // the caller requires 100rel: its provisionals are reliable (prack.go)
	answered  bool        // 200 sent and acknowledged
	bridged   bool        // the caller reached the subscriber or voicemail
	name      []byte      // the recorded name (PCM): lives only as long as the call

	ringStop context.CancelFunc
	ringDone chan struct{}
}

// ending is how a call ended: why (for the log and metrics), and the final
// response an unanswered caller gets (an answered one gets BYE).
type ending struct {
	why        string
	code       int
	phrase     string
	retryAfter bool // a 503 that says when to retry (overload)
}

var (
	endCompleted = ending{why: "completed"}
	endReleased  = ending{why: "released", code: 480, phrase: "Temporarily Unavailable"}
	endFailed    = ending{why: "failed", code: 500, phrase: "Server Internal Error"}
)

// step records one outcome of the treatment: counted in metrics and added
// to the call's record in the decision log.
func (c *call) step(name, outcome, detail string) {
	c.s.m.steps.WithLabelValues(name, outcome).Inc()
	if c.s.steps != nil {
		c.s.steps.add(c.ref, decisionlog.Step{Time: time.Now(), Name: name, Outcome: outcome, Detail: detail})
	}
}

// gone reports whether the call is over for the caller's side: hung up,
// RTP timeout, shutdown.
func (c *call) gone() (ending, bool) {
	if c.ctx.Err() == nil {
		return ending{}, false
	}
	switch cause := context.Cause(c.ctx); {
	case errors.Is(cause, errShutdown):
		return ending{why: "shutdown", code: 503, phrase: "Service Unavailable", retryAfter: true}, true
	case errors.Is(cause, errRTPTimeout):
		return ending{why: "rtp-timeout"}, true
	case errors.Is(cause, errNoPRACK):
		return ending{why: "no-prack"}, true // its 500 went (prack.go)
	}
	return ending{why: "caller-hangup"}, true
}

// endedBy returns the ending for err, an error out of a prompt, a digit
// wait or a dial: the call's own end when it has one, else failed.
func (c *call) endedBy(err error) ending {
	if e, ok := c.gone(); ok {
		return e
	}
	c.s.log.Warn("b2bua: call failed", "call_id", c.id, "error", err)
	return endFailed
}

// say plays prompts to l in order. With bargeIn a digit keyed meanwhile
// ends the playing (the digit stays queued).
func (c *call) say(l *leg, bargeIn bool, pcms ...[]byte) error {
	for _, p := range pcms {
		if err := l.playPCM(c.ctx, p, bargeIn); err != nil {
			return err
		}
		if bargeIn && len(l.dtmf) > 0 {
			return nil
		}
	}
	return nil
}

// key waits up to d for a digit from l. It returns 0 on timeout, and an
// error when the call ends or when stop is closed (the other leg ended).
func (c *call) key(l *leg, d time.Duration, stop <-chan struct{}) (rune, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case k := <-l.dtmf:
		return k, nil
	case <-t.C:
		return 0, nil
	case <-c.ctx.Done():
		return 0, context.Cause(c.ctx)
	case <-stop:
		return 0, errLegEnded
	}
}

// answer sends 200 OK with SDP (or, after early media, 200 with the same
// SDP) and waits for the ACK. The caller's leg exists afterwards.
func (c *call) answer() error {
	if c.answered {
		return nil
	}
	if c.rel != nil {
		// Before diago takes the dialog as established: a CANCEL during
		// the wait must still end the call (prack.go).
		if err := c.rel.waitAcked(c.ctx); err != nil {
			return err
		}
	}
	if c.early {
		if err := c.in.AnswerEarlyMedia(c.caller.med, diago.AnswerOptions{}); err != nil {
			return err
		}
	} else if c.lateOffer {
		if err := c.answerLate(); err != nil {
			return err
		}
	} else {
		med, err := c.in.Answer(diago.AnswerOptions{RTPNAT: media.RTPNATSymetric})
		if err != nil {
			return c.mediaFailed(err)
		}
		if err := c.attachCaller(med); err != nil {
			return err
		}
	}
	c.answered = true
	// The RTP timeout runs from the answer: a caller need not send RTP
	// during early media (most do not), which may have lasted longer.
	c.caller.lastRTP.Store(time.Now().UnixNano())
	c.caller.confirmed.Store(true)
	c.caller.sdpOut.init(c.in.InviteResponse.Body())
	return nil
}

// answerLate answers a caller that sent no offer: 200 with our offer, and
// the caller's answer taken from its ACK (checked first by the middleware,
// dialogs.go). diago applies that answer while it reads the ACK, before
// the 200's wait returns; AnswerLate then fails to start monitoring its
// first RTP session, which never had a remote address and has already
// been replaced by the one with the answer, so its error counts only when
// no answer arrived. The caller has the 200 either way: on failure it is
// marked answered so that the call's end sends BYE (RFC 3261 §13.2.1: an
// ACK without an acceptable answer ends the session).
func (c *call) answerLate() error {
	med, err := c.in.AnswerLate()
	if med == nil {
		return c.mediaFailed(err)
	}
	if ms := med.MediaSession(); ms == nil || ms.Raddr.IP == nil || ms.Raddr.Port == 0 {
		c.answered = true
		_ = med.Close()
		return fmt.Errorf("b2bua: late offer: no usable SDP answer in the ACK (%v)", err)
	}
	return c.attachCaller(med)
}

// earlyMedia sends 183 Session Progress with SDP: the caller hears what is
// played without the call being answered. A caller that sent no offer
// cannot have early media without an offer in a reliable provisional
// response and its answer in the PRACK (RFC 3262), which the B2BUA does
// not take (prack.go): it is answered instead.
func (c *call) earlyMedia() error {
	if c.early || c.answered {
		return nil
	}
	if c.lateOffer {
		return c.answer()
	}
	med, err := c.in.ProgressMedia(diago.ProgressMediaOptions{RTPNAT: media.RTPNATSymetric})
	if err != nil {
		return c.mediaFailed(err)
	}
	if err := c.attachCaller(med); err != nil {
		return err
	}
	c.caller.sdpOut.init(c.in.InviteResponse.Body())
	c.early = true
	return nil
}

func (c *call) attachCaller(med *diago.DialogMedia) error {
	l, err := newLeg(c, "caller", c.id, med, c.in.Context(), c.s.pacer)
	if err != nil {
		_ = med.Close()
		return err
	}
	c.mu.Lock()
	c.caller = l
	c.mu.Unlock()
	c.s.addLeg(l)
	return nil
}

// errNoPorts marks a media session that could not get an RTP port.
var errNoPorts = errors.New("no RTP port free")

// mediaFailed turns diago's error for a media session it could not open
// into errNoPorts when the RTP range is exhausted (the caller then gets
// 503 with Retry-After).
func (c *call) mediaFailed(err error) error {
	if strings.Contains(err.Error(), "no available ports") || strings.Contains(err.Error(), "address already in use") {
		return fmt.Errorf("%w: %v", errNoPorts, err)
	}
	return err
}

// startRingback plays ringback to the caller in a loop until stopRingback.
func (c *call) startRingback() {
	if c.ringStop != nil || c.caller == nil {
		return
	}
	ctx, stop := context.WithCancel(c.ctx)
	done := make(chan struct{})
	c.ringStop, c.ringDone = stop, done
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := c.caller.playPCM(ctx, c.s.prompts.ringback, false); err != nil {
				return
			}
		}
	}()
}

func (c *call) stopRingback() {
	if c.ringStop == nil {
		return
	}
	c.ringStop()
	<-c.ringDone
	c.ringStop, c.ringDone = nil, nil
}

// dial outcomes.
type dialResult uint8

const (
	dialAnswered  dialResult = iota
	dialNoAnswer             // ringing past RingTimeout (CANCEL sent)
	dialBusy                 // 486 or 600
	dialFailed               // any other failure
	dialAbandoned            // the caller hung up meanwhile (CANCEL sent)
)

// dial calls to (an outbound leg: the subscriber or voicemail) with the
// caller's identity and extra headers, while the caller hears ringback. On
// dialAnswered the leg is up and c.out / c.outDlg are set.
func (c *call) dial(name string, to sip.Uri, extra []sip.Header) (dialResult, string) {
	transport, err := c.s.legTransport(to)
	if err != nil {
		return dialFailed, err.Error()
	}
	d, err := c.s.dg.NewDialog(to, diago.NewDialogOptions{Transport: transport})
	if err != nil {
		return dialFailed, err.Error()
	}
	ictx, cancel := context.WithTimeout(c.ctx, c.s.cfg.RingTimeout)
	defer cancel()
	ringing := false
	// No Originator: it would offer only the codecs the caller offered,
	// so a caller without telephone-event would leave the subscriber
	// without RFC 4733 too. The outbound leg offers PCMU, PCMA and
	// telephone-event; a bridge transcodes when the legs differ.
	rel := newReliableOut(c.ctx, d, func(err error) {
		c.s.log.Warn("b2bua: PRACK not sent", "leg", name, "error", err)
	})
	med, err := d.Invite(ictx, diago.InviteClientOptions{
		// RFC 3262 §4: offered, never required (a far end without
		// 100rel takes the call as before).
		Headers: append(append(c.outboundHeaders(), sip.NewHeader("Supported", "100rel")), extra...),
		RTPNAT:  media.RTPNATSymetric,
		OnResponse: func(res *sip.Response) error {
			if !rel.response(res) {
				return nil
			}
			if !ringing && (res.StatusCode == 180 || res.StatusCode == 183) {
				ringing = true
				c.step(name, "ringing", strconv.Itoa(res.StatusCode))
			}
			return nil
		},
	})
	if err != nil {
		c.abortDial(d)
		var resErr *sipgo.ErrDialogResponse
		switch {
		case c.ctx.Err() != nil:
			return dialAbandoned, "cancelled"
		case ictx.Err() != nil:
			return dialNoAnswer, c.s.cfg.RingTimeout.String()
		case errors.As(err, &resErr) && (resErr.Res.StatusCode == 486 || resErr.Res.StatusCode == 600):
			return dialBusy, strconv.Itoa(resErr.Res.StatusCode)
		case errors.As(err, &resErr):
			return dialFailed, strconv.Itoa(resErr.Res.StatusCode) + " " + resErr.Res.Reason
		}
		if errors.Is(c.mediaFailed(err), errNoPorts) {
			c.s.m.overload.WithLabelValues("ports").Inc()
		}
		return dialFailed, err.Error()
	}
	if err := d.Ack(c.ctx); err != nil {
		_ = med.Close()
		c.abortDial(d)
		return dialFailed, "ACK: " + err.Error()
	}
	l, err := newLeg(c, name, d.InviteRequest.CallID().Value(), med, d.Context(), c.s.pacer)
	if err != nil {
		_ = med.Close()
		c.hangupOut(d, nil)
		return dialFailed, err.Error()
	}
	l.confirmed.Store(true)
	l.sdpOut.init(d.InviteRequest.Body())
	c.s.addLeg(l)
	c.mu.Lock()
	c.out, c.outDlg = l, d
	c.mu.Unlock()
	return dialAnswered, ""
}

// abortDial cleans up an outbound dialog that did not get answered, and
// hangs up one the far end answered while we were cancelling it.
func (c *call) abortDial(d *diago.DialogClientSession) {
	if res := d.InviteResponse; res != nil && res.IsSuccess() && d.LoadState() < sip.DialogStateEnded {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = d.Ack(ctx)
		_ = d.Bye(ctx)
		cancel()
	}
	_ = d.Close()
}

// hangupOut ends the outbound leg (BYE) and forgets it.
func (c *call) hangupOut(d *diago.DialogClientSession, l *leg) {
	if l != nil {
		c.s.removeLeg(l)
		l.close()
	}
	if d != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		_ = d.Hangup(ctx)
		cancel()
		_ = d.Close()
	}
	c.mu.Lock()
	if c.out == l {
		c.out, c.outDlg = nil, nil
	}
	c.mu.Unlock()
}

// outboundHeaders are what an outbound leg takes from the caller's
// INVITE: Max-Forwards less one, and the caller's identity: From (display
// name and URI, with a tag of ours), P-Asserted-Identity and Privacy as
// the INVITE had them, or as its ISUP IAM gave them (iamIdentity).
func (c *call) outboundHeaders() []sip.Header {
	// The caller's Max-Forwards, one less, goes on (RFC 7332 §3): a
	// continue route that leads back here ends in 483, not a loop of
	// calls. A new INVITE with 0 was refused (acceptable).
	mf := sip.MaxForwardsHeader(70)
	if in := c.req.MaxForwards(); in != nil && in.Val() > 0 {
		mf = sip.MaxForwardsHeader(in.Val() - 1)
	}
	hs := []sip.Header{&mf}
	if f := c.req.From(); f != nil {
		hs = append(hs, &sip.FromHeader{DisplayName: f.DisplayName, Address: *f.Address.Clone(), Params: sip.NewParams()})
	}
	for _, name := range []string{"P-Asserted-Identity", "Privacy"} {
		for _, h := range c.req.GetHeaders(name) {
			hs = append(hs, sip.NewHeader(name, h.Value()))
		}
	}
	return append(hs, c.iamIdentity()...)
}

// bridge connects the caller and the answered outbound leg (RTP both ways,
// DTMF relayed) until one of them hangs up or RTP stops.
func (c *call) bridge() ending {
	c.stopRingback()
	c.mu.Lock()
	out, outDlg := c.out, c.outDlg
	c.mu.Unlock()
	caller := c.caller
	caller.drainDigits()
	out.drainDigits()
	caller.setSink(relay(caller, out, c.s.m.relay))
	out.setSink(relay(out, caller, c.s.m.relay))
	c.bridged = true
	c.step("bridge", "connected", out.name)
	for {
		select {
		case <-c.ctx.Done():
			e, _ := c.gone()
			c.hangupOut(outDlg, out)
			return e
		case <-out.ctx.Done():
			c.hangupOut(outDlg, out)
			return ending{why: out.name + "-hangup"}
		case k := <-caller.dtmf:
			out.sendDigit(k)
		case k := <-out.dtmf:
			caller.sendDigit(k)
		}
	}
}

// finish releases what is left of the call: the outbound leg, and the
// caller (BYE when answered, else the ending's final response).
func (c *call) finish(e ending) {
	c.stopRingback()
	c.mu.Lock()
	out, outDlg := c.out, c.outDlg
	c.mu.Unlock()
	if out != nil || outDlg != nil {
		c.hangupOut(outDlg, out)
	}
	switch {
	case c.in.LoadState() == sip.DialogStateEnded:
		// The caller hung up or cancelled; nothing to send.
	case c.answered:
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		_ = c.in.Hangup(ctx)
		cancel()
	default:
		code, phrase := e.code, e.phrase
		if code == 0 {
			code, phrase = 480, "Temporarily Unavailable"
		}
		if e.retryAfter {
			c.s.respond503(c.in)
		} else {
			_ = c.in.Respond(code, phrase, nil)
		}
	}
	if c.caller != nil {
		c.s.removeLeg(c.caller)
		c.caller.close()
	}
	c.name = nil
	if e.why == "caller-hangup" && !c.bridged {
		e.why = "abandoned"
	}
	c.step("end", e.why, "")
	c.s.m.ended.WithLabelValues(e.why).Inc()
}
