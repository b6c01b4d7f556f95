package sip

import (
	"math"
	"testing"
	"time"

	"github.com/zaf/g711"
)

func companded(pcm []int16) []int16 {
	out := make([]int16, len(pcm))
	for i, v := range pcm {
		out[i] = g711.DecodeUlawFrame(g711.EncodeUlawFrame(v))
	}
	return out
}

// dtmf returns the two tones of a DTMF key.
func dtmf(lo, hi float64, d time.Duration) []int16 {
	a, b := Tone(lo, d, 0.3), Tone(hi, d, 0.3)
	for i := range a {
		a[i] += b[i]
	}
	return a
}

func detect(hz float64, pcm []int16) (fired int) {
	d := newToneDetector(hz, 300*time.Millisecond, func(int) { fired++ })
	for off := 0; off < len(pcm); off += 160 {
		end := min(off+160, len(pcm))
		d.push(pcm[off:end], end-off, false)
	}
	return fired
}

func TestToneDetector(t *testing.T) {
	speech, err := ReadWAVFile(promptPath(t, "press-1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		hz   float64
		pcm  []int16
		want int
	}{
		{"its tone through G.711", 1300, companded(Tone(1300, time.Second, 0.5)), 1},
		{"quiet tone", 1100, companded(Tone(1100, time.Second, 0.02)), 1},
		{"two tones, a pause between", 1100, append(append(Tone(1100, 500*time.Millisecond, 0.5), Silence(400*time.Millisecond)...), Tone(1100, 500*time.Millisecond, 0.5)...), 2},
		{"too short", 1300, Tone(1300, 200*time.Millisecond, 0.5), 0},
		{"the other side's tone", 1300, companded(Tone(1100, time.Second, 0.5)), 0},
		{"DTMF 5 (770+1336)", 1300, dtmf(770, 1336, time.Second), 0},
		{"DTMF 1 (697+1209)", 1100, dtmf(697, 1209, time.Second), 0},
		{"speech", 1100, speech, 0},
		{"speech", 1300, speech, 0},
		{"silence", 1300, Silence(time.Second), 0},
	} {
		if got := detect(tc.hz, tc.pcm); got != tc.want {
			t.Errorf("%s at %.0f Hz: detected %d times, want %d", tc.name, tc.hz, got, tc.want)
		}
	}
}

func TestToneLevel(t *testing.T) {
	pcm := Tone(1000, time.Second, 0.5)
	peak := 0.0
	for _, v := range pcm {
		peak = math.Max(peak, math.Abs(float64(v)))
	}
	if peak < 16000 || peak > 16400 || pcm[0] != 0 {
		t.Errorf("peak %.0f, first sample %d: want half of full scale, ramped in", peak, pcm[0])
	}
}
