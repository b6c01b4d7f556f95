package sip

import (
	"sync/atomic"
	"time"
)

// A listener analyses one direction of a call's audio as it arrives: it
// fingerprints it (features.go), slides every reference over it
// (match.go) and reports each prompt recognised, each stretch of sound no
// reference explains (a recorded name, a voice), and the probe tone.
//
// Recognition is online, so cues can fire while the call goes on: a
// reference's score is followed frame by frame, its peak is taken once the
// score has fallen for confirmFrames, and a candidate is reported holdFrames
// after its end unless an overlapping candidate of another reference scored
// higher (two references cannot both explain the same audio). Sound is
// grouped into segments separated by gapFrames of silence; when a segment
// ends, its sounding parts that no reported prompt covers, if they last
// minSpeechFrames, are reported as unidentified speech: once no reference
// could still explain them, that is when the longest reference's length
// has passed since the segment ended (a prompt with a long pause in it is
// two segments until the prompt is recognised at its end).
const (
	confirmFrames   = 5    // 50 ms
	holdFrames      = 10   // 100 ms
	gapFrames       = 30   // 300 ms
	minSpeechFrames = 20   // 200 ms
	maxSegment      = 3000 // 30 s: longer sound is cut into segments
)

// heardKind says what a listener heard.
type heardKind int

const (
	heardPrompt heardKind = iota
	heardSpeech
	heardTone
)

// heard is one thing a listener heard, with the times of its first and
// last sound.
type heard struct {
	kind       heardKind
	prompt     string
	digit      rune
	score      float64
	hz         float64
	start, end time.Time
}

type segment struct{ start, end, due int }

type candidate struct {
	ref        *reference
	start, end int // absolute frames, end exclusive
	score      float64
}

type peak struct {
	best  float64
	start int
	since int
}

type listener struct {
	prompts *Prompts
	fp      *fingerprinter
	base    int       // absolute index of fp.out's first frame
	t0      time.Time // time of absolute frame 0
	started bool
	peaks   []peak
	pending []candidate
	recent  []candidate // reported, for overlap checks and speech coverage

	// Sound segments; closed holds ended ones until no reference can
	// still explain their sound.
	inSegment  bool
	segStart   int
	lastVoiced int
	closed     []segment

	tones     []*toneDetector
	toneSpans []segment // frames a probe tone covered (not speech)
	samples   int64     // every sample pushed (tone times)

	// Quietness, for other goroutines: the stream time (unix ns) of the
	// last sounding frame and of the last frame, and the wall time the
	// last packet was pushed.
	lastSound atomic.Int64
	lastFrame atomic.Int64
	lastPush  atomic.Int64
	t0ns      atomic.Int64
	emit      func(heard)
}

// newListener returns a listener reporting to emit (called on the
// goroutine that pushes audio). prompts may be nil (then only speech and
// tones are reported); toneHz lists the probe tones to listen for.
func newListener(prompts *Prompts, toneHz []float64, toneMin time.Duration, emit func(heard)) *listener {
	l := &listener{prompts: prompts, fp: newFingerprinter(), emit: emit}
	// The stream starts with contextFrames of missing audio, so a prompt
	// that starts the stream matches although its reference begins with
	// silence the stream never had.
	for i := 0; i < contextFrames; i++ {
		l.fp.out.bands = append(l.fp.out.bands, make([]float32, nBands)...)
		l.fp.out.level = append(l.fp.out.level, floorDB)
		l.fp.out.missing = append(l.fp.out.missing, true)
	}
	l.base = -contextFrames
	if prompts != nil {
		l.peaks = make([]peak, len(prompts.refs))
	}
	for _, hz := range toneHz {
		hz := hz
		var d *toneDetector
		d = newToneDetector(hz, toneMin, func(blocks int) {
			end := l.timeAtSample(l.samples)
			l.emit(heard{kind: heardTone, hz: hz, start: end.Add(-time.Duration(blocks) * 20 * time.Millisecond), end: end})
		})
		l.tones = append(l.tones, d)
	}
	return l
}

func (l *listener) timeAtSample(n int64) time.Time {
	return l.t0.Add(time.Duration(n) * time.Second / SampleRate)
}

func (l *listener) timeAt(frame int) time.Time {
	return l.t0.Add(time.Duration(frame) * frameDurMs * time.Millisecond)
}

// quietFor returns how long the line has been quiet (since the stream
// began when it never sounded) as of now. It is measured on the stream's
// own time while audio keeps arriving, so a listener that runs behind on
// a busy machine does not mistake its backlog for silence, plus the wall
// time since the last packet when the far end stopped sending (a B2BUA
// sends no RTP between prompts).
func (l *listener) quietFor(now time.Time) time.Duration {
	frame, push := l.lastFrame.Load(), l.lastPush.Load()
	if frame == 0 {
		return 0
	}
	sound := l.lastSound.Load()
	if sound == 0 {
		sound = l.t0ns.Load()
	}
	quiet := time.Duration(frame - sound)
	if idle := now.Sub(time.Unix(0, push)) - 40*time.Millisecond; idle > 0 {
		quiet += idle
	}
	return max(quiet, 0)
}

// push adds n samples ending at time at (missing: lost in transit).
func (l *listener) push(samples []int16, n int, missing bool, at time.Time) {
	if !l.started {
		// The stream's time starts when its first packet arrived (its
		// audio was sent 20 ms earlier; the timeline shows arrivals).
		l.started = true
		l.t0 = at
		l.t0ns.Store(at.UnixNano())
	}
	defer l.lastPush.Store(time.Now().UnixNano())
	for _, d := range l.tones {
		d.push(samples, n, missing)
	}
	l.samples += int64(n)
	for _, d := range l.tones {
		if d.fired && d.run > 0 {
			l.markTone(l.samples-int64(d.run)*toneBlock, l.samples)
		}
	}
	before := l.fp.out.len()
	frames := l.fp.push(samples, n, missing)
	for i := 0; i < frames; i++ {
		l.frame(l.base + before + i)
	}
	l.trim()
}

// frame judges the frame at absolute index t, just fingerprinted.
func (l *listener) frame(t int) {
	out := &l.fp.out
	local := t - l.base
	voiced := out.voiced(local)
	if voiced {
		l.lastSound.Store(l.timeAt(t + 1).UnixNano())
	}
	l.lastFrame.Store(l.timeAt(t + 1).UnixNano())
	if l.prompts != nil {
		for i, r := range l.prompts.refs {
			l.follow(i, r, t)
		}
	}
	l.settle(t)
	l.segment(t, voiced)
	l.dueSegments(t)
}

// follow tracks reference i's score at the window ending at frame t.
func (l *listener) follow(i int, r *reference, t int) {
	p := &l.peaks[i]
	n := r.fp.len()
	start := t - n + 1
	s, ok := 0.0, false
	if start >= l.base {
		s, ok = matchScore(&r.fp, &l.fp.out, start-l.base)
	}
	if ok && s >= matchThreshold {
		if s > p.best {
			*p = peak{best: s, start: start}
			return
		}
	}
	if p.best == 0 {
		return
	}
	p.since++
	if p.since >= confirmFrames {
		l.pending = append(l.pending, candidate{ref: r, start: p.start, end: p.start + n, score: p.best})
		*p = peak{}
	}
}

// overlaps reports whether two candidates cover the same audio: more than
// half of the shorter one.
func overlaps(a, b candidate) bool {
	lo, hi := max(a.start, b.start), min(a.end, b.end)
	return hi-lo > min(a.end-a.start, b.end-b.start)/2
}

// settle reports the pending candidates whose hold has passed at frame t
// and that no overlapping candidate beats.
func (l *listener) settle(t int) {
	kept := l.pending[:0]
	var ready []candidate
	for _, c := range l.pending {
		if t >= c.end+holdFrames {
			ready = append(ready, c)
		} else {
			kept = append(kept, c)
		}
	}
	l.pending = kept
	for _, c := range ready {
		beaten := false
		for _, o := range append(append([]candidate(nil), l.pending...), ready...) {
			if o != c && overlaps(o, c) && (o.score > c.score || (o.score == c.score && o.ref.name < c.ref.name)) {
				beaten = true
				break
			}
		}
		for _, o := range l.recent {
			if overlaps(o, c) {
				beaten = true
				break
			}
		}
		if beaten {
			continue
		}
		l.recent = append(l.recent, c)
		l.emit(heard{kind: heardPrompt, prompt: c.ref.name, digit: c.ref.digit, score: c.score,
			start: l.timeAt(c.start + soundOffset(c.ref)), end: l.timeAt(c.end - trailingSilence(c.ref))})
	}
}

// soundOffset and trailingSilence return how many frames of silence a
// reference keeps before and after its sound.
func soundOffset(r *reference) int {
	i := 0
	for i < r.fp.len() && r.fp.level[i] <= speechDB {
		i++
	}
	return i
}

func trailingSilence(r *reference) int {
	i := 0
	for i < r.fp.len() && r.fp.level[r.fp.len()-1-i] <= speechDB {
		i++
	}
	return i
}

// segment follows sound segments and reports the unexplained speech in
// each one that ends at frame t.
func (l *listener) segment(t int, voiced bool) {
	if voiced {
		if !l.inSegment {
			l.inSegment = true
			l.segStart = t
		}
		l.lastVoiced = t
	}
	if !l.inSegment {
		return
	}
	if t-l.lastVoiced < gapFrames && t-l.segStart < maxSegment {
		return
	}
	l.inSegment = false
	l.closeSegment()
}

// closeSegment queues the open segment until it is due.
func (l *listener) closeSegment() {
	longest := 0
	if l.prompts != nil {
		longest = l.prompts.maxLen
	}
	end := l.lastVoiced + 1
	l.closed = append(l.closed, segment{start: l.segStart, end: end, due: end + longest + confirmFrames + holdFrames})
}

// dueSegments reports the speech of the closed segments due at frame t.
func (l *listener) dueSegments(t int) {
	for len(l.closed) > 0 && l.closed[0].due <= t {
		seg := l.closed[0]
		l.closed = l.closed[1:]
		l.speech(seg.start, seg.end)
	}
}

// speech reports the sounding runs of frames [from, to) that no reported
// prompt covers.
func (l *listener) speech(from, to int) {
	runStart, runEnd, voicedN := -1, -1, 0
	flush := func() {
		if runStart >= 0 && voicedN >= minSpeechFrames {
			l.emit(heard{kind: heardSpeech, start: l.timeAt(runStart), end: l.timeAt(runEnd + 1)})
		}
		runStart, voicedN = -1, 0
	}
	for f := max(from, l.base); f < to; f++ {
		if !l.fp.out.voiced(f-l.base) || l.covered(f) {
			continue
		}
		if runStart >= 0 && f-runEnd > gapFrames {
			flush()
		}
		if runStart < 0 {
			runStart = f
		}
		runEnd = f
		voicedN++
	}
	flush()
}

func (l *listener) covered(f int) bool {
	for _, c := range l.recent {
		if f >= c.start && f < c.end {
			return true
		}
	}
	for _, t := range l.toneSpans {
		if f >= t.start && f < t.end {
			return true
		}
	}
	return false
}

// markTone records that samples [from, to) were a probe tone. Frame k's
// window ends at sample (k+1)*80 and reaches 200 samples back, and the
// detector's 20 ms blocks are not aligned with the tone: a few frames of
// margin either side.
func (l *listener) markTone(from, to int64) {
	start := int(from/hopSamples) - 3
	end := int(to/hopSamples) + 4
	if n := len(l.toneSpans); n > 0 && l.toneSpans[n-1].end >= start {
		l.toneSpans[n-1].end = max(l.toneSpans[n-1].end, end)
		return
	}
	l.toneSpans = append(l.toneSpans, segment{start: start, end: end})
}

// trim forgets frames no reference window, pending candidate or open
// segment can reach any more.
func (l *listener) trim() {
	now := l.base + l.fp.out.len()
	keep := now - 200
	if l.prompts != nil {
		keep = now - l.prompts.maxLen - confirmFrames - holdFrames - 10
	}
	if l.inSegment {
		keep = min(keep, l.segStart)
	}
	for _, seg := range l.closed {
		keep = min(keep, seg.start)
	}
	for _, c := range l.pending {
		keep = min(keep, c.start)
	}
	drop := keep - l.base
	if drop < 1000 { // compact in batches
		return
	}
	l.fp.out.drop(drop)
	l.base += drop
	recent := l.recent[:0]
	for _, c := range l.recent {
		if c.end > l.base-gapFrames-maxSegment {
			recent = append(recent, c)
		}
	}
	l.recent = recent
	spans := l.toneSpans[:0]
	for _, t := range l.toneSpans {
		if t.end > l.base-gapFrames-maxSegment {
			spans = append(spans, t)
		}
	}
	l.toneSpans = spans
}

// flush settles everything still held when the audio ends: pending
// candidates are judged and an open segment is closed.
func (l *listener) flush() {
	end := l.base + l.fp.out.len()
	for i := range l.peaks {
		p := &l.peaks[i]
		if p.best > 0 {
			r := l.prompts.refs[i]
			l.pending = append(l.pending, candidate{ref: r, start: p.start, end: p.start + r.fp.len(), score: p.best})
			*p = peak{}
		}
	}
	l.settle(max(end, l.lastDue()))
	if l.inSegment {
		l.inSegment = false
		l.closeSegment()
	}
	for _, seg := range l.closed {
		l.speech(seg.start, seg.end)
	}
	l.closed = nil
}

// lastDue returns the frame at which the last pending candidate is due.
func (l *listener) lastDue() int {
	m := 0
	for _, c := range l.pending {
		m = max(m, c.end+holdFrames)
	}
	return m
}
