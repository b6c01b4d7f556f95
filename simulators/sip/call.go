package sip

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
)

// CallConfig is one call placed the way an SBC or a TDM gateway would.
type CallConfig struct {
	// Target is the first INVITE's Request-URI: the redirect server
	// ("sip:+13035550100@127.0.0.1:5060"), whose 302 is followed, or
	// for a gateway call after an AIN forwardCall the routing number at
	// the B2BUA ("sip:+17205550123@127.0.0.1:5062"). "transport=tcp" in
	// it is honoured when the phone listens on TCP.
	Target string
	// From is the caller: a number (put in a sip: URI at the phone's
	// host), a SIP or tel URI, or "anonymous" (RFC 3323's anonymous From).
	From string
	// To is the To URI; default the Target. It stays the same when a
	// redirect is followed (RFC 3261 §8.1.3.4).
	To string
	// PAssertedIdentity (a number or URI) and Privacy ("id", "none", ...)
	// are sent when set.
	PAssertedIdentity, Privacy string
	// Diversion values become one Diversion header each, in order
	// (the newest redirection first, the original called number last):
	// numbers become "<tel:N>;reason=unconditional;counter=1".
	Diversion []string
	// HistoryInfo values (numbers or entries, the original target first)
	// become one History-Info header, ending with the Request-URI
	// retargeted with cause=302.
	HistoryInfo []string
	// Headers are extra "Name: value" headers.
	Headers []string
	// MaxRedirects is how many 3xx to follow (default 3; negative: none).
	MaxRedirects int
	// RingTimeout ends the call with a CANCEL when no final answer came
	// in time (default 60 s): outcome "timeout".
	RingTimeout time.Duration
	// HangupAfter hangs up this long after the first INVITE: a CANCEL
	// while it rings, a BYE once answered (abandonment tests).
	HangupAfter time.Duration
	// MaxDuration hangs up (BYE) this long after the answer if nobody has
	// (default 60 s).
	MaxDuration time.Duration
	// LateOffer sends the INVITE without SDP (RFC 3261 §13.2.1): the far
	// end's offer comes in its 200 and the phone's answer goes in the ACK.
	// There is no early media then (that would need a reliable 183, RFC
	// 3262). Not with SRTP.
	LateOffer bool
	// SIPT makes the INVITE a SIP-T gateway's (RFC 3372): the ISUP IAM
	// the call would have had in the PSTN goes beside the SDP offer in a
	// multipart/mixed body (RFC 3204), or alone with LateOffer. Nil: none.
	SIPT *SIPT

	Behaviour

	// Phone configures the phone the package-level Call starts for the
	// call (Phone.Call ignores it).
	Phone PhoneConfig
}

// Outcome is how a call ended.
type Outcome string

// Outcomes.
const (
	OutcomeAnswered Outcome = "answered" // 200 OK (EndedBy says who hung up)
	OutcomeRejected Outcome = "rejected" // a final 4xx-6xx (Status, Reason); refused, on the answering side
	// OutcomeRedirected is a final 3xx not followed (Status, Reason): the
	// redirects allowed were used up (CallConfig.MaxRedirects), or its
	// Contact could not be followed.
	OutcomeRedirected Outcome = "redirected"
	OutcomeCancelled  Outcome = "cancelled" // hung up before the answer (the caller's CANCEL)
	OutcomeTimeout    Outcome = "timeout"   // no final answer within RingTimeout
	OutcomeFailed     Outcome = "failed"    // a transport or protocol error (Error)
)

// Redirect is a 3xx the call followed.
type Redirect struct {
	Status  int    `json:"status"`
	Reason  string `json:"reason"`
	Contact string `json:"contact"`
}

// Result is what a placed call saw.
type Result struct {
	Outcome Outcome `json:"outcome"`
	// Status and Reason are the final response to the last INVITE.
	Status    int        `json:"status,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	Redirects []Redirect `json:"redirects,omitempty"`
	// RequestURI is the last INVITE's (after redirects).
	RequestURI string `json:"requestURI"`
	CallID     string `json:"callID"`
	Answered   bool   `json:"answered"`
	// Media is the answer's audio transport: "RTP/AVP", or "RTP/SAVP
	// AES_CM_128_HMAC_SHA1_80" for SRTP (SDESMedia).
	Media string `json:"media,omitempty"`
	// EarlyMedia is set when RTP arrived before the answer.
	EarlyMedia bool `json:"earlyMedia"`
	// EndedBy is "local" or "remote" for an answered call.
	EndedBy string `json:"endedBy,omitempty"`
	// Prompts lists the prompts recognised, in the order heard.
	Prompts        []string      `json:"prompts"`
	DigitsSent     string        `json:"digitsSent,omitempty"`
	DigitsReceived string        `json:"digitsReceived,omitempty"`
	Probe          ProbeResult   `json:"probe"`
	RTP            RTPStats      `json:"rtp"`
	Duration       time.Duration `json:"-"`
	DurationMs     float64       `json:"durationMs"`
	Error          string        `json:"error,omitempty"`
	Timeline       []Event       `json:"timeline"`
}

// Heard reports whether prompt was recognised.
func (r *Result) Heard(prompt string) bool {
	return slices.Contains(r.Prompts, prompt)
}

// String renders the timeline and the outcome.
func (r *Result) String() string {
	return renderTimeline(r.Timeline)
}

// Call starts a phone (cfg.Phone), places the call, and closes the phone.
func Call(ctx context.Context, cfg CallConfig) (*Result, error) {
	p, err := NewPhone(ctx, cfg.Phone)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return p.Call(ctx, cfg)
}

// Call places a call and returns when it is over: rejected, cancelled,
// or answered and then hung up by either side. The error is for a
// configuration that cannot be used; what happened on the wire, failures
// included, is in the Result.
func (p *Phone) Call(ctx context.Context, cfg CallConfig) (*Result, error) {
	return p.call(ctx, cfg, nil)
}

// outCall is one placed call in progress.
type outCall struct {
	p   *Phone
	cfg CallConfig
	tl  *timeline
	s   *session
	res *Result

	mu         sync.Mutex
	dialog     *diago.DialogClientSession
	ringCancel context.CancelFunc
	answered   bool
	hungUp     bool
	timedOut   bool
	acked      bool // the phone's own ACK went out (a late offer's answer, offer.go); the call's goroutine only
	byeCh      chan struct{}
	// target is where in-dialog requests go: the Contact of the latest
	// 18x or 2xx, noted as it arrives (sipgo rewrites the dialog's
	// InviteResponse on every response, unlocked, while early media plays).
	target *gosip.Uri
}

func (p *Phone) call(ctx context.Context, cfg CallConfig, js *jitterSinks) (*Result, error) {
	b, err := cfg.Behaviour.resolve(true)
	if err != nil {
		return nil, err
	}
	if cfg.Target == "" {
		return nil, errors.New("call: no target (the Request-URI, e.g. sip:+13035550100@127.0.0.1:5060)")
	}
	var target gosip.Uri
	if err := gosip.ParseUri(cfg.Target, &target); err != nil {
		return nil, fmt.Errorf("call: target %q: %w", cfg.Target, err)
	}
	if cfg.MaxRedirects == 0 {
		cfg.MaxRedirects = 3
	}
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = 60 * time.Second
	}
	if cfg.MaxDuration <= 0 {
		cfg.MaxDuration = 60 * time.Second
	}
	c := &outCall{p: p, cfg: cfg, byeCh: make(chan struct{})}
	start := time.Now()
	c.tl = newTimeline(start, b.OnEvent)
	listen := js == nil || b.Identify
	c.s = newSession(ctx, c.tl, b, true, js)
	c.s.hangup = c.hangup
	c.s.sendInfo = c.sendInfo
	c.res = &Result{CallID: uuid.NewString(), RequestURI: cfg.Target}
	defer p.register(c.res.CallID, c.s)()

	if cfg.HangupAfter > 0 {
		t := time.AfterFunc(cfg.HangupAfter, func() {
			c.tl.note("hang-up time (%s after the INVITE)", cfg.HangupAfter)
			c.hangup()
		})
		defer t.Stop()
	}
	c.s.eng.trigger(EventStart, start)
	c.run(listen)
	c.s.stopMedia()
	c.finish(start)
	return c.res, nil
}

// run places the INVITE, following redirects, and lives the call.
func (c *outCall) run(listen bool) {
	target := c.cfg.Target
	for attempt := 0; ; attempt++ {
		d, med, err := c.invite(target, listen)
		if err == nil {
			c.connected(d, med, listen)
			return
		}
		if d == nil { // no INVITE went out
			c.res.Outcome, c.res.Error = OutcomeFailed, err.Error()
			c.tl.note("%v", err)
			return
		}
		var contact string
		status := c.classify(d, err)
		if status >= 300 && status < 400 && attempt < c.cfg.MaxRedirects {
			if h := d.InviteResponse.Contact(); h != nil {
				contact = h.Address.String()
			}
		}
		if med != nil {
			c.s.stopMediaOf(med)
		}
		d.Close()
		if contact == "" {
			return
		}
		c.res.Redirects = append(c.res.Redirects, Redirect{Status: status, Reason: c.res.Reason, Contact: contact})
		c.tl.note("following the %d to %s", status, contact)
		target = contact
		c.res.RequestURI = contact
		c.res.Status, c.res.Reason, c.res.Outcome = 0, "", ""
	}
}

// invite sends one INVITE to target and waits for its final answer
// (starting early media on a 183 with SDP). d is nil when no INVITE went
// out (a Contact or header that cannot be used).
func (c *outCall) invite(target string, listen bool) (*diago.DialogClientSession, *diago.DialogMedia, error) {
	var uri gosip.Uri
	if err := gosip.ParseUri(target, &uri); err != nil {
		return nil, nil, fmt.Errorf("Request-URI %q: %w", target, err)
	}
	headers, err := c.headers(uri)
	if err != nil {
		return nil, nil, err
	}
	d, err := c.p.dg.NewDialog(uri, diago.NewDialogOptions{Transport: c.p.transport})
	if err != nil {
		return nil, nil, fmt.Errorf("Request-URI %q: %w", target, err)
	}
	ringCtx, ringCancel := context.WithTimeout(c.s.ctx, c.cfg.RingTimeout)
	c.mu.Lock()
	c.dialog = d
	c.target = nil
	c.ringCancel = ringCancel
	hungUp := c.hungUp
	c.mu.Unlock()
	defer ringCancel()
	if hungUp {
		return d, nil, context.Canceled
	}
	c.tl.add(time.Now(), Event{Kind: KindSIP, Dir: "out", Method: "INVITE", Detail: uri.String() + c.bodyNote()})
	if c.cfg.LateOffer || c.cfg.SIPT != nil {
		med, err := c.inviteOwn(ringCtx, d, headers, listen)
		if err != nil && errors.Is(ringCtx.Err(), context.DeadlineExceeded) {
			c.mu.Lock()
			c.timedOut = true
			c.mu.Unlock()
		}
		return d, med, err
	}
	med, err := d.Invite(ringCtx, diago.InviteClientOptions{Headers: headers, OnResponse: c.onResponse, EarlyMediaDetect: true})
	if errors.Is(err, diago.ErrClientEarlyMedia) {
		if err := c.s.startMedia(med, true, listen, d.InviteResponse.Body()); err != nil {
			c.tl.note("early media: %v", err)
		}
		err = c.awaitAnswerAfterEarly(ringCtx, d, med)
	}
	if err != nil && errors.Is(ringCtx.Err(), context.DeadlineExceeded) {
		c.mu.Lock()
		c.timedOut = true
		c.mu.Unlock()
	}
	return d, med, err
}

// headers builds the INVITE's headers for a request to uri.
func (c *outCall) headers(uri gosip.Uri) ([]gosip.Header, error) {
	cfg := c.cfg
	callID := gosip.CallIDHeader(c.res.CallID)
	hs := []gosip.Header{&callID}
	from, err := c.fromHeader()
	if err != nil {
		return nil, err
	}
	hs = append(hs, from)
	toStr := cfg.To
	if toStr == "" {
		toStr = cfg.Target
	}
	var to gosip.Uri
	if err := gosip.ParseUri(toStr, &to); err != nil {
		return nil, fmt.Errorf("To %q: %w", toStr, err)
	}
	to.UriParams = nil // a To carries no URI parameters of the Request-URI (the token)
	to.Headers = nil
	hs = append(hs, &gosip.ToHeader{Address: to, Params: gosip.NewParams()})
	if cfg.PAssertedIdentity != "" {
		hs = append(hs, gosip.NewHeader("P-Asserted-Identity", c.uriOf(cfg.PAssertedIdentity)))
	}
	if cfg.Privacy != "" {
		hs = append(hs, gosip.NewHeader("Privacy", cfg.Privacy))
	}
	for _, d := range cfg.Diversion {
		hs = append(hs, gosip.NewHeader("Diversion", DiversionHeader(d)))
	}
	if len(cfg.HistoryInfo) > 0 {
		hs = append(hs, gosip.NewHeader("History-Info", HistoryInfoHeader(cfg.HistoryInfo, uri.String())))
	}
	for _, h := range cfg.Headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("header %q: want \"Name: value\"", h)
		}
		hs = append(hs, gosip.NewHeader(strings.TrimSpace(name), strings.TrimSpace(value)))
	}
	return hs, nil
}

// uriOf puts a number into a sip: URI at the phone's host; URIs pass.
func (c *outCall) uriOf(v string) string {
	if isHeaderForm(v) {
		if strings.HasPrefix(v, "<") || strings.HasPrefix(v, "\"") {
			return v
		}
		return "<" + v + ">"
	}
	return "<sip:" + v + "@" + c.p.host + ";user=phone>"
}

func (c *outCall) fromHeader() (*gosip.FromHeader, error) {
	v := strings.TrimSpace(c.cfg.From)
	switch {
	case v == "":
		v = "sip:" + c.p.cfg.UserAgent + "@" + c.p.host
	case strings.EqualFold(v, "anonymous"):
		return &gosip.FromHeader{DisplayName: "Anonymous", Address: gosip.Uri{Scheme: "sip", User: "anonymous", Host: "anonymous.invalid"}, Params: gosip.NewParams()}, nil
	case !isHeaderForm(v):
		v = "sip:" + v + "@" + c.p.host + ";user=phone"
	}
	var u gosip.Uri
	if err := gosip.ParseUri(strings.Trim(v, "<>"), &u); err != nil {
		return nil, fmt.Errorf("From %q: %w", c.cfg.From, err)
	}
	return &gosip.FromHeader{Address: u, Params: gosip.NewParams()}, nil
}

// onResponse records each response to the INVITE (on the goroutine
// waiting for the answer).
func (c *outCall) onResponse(r *gosip.Response) error {
	e := Event{Kind: KindSIP, Dir: "in", Status: r.StatusCode, Reason: r.Reason}
	if r.StatusCode >= 300 && r.StatusCode < 400 {
		if h := r.Contact(); h != nil {
			e.Detail = "Contact: " + h.Address.String()
		}
	}
	if r.StatusCode == 183 || (r.StatusCode == 200 && len(r.Body()) > 0) {
		if ct := r.ContentType(); ct != nil && ct.Value() == "application/sdp" && r.StatusCode == 183 {
			e.Detail = "with SDP"
		}
	}
	c.tl.add(time.Now(), e)
	if r.StatusCode > 100 && r.StatusCode < 300 {
		if h := r.Contact(); h != nil {
			c.mu.Lock()
			c.target = h.Address.Clone()
			c.mu.Unlock()
		}
	}
	switch {
	case r.StatusCode == 180:
		c.s.eng.trigger(EventRinging, time.Now())
	case r.StatusCode == 183 && len(r.Body()) > 0:
		c.s.eng.trigger(EventEarly, time.Now())
	}
	return nil
}

// classify records the end of an unanswered INVITE and returns its final
// status (0 when there was none).
func (c *outCall) classify(d *diago.DialogClientSession, err error) int {
	var re *sipgo.ErrDialogResponse
	var rv sipgo.ErrDialogResponse
	var res *gosip.Response
	switch {
	case errors.As(err, &re):
		res = re.Res
	case errors.As(err, &rv):
		res = rv.Res
	}
	c.mu.Lock()
	hungUp, timedOut := c.hungUp, c.timedOut
	c.mu.Unlock()
	switch {
	case res != nil:
		c.res.Outcome, c.res.Status, c.res.Reason = OutcomeRejected, res.StatusCode, res.Reason
		if res.StatusCode < 400 {
			c.res.Outcome = OutcomeRedirected
		}
		return res.StatusCode
	case hungUp || timedOut:
		c.res.Outcome = OutcomeCancelled
		if timedOut && !hungUp {
			c.res.Outcome = OutcomeTimeout
			c.tl.add(time.Now(), Event{Kind: KindSIP, Dir: "out", Method: "CANCEL", Detail: fmt.Sprintf("no answer in %s", c.cfg.RingTimeout)})
		}
		if r := d.InviteResponse; r != nil && r.StatusCode >= 300 {
			c.res.Status, c.res.Reason = r.StatusCode, r.Reason
			c.tl.add(time.Now(), Event{Kind: KindSIP, Dir: "in", Status: r.StatusCode, Reason: r.Reason})
		}
		return 0
	}
	c.res.Outcome, c.res.Error = OutcomeFailed, err.Error()
	c.tl.note("INVITE failed: %v", err)
	return 0
}

// connected lives an answered call until either side hangs up.
func (c *outCall) connected(d *diago.DialogClientSession, med *diago.DialogMedia, listen bool) {
	defer d.Close()
	c.s.answered.Store(true)
	c.mu.Lock()
	c.answered = true
	c.dialog = d
	hungUp := c.hungUp
	c.mu.Unlock()
	c.res.Outcome, c.res.Answered = OutcomeAnswered, true
	c.res.Status, c.res.Reason = d.InviteResponse.StatusCode, d.InviteResponse.Reason
	c.res.Media = SDESMedia(d.InviteResponse.Body())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !c.acked {
		if err := d.Ack(ctx); err != nil {
			c.tl.note("ACK: %v", err)
		}
		c.tl.add(time.Now(), Event{Kind: KindSIP, Dir: "out", Method: "ACK"})
	}
	if err := c.s.startMedia(med, false, listen, d.InviteResponse.Body()); err != nil {
		c.tl.note("media: %v", err)
	}
	c.s.eng.trigger(EventAnswer, time.Now())
	max := time.AfterFunc(c.cfg.MaxDuration, func() {
		c.tl.note("longest call time (%s) reached", c.cfg.MaxDuration)
		c.hangup()
	})
	defer max.Stop()
	if hungUp {
		c.bye(d)
		return
	}
	select {
	case <-d.Context().Done():
		c.res.EndedBy = "remote"
		c.s.awaitByeAnswered()
	case <-c.byeCh:
		c.bye(d)
	case <-c.p.ctx.Done():
		c.bye(d)
	}
}

func (c *outCall) bye(d *diago.DialogClientSession) {
	c.res.EndedBy = "local"
	c.tl.add(time.Now(), Event{Kind: KindSIP, Dir: "out", Method: "BYE"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Hangup(ctx); err != nil {
		var re sipgo.ErrDialogResponse
		if errors.As(err, &re) {
			c.tl.add(time.Now(), Event{Kind: KindSIP, Dir: "in", Status: re.Res.StatusCode, Reason: re.Res.Reason, Method: "BYE"})
			return
		}
		c.tl.note("BYE: %v", err)
		return
	}
	c.tl.add(time.Now(), Event{Kind: KindSIP, Dir: "in", Status: 200, Reason: "OK", Method: "BYE"})
}

// hangup ends the call: CANCEL before the answer, BYE after. Safe to call
// more than once and from any goroutine.
func (c *outCall) hangup() {
	c.mu.Lock()
	if c.hungUp {
		c.mu.Unlock()
		return
	}
	c.hungUp = true
	answered, ring := c.answered, c.ringCancel
	c.mu.Unlock()
	if answered {
		close(c.byeCh)
		return
	}
	c.tl.add(time.Now(), Event{Kind: KindSIP, Dir: "out", Method: "CANCEL"})
	if ring != nil {
		ring()
	}
}

// sendInfo sends one digit by SIP INFO in the call's dialog.
func (c *outCall) sendInfo(ctx context.Context, mode DTMFMode, digit rune) error {
	c.mu.Lock()
	d, target := c.dialog, c.target
	c.mu.Unlock()
	if d == nil || target == nil {
		return errors.New("no dialog to send INFO in yet (no 18x or 2xx with a Contact)")
	}
	return sendDTMFInfo(ctx, d.Do, c.tl, gosip.NewRequest(gosip.INFO, *target.Clone()), mode, digit, c.s.b.DTMFDuration)
}

// finish fills the result from the session once the call is over.
func (c *outCall) finish(start time.Time) {
	s := c.s
	r := c.res
	s.mu.Lock()
	r.Prompts = append([]string{}, s.prompts...)
	r.DigitsSent = s.sent.String()
	r.DigitsReceived = s.received.String()
	r.Probe = s.probe
	r.EarlyMedia = s.earlyMedia
	s.mu.Unlock()
	r.RTP = s.counter.stats()
	r.Duration = time.Since(start)
	r.DurationMs = ms(r.Duration)
	detail := string(r.Outcome)
	if r.Status != 0 {
		detail += fmt.Sprintf(" (%d %s)", r.Status, r.Reason)
	}
	if r.EndedBy != "" {
		detail += ", hung up by the " + map[string]string{"local": "caller (us)", "remote": "far end"}[r.EndedBy]
	}
	c.tl.add(time.Now(), Event{Kind: KindEnd, Detail: detail})
	r.Timeline = c.tl.sorted()
}
