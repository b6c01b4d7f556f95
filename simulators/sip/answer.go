package sip

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	gosip "github.com/emiago/sipgo/sip"
)

// AnswerMode is what answers.
type AnswerMode string

// Answer modes.
const (
	// ModePhone is the subscriber's phone: it rings, answers (or not),
	// hears the prompts and the caller's name, keys its choice by script
	// and does the probe exchange once bridged.
	ModePhone AnswerMode = "phone"
	// ModeVoicemail is a voicemail platform: it answers, records what it
	// hears and reports the mailbox the redirection headers name.
	ModeVoicemail AnswerMode = "voicemail"
)

// AnswerConfig is how incoming calls are handled.
type AnswerConfig struct {
	Mode AnswerMode // default ModePhone
	// Respond, when 300-699, refuses every call with that status (486
	// Busy Here, 603 Decline, ...) after 100 Trying; 0 answers.
	Respond int
	// RingFor is how long to ring (180 Ringing) before answering (0:
	// answer at once; a voicemail never rings unless asked).
	RingFor time.Duration
	// NoAnswer rings until the caller gives up (CANCEL).
	NoAnswer bool
	// HangupAfter hangs up (BYE) this long after answering.
	HangupAfter time.Duration
	// MaxDuration hangs up this long after answering if nobody has
	// (default 60 s).
	MaxDuration time.Duration
	// RecordDir, in voicemail mode, is where each recording is written as
	// a WAV file (none when empty).
	RecordDir string

	Behaviour

	// Set by Load: shared jitter histograms (prompt recognition only
	// with Identify) and a sink for each result.
	jitter   *jitterSinks
	onResult func(*AnswerResult)
}

// AnswerResult is what one answered (or refused, or cancelled) call saw.
type AnswerResult struct {
	Outcome Outcome `json:"outcome"`
	// Status is the final response we sent (200, or the refusal).
	Status int `json:"status,omitempty"`
	// Media is the offer's audio transport (SDESMedia).
	Media      string `json:"media,omitempty"`
	CallID     string `json:"callID"`
	RequestURI string `json:"requestURI"`
	From       string `json:"from"`
	To         string `json:"to"`
	// PAssertedIdentity, Diversion and HistoryInfo are the headers
	// received (each header's value, in order).
	PAssertedIdentity string   `json:"pAssertedIdentity,omitempty"`
	Diversion         []string `json:"diversion,omitempty"`
	HistoryInfo       []string `json:"historyInfo,omitempty"`
	// Mailbox is the voicemail box those headers name (PickMailbox).
	Mailbox Mailbox `json:"mailbox"`
	// Cancelled is set when the caller's CANCEL arrived while ringing.
	Cancelled      bool        `json:"cancelled,omitempty"`
	EndedBy        string      `json:"endedBy,omitempty"`
	Prompts        []string    `json:"prompts"`
	Speech         int         `json:"speechSegments"`
	DigitsSent     string      `json:"digitsSent,omitempty"`
	DigitsReceived string      `json:"digitsReceived,omitempty"`
	Probe          ProbeResult `json:"probe"`
	RTP            RTPStats    `json:"rtp"`
	// RecordedMs is how much audio a voicemail kept; RecordFile where.
	RecordedMs float64       `json:"recordedMs,omitempty"`
	RecordFile string        `json:"recordFile,omitempty"`
	Duration   time.Duration `json:"-"`
	DurationMs float64       `json:"durationMs"`
	Error      string        `json:"error,omitempty"`
	Timeline   []Event       `json:"timeline"`
}

// Heard reports whether prompt was recognised.
func (r *AnswerResult) Heard(prompt string) bool {
	return slices.Contains(r.Prompts, prompt)
}

// String renders the timeline.
func (r *AnswerResult) String() string {
	return renderTimeline(r.Timeline)
}

// Answerer answers a phone's incoming calls; each call's result is
// delivered by Next.
type Answerer struct {
	p       *Phone
	cfg     AnswerConfig
	b       *resolved
	results chan *AnswerResult
	ctx     context.Context
	cancel  context.CancelFunc
	own     bool // the phone was started for this answerer

	mu      sync.Mutex
	calls   int           // calls in progress
	idleCh  chan struct{} // closed when the last call in progress ends
	stopped bool
}

// closedCh is a channel that is always closed.
var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// begin counts a call in progress (false once stopping); end uncounts it.
func (a *Answerer) begin() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return false
	}
	if a.calls == 0 {
		a.idleCh = make(chan struct{})
	}
	a.calls++
	return true
}

func (a *Answerer) end() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls--
	if a.calls == 0 {
		close(a.idleCh)
	}
}

// idle returns a channel closed once no call is in progress.
func (a *Answerer) idle() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.calls == 0 {
		return closedCh
	}
	return a.idleCh
}

// Answer starts a phone (pc) that answers calls as cfg says.
func Answer(ctx context.Context, pc PhoneConfig, cfg AnswerConfig) (*Answerer, error) {
	p, err := NewPhone(ctx, pc)
	if err != nil {
		return nil, err
	}
	a, err := p.Answer(cfg)
	if err != nil {
		p.Close()
		return nil, err
	}
	a.own = true
	return a, nil
}

// Answer makes the phone answer incoming calls as cfg says (replacing any
// earlier Answer). Without one, a phone answers 486 Busy Here.
func (p *Phone) Answer(cfg AnswerConfig) (*Answerer, error) {
	a, err := p.newAnswerer(cfg)
	if err != nil {
		return nil, err
	}
	if old := p.answerer.Swap(a); old != nil {
		old.stop()
	}
	return a, nil
}

// AnswerUser makes the phone answer the calls whose Request-URI user is
// user as cfg says (replacing any earlier AnswerUser for it), ahead of
// Answer: one phone then plays several subscribers, each with its own
// behaviour, as a test whose callgate calls every subscriber at one
// address needs. Closing the answerer leaves the phone running.
func (p *Phone) AnswerUser(user string, cfg AnswerConfig) (*Answerer, error) {
	a, err := p.newAnswerer(cfg)
	if err != nil {
		return nil, err
	}
	if old, ok := p.users.Swap(user, a); ok {
		old.(*Answerer).stop()
	}
	return a, nil
}

func (p *Phone) newAnswerer(cfg AnswerConfig) (*Answerer, error) {
	if cfg.Mode == "" {
		cfg.Mode = ModePhone
	}
	if cfg.Mode != ModePhone && cfg.Mode != ModeVoicemail {
		return nil, fmt.Errorf("answer mode %q: want phone or voicemail", cfg.Mode)
	}
	if cfg.Respond != 0 && (cfg.Respond < 300 || cfg.Respond > 699) {
		return nil, fmt.Errorf("respond %d: want a final status 300-699 (e.g. 486 busy, 603 decline), or 0 to answer", cfg.Respond)
	}
	if cfg.MaxDuration <= 0 {
		cfg.MaxDuration = 60 * time.Second
	}
	if cfg.RecordDir != "" {
		if st, err := os.Stat(cfg.RecordDir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("record directory %q: not a directory", cfg.RecordDir)
		}
	}
	b, err := cfg.Behaviour.resolve(false)
	if err != nil {
		return nil, err
	}
	a := &Answerer{p: p, cfg: cfg, b: b, results: make(chan *AnswerResult, 1024)}
	a.ctx, a.cancel = context.WithCancel(p.ctx)
	return a, nil
}

// Addr is the answering phone's SIP address.
func (a *Answerer) Addr() string { return a.p.Addr() }

// URI returns a SIP URI with user at the answering phone.
func (a *Answerer) URI(user string) string { return a.p.URI(user) }

// Next returns the next finished call's result, waiting for it.
func (a *Answerer) Next(ctx context.Context) (*AnswerResult, error) {
	select {
	case r := <-a.results:
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops answering (calls in progress end); a phone started by the
// package-level Answer is closed too.
func (a *Answerer) Close() error {
	a.stop()
	if a.own {
		return a.p.Close()
	}
	return nil
}

func (a *Answerer) stop() {
	a.mu.Lock()
	a.stopped = true
	a.mu.Unlock()
	a.cancel()
	<-a.idle()
}

// handle answers one incoming call (diago's serve goroutine).
func (a *Answerer) handle(d *diago.DialogServerSession) {
	if a.ctx.Err() != nil || !a.begin() {
		_ = d.Respond(gosip.StatusServiceUnavailable, "Service Unavailable", nil)
		return
	}
	defer a.end()
	start := time.Now()
	tl := newTimeline(start, a.b.OnEvent)
	req := d.InviteRequest
	res := &AnswerResult{CallID: req.CallID().Value(), RequestURI: req.Recipient.String(), Media: SDESMedia(req.Body())}
	if h := req.From(); h != nil {
		res.From = h.Address.String()
	}
	if h := req.To(); h != nil {
		res.To = h.Address.String()
	}
	if h := req.GetHeader("P-Asserted-Identity"); h != nil {
		res.PAssertedIdentity = h.Value()
	}
	for _, h := range req.GetHeaders("Diversion") {
		res.Diversion = append(res.Diversion, h.Value())
	}
	for _, h := range req.GetHeaders("History-Info") {
		res.HistoryInfo = append(res.HistoryInfo, h.Value())
	}
	res.Mailbox = PickMailbox(res.Diversion, res.HistoryInfo, res.To)
	detail := fmt.Sprintf("%s from %s", res.RequestURI, res.From)
	if len(res.Diversion) > 0 {
		detail += "; Diversion: " + strings.Join(res.Diversion, ", ")
	}
	if len(res.HistoryInfo) > 0 {
		detail += "; History-Info: " + strings.Join(res.HistoryInfo, ", ")
	}
	tl.add(start, Event{Kind: KindSIP, Dir: "in", Method: "INVITE", Detail: detail})

	s := newSession(a.ctx, tl, a.b, false, a.cfg.jitter)
	s.record = a.cfg.Mode == ModeVoicemail
	defer a.p.register(res.CallID, s)()
	c := &inCall{a: a, d: d, s: s, tl: tl, res: res, byeCh: make(chan struct{})}
	s.hangup = c.hangup
	s.sendInfo = c.sendInfo
	s.eng.trigger(EventStart, start)
	c.run()
	s.stopMedia()
	c.finish(start)
	if a.cfg.onResult != nil {
		a.cfg.onResult(res)
		return
	}
	select {
	case a.results <- res:
	default: // nobody reads: keep the latest 1024
	}
}

// inCall is one incoming call in progress.
type inCall struct {
	a   *Answerer
	d   *diago.DialogServerSession
	s   *session
	tl  *timeline
	res *AnswerResult

	mu       sync.Mutex
	answered bool
	hungUp   bool
	byeCh    chan struct{}
}

// respond sends a response to the INVITE. A final refusal returns only
// once its ACK has come (or the transaction has timed out: sipgo's
// Respond waits, and diago would answer 480 over it if the call ended
// sooner), so the event is stamped when the response went out.
func (c *inCall) respond(code int, reason string) error {
	at := time.Now()
	err := c.d.Respond(code, reason, nil)
	c.tl.add(at, Event{Kind: KindSIP, Dir: "out", Status: code, Reason: reason})
	return err
}

func (c *inCall) run() {
	cfg := c.a.cfg
	d := c.d
	if err := c.respond(gosip.StatusTrying, "Trying"); err != nil {
		c.fail(err)
		return
	}
	if cfg.Respond != 0 {
		reason := statusReason(cfg.Respond)
		c.res.Outcome, c.res.Status = OutcomeRejected, cfg.Respond
		if err := c.respond(cfg.Respond, reason); err != nil {
			c.fail(err)
		}
		return
	}
	if cfg.NoAnswer || cfg.RingFor > 0 || cfg.Mode == ModePhone {
		if err := c.respond(gosip.StatusRinging, "Ringing"); err != nil {
			c.fail(err)
			return
		}
	}
	var ring <-chan time.Time
	if !cfg.NoAnswer {
		t := time.NewTimer(cfg.RingFor)
		defer t.Stop()
		ring = t.C
	}
	select {
	case <-ring:
	case <-d.Context().Done():
		c.res.Outcome, c.res.Cancelled = OutcomeCancelled, true
		why := "CANCEL"
		if cause := context.Cause(d.Context()); cause != nil && !errors.Is(cause, gosip.ErrTransactionCanceled) && !errors.Is(cause, context.Canceled) {
			why = cause.Error()
		}
		c.tl.add(time.Now(), Event{Kind: KindSIP, Dir: "in", Method: why})
		return
	case <-c.byeCh: // hung up by the script while ringing
		c.res.Outcome, c.res.Status = OutcomeRejected, gosip.StatusTemporarilyUnavailable
		_ = c.respond(gosip.StatusTemporarilyUnavailable, "Temporarily Unavailable")
		return
	case <-c.a.ctx.Done():
		_ = c.respond(gosip.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	c.tl.add(time.Now(), Event{Kind: KindSIP, Dir: "out", Status: 200, Reason: "OK"})
	med, err := d.Answer(diago.AnswerOptions{})
	if err != nil {
		c.fail(err)
		return
	}
	c.tl.add(time.Now(), Event{Kind: KindSIP, Dir: "in", Method: "ACK"})
	c.s.answered.Store(true)
	c.mu.Lock()
	c.answered = true
	hungUp := c.hungUp
	c.mu.Unlock()
	c.res.Outcome, c.res.Status = OutcomeAnswered, 200
	listen := c.a.cfg.jitter == nil || c.s.b.Identify
	if err := c.s.startMedia(med, false, listen, c.d.InviteRequest.Body()); err != nil {
		c.tl.note("media: %v", err)
	}
	c.s.eng.trigger(EventAnswer, time.Now())
	if cfg.Mode == ModePhone && !c.s.b.Probe.Off {
		c.s.spawn(c.s.initiateProbe)
	}
	var after <-chan time.Time
	if cfg.HangupAfter > 0 {
		t := time.NewTimer(cfg.HangupAfter)
		defer t.Stop()
		after = t.C
	}
	longest := time.NewTimer(cfg.MaxDuration)
	defer longest.Stop()
	if hungUp {
		c.bye()
		return
	}
	select {
	case <-d.Context().Done():
		c.res.EndedBy = "remote"
		c.s.awaitByeAnswered()
	case <-c.byeCh:
		c.bye()
	case <-after:
		c.tl.note("hang-up time (%s after answering)", cfg.HangupAfter)
		c.bye()
	case <-longest.C:
		c.tl.note("longest call time (%s) reached", cfg.MaxDuration)
		c.bye()
	case <-c.a.ctx.Done():
		c.bye()
	}
}

func (c *inCall) fail(err error) {
	if c.res.Outcome == "" {
		c.res.Outcome = OutcomeFailed
	}
	c.res.Error = err.Error()
	c.tl.note("%v", err)
}

func (c *inCall) bye() {
	c.res.EndedBy = "local"
	c.tl.add(time.Now(), Event{Kind: KindSIP, Dir: "out", Method: "BYE"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.d.Hangup(ctx); err != nil {
		c.tl.note("BYE: %v", err)
		return
	}
	c.tl.add(time.Now(), Event{Kind: KindSIP, Dir: "in", Status: 200, Reason: "OK", Method: "BYE"})
}

func (c *inCall) hangup() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hungUp {
		return
	}
	c.hungUp = true
	close(c.byeCh)
}

func (c *inCall) sendInfo(ctx context.Context, mode DTMFMode, digit rune) error {
	contact := c.d.InviteRequest.Contact()
	if contact == nil {
		return errors.New("the INVITE had no Contact to send INFO to")
	}
	return sendDTMFInfo(ctx, c.d.Do, c.tl, gosip.NewRequest(gosip.INFO, contact.Address), mode, digit, c.s.b.DTMFDuration)
}

func (c *inCall) finish(start time.Time) {
	s, r := c.s, c.res
	s.mu.Lock()
	r.Prompts = append([]string{}, s.prompts...)
	r.DigitsSent = s.sent.String()
	r.DigitsReceived = s.received.String()
	r.Probe = s.probe
	recorded := s.recorded
	s.mu.Unlock()
	r.RTP = s.counter.stats()
	for _, e := range c.tl.sorted() {
		if e.Kind == KindSpeech {
			r.Speech++
		}
	}
	if c.a.cfg.Mode == ModeVoicemail {
		r.RecordedMs = ms(time.Duration(len(recorded)) * time.Second / SampleRate)
		if c.a.cfg.RecordDir != "" && len(recorded) > 0 {
			name := fmt.Sprintf("vm-%s-%s.wav", safeName(r.Mailbox.Number), start.Format("20060102-150405.000"))
			path := filepath.Join(c.a.cfg.RecordDir, name)
			if err := os.WriteFile(path, EncodeWAV(recorded), 0o644); err != nil {
				c.tl.note("recording: %v", err)
			} else {
				r.RecordFile = path
			}
		}
	}
	r.Duration = time.Since(start)
	r.DurationMs = ms(r.Duration)
	detail := string(r.Outcome)
	if r.Status != 0 && r.Outcome != OutcomeAnswered {
		detail += fmt.Sprintf(" (%d %s)", r.Status, statusReason(r.Status))
	}
	if r.EndedBy != "" {
		detail += ", hung up by the " + map[string]string{"local": "callee (us)", "remote": "far end"}[r.EndedBy]
	}
	if c.a.cfg.Mode == ModeVoicemail {
		detail += fmt.Sprintf("; mailbox %s (from %s), %.1fs recorded", r.Mailbox.Number, r.Mailbox.Source, r.RecordedMs/1000)
	}
	c.tl.add(time.Now(), Event{Kind: KindEnd, Detail: detail})
	r.Timeline = c.tl.sorted()
}

func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '+' || r == '-' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// statusReason is the reason phrase sent with a status.
func statusReason(code int) string {
	switch code {
	case 404:
		return "Not Found"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 503:
		return "Service Unavailable"
	case 600:
		return "Busy Everywhere"
	case 603:
		return "Decline"
	}
	switch {
	case code < 400:
		return "Redirect"
	case code < 500:
		return "Client Error"
	case code < 600:
		return "Server Error"
	}
	return "Global Failure"
}
