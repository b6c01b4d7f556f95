package sip

import (
	"math"
	"math/cmplx"
)

// The fingerprint of audio is a sequence of frames, one every 10 ms, each
// the log energy of a 25 ms Hann window in nBands mel-spaced bands between
// 250 and 3500 Hz, plus the frame's overall level. Log energies floored a
// fixed distance below full scale make the fingerprint indifferent to
// G.711 companding noise (which lives under the floor) and to digital
// silence versus near silence; the correlation that compares fingerprints
// (match.go) removes the mean, so a level change does not matter either.
const (
	hopSamples = SampleRate / 100 // 10 ms
	winSamples = 200              // 25 ms
	fftSize    = 256
	nBands     = 16
	lowHz      = 250.0
	highHz     = 3500.0

	// floorDB is the lowest log energy a band or a frame level takes,
	// relative to a full-scale sine; speechDB is the level above which a
	// frame counts as sound (not silence).
	floorDB  = -60.0
	speechDB = -42.0
)

// frameDur is the time one fingerprint frame stands for.
const frameDurMs = 1000 / (SampleRate / hopSamples)

var (
	hann      [winSamples]float64
	twiddle   [fftSize / 2]complex128
	bandOf    [fftSize/2 + 1]int8 // band of each FFT bin, -1 outside
	refEnergy float64             // energy of a full-scale sine, for dB
)

func init() {
	for i := range hann {
		hann[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(winSamples-1))
	}
	for i := range twiddle {
		twiddle[i] = cmplx.Exp(complex(0, -2*math.Pi*float64(i)/fftSize))
	}
	mel := func(f float64) float64 { return 2595 * math.Log10(1+f/700) }
	lo, hi := mel(lowHz), mel(highHz)
	for k := range bandOf {
		f := float64(k) * SampleRate / fftSize
		bandOf[k] = -1
		if f >= lowHz && f < highHz {
			bandOf[k] = int8((mel(f) - lo) / (hi - lo) * nBands)
		}
	}
	var sine [winSamples]float64
	for i := range sine {
		sine[i] = math.Sin(2 * math.Pi * 1000 * float64(i) / SampleRate)
	}
	var bands [nBands]float64
	refEnergy = 1
	refEnergy = analyse(sine[:], &bands)
}

// analyse computes the band energies of one window of samples (scaled to
// [-1, 1]) into bands and returns the window's total energy.
func analyse(win []float64, bands *[nBands]float64) float64 {
	var buf [fftSize]complex128
	for i, v := range win {
		buf[i] = complex(v*hann[i], 0)
	}
	fft(buf[:])
	*bands = [nBands]float64{}
	total := 0.0
	for k := 0; k <= fftSize/2; k++ {
		b := bandOf[k]
		if b < 0 {
			continue
		}
		p := real(buf[k])*real(buf[k]) + imag(buf[k])*imag(buf[k])
		bands[b] += p
		total += p
	}
	return total / refEnergy
}

// fft is an in-place iterative radix-2 FFT of len(x) == fftSize.
func fft(x []complex128) {
	n := len(x)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		step := n / size
		for start := 0; start < n; start += size {
			for k := 0; k < size/2; k++ {
				t := twiddle[k*step] * x[start+k+size/2]
				x[start+k+size/2] = x[start+k] - t
				x[start+k] += t
			}
		}
	}
}

func toDB(e float64) float32 {
	db := 10 * math.Log10(e+1e-30)
	if db < floorDB {
		db = floorDB
	}
	return float32(db)
}

// fingerprint is a sequence of frames: bands holds nBands log energies per
// frame, level the frame's overall log energy, missing marks frames whose
// window touched audio that never arrived (lost packets).
type fingerprint struct {
	bands   []float32
	level   []float32
	missing []bool
}

func (f *fingerprint) len() int { return len(f.level) }

// voiced reports whether frame i is sound rather than silence.
func (f *fingerprint) voiced(i int) bool { return !f.missing[i] && f.level[i] > speechDB }

// fingerprinter turns a stream of samples into fingerprint frames. The
// window is a ring: head is where the next sample goes.
type fingerprinter struct {
	win     [winSamples]float64
	lost    [winSamples]bool
	head    int
	pending int // samples since the last frame
	lostN   int // lost samples in win
	out     fingerprint
}

func newFingerprinter() *fingerprinter {
	p := &fingerprinter{}
	// The window starts as missing audio so the first frames, whose window
	// reaches back before the stream, never match anything.
	for i := range p.lost {
		p.lost[i] = true
	}
	p.lostN = winSamples
	return p
}

// push adds samples (or, when missing, n samples that were lost) and
// returns how many frames were appended to p.out.
func (p *fingerprinter) push(samples []int16, n int, missing bool) int {
	frames := 0
	for i := 0; i < n; i++ {
		v := 0.0
		if !missing {
			v = float64(samples[i]) / 32768
		}
		if p.lost[p.head] {
			p.lostN--
		}
		p.win[p.head] = v
		p.lost[p.head] = missing
		if missing {
			p.lostN++
		}
		p.head++
		if p.head == winSamples {
			p.head = 0
		}
		p.pending++
		if p.pending == hopSamples {
			p.pending = 0
			p.frame()
			frames++
		}
	}
	return frames
}

func (p *fingerprinter) frame() {
	var ordered [winSamples]float64
	n := copy(ordered[:], p.win[p.head:])
	copy(ordered[n:], p.win[:p.head])
	var bands [nBands]float64
	total := analyse(ordered[:], &bands)
	for _, e := range bands {
		p.out.bands = append(p.out.bands, toDB(e))
	}
	p.out.level = append(p.out.level, toDB(total))
	p.out.missing = append(p.out.missing, p.lostN > winSamples/2)
}

// drop forgets the first n frames of p.out (the caller keeps the count).
func (f *fingerprint) drop(n int) {
	f.bands = append(f.bands[:0], f.bands[n*nBands:]...)
	f.level = append(f.level[:0], f.level[n:]...)
	f.missing = append(f.missing[:0], f.missing[n:]...)
}

// fingerprintOf returns the fingerprint of a whole recording.
func fingerprintOf(pcm []int16) fingerprint {
	p := newFingerprinter()
	// Lead in with silence rather than missing audio: a recording starts
	// where it starts.
	for i := range p.lost {
		p.lost[i] = false
	}
	p.lostN = 0
	p.push(pcm, len(pcm), false)
	// Flush the tail so the last sound is fully inside a window.
	var zeros [winSamples]int16
	p.push(zeros[:], winSamples-hopSamples, false)
	return p.out
}
