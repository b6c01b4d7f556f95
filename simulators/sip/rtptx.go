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

// run sends until ctx ends or the media is closed.
func (s *sender) run(ctx context.Context) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
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
	talkspurt := true
	wait := func() bool {
		select {
		case <-tick.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		it := s.next()
		if it == nil {
			if !s.silence || s.stopped.Load() {
				select {
				case <-s.wake:
					continue
				case <-ctx.Done():
					return
				case <-tick.C:
					// Time passes for the far end; the next packet
					// starts a talkspurt.
					s.w.DelayTimestamp(packetSamples)
					talkspurt = true
					continue
				}
			}
			if !wait() {
				return
			}
			s.encode(payload, nil)
			if s.write(payload, packetSamples, s.pt, talkspurt) != nil {
				return
			}
			talkspurt = false
			continue
		}
		if it.digit != 0 {
			if !s.sendDigit(it, wait) {
				close(it.done)
				return
			}
			close(it.done)
			continue
		}
		for off := 0; off < len(it.pcm); off += packetSamples {
			if !wait() {
				close(it.done)
				return
			}
			if s.stopped.Load() {
				s.w.DelayTimestamp(packetSamples)
				talkspurt = true
				continue
			}
			s.encode(payload, it.pcm[off:min(off+packetSamples, len(it.pcm))])
			if s.write(payload, packetSamples, s.pt, talkspurt) != nil {
				close(it.done)
				return
			}
			talkspurt = false
		}
		close(it.done)
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
// and a growing duration), then the end-of-event packet three times; the
// audio timestamp then moves on by the time the event took.
func (s *sender) sendDigit(it *sendItem, wait func() bool) bool {
	events := media.RTPDTMFEncode8000(it.digit) // only for the event code
	code := events[0].Event
	steps := max(1, int(s.dtmfDur/(20*time.Millisecond)))
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
	s.w.DelayTimestamp(uint32(steps+3) * packetSamples)
	return true
}
