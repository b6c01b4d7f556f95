package sip

import "math"

// Matching a reference against what was heard is a correlation: the
// reference's fingerprint is laid over the heard frames ending at the
// current one and the Pearson correlation of their log band energies is the
// score (1 for the same audio). Evaluated at every frame, the alignment is
// found by sliding, so any offset is tolerated; frames lost in transit are
// left out of the sums rather than compared as silence; a cheap correlation
// of the frame levels alone screens out hopeless windows first.
const (
	// matchThreshold is the score above which a window counts as the
	// reference. With espeak-ng prompts, exact playback through G.711
	// scores over 0.92, and over 0.88 with 8 % packet loss and jitter
	// (TestRecognitionThroughLossAndJitter); no prompt scores over 0.76
	// anywhere in another (the closest pair is "five" and "nine"; "one"
	// inside "press 1 to accept" stays well under; TestReferencesAreDistinct).
	// When two references both pass, the higher score wins.
	matchThreshold = 0.80
	// levelScreen is the level-only correlation below which the full
	// comparison is not computed.
	levelScreen = 0.5
	// shapeDB is the level above which a reference frame's spectral shape
	// is compared: lower than speechDB, so weak consonants (the f of
	// "five" against the n of "nine") count.
	shapeDB = -52.0
	// maxMissing is the share of lost frames (frames whose window is
	// mostly lost audio) above which a window is not judged at all.
	maxMissing = 0.4
)

// pearson accumulates the sums of a Pearson correlation.
type pearson struct {
	n, sx, sy, sxx, syy, sxy float64
}

func (p *pearson) add(x, y float32) {
	fx, fy := float64(x), float64(y)
	p.n++
	p.sx += fx
	p.sy += fy
	p.sxx += fx * fx
	p.syy += fy * fy
	p.sxy += fx * fy
}

// r returns the correlation; a constant series (all silence) gives 0.
func (p *pearson) r() float64 {
	if p.n < 2 {
		return 0
	}
	vx := p.sxx - p.sx*p.sx/p.n
	vy := p.syy - p.sy*p.sy/p.n
	if vx <= 1e-9 || vy <= 1e-9 {
		return 0
	}
	return (p.sxy - p.sx*p.sy/p.n) / math.Sqrt(vx*vy)
}

// matchScore compares ref with the heard frames [start, start+len(ref)).
// The score is the lower of two correlations: of the frame levels (the
// loudness contour, silences included) and of the spectral shapes of the
// frames where the reference has sound (each frame's band energies minus
// their mean, so only the shape counts). Either alone is fooled: every
// short word between silences has a similar contour, and the same word
// inside a sentence has the same shape. ok is false when the window cannot
// be judged (too much of it lost) or fails the level screen.
func matchScore(ref, heard *fingerprint, start int) (score float64, ok bool) {
	n := ref.len()
	if start < 0 || start+n > heard.len() {
		return 0, false
	}
	var lv pearson
	missing := 0
	for i := 0; i < n; i++ {
		if heard.missing[start+i] {
			missing++
			continue
		}
		lv.add(ref.level[i], heard.level[start+i])
	}
	level := lv.r()
	if float64(missing) > maxMissing*float64(n) || level < levelScreen {
		return 0, false
	}
	// The spectral shape of a frame is its band energies minus their mean;
	// the shapes' average over the window is removed too, so what is
	// compared is how the spectrum moves (the phonemes), not the tilt every
	// voice has in common.
	var rAvg, hAvg [nBands]float32
	voiced := 0
	for i := 0; i < n; i++ {
		if heard.missing[start+i] || ref.level[i] <= shapeDB {
			continue
		}
		voiced++
		rb := ref.bands[i*nBands : (i+1)*nBands]
		hb := heard.bands[(start+i)*nBands : (start+i+1)*nBands]
		rm, hm := mean(rb), mean(hb)
		for b := range rb {
			rAvg[b] += rb[b] - rm
			hAvg[b] += hb[b] - hm
		}
	}
	if voiced == 0 {
		return 0, false
	}
	for b := range rAvg {
		rAvg[b] /= float32(voiced)
		hAvg[b] /= float32(voiced)
	}
	var sv pearson
	for i := 0; i < n; i++ {
		if heard.missing[start+i] || ref.level[i] <= shapeDB {
			continue
		}
		rb := ref.bands[i*nBands : (i+1)*nBands]
		hb := heard.bands[(start+i)*nBands : (start+i+1)*nBands]
		rm, hm := mean(rb), mean(hb)
		for b := range rb {
			sv.add(rb[b]-rm-rAvg[b], hb[b]-hm-hAvg[b])
		}
	}
	return min(level, sv.r()), true
}

func mean(v []float32) float32 {
	var s float32
	for _, x := range v {
		s += x
	}
	return s / float32(len(v))
}
