package sip

import (
	"math"
	"time"
)

// The audio-path check: after a call is bridged each side sends a probe
// tone of its own frequency (the caller 1100 Hz, the callee 1300 Hz by
// default, clear of the DTMF frequencies 697-1633 Hz's rows and columns:
// 1100 and 1300 sit between them) and listens for the other's with a
// Goertzel filter. Hearing it proves audio flows from the other side; both
// sides hearing each other's proves it flows both ways.
const (
	DefaultCallerToneHz = 1100
	DefaultCalleeToneHz = 1300
	DefaultToneDuration = time.Second

	toneBlock = 160 // 20 ms Goertzel blocks
	// toneRatio is the share of a block's energy that must sit at the
	// frequency: a clean tone through G.711 gives over 0.9, speech and a
	// tone 200 Hz away under 0.1.
	toneRatio = 0.6
	toneMinDB = -40.0
)

// toneDetector reports a tone of one frequency sustained for at least min.
type toneDetector struct {
	hz    float64
	coeff float64
	min   int // blocks
	block [toneBlock]float64
	n     int
	run   int // consecutive blocks with the tone
	quiet int // consecutive blocks without it since the last report
	fired bool
	// onTone is called once per tone heard: with the number of 20 ms
	// blocks it lasted so far (it is called as soon as it passes min).
	onTone func(blocks int)
}

func newToneDetector(hz float64, min time.Duration, onTone func(int)) *toneDetector {
	blocks := int(min / (20 * time.Millisecond))
	if blocks < 2 {
		blocks = 2
	}
	return &toneDetector{hz: hz, coeff: 2 * math.Cos(2*math.Pi*hz/SampleRate), min: blocks, onTone: onTone}
}

// push adds samples; missing samples break no run (a lost packet inside a
// tone is still the tone) but are not analysed.
func (d *toneDetector) push(samples []int16, n int, missing bool) {
	if missing {
		d.n = 0
		return
	}
	for i := 0; i < n; i++ {
		d.block[d.n] = float64(samples[i]) / 32768
		d.n++
		if d.n == toneBlock {
			d.n = 0
			d.judge()
		}
	}
}

func (d *toneDetector) judge() {
	var s1, s2, energy float64
	for _, x := range d.block {
		s := x + d.coeff*s1 - s2
		s2, s1 = s1, s
		energy += x * x
	}
	power := s1*s1 + s2*s2 - d.coeff*s1*s2
	// A sine of amplitude A gives power (A*N/2)^2 and energy A^2*N/2.
	ratio := 0.0
	if energy > 0 {
		ratio = 2 * power / (toneBlock * energy)
	}
	level := 10 * math.Log10(2*energy/toneBlock+1e-30)
	if ratio >= toneRatio && level >= toneMinDB {
		d.run++
		d.quiet = 0
		if !d.fired && d.run >= d.min {
			d.fired = true
			d.onTone(d.run)
		}
		return
	}
	d.run = 0
	d.quiet++
	if d.quiet >= 15 { // 300 ms of something else: the next tone is new
		d.fired = false
	}
}

// Tone returns duration of a sine tone of hz at amplitude (0..1 of full
// scale) as 8 kHz samples, with 10 ms ramps so it starts and ends without
// clicks.
func Tone(hz float64, d time.Duration, amplitude float64) []int16 {
	n := int(d.Seconds() * SampleRate)
	out := make([]int16, n)
	ramp := SampleRate / 100
	for i := range out {
		g := amplitude
		if i < ramp {
			g *= float64(i) / float64(ramp)
		} else if n-i < ramp {
			g *= float64(n-i) / float64(ramp)
		}
		out[i] = int16(32767 * g * math.Sin(2*math.Pi*hz*float64(i)/SampleRate))
	}
	return out
}
