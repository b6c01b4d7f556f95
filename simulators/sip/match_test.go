package sip

import (
	"math/rand"
	"testing"
	"time"

	"github.com/zaf/g711"
)

// rtpFeed plays recordings into a receiver as 20 ms RTP packets: G.711
// (mu-law or A-law), a pause between recordings (the sender's timestamp
// moves on), a share of packets lost, and arrival jitter.
type rtpFeed struct {
	rx      *receiver
	rng     *rand.Rand
	alaw    bool
	loss    float64
	jitter  time.Duration
	seq     uint16
	ts      uint32
	now     time.Time
	dropped int
}

func (f *rtpFeed) play(pcm []int16) {
	for off := 0; off < len(pcm); off += packetSamples {
		chunk := pcm[off:min(off+packetSamples, len(pcm))]
		payload := make([]byte, len(chunk))
		pt := uint8(ptPCMU)
		for i, v := range chunk {
			if f.alaw {
				payload[i], pt = g711.EncodeAlawFrame(v), ptPCMA
			} else {
				payload[i] = g711.EncodeUlawFrame(v)
			}
		}
		f.now = f.now.Add(20 * time.Millisecond)
		at := f.now
		if f.jitter > 0 {
			at = at.Add(time.Duration(f.rng.Int63n(int64(f.jitter))))
		}
		if f.rng.Float64() >= f.loss {
			f.rx.packet(pt, f.seq, f.ts, 0x1234, payload, at)
		} else {
			f.dropped++
		}
		f.seq++
		f.ts += uint32(len(chunk))
	}
}

func (f *rtpFeed) pause(d time.Duration) {
	f.now = f.now.Add(d)
	f.ts += uint32(d.Seconds() * SampleRate)
}

// Every prompt, digits among them, is recognised in a stream of them
// played through G.711 with packet loss and arrival jitter, in order and
// nothing else; the scores of the right prompt clear the threshold by a
// margin, and no window of the stream scores that high for another.
func TestRecognitionThroughLossAndJitter(t *testing.T) {
	prompts := loadTestPrompts(t)
	names := prompts.Names()
	pcm := map[string][]int16{}
	for _, n := range names {
		p, err := ReadWAVFile(promptPath(t, n))
		if err != nil {
			t.Fatal(err)
		}
		pcm[n] = p
	}
	for _, tc := range []struct {
		name   string
		loss   float64
		alaw   bool
		jitter time.Duration
	}{
		{"clean mu-law", 0, false, 0},
		{"a-law 3% loss 15ms jitter", 0.03, true, 15 * time.Millisecond},
		{"mu-law 8% loss", 0.08, false, 5 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(7))
			order := append([]string(nil), names...)
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			minTrue := 1.0
			defer func() { t.Logf("lowest score %.3f", minTrue) }()
			var events []heard
			lst := newListener(prompts, nil, 0, func(h heard) { events = append(events, h) })
			f := &rtpFeed{rx: &receiver{listener: lst, counter: &rtpCounter{}, eventPT: -1}, rng: rng, loss: tc.loss, alaw: tc.alaw, jitter: tc.jitter, now: time.Unix(1000, 0)}
			for _, n := range order {
				f.pause(time.Duration(rng.Intn(4)) * 100 * time.Millisecond) // 0-300 ms between
				f.play(pcm[n])
			}
			f.pause(time.Second)
			f.play(Silence(500 * time.Millisecond))
			lst.flush()
			var got []string
			for _, h := range events {
				switch h.kind {
				case heardPrompt:
					got = append(got, h.prompt)
					minTrue = min(minTrue, h.score)
					if h.score < matchThreshold+0.05 {
						t.Errorf("%s recognised with %.3f, under the threshold's margin", h.prompt, h.score)
					}
				case heardSpeech:
					t.Errorf("unexplained speech %v-%v", h.start.Sub(time.Unix(1000, 0)), h.end.Sub(time.Unix(1000, 0)))
				}
			}
			if len(got) != len(order) {
				t.Fatalf("heard %d prompts %q, want %d %q (%d packets lost)", len(got), got, len(order), order, f.dropped)
			}
			for i := range got {
				if got[i] != order[i] {
					t.Errorf("prompt %d: heard %q, want %q", i, got[i], order[i])
				}
			}
		})
	}
}

// The references never match one another: no prompt's best window over
// any other prompt clears the threshold (the digits among themselves,
// and "one" inside "press 1 ...").
func TestReferencesAreDistinct(t *testing.T) {
	prompts := loadTestPrompts(t)
	for _, other := range prompts.Names() {
		p, err := ReadWAVFile(promptPath(t, other))
		if err != nil {
			t.Fatal(err)
		}
		heard := fingerprintOf(append(append(Silence(300*time.Millisecond), p...), Silence(300*time.Millisecond)...))
		for _, r := range prompts.refs {
			if r.name == other {
				continue
			}
			best := 0.0
			for start := 0; start+r.fp.len() <= heard.len(); start++ {
				if s, ok := matchScore(&r.fp, &heard, start); ok && s > best {
					best = s
				}
			}
			if best >= matchThreshold-0.03 {
				t.Errorf("%q scores %.3f somewhere in %q (threshold %.2f)", r.name, best, other, matchThreshold)
			}
		}
	}
}
