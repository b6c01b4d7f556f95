package sip

import (
	"fmt"
	"time"
)

// Behaviour is what a phone does with a call's media, on either side: what
// it recognises, its script, how it keys digits, its name and its probe
// tone.
type Behaviour struct {
	// Prompts are the recordings to recognise (LoadPrompts); nil
	// recognises none (speech and tones are still reported).
	Prompts *Prompts
	// Script is what to do when (script.go).
	Script Script
	// DTMFMode is how digit steps are keyed; "" is DTMFRFC4733.
	DTMFMode DTMFMode
	// DTMFDuration is how long each digit lasts (100 ms) and DTMFGap the
	// pause after it (100 ms).
	DTMFDuration, DTMFGap time.Duration
	// Name is what the "say" step plays (8 kHz samples); nil plays
	// GeneratedName().
	Name []int16
	// Probe is the audio-path check (tone.go).
	Probe Probe
	// NoSilence stops the phone sending silence when it has nothing to
	// say (by default it sends RTP every 20 ms, as phones do).
	NoSilence bool
	// Identify turns prompt recognition off when false in a Load (where
	// it costs CPU); single calls always listen. Ignored outside Load.
	Identify bool
	// OnEvent, when set, sees every timeline event as it is recorded
	// (from several goroutines, one at a time per call).
	OnEvent func(Event)
}

// Probe configures the audio-path check. After a call is answered, the
// answering phone sends its tone once its script has nothing left to do
// and the line has been quiet for a second, and again (five tries in all,
// four seconds apart) until it hears the caller's; each side answers the
// first tone it hears from the other with its own. Each side's result
// says whether it heard the other's tone.
type Probe struct {
	// Off disables sending tones on its own (the "probe" step still does).
	Off bool
	// SendHz and ExpectHz default to the side's tone and the other's
	// (DefaultCallerToneHz, DefaultCalleeToneHz).
	SendHz, ExpectHz float64
	// Duration is the tone's length (1 s); MinHeard how long the other's
	// must last to count as heard (300 ms).
	Duration, MinHeard time.Duration
}

// ProbeResult is one side's audio-path check.
type ProbeResult struct {
	SentHz    float64 `json:"sentHz"`
	ExpectHz  float64 `json:"expectHz"`
	Sent      bool    `json:"sent"`
	Heard     bool    `json:"heard"`
	SentAtMs  float64 `json:"sentAtMs,omitempty"`
	HeardAtMs float64 `json:"heardAtMs,omitempty"`
}

// resolved is a Behaviour with its defaults applied and files loaded.
type resolved struct {
	Behaviour
	files map[string][]int16
}

func (b Behaviour) resolve(caller bool) (*resolved, error) {
	r := &resolved{Behaviour: b, files: map[string][]int16{}}
	if r.DTMFMode == "" {
		r.DTMFMode = DTMFRFC4733
	}
	if _, err := ParseDTMFMode(string(r.DTMFMode)); err != nil {
		return nil, err
	}
	if r.DTMFDuration <= 0 {
		r.DTMFDuration = 100 * time.Millisecond
	}
	if r.DTMFGap <= 0 {
		r.DTMFGap = 100 * time.Millisecond
	}
	if r.Name == nil {
		r.Name = GeneratedName()
	}
	p := &r.Probe
	mine, theirs := float64(DefaultCalleeToneHz), float64(DefaultCallerToneHz)
	if caller {
		mine, theirs = theirs, mine
	}
	if p.SendHz == 0 {
		p.SendHz = mine
	}
	if p.ExpectHz == 0 {
		p.ExpectHz = theirs
	}
	if p.SendHz < 100 || p.SendHz > 3500 || p.ExpectHz < 100 || p.ExpectHz > 3500 {
		return nil, fmt.Errorf("probe tones %.0f/%.0f Hz: want 100-3500 Hz (G.711 passes 300-3400)", p.SendHz, p.ExpectHz)
	}
	if p.Duration <= 0 {
		p.Duration = DefaultToneDuration
	}
	if p.MinHeard <= 0 {
		p.MinHeard = min(300*time.Millisecond, p.Duration/2)
	}
	load := func(steps []Step) error {
		for _, st := range steps {
			if st.Kind != StepPlay {
				continue
			}
			if _, ok := r.files[st.File]; ok {
				continue
			}
			pcm, err := ReadWAVFile(st.File)
			if err != nil {
				return err
			}
			r.files[st.File] = pcm
		}
		return nil
	}
	for _, c := range r.Script.Cues {
		if err := load(c.Steps); err != nil {
			return nil, fmt.Errorf("cue %q: %w", c.Text, err)
		}
	}
	for _, f := range r.Script.Fallbacks {
		if err := load(f.Steps); err != nil {
			return nil, fmt.Errorf("fallback %q: %w", f.Text, err)
		}
	}
	return r, nil
}
