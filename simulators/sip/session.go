package sip

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"

	"callgate/simulators/ssp/hist"
)

// session is one call's media and script on either side: it starts the
// RTP sender and receiver once media is negotiated (early or at the
// answer), turns what the receiver hears into timeline events and cue
// triggers, runs the script, and does the probe exchange. The side (call
// or answer) supplies how to hang up and how to send SIP INFO.
type session struct {
	tl     *timeline
	b      *resolved
	caller bool

	ctx    context.Context // ends with the call
	cancel context.CancelFunc

	answered atomic.Bool

	mu      sync.Mutex
	med     *diago.DialogMedia
	snd     *sender
	rx      *receiver
	lst     *listener
	counter *rtpCounter
	mediaAt time.Time
	// earlyMedia is set when RTP arrived before the answer.
	earlyMedia bool
	// mediaWG waits for the sender and receiver, mediaCancel stops the
	// sender; wg waits for everything else the session spawned.
	mediaWG     sync.WaitGroup
	mediaCancel context.CancelFunc
	wg          sync.WaitGroup
	prompts     []string
	sent        strings.Builder
	received    strings.Builder
	probe       ProbeResult
	replied     bool
	record      bool
	recorded    []int16

	eng *engine

	// byeIn is closed when a BYE from the far end arrives, byeAnswered
	// once it has been answered, so the call does not close the phone
	// before its 200 OK is out.
	byeIn, byeAnswered chan struct{}
	byeInOnce, byeOnce sync.Once

	// Supplied by the side.
	hangup   func()
	sendInfo func(ctx context.Context, mode DTMFMode, d rune) error
}

// maxRecording bounds what a voicemail keeps (5 minutes).
const maxRecording = 5 * 60 * SampleRate

// newSession starts a call's session; js are a load run's shared jitter
// histograms (nil: the session keeps its own).
func newSession(parent context.Context, tl *timeline, b *resolved, caller bool, js *jitterSinks) *session {
	s := &session{tl: tl, b: b, caller: caller, counter: &rtpCounter{}}
	if js != nil {
		s.counter.jitter, s.counter.kjitter = js.user, js.kernel
	}
	if s.counter.jitter == nil {
		s.counter.jitter = new(hist.Histogram)
	}
	if s.counter.kjitter == nil {
		s.counter.kjitter = new(hist.Histogram)
	}
	s.byeIn, s.byeAnswered = make(chan struct{}), make(chan struct{})
	s.ctx, s.cancel = context.WithCancel(parent)
	s.probe = ProbeResult{SentHz: b.Probe.SendHz, ExpectHz: b.Probe.ExpectHz}
	s.eng = newEngine(s)
	return s
}

// codecs returns the negotiated audio payload type and telephone-event
// payload types (send, receive; -1 when none).
func codecs(med *diago.DialogMedia) (audio uint8, evSend, evRecv int, err error) {
	sess := med.MediaSession()
	if sess == nil {
		return 0, -1, -1, fmt.Errorf("no media session")
	}
	evSend, evRecv = -1, -1
	for _, c := range sess.CommonCodecs() {
		if c.Matches(media.CodecTelephoneEvent8000) {
			if evSend < 0 {
				evSend, evRecv = int(c.PayloadType), int(c.PayloadTypeRecv())
			}
		}
	}
	c := media.CodecAudioFromSession(sess)
	switch c.PayloadType {
	case ptPCMU, ptPCMA:
		return c.PayloadType, evSend, evRecv, nil
	}
	return 0, -1, -1, fmt.Errorf("negotiated codec %s: the simulator speaks PCMU and PCMA only", c.Name)
}

// startMedia starts sending and receiving on med (once per call: the
// answer reuses early media's session). listen is false in a load run
// without identification. remote is the far end's SDP that set the media
// up: over SRTP (SDESMedia) packets are read through diago, which
// decrypts them, rather than from the socket with kernel receive times.
func (s *session) startMedia(med *diago.DialogMedia, early, listen bool, remote []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.med != nil {
		return nil
	}
	pt, evSend, evRecv, err := codecs(med)
	if err != nil {
		return err
	}
	if med.RTPPacketReader == nil || med.RTPPacketWriter == nil {
		return fmt.Errorf("media without an RTP session")
	}
	s.med = med
	s.snd = newSender(med.RTPPacketWriter, pt, evSend, !s.b.NoSilence, s.b.DTMFDuration)
	var lst *listener
	if listen {
		lst = newListener(s.b.Prompts, []float64{s.b.Probe.ExpectHz}, s.b.Probe.MinHeard, s.heard)
	}
	s.lst = lst
	s.rx = &receiver{reader: med.RTPPacketReader, eventPT: evRecv, listener: lst, counter: s.counter,
		onDTMF: s.dtmfIn, onFirst: s.firstRTP}
	transport := SDESMedia(remote)
	var sock *stampedConn
	if strings.HasPrefix(transport, "RTP/SAVP") {
		s.tl.note("SRTP (%s): RTP arrival times from sipsim's clock (diago decrypts)", transport)
	} else if sock, err = openStamped(localRTP(med)); err != nil {
		s.tl.note("RTP arrival times from sipsim's clock only (no kernel receive times): %v", err)
	} else {
		s.rx.sock = sock
	}
	if s.record {
		s.rx.onPCM = s.keep
	}
	codec := "PCMU"
	if pt == ptPCMA {
		codec = "PCMA"
	}
	ev := "no telephone-event"
	if evSend >= 0 {
		ev = fmt.Sprintf("telephone-event/%d", evSend)
	}
	s.tl.note("media: %s, %s, local %s remote %s", codec, ev, med.MediaSession().Laddr.String(), med.MediaSession().Raddr.String())
	mctx, cancel := context.WithCancel(s.ctx)
	s.mediaCancel = cancel
	if sock != nil {
		// diago closing its media does not end reads on our handle.
		context.AfterFunc(mctx, func() { _ = sock.close() })
	}
	snd, rx := s.snd, s.rx
	s.mediaWG.Add(2)
	go func() {
		defer s.mediaWG.Done()
		snd.run(mctx)
	}()
	go func() {
		defer s.mediaWG.Done()
		if err := rx.run(); err != nil {
			s.tl.note("RTP receive: %v", err)
		}
	}()
	return nil
}

// localRTP is the address the media session's RTP socket is bound to.
func localRTP(med *diago.DialogMedia) netip.AddrPort {
	la := med.MediaSession().Laddr
	ip, _ := netip.AddrFromSlice(la.IP)
	return netip.AddrPortFrom(ip.Unmap(), uint16(la.Port))
}

// stopMediaOf ends the media of an attempt that did not become the call
// (early media, then a redirect): the next attempt starts afresh.
func (s *session) stopMediaOf(med *diago.DialogMedia) {
	s.mu.Lock()
	if s.med != med {
		s.mu.Unlock()
		med.Close()
		return
	}
	cancel, lst := s.mediaCancel, s.lst
	s.mu.Unlock()
	med.Close()
	cancel()
	s.mediaWG.Wait()
	if lst != nil {
		lst.flush()
	}
	s.mu.Lock()
	s.med, s.snd, s.rx, s.lst, s.mediaCancel = nil, nil, nil, nil, nil
	s.mu.Unlock()
}

// stopMedia ends the media (closing the session ends the receiver) and
// waits for the goroutines; it then settles what the listener still held.
func (s *session) stopMedia() {
	s.cancel()
	s.eng.stop()
	s.mu.Lock()
	med, lst := s.med, s.lst
	s.mu.Unlock()
	if med != nil {
		med.Close()
	}
	s.mediaWG.Wait()
	s.wg.Wait()
	if lst != nil {
		lst.flush()
	}
}

// byeArrived marks a BYE from the far end arrived, answeredBye answered
// (the middleware calls them before and after diago handles it).
func (s *session) byeArrived()  { s.byeInOnce.Do(func() { close(s.byeIn) }) }
func (s *session) answeredBye() { s.byeOnce.Do(func() { close(s.byeAnswered) }) }

// maxByeAnswer bounds the wait for our answer to the far end's BYE. The
// answer is one write once the dialog has ended; the bound only guards
// against a handler that never returns.
const maxByeAnswer = 10 * time.Second

// awaitByeAnswered waits, when the far end's BYE ended the dialog, until
// our 200 OK to it is out: sipgo ends a caller's dialog (its context)
// before it answers the BYE, and closing the phone first would lose the
// answer. A dialog that ended some other way has no answer to wait for.
func (s *session) awaitByeAnswered() {
	select {
	case <-s.byeIn:
	default:
		return
	}
	t := time.NewTimer(maxByeAnswer)
	defer t.Stop()
	select {
	case <-s.byeAnswered:
	case <-t.C:
		s.tl.note("our answer to the far end's BYE was not out after %s", maxByeAnswer)
	}
}

func (s *session) spawn(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

func (s *session) firstRTP(at time.Time) {
	early := !s.answered.Load()
	s.mu.Lock()
	s.mediaAt = at
	s.earlyMedia = early
	s.mu.Unlock()
	s.tl.add(at, Event{Kind: KindMedia, Dir: "in", Early: early})
	s.eng.trigger(EventMedia, at)
	s.eng.startFallbacks()
}

// keep records received audio (voicemail).
func (s *session) keep(pcm []int16) {
	s.mu.Lock()
	if len(s.recorded)+len(pcm) <= maxRecording {
		s.recorded = append(s.recorded, pcm...)
	}
	s.mu.Unlock()
}

// heard handles what the listener recognised (on the receiver goroutine).
func (s *session) heard(h heard) {
	early := !s.answered.Load()
	switch h.kind {
	case heardPrompt:
		s.mu.Lock()
		s.prompts = append(s.prompts, h.prompt)
		s.mu.Unlock()
		s.tl.add(h.start, Event{Kind: KindPrompt, Dir: "in", Prompt: h.prompt, Score: h.score, Dur: h.end.Sub(h.start), Early: early})
		s.eng.sawPrompt(h)
		s.eng.trigger(h.prompt, time.Now())
	case heardSpeech:
		s.tl.add(h.start, Event{Kind: KindSpeech, Dir: "in", Dur: h.end.Sub(h.start), Early: early})
		s.eng.trigger(EventSpeech, time.Now())
	case heardTone:
		s.mu.Lock()
		first := !s.probe.Heard
		s.probe.Heard = true
		if first {
			s.probe.HeardAtMs = ms(h.start.Sub(s.tl.start))
		}
		// Answer the first tone heard with ours, unless ours went out
		// already (the side that started the exchange).
		reply := first && !s.probe.Sent && !s.replied && !s.b.Probe.Off
		s.replied = s.replied || reply
		s.mu.Unlock()
		s.tl.add(h.start, Event{Kind: KindTone, Dir: "in", Hz: h.hz, Early: early})
		s.eng.trigger(EventTone, time.Now())
		if reply {
			s.spawn(func() { s.sendProbe(s.ctx, "in answer to the other side's") })
		}
	}
}

func (s *session) dtmfIn(d rune, at time.Time) {
	s.mu.Lock()
	s.received.WriteRune(d)
	s.mu.Unlock()
	s.tl.add(at, Event{Kind: KindDTMF, Dir: "in", Digits: string(d), Detail: "RFC 4733"})
	s.eng.trigger(EventDTMF, at)
}

// infoIn handles a digit received by SIP INFO.
func (s *session) infoIn(d rune, ct string) {
	s.mu.Lock()
	s.received.WriteRune(d)
	s.mu.Unlock()
	s.tl.add(time.Now(), Event{Kind: KindDTMF, Dir: "in", Digits: string(d), Detail: "INFO " + ct})
	s.eng.trigger(EventDTMF, time.Now())
}

func (s *session) sender() *sender {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snd
}

// sendProbe plays the probe tone (why says what started it).
func (s *session) sendProbe(ctx context.Context, why string) error {
	snd := s.sender()
	if snd == nil {
		s.tl.note("probe: no media yet, not sent")
		return nil
	}
	now := time.Now()
	s.mu.Lock()
	if !s.probe.Sent {
		s.probe.Sent = true
		s.probe.SentAtMs = ms(now.Sub(s.tl.start))
	}
	s.mu.Unlock()
	s.tl.add(now, Event{Kind: KindPlay, Dir: "out", Detail: fmt.Sprintf("probe tone %.0f Hz, %s", s.b.Probe.SendHz, why), Dur: s.b.Probe.Duration})
	return snd.Play(ctx, Tone(s.b.Probe.SendHz, s.b.Probe.Duration, 0.5))
}

// probeTries is how many times the answering phone sends its tone.
const probeTries = 5

// initiateProbe is the answering phone's side of the probe exchange: once
// the script is idle and the line quiet for a second, send the tone, and
// again until the caller's is heard (probeTries, four seconds apart).
func (s *session) initiateProbe() {
	for try := 0; try < probeTries; try++ {
		for {
			if s.ctx.Err() != nil || s.probeHeard() {
				return
			}
			if s.eng.idle() && s.quietFor() >= time.Second {
				break
			}
			if !sleep(s.ctx, 100*time.Millisecond) {
				return
			}
		}
		why := "the line is quiet"
		if try > 0 {
			why = "no answer tone yet"
		}
		if s.sendProbe(s.ctx, why) != nil {
			return
		}
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			if s.probeHeard() {
				return
			}
			if !sleep(s.ctx, 100*time.Millisecond) {
				return
			}
		}
	}
}

func (s *session) probeHeard() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.probe.Heard
}

// quietFor returns how long no sound has been heard (since media started
// when there was none); 0 before media.
func (s *session) quietFor() time.Duration {
	s.mu.Lock()
	lst, since := s.lst, s.mediaAt
	s.mu.Unlock()
	if since.IsZero() {
		return 0
	}
	if lst == nil {
		return time.Since(since)
	}
	return lst.quietFor(time.Now())
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

// keyDigits sends digits in mode ("" is the call's).
func (s *session) keyDigits(ctx context.Context, digits string, mode DTMFMode) error {
	if mode == "" {
		mode = s.b.DTMFMode
	}
	snd := s.sender()
	if snd == nil && mode == DTMFRFC4733 {
		s.tl.note("DTMF %s: no media yet, not sent", digits)
		return nil
	}
	detail := "RFC 4733"
	if mode != DTMFRFC4733 {
		ct, _ := DTMFInfoBody(mode, '0', 0)
		detail = "INFO " + ct
	}
	s.tl.add(time.Now(), Event{Kind: KindDTMF, Dir: "out", Digits: digits, Detail: detail})
	sent := func(d rune) {
		s.mu.Lock()
		s.sent.WriteRune(d)
		s.mu.Unlock()
	}
	for _, d := range digits {
		if mode == DTMFRFC4733 {
			started, err := snd.Digit(ctx, d)
			if started {
				sent(d)
			}
			if err != nil {
				return s.dtmfFailed(ctx, d, err)
			}
		} else {
			if err := s.sendInfo(ctx, mode, d); err != nil {
				return s.dtmfFailed(ctx, d, err)
			}
			sent(d)
			if !sleep(ctx, s.b.DTMFDuration) {
				return ctx.Err()
			}
		}
		if !sleep(ctx, s.b.DTMFGap) {
			return ctx.Err()
		}
	}
	return nil
}

// dtmfFailed notes a digit that could not be sent (unless the call is
// simply over).
func (s *session) dtmfFailed(ctx context.Context, d rune, err error) error {
	if ctx.Err() == nil {
		s.tl.note("DTMF %c: %v", d, err)
	}
	return err
}
