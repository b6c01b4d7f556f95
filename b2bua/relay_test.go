package b2bua

import (
	"encoding/binary"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/emiago/diago/audio"
	"github.com/emiago/diago/media"
	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// What a bridge sends for each packet the other leg receives: timestamps
// that follow the source's (pauses kept, the marker with them), the
// bridge's first packet after the time since the last prompt packet, a
// clock jump placed by arrival time, late packets dropped, and audio
// dropped while a key is being sent. Before, the bridge's first packet
// left 165-320 ms after the last prompt packet with a timestamp 20 ms on.
func TestRelayKeepsTheSourcesTiming(t *testing.T) {
	var frame int64
	rec := &recordingRTP{frame: &frame}
	w := media.NewRTPPacketWriter(rec, media.CodecAudioUlaw)
	var mu sync.Mutex
	t0 := time.Now()
	// The stream's last prompt packet, due at t0.
	if _, err := w.WriteSamples(make([]byte, frameSamples), frameSamples, false, 0); err != nil {
		t.Fatal(err)
	}
	counts := newRelayCounts()
	r := &relayer{w: w, pt: 0, mu: &mu, prev: t0, havePrev: true, counts: counts}
	pay := make([]byte, frameSamples)
	const a, b = 0x1111, 0x2222
	steps := []struct {
		name   string
		at     time.Duration // arrival, after t0
		ssrc   uint32
		ts     uint32
		marker bool
		busy   bool   // a key is being sent on the target leg
		delta  uint32 // timestamp after the last packet sent; 0: dropped
		want   bool   // marker
	}{
		{"the bridge's first packet, 185 ms after the prompt's", 185 * time.Millisecond, a, 1000, false, false, 160 + 1320, true},
		{"the next, contiguous", 205 * time.Millisecond, a, 1160, false, false, 160, false},
		{"a duplicate", 206 * time.Millisecond, a, 1160, false, false, 0, false},
		{"a late packet", 207 * time.Millisecond, a, 1000, false, false, 0, false},
		{"after 400 ms of silence suppressed", 625 * time.Millisecond, a, 1320 + 3200, true, false, 160 + 3200, true},
		{"another SSRC", 645 * time.Millisecond, b, 99999, false, false, 160, true},
		{"a clock leap of 10 s in 20 ms", 665 * time.Millisecond, b, 99999 + 160 + 80000, false, false, 160, true},
		{"while a key is sent", 685 * time.Millisecond, b, 99999 + 320 + 80000, false, true, 0, false},
		{"after it", 705 * time.Millisecond, b, 99999 + 480 + 80000, false, false, 320, false},
	}
	for _, s := range steps {
		before := len(rec.pkts)
		if s.busy {
			mu.Lock()
		}
		r.packet(&rtp.Header{SSRC: s.ssrc, Timestamp: s.ts, Marker: s.marker, PayloadType: 0}, pay, t0.Add(s.at))
		if s.busy {
			mu.Unlock()
		}
		if s.delta == 0 {
			if len(rec.pkts) != before {
				t.Errorf("%s: sent, want dropped", s.name)
			}
			continue
		}
		if len(rec.pkts) != before+1 {
			t.Fatalf("%s: %d packets sent, want 1", s.name, len(rec.pkts)-before)
		}
		p, prev := rec.pkts[before], rec.pkts[before-1]
		if d := p.hdr.Timestamp - prev.hdr.Timestamp; d != s.delta {
			t.Errorf("%s: timestamp +%d, want +%d", s.name, d, s.delta)
		}
		if p.hdr.Marker != s.want {
			t.Errorf("%s: marker %v, want %v", s.name, p.hdr.Marker, s.want)
		}
		if p.hdr.SequenceNumber != prev.hdr.SequenceNumber+1 || p.hdr.SSRC != prev.hdr.SSRC {
			t.Errorf("%s: SSRC %x sequence %d after %x %d: not the leg's own stream", s.name, p.hdr.SSRC, p.hdr.SequenceNumber, prev.hdr.SSRC, prev.hdr.SequenceNumber)
		}
	}
	for _, c := range []struct {
		name string
		c    prometheus.Counter
		want float64
	}{{"late", counts.late, 2}, {"key", counts.key, 1}, {"resync", counts.resync, 2}} {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%s counted %v, want %v", c.name, got, c.want)
		}
	}
}

func newRelayCounts() relayCounts {
	return relayCounts{late: prometheus.NewCounter(prometheus.CounterOpts{Name: "late"}),
		key: prometheus.NewCounter(prometheus.CounterOpts{Name: "key"}), resync: prometheus.NewCounter(prometheus.CounterOpts{Name: "resync"})}
}

// A bridge between a PCMA and a PCMU leg sends the target's payload type
// and codec.
func TestRelayTranscodes(t *testing.T) {
	var frame int64
	rec := &recordingRTP{frame: &frame}
	w := media.NewRTPPacketWriter(rec, media.CodecAudioUlaw)
	var mu sync.Mutex
	r := &relayer{w: w, pt: media.CodecAudioUlaw.PayloadType, mu: &mu, counts: newRelayCounts()}
	r.codecs(media.CodecAudioAlaw, media.CodecAudioUlaw)
	// A 1 kHz tone at half scale, in A-law.
	lin := make([]byte, 2*frameSamples)
	for i := range frameSamples {
		v := int16(16384 * math.Sin(2*math.Pi*1000*float64(i)/8000))
		binary.LittleEndian.PutUint16(lin[2*i:], uint16(v))
	}
	pay := make([]byte, frameSamples)
	if _, err := audio.EncodeAlawTo(pay, lin); err != nil {
		t.Fatal(err)
	}
	var got []byte
	rec.payload = func(p []byte) { got = append(got[:0], p...) }
	r.packet(&rtp.Header{SSRC: 1, Timestamp: 0, PayloadType: 8}, pay, time.Now())
	if len(rec.pkts) != 1 || rec.pkts[0].hdr.PayloadType != 0 || len(got) != frameSamples {
		t.Fatalf("sent %+v, want one PCMU packet of %d octets", rec.pkts, frameSamples)
	}
	back := make([]byte, 2*frameSamples)
	if _, err := audio.DecodeUlawTo(back, got); err != nil {
		t.Fatal(err)
	}
	for i := range frameSamples {
		want, have := int16(binary.LittleEndian.Uint16(lin[2*i:])), int16(binary.LittleEndian.Uint16(back[2*i:]))
		if d := int(want) - int(have); d > 1024 || d < -1024 {
			t.Fatalf("sample %d: %d after A-law to µ-law, want %d (G.711 step)", i, have, want)
		}
	}
}

// The stream reports when its last prompt packet was due: its frame and
// slot on the pacer's clock.
func TestPaceStreamLastSent(t *testing.T) {
	r := newPacerRig(t)
	st, rec := r.stream(media.CodecAudioUlaw, make(chan rune, 1))
	if _, ok := st.lastSent(); ok {
		t.Fatal("lastSent before any packet")
	}
	pb := &playback{pcm: frames(2), done: make(chan struct{})}
	st.play(pb)
	r.advance(4 * pacerSlots)
	if len(rec.pkts) != 2 {
		t.Fatalf("%d packets, want 2", len(rec.pkts))
	}
	got, ok := st.lastSent()
	want := r.p.epoch.Add(time.Duration(rec.pkts[1].frame)*frameDur + time.Duration(st.slot)*slotDur)
	if !ok || !got.Equal(want) {
		t.Errorf("lastSent %v %v, want %v", got.Sub(r.p.epoch), ok, want.Sub(r.p.epoch))
	}
}
