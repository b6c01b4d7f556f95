package sip

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A script tells a phone what to do when: a list of cues, each a trigger
// (a prompt heard, or a call event) and the steps to carry out then. The
// syntax, one cue per --on-prompt flag or per line of a --script file:
//
//	cue      = trigger [ "*" [ count ] ] [ "+" delay ] "=" steps
//	trigger  = PROMPT                a reference name ("enter-pin", "digits/4"):
//	                                 fires when that prompt has been heard (at
//	                                 its end)
//	         | "@start"              the INVITE was sent / received
//	         | "@ringing"            180 received (caller)
//	         | "@early"              early media started (183 with SDP)
//	         | "@answer"             the call was answered (200 OK / ACK)
//	         | "@media"              the first RTP packet arrived
//	         | "@speech"             sound no prompt explains ended (a name)
//	         | "@tone"               the other side's probe tone was heard
//	         | "@dtmf"               a digit was received
//	steps    = step { " " step }     (spaces or ';' between steps)
//	step     = DIGITS                0-9 * # A-D (capitals): DTMF in the call's mode
//	         | "info:" DIGITS        DTMF by SIP INFO (application/dtmf-relay)
//	         | "info-dtmf:" DIGITS   DTMF by SIP INFO (application/dtmf)
//	         | "rfc4733:" DIGITS     DTMF as RTP telephone-events
//	         | FILE ".wav"           play a WAV file (8 kHz mono)
//	         | "say"                 play the name (a file, or a generated voice)
//	         | "wait:" DURATION | DURATION   pause (e.g. 500ms)
//	         | "probe"               send the probe tone
//	         | "echo-digits"         key back the digit prompts heard after the
//	                                 cue (the challenge), once they end
//	         | "rtp-off" | "rtp-on"  stop / resume sending RTP
//	         | "hangup"              hang up (CANCEL before the answer, BYE after)
//	A '#' at the start of a line or after a space or tab starts a comment
//	(so a lone # key is written after ';', or joined to other digits).
//
// A cue fires on the first occurrence of its trigger; "*N" makes it fire on
// the next N occurrences, a bare "*" on every one. Several cues with the
// same trigger take the occurrences in turn: the first cue the first
// occurrence(s), the next the following ones. A "+delay" fires that long
// after the trigger. Cues run their steps in the order they fired, one
// cue at a time, as a person would.
//
// Fallbacks ("--digits-after 4s=1234#") are steps carried out that long
// after media started (early media or the answer) if no cue has fired by
// then: the way to drive a call whose prompts are not known.

// Script is a parsed script.
type Script struct {
	Cues      []Cue
	Fallbacks []Fallback
}

// Cue is one line of a script.
type Cue struct {
	Trigger string
	// Times is how many occurrences of the trigger fire the cue; 0 is
	// every one.
	Times int
	Delay time.Duration
	Steps []Step
	Text  string // as written
}

// Fallback is steps carried out After media started if no cue fired.
type Fallback struct {
	After time.Duration
	Steps []Step
	Text  string
}

// StepKind is what a step does.
type StepKind string

// The kinds of step.
const (
	StepDigits     StepKind = "digits"
	StepPlay       StepKind = "play"
	StepSay        StepKind = "say"
	StepWait       StepKind = "wait"
	StepProbe      StepKind = "probe"
	StepEchoDigits StepKind = "echo-digits"
	StepRTPOff     StepKind = "rtp-off"
	StepRTPOn      StepKind = "rtp-on"
	StepHangup     StepKind = "hangup"
)

// Step is one thing to do.
type Step struct {
	Kind   StepKind
	Digits string        // StepDigits
	Mode   DTMFMode      // StepDigits; "" is the call's mode
	File   string        // StepPlay
	Wait   time.Duration // StepWait
}

// DTMFMode is how digits are sent.
type DTMFMode string

// The DTMF modes.
const (
	DTMFRFC4733  DTMFMode = "rfc4733"   // RTP telephone-events (RFC 4733)
	DTMFInfo     DTMFMode = "info"      // SIP INFO, application/dtmf-relay
	DTMFInfoDTMF DTMFMode = "info-dtmf" // SIP INFO, application/dtmf
)

// ParseDTMFMode checks a DTMF mode name.
func ParseDTMFMode(s string) (DTMFMode, error) {
	switch m := DTMFMode(strings.ToLower(s)); m {
	case DTMFRFC4733, DTMFInfo, DTMFInfoDTMF:
		return m, nil
	}
	return "", fmt.Errorf("DTMF mode %q: want rfc4733, info (application/dtmf-relay) or info-dtmf (application/dtmf)", s)
}

// Events a cue can wait for besides prompts.
const (
	EventStart   = "@start"
	EventRinging = "@ringing"
	EventEarly   = "@early"
	EventAnswer  = "@answer"
	EventMedia   = "@media"
	EventSpeech  = "@speech"
	EventTone    = "@tone"
	EventDTMF    = "@dtmf"
)

var events = []string{EventStart, EventRinging, EventEarly, EventAnswer, EventMedia, EventSpeech, EventTone, EventDTMF}

const maxScriptLine = 4096

// ParseScript parses a script file's text: one cue per line, '#'
// comments, blank lines ignored. Errors name the line.
func ParseScript(text string) ([]Cue, error) {
	var cues []Cue
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 1024), maxScriptLine)
	for n := 1; sc.Scan(); n++ {
		line := stripComment(sc.Text())
		if line == "" {
			continue
		}
		c, err := ParseCue(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		cues = append(cues, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("script: %w (lines are at most %d bytes)", err, maxScriptLine)
	}
	return cues, nil
}

func stripComment(s string) string {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		// '#' is also a DTMF digit: a comment starts at a '#' that
		// begins the line or follows a space.
		for i >= 0 {
			if i == 0 || s[i-1] == ' ' || s[i-1] == '\t' {
				s = s[:i]
				break
			}
			j := strings.IndexByte(s[i+1:], '#')
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	return strings.TrimSpace(s)
}

// ParseCue parses one cue, "trigger[*[N]][+delay]=steps".
func ParseCue(s string) (Cue, error) {
	text := strings.TrimSpace(s)
	lhs, rhs, ok := strings.Cut(text, "=")
	if !ok {
		return Cue{}, fmt.Errorf("cue %q: want TRIGGER=STEPS, e.g. enter-pin=1234# or @answer+3s=hangup", text)
	}
	c := Cue{Text: text, Times: 1}
	lhs = strings.TrimSpace(lhs)
	if head, d, ok := strings.Cut(lhs, "+"); ok {
		delay, err := parseDuration(d)
		if err != nil {
			return Cue{}, fmt.Errorf("cue %q: delay: %w", text, err)
		}
		c.Delay, lhs = delay, head
	}
	if head, n, ok := strings.Cut(lhs, "*"); ok {
		c.Times = 0
		if n != "" {
			v, err := strconv.Atoi(n)
			if err != nil || v < 1 {
				return Cue{}, fmt.Errorf("cue %q: %q after '*' is not a count (want *, or *N with N >= 1)", text, n)
			}
			c.Times = v
		}
		lhs = head
	}
	if err := checkTrigger(lhs); err != nil {
		return Cue{}, fmt.Errorf("cue %q: %w", text, err)
	}
	c.Trigger = lhs
	steps, err := ParseSteps(rhs)
	if err != nil {
		return Cue{}, fmt.Errorf("cue %q: %w", text, err)
	}
	c.Steps = steps
	return c, nil
}

// ParseFallback parses "delay=steps" (the --digits-after flag).
func ParseFallback(s string) (Fallback, error) {
	text := strings.TrimSpace(s)
	lhs, rhs, ok := strings.Cut(text, "=")
	if !ok {
		return Fallback{}, fmt.Errorf("fallback %q: want DELAY=STEPS, e.g. 4s=1234#", text)
	}
	d, err := parseDuration(lhs)
	if err != nil {
		return Fallback{}, fmt.Errorf("fallback %q: %w", text, err)
	}
	steps, err := ParseSteps(rhs)
	if err != nil {
		return Fallback{}, fmt.Errorf("fallback %q: %w", text, err)
	}
	return Fallback{After: d, Steps: steps, Text: text}, nil
}

func checkTrigger(t string) error {
	if strings.HasPrefix(t, "@") {
		for _, e := range events {
			if t == e {
				return nil
			}
		}
		return fmt.Errorf("unknown event %q (events: %s)", t, strings.Join(events, ", "))
	}
	if t == "" {
		return fmt.Errorf("no trigger before '=' (a prompt name or an event: %s)", strings.Join(events, ", "))
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.#/", r)) {
			return fmt.Errorf("prompt name %q: only letters, digits, '-', '_', '.', '#', '/'", t)
		}
	}
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 500ms, 2s)", strings.TrimSpace(s))
	}
	if d < 0 || d > time.Hour {
		return 0, fmt.Errorf("duration %s out of range (0 to 1h)", d)
	}
	return d, nil
}

// ParseSteps parses the steps of a cue (the part after '=').
func ParseSteps(s string) ([]Step, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ';' })
	if len(fields) == 0 {
		return nil, fmt.Errorf("no steps after '=' (e.g. 1234#, say, wait:500ms, hangup)")
	}
	steps := make([]Step, 0, len(fields))
	for _, f := range fields {
		st, err := parseStep(f)
		if err != nil {
			return nil, err
		}
		steps = append(steps, st)
	}
	return steps, nil
}

func parseStep(f string) (Step, error) {
	lower := strings.ToLower(f)
	switch lower {
	case "say":
		return Step{Kind: StepSay}, nil
	case "probe":
		return Step{Kind: StepProbe}, nil
	case "echo-digits":
		return Step{Kind: StepEchoDigits}, nil
	case "rtp-off":
		return Step{Kind: StepRTPOff}, nil
	case "rtp-on":
		return Step{Kind: StepRTPOn}, nil
	case "hangup":
		return Step{Kind: StepHangup}, nil
	}
	if strings.HasSuffix(lower, ".wav") {
		file := strings.TrimPrefix(f, "say:")
		return Step{Kind: StepPlay, File: file}, nil
	}
	if rest, ok := strings.CutPrefix(lower, "wait:"); ok {
		d, err := parseDuration(rest)
		if err != nil {
			return Step{}, fmt.Errorf("step %q: %w", f, err)
		}
		return Step{Kind: StepWait, Wait: d}, nil
	}
	mode := DTMFMode("")
	digits := f
	if prefix, rest, ok := strings.Cut(f, ":"); ok {
		m, err := ParseDTMFMode(prefix)
		if err != nil {
			return Step{}, fmt.Errorf("step %q: %w", f, err)
		}
		mode, digits = m, rest
	}
	if isDigits(digits) {
		return Step{Kind: StepDigits, Digits: digits, Mode: mode}, nil
	}
	if mode == "" && len(f) > 0 && (f[0] >= '0' && f[0] <= '9') {
		if d, err := time.ParseDuration(f); err == nil {
			if d < 0 || d > time.Hour {
				return Step{}, fmt.Errorf("step %q: duration out of range (0 to 1h)", f)
			}
			return Step{Kind: StepWait, Wait: d}, nil
		}
	}
	return Step{}, fmt.Errorf("step %q: want DTMF digits (0-9 * # A-D), a .wav file, say, wait:DURATION, probe, echo-digits, rtp-off, rtp-on or hangup", f)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789*#ABCD", r) {
			return false
		}
	}
	return true
}

// String renders steps back in the script syntax.
func (st Step) String() string {
	switch st.Kind {
	case StepDigits:
		if st.Mode != "" {
			return string(st.Mode) + ":" + st.Digits
		}
		return st.Digits
	case StepPlay:
		return st.File
	case StepWait:
		return "wait:" + st.Wait.String()
	}
	return string(st.Kind)
}
