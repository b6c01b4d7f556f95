package b2bua

import (
	"errors"
	"testing"

	"github.com/emiago/diago/media"
	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// sentPacket is a packet the pacer wrote, with the frame it was sent in.
type sentPacket struct {
	frame int64
	hdr   rtp.Header
	size  int
}

// recordingRTP is an RTP writer that keeps what it is given.
type recordingRTP struct {
	frame   *int64
	pkts    []sentPacket
	err     error
	payload func([]byte) // if set, given each packet's payload
}

func (r *recordingRTP) WriteRTP(p *rtp.Packet) error {
	r.pkts = append(r.pkts, sentPacket{frame: *r.frame, hdr: p.Header, size: len(p.Payload)})
	if r.payload != nil {
		r.payload(p.Payload)
	}
	return r.err
}

// pacerRig drives a one-shard pacer by hand: slot by slot, no clock.
type pacerRig struct {
	t     *testing.T
	p     *pacer
	slot  int64 // the current slot
	frame int64
}

func newPacerRig(t *testing.T) *pacerRig {
	r := &pacerRig{t: t}
	r.p = newPacerShards(1, prometheus.NewHistogram(prometheus.HistogramOpts{Name: "l"}), prometheus.NewCounter(prometheus.CounterOpts{Name: "s"}))
	r.p.now = func() int64 { return r.slot }
	return r
}

func (r *pacerRig) stream(codec media.Codec, dtmf chan rune) (*paceStream, *recordingRTP) {
	rec := &recordingRTP{frame: &r.frame}
	return r.p.add(media.NewRTPPacketWriter(rec, codec), codec, dtmf), rec
}

// advance runs the shard through n slots, as its goroutine would.
func (r *pacerRig) advance(n int) {
	for range n {
		r.slot++
		r.catchUp(r.slot - 1)
	}
}

// catchUp sends the slots after last up to the current one, as the
// shard's goroutine does when it wakes late.
func (r *pacerRig) catchUp(last int64) {
	sh := r.p.shards[0]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r.slot-last > maxLagFrames*pacerSlots {
		sh.stall()
		last = r.slot - 1
	}
	for k := last + 1; k <= r.slot; k++ {
		r.frame = k / pacerSlots
		sh.sendSlot(k)
	}
}

func frames(n int) []byte { return make([]byte, n*2*frameSamples) }

func ended(pb *playback) bool {
	select {
	case <-pb.done:
		return true
	default:
		return false
	}
}

// One packet per frame, timestamps that follow the frames, and a prompt
// after a pause that starts a new talkspurt: diago's playback sent a
// prompt's first two packets back to back after a pause (its ticker kept
// the tick of the pause), with timestamps 20 ms apart.
func TestPacerPacketsFollowTheFrames(t *testing.T) {
	r := newPacerRig(t)
	st, rec := r.stream(media.CodecAudioUlaw, make(chan rune, 1))
	first := &playback{pcm: frames(3), done: make(chan struct{})}
	st.play(first)
	r.advance(5 * pacerSlots)
	if !ended(first) || first.err != nil {
		t.Fatalf("first prompt: ended %v, err %v", ended(first), first.err)
	}
	// A pause of 7 frames, then the second prompt.
	r.advance(7 * pacerSlots)
	second := &playback{pcm: frames(4), done: make(chan struct{})}
	st.play(second)
	r.advance(6 * pacerSlots)
	if !ended(second) {
		t.Fatal("second prompt did not end")
	}
	if len(rec.pkts) != 7 {
		t.Fatalf("%d packets, want 7", len(rec.pkts))
	}
	for i, p := range rec.pkts {
		if p.size != frameSamples || p.hdr.PayloadType != 0 {
			t.Errorf("packet %d: %d bytes PT %d, want %d bytes PCMU", i, p.size, p.hdr.PayloadType, frameSamples)
		}
		if i == 0 {
			if !p.hdr.Marker {
				t.Error("first packet without the marker bit")
			}
			continue
		}
		prev := rec.pkts[i-1]
		if p.hdr.SequenceNumber != prev.hdr.SequenceNumber+1 {
			t.Errorf("packet %d: sequence %d after %d", i, p.hdr.SequenceNumber, prev.hdr.SequenceNumber)
		}
		gap := p.frame - prev.frame
		if gap < 1 {
			t.Errorf("packet %d sent in frame %d, as the one before: two packets in one frame", i, p.frame)
		}
		if want := uint32(gap * frameSamples); p.hdr.Timestamp-prev.hdr.Timestamp != want {
			t.Errorf("packet %d: timestamp +%d after %d frames, want +%d", i, p.hdr.Timestamp-prev.hdr.Timestamp, gap, want)
		}
		if p.hdr.Marker != (gap > 1) {
			t.Errorf("packet %d: marker %v after a gap of %d frames", i, p.hdr.Marker, gap)
		}
	}
	if g := rec.pkts[3].frame - rec.pkts[2].frame; g < 8 {
		t.Errorf("the second prompt started %d frames after the first ended, want the pause (8)", g)
	}
}

// A prompt started while the shard is late (its goroutine not yet woken
// for slots already past) starts in its stream's next slot from now, not
// in a past one: its first packet is never late against the frames.
func TestPacerPromptNeverStartsLate(t *testing.T) {
	r := newPacerRig(t)
	st, rec := r.stream(media.CodecAudioUlaw, make(chan rune, 1)) // slot 0
	r.advance(5)                                                  // slots up to 5 sent
	r.slot = 15                                                   // the shard is late: slot 10 is past
	pb := &playback{pcm: frames(2), done: make(chan struct{})}
	st.play(pb)
	r.catchUp(5)
	if len(rec.pkts) != 0 {
		t.Fatalf("sent in frame %d, a slot already past when the prompt started", rec.pkts[0].frame)
	}
	r.advance(2 * pacerSlots)
	if len(rec.pkts) != 2 || rec.pkts[0].frame != 2 {
		t.Fatalf("packets %+v, want 2 from frame 2", rec.pkts)
	}
}

// A shard a few frames late sends what is due at once, each packet with
// its own frame's timestamp; after a stall (the process stopped longer
// than maxLagFrames) a prompt goes on where it stopped with contiguous
// timestamps: nothing skipped, no hole in the prompt. A prompt that starts
// after the stall still shows its pause.
func TestPacerLateAndStalled(t *testing.T) {
	r := newPacerRig(t)
	st, rec := r.stream(media.CodecAudioUlaw, make(chan rune, 1))
	pb := &playback{pcm: frames(40), done: make(chan struct{})}
	st.play(pb)
	r.advance(3 * pacerSlots)
	before := len(rec.pkts)
	last := r.slot
	r.slot += 3 * pacerSlots // 3 frames late
	r.catchUp(last)
	if got := len(rec.pkts) - before; got != 3 {
		t.Fatalf("late by 3 frames: %d packets sent at once, want 3", got)
	}
	last = r.slot
	r.slot += 50 * pacerSlots // a 1 s stall
	r.catchUp(last)
	r.advance(3 * pacerSlots)
	stalls := testutil.ToFloat64(r.p.stalls)
	if stalls != 1 {
		t.Errorf("%v stalls counted, want 1", stalls)
	}
	for i := 1; i < len(rec.pkts); i++ {
		p, prev := rec.pkts[i], rec.pkts[i-1]
		if p.hdr.Timestamp-prev.hdr.Timestamp != frameSamples || p.hdr.Marker {
			t.Errorf("packet %d (frame %d after %d): timestamp +%d, marker %v; want +%d, no marker: the prompt goes on",
				i, p.frame, prev.frame, p.hdr.Timestamp-prev.hdr.Timestamp, p.hdr.Marker, frameSamples)
		}
	}
	pb.cancelled.Store(true)
	r.advance(pacerSlots)
	// A new prompt after a pause that spans a stall: the pause shows.
	n := len(rec.pkts)
	last = r.slot
	r.slot += 50 * pacerSlots
	next := &playback{pcm: frames(2), done: make(chan struct{})}
	st.play(next)
	r.catchUp(last)
	r.advance(2 * pacerSlots)
	if len(rec.pkts) < n+1 || !rec.pkts[n].hdr.Marker || rec.pkts[n].hdr.Timestamp-rec.pkts[n-1].hdr.Timestamp <= frameSamples {
		t.Errorf("a prompt after a pause: %+v, want a marker and the pause in its timestamp", rec.pkts[n:])
	}
}

// Prompts said one after the other (say) make one talkspurt.
func TestPacerPromptsBackToBack(t *testing.T) {
	r := newPacerRig(t)
	st, rec := r.stream(media.CodecAudioAlaw, make(chan rune, 1))
	for i := range 3 {
		pb := &playback{pcm: frames(2 + i), done: make(chan struct{})}
		st.play(pb)
		for range 100 {
			if ended(pb) {
				break
			}
			r.advance(1)
		}
		if !ended(pb) {
			t.Fatalf("prompt %d did not end", i)
		}
	}
	if len(rec.pkts) != 2+3+4 {
		t.Fatalf("%d packets, want 9", len(rec.pkts))
	}
	for i, p := range rec.pkts {
		if p.hdr.PayloadType != 8 {
			t.Errorf("packet %d: PT %d, want PCMA (8)", i, p.hdr.PayloadType)
		}
		if i > 0 && (p.frame != rec.pkts[i-1].frame+1 || p.hdr.Marker) {
			t.Errorf("packet %d: frame %d after %d, marker %v: want the next frame, no marker", i, p.frame, rec.pkts[i-1].frame, p.hdr.Marker)
		}
	}
}

// A prompt ends at the next packet due once a digit waits (barge-in) or
// it is cancelled; a short last frame is filled with silence.
func TestPacerStops(t *testing.T) {
	r := newPacerRig(t)
	dtmf := make(chan rune, 1)
	st, rec := r.stream(media.CodecAudioUlaw, dtmf)

	pb := &playback{pcm: frames(50), bargeIn: true, done: make(chan struct{})}
	st.play(pb)
	r.advance(3 * pacerSlots)
	dtmf <- '5'
	n := len(rec.pkts)
	r.advance(pacerSlots)
	if !ended(pb) || len(rec.pkts) != n {
		t.Errorf("barge-in: ended %v, %d more packets", ended(pb), len(rec.pkts)-n)
	}
	if len(dtmf) != 1 {
		t.Error("the digit was taken off the queue")
	}
	<-dtmf

	pb = &playback{pcm: frames(50), done: make(chan struct{})}
	st.play(pb)
	r.advance(3 * pacerSlots)
	pb.cancelled.Store(true)
	r.advance(pacerSlots)
	if !ended(pb) {
		t.Error("a cancelled prompt did not end")
	}

	short := &playback{pcm: make([]byte, 2*frameSamples+100), done: make(chan struct{})}
	for i := range short.pcm {
		short.pcm[i] = 0x40 // loud: not the silence byte when encoded
	}
	st.play(short)
	n = len(rec.pkts)
	r.advance(3 * pacerSlots)
	if !ended(short) || len(rec.pkts) != n+2 {
		t.Fatalf("short prompt: ended %v, %d packets, want 2", ended(short), len(rec.pkts)-n)
	}
	if got := rec.pkts[n+1].size; got != frameSamples {
		t.Errorf("short last frame sent as %d bytes, want %d", got, frameSamples)
	}
}

// A write error ends the prompt with it; stopping the pacer ends the
// prompts still playing; streams are spread over the slots.
func TestPacerErrorsAndShutdown(t *testing.T) {
	r := newPacerRig(t)
	st, rec := r.stream(media.CodecAudioUlaw, make(chan rune, 1))
	rec.err = errors.New("socket closed")
	pb := &playback{pcm: frames(5), done: make(chan struct{})}
	st.play(pb)
	r.advance(2 * pacerSlots)
	if !ended(pb) || pb.err != rec.err {
		t.Errorf("write error: ended %v, err %v", ended(pb), pb.err)
	}

	var streams []*paceStream
	for range 3*pacerSlots - 1 {
		s, _ := r.stream(media.CodecAudioUlaw, make(chan rune, 1))
		streams = append(streams, s)
	}
	for i, n := range r.p.shards[0].slots {
		if len(n) != 3 {
			t.Errorf("slot %d has %d streams, want 3", i, len(n))
		}
	}
	pb = &playback{pcm: frames(100), done: make(chan struct{})}
	streams[0].play(pb)
	r.advance(pacerSlots)
	close(r.p.shards[0].stop)
	r.p.shards[0].shutdown()
	if !ended(pb) || !errors.Is(pb.err, errPacerStopped) {
		t.Errorf("shutdown: ended %v, err %v", ended(pb), pb.err)
	}
	late := &playback{pcm: frames(1), done: make(chan struct{})}
	streams[1].play(late)
	if !ended(late) || !errors.Is(late.err, errPacerStopped) {
		t.Errorf("play after shutdown: ended %v, err %v", ended(late), late.err)
	}
	streams[2].remove()
	if got := len(r.p.shards[0].slots[streams[2].slot]); got != 2 {
		t.Errorf("after remove, the slot has %d streams, want 2", got)
	}
}
