package b2bua

import (
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago/audio"
	"github.com/emiago/diago/media"
	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"
)

// Relaying a bridged leg's audio.
//
// Each packet one leg receives is sent on the other as soon as it arrives,
// in the other leg's own stream (its SSRC and sequence numbers, which the
// prompts before the bridge used). The timestamps follow the source's:
// a packet placed right after the one before in the source is placed right
// after it here, and a pause in the source (silence suppression, packets
// lost, the time a key was held) is the same pause here, with the
// source's marker bit. The bridge's first packet opens a new talkspurt
// (marker) after the time since the stream's last prompt packet. So, on
// the wire, arrival spacing and timestamp spacing agree across the switch
// from prompts to the other party's voice, as a receiver's jitter buffer
// and RFC 3550's jitter expect.
//
// diago's io.Writer for a stream (RTPPacketWriter.Write) is not used for
// this: it advances the timestamp by one packet whatever the time between
// packets (so the bridge's first packet, sent a pause after the last
// prompt packet, claimed to follow it directly), and then waits for the
// stream's 20 ms ticker, holding the source leg's reader for up to a
// packet time on every packet.
//
// A source whose clock jumps (another SSRC after a re-INVITE, a timestamp
// that leaps further than the time that passed) is placed by arrival
// time instead. A packet behind the last one relayed (late, reordered,
// duplicated) is dropped: sent now it would carry a time already past.
// While a key is relayed to the leg (an RFC 4733 event, sendDigit) its
// audio is dropped: the event stands for that time.

// maxClockLead is how much further a source's timestamp may move than
// the time that passed before the packet is placed by arrival time, and
// how far behind the last one a packet may be to count as late rather
// than as the source's clock going back.
const maxClockLead = 500 * time.Millisecond

// relayCounts are the relay's counters (metrics.go).
type relayCounts struct {
	late, key, resync prometheus.Counter
}

// A relayer sends one leg's audio on another: the sink of the source leg,
// on its pump goroutine.
type relayer struct {
	w         *media.RTPPacketWriter       // the target leg's packetiser
	pt        uint8                        // its audio payload type
	mu        *sync.Mutex                  // the target leg's sendMu
	transcode func(dst, src []byte) []byte // nil: the same codec both ways
	enc       []byte
	counts    relayCounts

	// Set from the first packet on.
	started bool
	ssrc    uint32    // the source's SSRC
	lastTS  uint32    // the source timestamp of the last packet relayed
	lastLen uint32    // its samples
	lastAt  time.Time // when it was relayed

	// prev is when the target stream's last prompt packet was due
	// (havePrev: it sent one): the bridge's first packet follows it.
	prev     time.Time
	havePrev bool
}

// relay returns the sink that sends from's audio to to.
func relay(from, to *leg, counts relayCounts) func(*rtp.Header, []byte) {
	r := &relayer{w: to.med.RTPPacketWriter, pt: to.codec.PayloadType, mu: &to.sendMu, counts: counts}
	if to.prompts != nil {
		r.prev, r.havePrev = to.prompts.lastSent()
	}
	r.codecs(from.codec, to.codec)
	return func(h *rtp.Header, p []byte) { r.packet(h, p, time.Now()) }
}

// codecs sets the relayer to transcode between PCMU and PCMA when the
// source's codec is not the target's.
func (r *relayer) codecs(from, to media.Codec) {
	fromA, toA := strings.EqualFold(from.Name, "pcma"), strings.EqualFold(to.Name, "pcma")
	if fromA == toA {
		r.transcode = nil
		return
	}
	r.enc = make([]byte, media.RTPBufSize)
	lin := make([]byte, 2*media.RTPBufSize)
	r.transcode = func(dst, src []byte) []byte {
		l := lin[:2*len(src)]
		if fromA {
			_, _ = audio.DecodeAlawTo(l, src)
		} else {
			_, _ = audio.DecodeUlawTo(l, src)
		}
		d := dst[:len(src)]
		if toA {
			_, _ = audio.EncodeAlawTo(d, l)
		} else {
			_, _ = audio.EncodeUlawTo(d, l)
		}
		return d
	}
}

// packet relays one G.711 packet (one byte a sample) that arrived at now.
func (r *relayer) packet(h *rtp.Header, p []byte, now time.Time) {
	if len(p) == 0 {
		return
	}
	n := uint32(len(p))
	var delay uint32 // samples of pause before this packet
	marker := h.Marker
	switch d := int32(h.Timestamp - r.lastTS); {
	case !r.started:
		marker = true
		if r.havePrev {
			delay = samplesOf(now.Sub(r.prev) - frameDur)
		}
	case h.SSRC == r.ssrc && d <= 0 && samplesDur(uint32(-d)) <= maxClockLead:
		r.counts.late.Inc() // late, reordered or duplicated
		return
	case h.SSRC != r.ssrc || d <= 0 ||
		uint32(d) > r.lastLen && samplesDur(uint32(d)-r.lastLen) > now.Sub(r.lastAt)+maxClockLead:
		r.counts.resync.Inc()
		marker = true
		delay = samplesOf(now.Sub(r.lastAt) - samplesDur(r.lastLen))
	case uint32(d) > r.lastLen:
		delay = uint32(d) - r.lastLen
	}
	if !r.mu.TryLock() {
		r.counts.key.Inc() // a key is being sent on the leg
		return
	}
	if r.transcode != nil {
		p = r.transcode(r.enc, p)
	}
	if delay > 0 {
		r.w.DelayTimestamp(delay)
	}
	_, _ = r.w.WriteSamples(p, n, marker, r.pt)
	r.mu.Unlock()
	r.started, r.ssrc, r.lastTS, r.lastLen, r.lastAt = true, h.SSRC, h.Timestamp, n, now
}

// samplesOf is d in 8 kHz samples; 0 when d is not positive.
func samplesOf(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	return uint32(d / (time.Second / 8000))
}

// samplesDur is the duration of n 8 kHz samples.
func samplesDur(n uint32) time.Duration { return time.Duration(n) * (time.Second / 8000) }
