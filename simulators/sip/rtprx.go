package sip

import (
	"errors"
	"io"
	"math"
	"net"
	"os"
	"sync"
	"time"

	"github.com/emiago/diago/media"
	"github.com/pion/rtp"
	"github.com/zaf/g711"

	"callgate/simulators/ssp/hist"
)

// Static RTP payload types the simulator decodes (RFC 3551).
const (
	ptPCMU = 0
	ptPCMA = 8
	ptCN   = 13
)

// RTPStats is what one side received of a call's RTP (audio and
// telephone-events). Jitter is per packet, not RFC 3550's smoothed
// estimate: for each audio packet following the previous one in sequence,
// |(arrival - previous arrival) - (timestamp - previous timestamp)/8 kHz|,
// which is how far it strayed from the sender's 20 ms cadence. The
// Jitter fields use the receiver's clock when its goroutine got the packet
// (what an application sees, sipsim's own scheduling included); the
// KernelJitter ones use the kernel's receive times (SO_TIMESTAMPNS, Linux),
// which on loopback are the sender's send times: its pacing alone.
type RTPStats struct {
	Packets uint64 `json:"packets"`
	// Lost counts sequence numbers never received (per SSRC, RFC 3550's
	// expected minus received); Late counts duplicates and packets older
	// than one already received (they are not played).
	Lost int64  `json:"lost"`
	Late uint64 `json:"late"`
	// LossPct is Lost as a share of the packets expected.
	LossPct     float64 `json:"lossPct"`
	JitterP50Ms float64 `json:"jitterP50Ms"`
	JitterP99Ms float64 `json:"jitterP99Ms"`
	JitterMaxMs float64 `json:"jitterMaxMs"`
	// JitterSamples is the number of packet pairs measured.
	JitterSamples uint64 `json:"jitterSamples"`
	// Kernel receive times (zero samples where they are not available).
	KernelJitterP50Ms   float64 `json:"kernelJitterP50Ms"`
	KernelJitterP99Ms   float64 `json:"kernelJitterP99Ms"`
	KernelJitterMaxMs   float64 `json:"kernelJitterMaxMs"`
	KernelJitterSamples uint64  `json:"kernelJitterSamples"`
}

// jitterSinks are the jitter histograms a load run's calls share: by the
// receiver's clock and by the kernel's receive times.
type jitterSinks struct {
	user, kernel *hist.Histogram
}

// rtpCounter keeps the loss counts of a receiver (under the receiver's
// mutex) and records jitter into a histogram (shared by a load run's calls).
type rtpCounter struct {
	mu       sync.Mutex
	packets  uint64
	late     uint64
	expected int64 // closed SSRC runs
	received int64 // closed SSRC runs
	// The current SSRC run.
	runFirst, runHighest int64 // extended sequence numbers
	runReceived          int64
	jitter               *hist.Histogram // receiver's clock
	kjitter              *hist.Histogram // kernel receive times
}

func (c *rtpCounter) stats() RTPStats {
	c.mu.Lock()
	expected := c.expected + c.runHighest - c.runFirst + 1
	received := c.received + c.runReceived
	if c.runReceived == 0 {
		expected = c.expected
	}
	s := RTPStats{Packets: c.packets, Late: c.late, Lost: max(0, expected-received)}
	c.mu.Unlock()
	if expected > 0 {
		s.LossPct = math.Round(1e4*float64(s.Lost)/float64(expected)) / 100
	}
	if c.jitter != nil {
		snap := c.jitter.Snapshot()
		sum := snap.Summary()
		s.JitterP50Ms, s.JitterP99Ms, s.JitterMaxMs, s.JitterSamples = sum.P50Ms, sum.P99Ms, sum.MaxMs, sum.Count
	}
	if c.kjitter != nil {
		sum := c.kjitter.Snapshot().Summary()
		s.KernelJitterP50Ms, s.KernelJitterP99Ms, s.KernelJitterMaxMs, s.KernelJitterSamples = sum.P50Ms, sum.P99Ms, sum.MaxMs, sum.Count
	}
	return s
}

// receiver reads a call's incoming RTP: it decodes G.711 into the
// listener, reports RFC 4733 telephone-events as digits, and counts
// packets, loss and jitter.
type receiver struct {
	reader *media.RTPPacketReader
	// sock, when set, is read instead of reader: the same socket, with
	// kernel receive times (rtpstamp_linux.go).
	sock     *stampedConn
	eventPT  int // -1: no telephone-event negotiated
	listener *listener
	counter  *rtpCounter
	onDTMF   func(digit rune, at time.Time)
	onFirst  func(at time.Time)
	// onPCM, when set, gets the audio as placed (silence and lost audio
	// as zeros): a voicemail's recording.
	onPCM func(pcm []int16)

	// Stream position (audio packets only).
	have        bool
	ssrc        uint32
	extSeq      int64  // extended sequence number of the last packet
	lastAudio   int64  // extended sequence number of the last audio packet
	lastTS      uint32 // timestamp of the last audio packet
	lastLen     int    // its samples
	lastArrival time.Time
	// kernelAt is the kernel's receive time of the packet being handled,
	// lastKernel that of the last audio packet (zero: not known).
	kernelAt, lastKernel time.Time

	// filled is the silence placed since the last audio packet by
	// fillIdle, taken off the gap the next packet's timestamp shows.
	filled int
	// lastTick is when fillIdle last ran, stallEnd when it last ran
	// stallAfter or more after the time before: this process was not
	// running (a loaded machine), and the far end's packets of that time
	// may still wait unread in the socket. Its quiet is then counted from
	// the end of the stall, not from its last packet read: silence placed
	// for it would cut the prompt those packets carry in two, and no
	// reference matches a prompt with a pause it never had.
	lastTick, stallEnd time.Time

	// mu serialises packet and fillIdle (the reading goroutine and the
	// idle ticker).
	mu sync.Mutex

	// The telephone-event being received.
	eventTS   uint32
	eventDone bool

	pcm [1500]int16 // a packet's samples (G.711: one per byte)
}

// idleAfter is how long the far end may send nothing before the
// silence is placed without waiting for its next packet: longer than any
// jitter a loaded loopback shows, short beside a prompt. stallAfter is a
// gap between two of fillIdle's 20 ms ticks that says this process, not
// the far end, stopped.
const (
	idleAfter  = 200 * time.Millisecond
	stallAfter = 100 * time.Millisecond
)

// run reads until the media is closed. While nothing arrives, a ticker
// places the silence the sender's pause is (fillIdle): a peer that sends
// no RTP between prompts (as the B2BUA does while it waits for digits)
// must not hold back the end of the prompt it just played, or the cue
// that answers it would fire only when the next prompt starts.
func (r *receiver) run() error {
	// Without a listener or a recorder (a load run without recognition)
	// there is no silence to place: no ticker waking 50 times a second
	// per call on the cores the system under test runs on.
	if r.listener != nil || r.onPCM != nil {
		done := make(chan struct{})
		defer close(done)
		go func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case now := <-tick.C:
					r.fillIdle(now)
				}
			}
		}()
	}
	buf := make([]byte, media.RTPBufSize)
	if r.sock != nil {
		return r.runStamped(buf)
	}
	for {
		n, err := r.reader.Read(buf)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			return err
		}
		if n == 0 {
			continue
		}
		r.mu.Lock()
		r.packet(r.reader.PacketHeader.PayloadType, r.reader.PacketHeader.SequenceNumber,
			r.reader.PacketHeader.Timestamp, r.reader.PacketHeader.SSRC, buf[:n], time.Now())
		r.mu.Unlock()
	}
}

// runStamped is run's loop on the stamped socket: it parses the RTP
// itself (diago's reader is not in the way) and hands on both times.
func (r *receiver) runStamped(buf []byte) error {
	var h rtp.Header
	for {
		n, kernel, err := r.sock.read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			return err
		}
		now := time.Now()
		payload, ok := rtpPayload(&h, buf[:n])
		if !ok {
			continue
		}
		r.mu.Lock()
		r.packetAt(h.PayloadType, h.SequenceNumber, h.Timestamp, h.SSRC, payload, now, kernel)
		r.mu.Unlock()
	}
}

// rtpPayload parses an RTP packet's header into h and returns its payload;
// false for anything that is not RTP version 2 with a payload (keep-alives
// and junk are skipped, as diago's reader does).
func rtpPayload(h *rtp.Header, pkt []byte) ([]byte, bool) {
	hl, err := h.Unmarshal(pkt)
	if err != nil || h.Version != 2 {
		return nil, false
	}
	end := len(pkt)
	if h.Padding {
		end -= int(pkt[end-1])
	}
	if end <= hl {
		return nil, false
	}
	return pkt[hl:end], true
}

// fillIdle places the silence of the far end's pause so far, once it
// has lasted idleAfter: from the end of the last audio packet (and of
// what was filled already) to now less idleAfter.
func (r *receiver) fillIdle(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.lastTick.IsZero() && now.Sub(r.lastTick) >= stallAfter {
		r.stallEnd = now
	}
	r.lastTick = now
	if !r.have || r.lastLen == 0 {
		return
	}
	from := r.lastArrival
	if r.stallEnd.After(from) {
		from = r.stallEnd
	}
	quiet := now.Sub(from) - idleAfter
	if quiet <= 0 {
		return
	}
	due := int(min(quiet, 10*time.Second)*SampleRate/time.Second) - r.filled
	if due < hopSamples {
		return
	}
	r.silence(due)
	r.filled += due
}

// packet handles one received packet (split out of run for tests).
func (r *receiver) packet(pt uint8, seq uint16, ts, ssrc uint32, payload []byte, at time.Time) {
	r.packetAt(pt, seq, ts, ssrc, payload, at, time.Time{})
}

// packetAt is packet with the kernel's receive time (zero: unknown).
func (r *receiver) packetAt(pt uint8, seq uint16, ts, ssrc uint32, payload []byte, at, kernel time.Time) {
	r.kernelAt = kernel
	c := r.counter
	if !r.have {
		if r.onFirst != nil {
			r.onFirst(at)
		}
	}
	if !r.have || ssrc != r.ssrc {
		c.mu.Lock()
		if r.have && c.runReceived > 0 {
			c.expected += c.runHighest - c.runFirst + 1
			c.received += c.runReceived
		}
		c.runFirst, c.runHighest, c.runReceived = int64(seq), int64(seq), 0
		c.mu.Unlock()
		if r.have && r.lastLen > 0 {
			// A new source: the silence between is the arrival gap.
			gap := at.Sub(r.lastArrival) - time.Duration(r.lastLen)*time.Second/SampleRate
			r.silence(max(int(min(gap, 10*time.Second)*SampleRate/time.Second)-r.filled, 0))
		}
		r.have, r.ssrc = true, ssrc
		r.extSeq = int64(seq)
		r.lastAudio, r.lastLen = int64(seq)-1, 0
	} else {
		delta := int64(int16(seq - uint16(r.extSeq)))
		if delta <= 0 {
			c.mu.Lock()
			c.packets++
			c.late++
			c.mu.Unlock()
			return
		}
		r.extSeq += delta
	}
	c.mu.Lock()
	c.packets++
	c.runReceived++
	c.runHighest = max(c.runHighest, r.extSeq)
	c.mu.Unlock()

	switch {
	case pt == ptPCMU || pt == ptPCMA:
		r.audio(pt, ts, payload, at)
	case r.eventPT >= 0 && int(pt) == r.eventPT:
		r.event(ts, payload, at)
	}
}

func (r *receiver) audio(pt uint8, ts uint32, payload []byte, at time.Time) {
	n := min(len(payload), len(r.pcm))
	if pt == ptPCMU {
		for i := 0; i < n; i++ {
			r.pcm[i] = g711.DecodeUlawFrame(payload[i])
		}
	} else {
		for i := 0; i < n; i++ {
			r.pcm[i] = g711.DecodeAlawFrame(payload[i])
		}
	}
	consecutive := r.lastLen > 0 && r.extSeq == r.lastAudio+1
	if consecutive && r.counter.jitter != nil {
		d := at.Sub(r.lastArrival) - time.Duration(int32(ts-r.lastTS))*time.Second/SampleRate
		r.counter.jitter.Record(max(d, -d))
	}
	if consecutive && r.counter.kjitter != nil && !r.kernelAt.IsZero() && !r.lastKernel.IsZero() {
		d := r.kernelAt.Sub(r.lastKernel) - time.Duration(int32(ts-r.lastTS))*time.Second/SampleRate
		r.counter.kjitter.Record(max(d, -d))
	}
	if r.lastLen > 0 {
		// Where this packet goes: right after the last one, after the
		// silence its timestamp says the sender paused for, or after the
		// audio lost in between.
		gap := int64(int32(ts - (r.lastTS + uint32(r.lastLen))))
		switch {
		case gap < 0 || gap > 10*SampleRate:
			// A timestamp jump: nothing to place.
		case r.extSeq == r.lastAudio+1:
			r.silence(int(max(gap-int64(r.filled), 0)))
		default:
			r.lost(int(max(gap-int64(r.filled), 0)))
		}
	}
	r.filled = 0
	r.place(r.pcm[:n], n, false, at)
	r.lastAudio, r.lastTS, r.lastLen, r.lastArrival, r.lastKernel = r.extSeq, ts, n, at, r.kernelAt
}

// place hands n samples (missing: lost, pcm unused) to the listener and
// the recorder.
func (r *receiver) place(pcm []int16, n int, missing bool, at time.Time) {
	if r.listener != nil {
		r.listener.push(pcm, n, missing, at)
	}
	if r.onPCM != nil {
		if missing {
			pcm = make([]int16, n)
		}
		r.onPCM(pcm[:n])
	}
}

var zeros [hopSamples * 10]int16

func (r *receiver) silence(n int) {
	for n > 0 {
		k := min(n, len(zeros))
		r.place(zeros[:k], k, false, r.lastArrival)
		n -= k
	}
}

func (r *receiver) lost(n int) {
	for n > 0 {
		k := min(n, len(zeros))
		r.place(zeros[:k], k, true, r.lastArrival)
		n -= k
	}
}

// event handles an RFC 4733 telephone-event packet: a digit is reported
// once, at the first end-of-event packet of its timestamp (the end is
// sent three times).
func (r *receiver) event(ts uint32, payload []byte, at time.Time) {
	var ev media.DTMFEvent
	if media.DTMFDecode(payload, &ev) != nil {
		return
	}
	if ts != r.eventTS {
		r.eventTS, r.eventDone = ts, false
	}
	if !ev.EndOfEvent || r.eventDone {
		return
	}
	r.eventDone = true
	if d := media.DTMFToRune(ev.Event); d != 0 && r.onDTMF != nil {
		r.onDTMF(d, at)
	}
}
