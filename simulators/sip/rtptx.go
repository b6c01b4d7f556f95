package sip

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago/media"
	"github.com/zaf/g711"
)

// packetSamples is one 20 ms G.711 packet.
const packetSamples = SampleRate / 50

// sender is the one goroutine that writes a call's outgoing RTP, every
// 20 ms like a real phone: queued audio (a name, a probe tone), RFC 4733
// telephone-events for queued digits, and silence in between (unless
// silence is off, or RTP is stopped to let the far end's RTP timer fire).
type sender struct {
	w       *media.RTPPacketWriter
	pt      uint8 // PCMU or PCMA
	eventPT int   // -1: no telephone-event negotiated
	silence bool
	dtmfDur time.Duration

	stopped atomic.Bool // rtp-off

	mu    sync.Mutex
	queue []*sendItem
	wake  chan struct{}
}

// sendItem is audio or one digit; done is closed once it is sent.
type sendItem struct {
	pcm     []int16
	digit   rune
	done    chan struct{}
	started atomic.Bool // its first packet went out
}

func newSender(w *media.RTPPacketWriter, pt uint8, eventPT int, silence bool, dtmfDur time.Duration) *sender {
	w.ClockDisable() // we pace ourselves and use WriteSamples only
	return &sender{w: w, pt: pt, eventPT: eventPT, silence: silence, dtmfDur: dtmfDur, wake: make(chan struct{}, 1)}
}

// enqueue adds an item and waits until it is sent or ctx ends.
func (s *sender) enqueue(ctx context.Context, it *sendItem) error {
	it.done = make(chan struct{})
	s.mu.Lock()
	s.queue = append(s.queue, it)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	select {
	case <-it.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Play sends pcm and returns once it has been sent.
func (s *sender) Play(ctx context.Context, pcm []int16) error {
	return s.enqueue(ctx, &sendItem{pcm: pcm})
}

// Digit sends one RFC 4733 digit and returns once it has been sent;
// started reports whether it began to go out (a call ended by the far
// end as soon as it recognised the digit still counts it as sent).
func (s *sender) Digit(ctx context.Context, d rune) (started bool, err error) {
	if s.eventPT < 0 {
		return false, errors.New("telephone-event was not negotiated: use SIP INFO for DTMF")
	}
	it := &sendItem{digit: d}
	err = s.enqueue(ctx, it)
	return it.started.Load(), err
}

func (s *sender) next() *sendItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return nil
	}
	it := s.queue[0]
	s.queue = s.queue[1:]
	return it
}

// packetDur is one packet's time; maxBurst how many overdue packets a
// late sender still sends at once.
const (
	packetDur = 20 * time.Millisecond
	maxBurst  = 5
)

// pacer keeps a sender on the wall clock: packet n goes out at start +
// n×20 ms. A sender that was late sends what is due at once (a short
// burst, which the far end's jitter buffer absorbs) instead of dropping
// packets the way a time.Ticker drops ticks; more than maxBurst packets
// behind, or back from idle, it skips ahead and moves the RTP timestamp on
// by the time that passed, so the far end hears a gap, not a shift.
type pacer struct {
	next  time.Time
	timer *time.Timer
	w     *media.RTPPacketWriter
	// skipped is set when the timestamp jumped: the next packet starts
	// a talkspurt (marker bit).
	skipped bool
	// inEvent holds the timestamp still while an RFC 4733 event goes out:
	// every packet of an event carries the event's start timestamp, and a
	// receiver takes a packet with another for a new event (the digit
	// twice). A resync meanwhile adds its jump to deferred, applied when
	// the event ends.
	inEvent  bool
	deferred uint32
}

func newPacer(w *media.RTPPacketWriter) *pacer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &pacer{next: time.Now(), timer: t, w: w}
}

// wait returns when the next packet is due (false when ctx ended).
func (p *pacer) wait(ctx context.Context) bool {
	if d := time.Until(p.next); d > 0 {
		p.timer.Reset(d)
		select {
		case <-p.timer.C:
		case <-ctx.Done():
			p.timer.Stop()
			return false
		}
	}
	p.next = p.next.Add(packetDur)
	if time.Since(p.next) > maxBurst*packetDur {
		p.resync()
	}
	return true
}

// resync skips the packets whose time has passed.
func (p *pacer) resync() {
	behind := time.Since(p.next)
	if behind <= 0 {
		return
	}
	n := int(behind / packetDur)
	if n == 0 {
		return
	}
	p.next = p.next.Add(time.Duration(n) * packetDur)
	if p.inEvent {
		p.deferred += uint32(n * packetSamples)
		return
	}
	p.w.DelayTimestamp(uint32(n * packetSamples))
	p.skipped = true
}

// eventDone ends an event that took samples: the timestamp moves on by
// them and by the jumps deferred meanwhile.
func (p *pacer) eventDone(samples uint32) {
	p.inEvent = false
	if p.deferred > 0 {
		p.skipped = true
	}
	p.w.DelayTimestamp(samples + p.deferred)
	p.deferred = 0
}

// run sends until ctx ends or the media is closed.
func (s *sender) run(ctx context.Context) {
	p := newPacer(s.w)
	defer p.timer.Stop()
	defer func() {
		// Release anyone still waiting.
		s.mu.Lock()
		for _, it := range s.queue {
			close(it.done)
		}
		s.queue = nil
		s.mu.Unlock()
	}()
	payload := make([]byte, packetSamples)
	wait := func() bool { return p.wait(ctx) }
	send := func(pt uint8) bool {
		marker := p.skipped
		p.skipped = false
		return s.write(payload, packetSamples, pt, marker) == nil
	}
	for {
		it := s.next()
		if it == nil {
			if !s.silence || s.stopped.Load() {
				// Idle: nothing goes out until there is something to
				// send; the time that passes moves the timestamp on.
				select {
				case <-s.wake:
					p.resync()
					continue
				case <-ctx.Done():
					return
				}
			}
			if !wait() {
				return
			}
			s.encode(payload, nil)
			if !send(s.pt) {
				return
			}
			continue
		}
		if it.digit != 0 {
			ok := s.sendDigit(it, p, wait)
			close(it.done)
			if !ok {
				return
			}
			continue
		}
		for off := 0; off < len(it.pcm); off += packetSamples {
			if !wait() {
				close(it.done)
				return
			}
			if s.stopped.Load() {
				s.w.DelayTimestamp(packetSamples)
				p.skipped = true
				continue
			}
			s.encode(payload, it.pcm[off:min(off+packetSamples, len(it.pcm))])
			if !send(s.pt) {
				close(it.done)
				return
			}
		}
		close(it.done)
	}
}

// setStopped stops or resumes sending RTP (rtp-off, rtp-on).
func (s *sender) setStopped(stop bool) {
	s.stopped.Store(stop)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *sender) write(payload []byte, advance uint32, pt uint8, marker bool) error {
	_, err := s.w.WriteSamples(payload, advance, marker, pt)
	return err
}

// encode fills payload with pcm (zero-padded) in the call's codec.
func (s *sender) encode(payload []byte, pcm []int16) {
	for i := range payload {
		var v int16
		if i < len(pcm) {
			v = pcm[i]
		}
		if s.pt == ptPCMU {
			payload[i] = g711.EncodeUlawFrame(v)
		} else {
			payload[i] = g711.EncodeAlawFrame(v)
		}
	}
}

// sendDigit sends one RFC 4733 event: a packet every 20 ms for dtmfDur
// (the first with the marker bit, all with the event's start timestamp
// and a growing duration, even when the pacer skips ahead meanwhile), then
// the end-of-event packet three times; the audio timestamp then moves on
// by the time the event took.
func (s *sender) sendDigit(it *sendItem, p *pacer, wait func() bool) bool {
	events := media.RTPDTMFEncode8000(it.digit) // only for the event code
	code := events[0].Event
	steps := max(1, int(s.dtmfDur/(20*time.Millisecond)))
	p.inEvent = true
	defer p.eventDone(uint32(steps+3) * packetSamples)
	for i := 0; i < steps+3; i++ {
		if !wait() {
			return false
		}
		dur := uint16(min(i+1, steps) * packetSamples)
		ev := media.DTMFEvent{Event: code, Volume: 10, Duration: dur, EndOfEvent: i >= steps}
		if s.stopped.Load() {
			continue
		}
		if s.write(media.DTMFEncode(ev), 0, uint8(s.eventPT), i == 0) != nil {
			return false
		}
		it.started.Store(true)
	}
	return true
}
