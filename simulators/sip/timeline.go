package sip

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

// EventKind says what a timeline event is.
type EventKind string

// The kinds of timeline event.
const (
	KindSIP    EventKind = "sip"    // a request or response, sent (out) or received (in)
	KindMedia  EventKind = "media"  // RTP started arriving (early: before the answer)
	KindPrompt EventKind = "prompt" // a prompt recognised (Prompt, Score)
	KindSpeech EventKind = "speech" // sound no prompt explains (a name, a voice)
	KindTone   EventKind = "tone"   // the other side's probe tone heard
	KindDTMF   EventKind = "dtmf"   // a digit sent (out) or received (in)
	KindPlay   EventKind = "play"   // audio sent: a file, the name, the probe tone
	KindCue    EventKind = "cue"    // a script cue fired
	KindRTP    EventKind = "rtp"    // RTP sending stopped or resumed
	KindNote   EventKind = "note"   // anything else worth knowing
	KindEnd    EventKind = "end"    // the call's outcome
)

// Event is one line of a call's timeline. At is from the start of the
// call (the first INVITE sent or received). Audio events are placed at the
// start of the sound they describe, so the timeline reads in the order
// things happened even though a prompt is only recognised at its end.
type Event struct {
	At     time.Duration `json:"-"`
	AtMs   float64       `json:"atMs"`
	Kind   EventKind     `json:"kind"`
	Dir    string        `json:"dir,omitempty"` // "in" or "out"
	Method string        `json:"method,omitempty"`
	Status int           `json:"status,omitempty"`
	Reason string        `json:"reason,omitempty"`
	Prompt string        `json:"prompt,omitempty"`
	Score  float64       `json:"score,omitempty"`
	Early  bool          `json:"early,omitempty"` // heard before the answer
	Digits string        `json:"digits,omitempty"`
	Hz     float64       `json:"hz,omitempty"`
	Dur    time.Duration `json:"-"`
	DurMs  float64       `json:"durMs,omitempty"`
	Detail string        `json:"detail,omitempty"`
}

// String renders the event as one timeline line.
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%8.3fs  ", e.At.Seconds())
	arrow := "  "
	switch e.Dir {
	case "in":
		arrow = "<-"
	case "out":
		arrow = "->"
	}
	switch e.Kind {
	case KindSIP:
		if e.Method != "" && e.Status == 0 {
			fmt.Fprintf(&b, "%s %s", arrow, e.Method)
		} else {
			fmt.Fprintf(&b, "%s %d %s", arrow, e.Status, e.Reason)
			if e.Method != "" && e.Method != "INVITE" {
				fmt.Fprintf(&b, " (%s)", e.Method)
			}
		}
	case KindPrompt:
		fmt.Fprintf(&b, "<- prompt %q (%.1fs, score %.2f)", e.Prompt, e.Dur.Seconds(), e.Score)
	case KindSpeech:
		fmt.Fprintf(&b, "<- speech, no prompt (%.1fs)", e.Dur.Seconds())
	case KindTone:
		fmt.Fprintf(&b, "<- probe tone %.0f Hz", e.Hz)
	case KindDTMF:
		fmt.Fprintf(&b, "%s DTMF %s", arrow, e.Digits)
	case KindPlay:
		fmt.Fprintf(&b, "-> playing %s (%.1fs)", e.Detail, e.Dur.Seconds())
	case KindMedia:
		b.WriteString("<- RTP")
	case KindCue:
		fmt.Fprintf(&b, "   cue %s", e.Detail)
	case KindRTP, KindNote:
		fmt.Fprintf(&b, "   %s", e.Detail)
	case KindEnd:
		fmt.Fprintf(&b, "== %s", e.Detail)
	}
	if e.Early {
		b.WriteString(" [early media]")
	}
	if e.Detail != "" && (e.Kind == KindSIP || e.Kind == KindDTMF || e.Kind == KindMedia || e.Kind == KindTone) {
		fmt.Fprintf(&b, "  %s", e.Detail)
	}
	return b.String()
}

// timeline collects a call's events from several goroutines.
type timeline struct {
	mu      sync.Mutex
	start   time.Time
	events  []Event
	onEvent func(Event)
}

func newTimeline(start time.Time, onEvent func(Event)) *timeline {
	return &timeline{start: start, onEvent: onEvent}
}

// add records e as having happened at at.
func (t *timeline) add(at time.Time, e Event) {
	e.At = at.Sub(t.start)
	e.AtMs = math.Round(float64(e.At)/1e4) / 100
	if e.Dur != 0 {
		e.DurMs = math.Round(float64(e.Dur)/1e4) / 100
	}
	e.Score = math.Round(e.Score*1000) / 1000
	t.mu.Lock()
	t.events = append(t.events, e)
	on := t.onEvent
	t.mu.Unlock()
	if on != nil {
		on(e)
	}
}

func (t *timeline) note(format string, args ...any) {
	t.add(time.Now(), Event{Kind: KindNote, Detail: fmt.Sprintf(format, args...)})
}

// sorted returns the events in time order (stable: events at the same
// time keep the order they were recorded in).
func (t *timeline) sorted() []Event {
	t.mu.Lock()
	out := append([]Event(nil), t.events...)
	t.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

// renderTimeline renders events one per line: the String of both
// Result and AnswerResult.
func renderTimeline(events []Event) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}
