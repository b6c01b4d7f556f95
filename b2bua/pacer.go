package b2bua

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago/audio"
	"github.com/emiago/diago/media"
	"github.com/prometheus/client_golang/prometheus"
)

// The pacer sends the prompts of every leg, on a clock of its own.
//
// diago's playback paces each stream with a goroutine blocked on the
// stream's time.Ticker after every packet (RTPPacketWriter.Write): at 500
// calls that is 500 goroutines woken 25,000 times a second, each wake-up a
// scheduling delay that reaches the wire as jitter, and the ticker keeps
// the tick it could not deliver during a pause, so a prompt's first two
// packets leave back to back (20 ms of jitter at every prompt start). The
// pacer keeps diago's packetiser (RTPPacketWriter.WriteSamples: SSRC,
// sequence numbers, timestamps, the symmetric-RTP destination, SRTP, hold)
// and only drives it:
//
//   - one goroutine per shard, GOMAXPROCS shards, each with a share of the
//     streams; no timer and no goroutine per stream;
//   - absolute deadlines: frame f of a stream is due at epoch plus f*20 ms
//     plus its slot's offset, so a late wake-up delays the packets of that
//     wake-up only and never shifts the ones after;
//   - each 20 ms frame is cut into pacerSlots send slots and a stream keeps
//     the slot it was given (the least used in its shard): the shards wake
//     every 2 ms with a tenth of the streams instead of all of them in one
//     burst every 20 ms (a burst shows at the receiver as jitter of the
//     packets at its end), and a stream's packets are written at the same
//     place in each burst;
//   - timestamps follow the frames: a prompt that starts after a pause
//     advances the RTP timestamp by the frames of the pause and sets the
//     marker bit (a new talkspurt), so arrival spacing and timestamp
//     spacing agree from the first packet on;
//   - per packet: one G.711 encoding into the stream's buffer and one
//     write, no allocation (BenchmarkPacerPacket).
//
// A shard late by a few frames sends the backlog at once, each packet with
// its own timestamp. More than maxLagFrames behind (the process stopped,
// the machine overloaded: a stall, counted in
// callgate_b2bua_pacer_stalls_total) it does not: it picks up at the
// current frame, and a prompt that was playing goes on where it stopped
// with contiguous timestamps, so no audio is skipped (a hole in a prompt
// would also defeat recognisers such as sipsim's) and the listener hears
// it late by the stall.
type pacer struct {
	epoch  time.Time
	now    func() int64 // the current slot (slotNow; tests drive their own)
	shards []*paceShard
	next   atomic.Uint32 // round-robin shard for new streams

	lateness prometheus.Histogram // how late a shard woke for its next slot
	stalls   prometheus.Counter
}

const (
	frameDur     = 20 * time.Millisecond
	frameSamples = 160 // 8 kHz G.711: one byte a sample
	// pacerSlots send slots per frame; slotDur is one.
	pacerSlots = 10
	slotDur    = frameDur / pacerSlots
	// maxLagFrames: a shard further behind skips the backlog (100 ms).
	maxLagFrames = 5
)

// errPacerStopped ends a prompt still playing when the pacer stops (the
// server's Stop, after every call has been released).
var errPacerStopped = errors.New("b2bua: prompt pacer stopped")

// A paceShard is one goroutine's share of the streams, by send slot.
type paceShard struct {
	p       *pacer
	mu      sync.Mutex // guards slots, playing, stopped and the streams' cur
	slots   [pacerSlots][]*paceStream
	busy    [pacerSlots]int // streams with a prompt to send, by slot
	playing int             // their sum
	stopped bool
	kick    chan struct{} // a prompt started: wake an idle shard
	stop    chan struct{}
	done    chan struct{}
}

// A paceStream is one leg's outgoing prompt audio.
type paceStream struct {
	sh   *paceShard
	slot int
	w    *media.RTPPacketWriter
	pt   uint8
	alaw bool
	dtmf chan rune // the leg's digits: barge-in

	cur *playback // under sh.mu

	// sent is the frame of the last packet sent plus one (0: none yet),
	// for the bridge that takes the stream over (lastSent).
	sent atomic.Int64

	// Owned by the shard's goroutine.
	lastFrame int64 // frame of the last packet sent, -1 before the first
	resume    bool  // a stall interrupted the prompt: go on contiguously
	buf       [frameSamples]byte
}

// A playback is one prompt being sent.
type playback struct {
	pcm       []byte // 8 kHz 16-bit PCM
	off       int
	from      int64 // the first frame it may be sent in
	bargeIn   bool
	cancelled atomic.Bool
	err       error         // set before done is closed
	done      chan struct{} // closed when the prompt has ended
}

// newPacer starts a pacer with a shard per P.
func newPacer(lateness prometheus.Histogram, stalls prometheus.Counter) *pacer {
	p := newPacerShards(max(runtime.GOMAXPROCS(0), 1), lateness, stalls)
	for _, sh := range p.shards {
		go sh.run()
	}
	return p
}

// newPacerShards makes a pacer of n shards without starting them.
func newPacerShards(n int, lateness prometheus.Histogram, stalls prometheus.Counter) *pacer {
	p := &pacer{epoch: time.Now(), lateness: lateness, stalls: stalls}
	p.now = p.slotNow
	for range n {
		p.shards = append(p.shards, &paceShard{p: p, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})})
	}
	return p
}

// slotNow is the index of the current send slot since the epoch.
func (p *pacer) slotNow() int64 { return int64(time.Since(p.epoch) / slotDur) }

// close stops the shards; prompts still playing end with errPacerStopped.
func (p *pacer) close() {
	for _, sh := range p.shards {
		close(sh.stop)
	}
	for _, sh := range p.shards {
		<-sh.done
	}
}

// add registers a leg's outgoing stream: w is its diago packetiser, codec
// the negotiated audio codec (PCMU or PCMA), dtmf its digit queue.
func (p *pacer) add(w *media.RTPPacketWriter, codec media.Codec, dtmf chan rune) *paceStream {
	sh := p.shards[int(p.next.Add(1))%len(p.shards)]
	st := &paceStream{sh: sh, w: w, pt: codec.PayloadType, alaw: strings.EqualFold(codec.Name, "pcma"),
		dtmf: dtmf, lastFrame: -1}
	sh.mu.Lock()
	for i := range sh.slots {
		if len(sh.slots[i]) < len(sh.slots[st.slot]) {
			st.slot = i
		}
	}
	sh.slots[st.slot] = append(sh.slots[st.slot], st)
	sh.mu.Unlock()
	return st
}

// remove unregisters the stream; a prompt still playing ends.
func (st *paceStream) remove() {
	sh := st.sh
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if i := slices.Index(sh.slots[st.slot], st); i >= 0 {
		sh.slots[st.slot] = slices.Delete(sh.slots[st.slot], i, i+1)
	}
	if st.cur != nil {
		sh.finish(st, nil)
	}
}

// lastSent returns when the stream's last prompt packet was due (its
// frame's slot on the pacer's clock), if it sent one.
func (st *paceStream) lastSent() (time.Time, bool) {
	f := st.sent.Load()
	if f == 0 {
		return time.Time{}, false
	}
	return st.sh.p.epoch.Add(time.Duration(f-1)*frameDur + time.Duration(st.slot)*slotDur), true
}

// play starts pb on the stream (one at a time: the leg serialises).
func (st *paceStream) play(pb *playback) {
	sh := st.sh
	sh.mu.Lock()
	switch {
	case sh.stopped:
		pb.err = errPacerStopped
		close(pb.done)
	case st.cur != nil: // not reached: leg.playPCM holds playMu
		pb.err = errors.New("b2bua: a prompt is already playing on this leg")
		close(pb.done)
	default:
		// The stream's next slot still ahead: a prompt never starts with
		// a packet already late, and one that follows another without a
		// pause continues in the next frame.
		k := sh.p.now() + 1
		k += (int64(st.slot) - k%pacerSlots + pacerSlots) % pacerSlots
		pb.from = k / pacerSlots
		st.cur = pb
		sh.busy[st.slot]++
		sh.playing++
	}
	sh.mu.Unlock()
	select {
	case sh.kick <- struct{}{}:
	default:
	}
}

// finish ends the stream's prompt (sh.mu held).
func (sh *paceShard) finish(st *paceStream, err error) {
	pb := st.cur
	st.cur = nil
	sh.busy[st.slot]--
	sh.playing--
	pb.err = err
	close(pb.done)
}

func (sh *paceShard) run() {
	defer close(sh.done)
	t := time.NewTimer(time.Hour)
	t.Stop()
	var last int64 // last slot sent
	idle := true
	for {
		if idle {
			sh.mu.Lock()
			idle = sh.playing == 0
			sh.mu.Unlock()
			if idle {
				select {
				case <-sh.kick:
					continue
				case <-sh.stop:
					sh.shutdown()
					return
				}
			}
			// Resume from now: there is no backlog of an idle time.
			last = sh.p.now() - 1
		}
		// The next slot with a stream to send: a shard with few streams
		// does not wake for the empty ones.
		sh.mu.Lock()
		next := last + 1
		for sh.busy[next%pacerSlots] == 0 && next < last+pacerSlots {
			next++
		}
		sh.mu.Unlock()
		due := sh.p.epoch.Add(time.Duration(next) * slotDur)
		if d := time.Until(due); d > 0 {
			t.Reset(d)
			select {
			case <-t.C:
			case <-sh.kick:
				// A prompt started, maybe in a slot before the one
				// waited for.
				t.Stop()
				continue
			case <-sh.stop:
				t.Stop()
				sh.shutdown()
				return
			}
		}
		sh.p.lateness.Observe(time.Since(due).Seconds())
		now := sh.p.now()
		sh.mu.Lock()
		if now-last > maxLagFrames*pacerSlots {
			sh.stall()
			last = now - 1
		}
		for k := last + 1; k <= now; k++ {
			sh.sendSlot(k)
		}
		idle = sh.playing == 0
		sh.mu.Unlock()
		last = now
	}
}

// stall notes that the shard skips its backlog: the prompts being played
// resume contiguously (sh.mu held).
func (sh *paceShard) stall() {
	sh.p.stalls.Inc()
	for i := range sh.slots {
		for _, st := range sh.slots[i] {
			if st.cur != nil && st.cur.off > 0 {
				st.resume = true
			}
		}
	}
}

// shutdown ends every prompt still playing.
func (sh *paceShard) shutdown() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.stopped = true
	for i := range sh.slots {
		for _, st := range sh.slots[i] {
			if st.cur != nil {
				sh.finish(st, errPacerStopped)
			}
		}
	}
}

// sendSlot sends the packet of frame k/pacerSlots of every stream playing
// in slot k%pacerSlots (sh.mu held).
func (sh *paceShard) sendSlot(k int64) {
	if sh.busy[k%pacerSlots] == 0 {
		return
	}
	f := k / pacerSlots
	for _, st := range sh.slots[k%pacerSlots] {
		if st.cur != nil {
			sh.send(st, f)
		}
	}
}

// send writes frame f of the stream's prompt.
func (sh *paceShard) send(st *paceStream, f int64) {
	pb := st.cur
	if pb.cancelled.Load() || (pb.bargeIn && len(st.dtmf) > 0) {
		sh.finish(st, nil)
		return
	}
	if f < pb.from || f <= st.lastFrame {
		return // not started yet, or sent in this frame already
	}
	if st.resume {
		// After a stall: the frames missed are not a pause.
		st.resume = false
		st.lastFrame = f - 1
	}
	marker := st.lastFrame < 0
	if gap := f - st.lastFrame - 1; st.lastFrame >= 0 && gap > 0 {
		// A pause (between prompts, or a stall): the timestamp advances
		// by its frames and the marker opens a new talkspurt.
		st.w.DelayTimestamp(uint32(gap * frameSamples))
		marker = true
	}
	chunk := pb.pcm[pb.off:min(pb.off+2*frameSamples, len(pb.pcm))]
	n, silence := 0, byte(0xFF) // G.711 µ-law and A-law of 0
	if st.alaw {
		n, _ = audio.EncodeAlawTo(st.buf[:], chunk)
		silence = 0xD5
	} else {
		n, _ = audio.EncodeUlawTo(st.buf[:], chunk)
	}
	for i := n; i < frameSamples; i++ { // a prompt's short last frame
		st.buf[i] = silence
	}
	_, err := st.w.WriteSamples(st.buf[:], frameSamples, marker, st.pt)
	st.lastFrame = f
	st.sent.Store(f + 1)
	pb.off += len(chunk)
	if err != nil || pb.off >= len(pb.pcm) {
		sh.finish(st, err)
	}
}
