package sip

import (
	"math"
	"time"
)

// GeneratedName returns a voice-like recording to say as a name when no
// file is given: three syllables (a pulse train at a gliding pitch through
// formant resonators, with a syllable envelope), 1.2 s in all. It is the
// same every time, so a test can add it as a reference and recognise the
// name where the callee hears it.
func GeneratedName() []int16 {
	type syllable struct {
		dur, gap   time.Duration
		f0a, f0b   float64    // pitch glide, Hz
		formants   [3]float64 // Hz
		bandwidths [3]float64 // Hz
		amplitude  float64
	}
	syl := []syllable{
		{300 * time.Millisecond, 60 * time.Millisecond, 130, 120, [3]float64{730, 1090, 2440}, [3]float64{90, 110, 170}, 0.5},
		{260 * time.Millisecond, 50 * time.Millisecond, 125, 105, [3]float64{270, 2290, 3010}, [3]float64{60, 100, 150}, 0.45},
		{420 * time.Millisecond, 0, 115, 90, [3]float64{570, 840, 2410}, [3]float64{80, 100, 160}, 0.5},
	}
	var out []float64
	phase := 0.0
	for _, s := range syl {
		n := int(s.dur.Seconds() * SampleRate)
		var res [3]resonator
		for i := range res {
			res[i] = newResonator(s.formants[i], s.bandwidths[i])
		}
		for i := 0; i < n; i++ {
			t := float64(i) / float64(n)
			f0 := s.f0a + (s.f0b-s.f0a)*t
			phase += f0 / SampleRate
			src := 0.0
			if phase >= 1 {
				phase -= 1
				src = 1 // a glottal pulse
			}
			v := 0.0
			for k := range res {
				v += res[k].step(src) / float64(k+1)
			}
			env := math.Sin(math.Pi * t) // the syllable swells and fades
			out = append(out, v*env*s.amplitude)
		}
		out = append(out, make([]float64, int(s.gap.Seconds()*SampleRate))...)
	}
	// Peak at half of full scale: a voice at a normal level.
	peak := 0.0
	for _, v := range out {
		peak = math.Max(peak, math.Abs(v))
	}
	pcm := make([]int16, len(out))
	for i, v := range out {
		pcm[i] = clip16(v / peak * 16000)
	}
	return pcm
}

// resonator is a two-pole resonant filter (a formant).
type resonator struct{ a1, a2, g, y1, y2 float64 }

func newResonator(hz, bw float64) resonator {
	r := math.Exp(-math.Pi * bw / SampleRate)
	return resonator{a1: 2 * r * math.Cos(2*math.Pi*hz/SampleRate), a2: -r * r, g: 1 - r}
}

func (r *resonator) step(x float64) float64 {
	y := r.g*x + r.a1*r.y1 + r.a2*r.y2
	r.y2, r.y1 = r.y1, y
	return y
}

func clip16(v float64) int16 {
	switch {
	case v > 32767:
		return 32767
	case v < -32768:
		return -32768
	}
	return int16(v)
}

// Silence returns d of silence.
func Silence(d time.Duration) []int16 {
	return make([]int16, int(d.Seconds()*SampleRate))
}
