package sip

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCue(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Cue
	}{
		{"enter-pin=1234#", Cue{Trigger: "enter-pin", Times: 1, Steps: []Step{{Kind: StepDigits, Digits: "1234#"}}}},
		{"say-name=name.wav", Cue{Trigger: "say-name", Times: 1, Steps: []Step{{Kind: StepPlay, File: "name.wav"}}}},
		{"say-name = wait:300ms say", Cue{Trigger: "say-name", Times: 1, Steps: []Step{{Kind: StepWait, Wait: 300 * time.Millisecond}, {Kind: StepSay}}}},
		{"enter-pin*3=0000#", Cue{Trigger: "enter-pin", Times: 3, Steps: []Step{{Kind: StepDigits, Digits: "0000#"}}}},
		{"pin-wrong*=hangup", Cue{Trigger: "pin-wrong", Times: 0, Steps: []Step{{Kind: StepHangup}}}},
		{"@answer+3s=hangup", Cue{Trigger: "@answer", Times: 1, Delay: 3 * time.Second, Steps: []Step{{Kind: StepHangup}}}},
		{"@tone*2+1.5s=probe;rtp-off;rtp-on", Cue{Trigger: "@tone", Times: 2, Delay: 1500 * time.Millisecond, Steps: []Step{{Kind: StepProbe}, {Kind: StepRTPOff}, {Kind: StepRTPOn}}}},
		{"challenge=echo-digits", Cue{Trigger: "challenge", Times: 1, Steps: []Step{{Kind: StepEchoDigits}}}},
		{"enter-pin=info:12 info-dtmf:3 rfc4733:4# 500ms say:my.wav", Cue{Trigger: "enter-pin", Times: 1, Steps: []Step{
			{Kind: StepDigits, Digits: "12", Mode: DTMFInfo}, {Kind: StepDigits, Digits: "3", Mode: DTMFInfoDTMF},
			{Kind: StepDigits, Digits: "4#", Mode: DTMFRFC4733}, {Kind: StepWait, Wait: 500 * time.Millisecond}, {Kind: StepPlay, File: "my.wav"}}}},
	} {
		got, err := ParseCue(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		tc.want.Text = strings.TrimSpace(tc.in)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseCueErrors(t *testing.T) {
	for in, want := range map[string]string{
		"enter-pin":      "want TRIGGER=STEPS",
		"=1234":          "no trigger",
		"@answered=1":    `unknown event "@answered"`,
		"enter pin=1":    "only letters",
		"x*0=1":          "not a count",
		"x+soon=1":       "not a duration",
		"x+-1s=1":        "out of range",
		"x=":             "no steps",
		"x=bad":          `step "bad"`,
		"x=wait:forever": "not a duration",
		"x=fax:123":      `DTMF mode "fax"`,
		"x=info:12x":     `step "info:12x"`,
		"x=1234 #,":      `step "#,"`,
	} {
		_, err := ParseCue(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to say %q", in, err, want)
		}
	}
}

func TestParseScript(t *testing.T) {
	cues, err := ParseScript("# a PIN call\n\nenter-pin=1234#   # the right PIN\n  @answer+30s=hangup\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(cues) != 2 || cues[0].Steps[0].Digits != "1234#" || cues[1].Trigger != "@answer" {
		t.Errorf("got %+v", cues)
	}
	if _, err := ParseScript("enter-pin=1234#\nnonsense\n"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("error %v, want it to name line 2", err)
	}
}

func TestParseFallback(t *testing.T) {
	f, err := ParseFallback("4s=1234#")
	if err != nil || f.After != 4*time.Second || f.Steps[0].Digits != "1234#" {
		t.Errorf("got %+v, %v", f, err)
	}
	if _, err := ParseFallback("1234#"); err == nil {
		t.Error("a fallback without a delay parsed")
	}
}

// FuzzParseScript: no input panics, and every step parsed renders back to
// text that parses to the same step.
func FuzzParseScript(f *testing.F) {
	for _, s := range []string{"enter-pin=1234#", "@answer+3s=hangup # c", "x*2+1s=wait:1s say a.wav probe", "challenge=echo-digits\nq=info:1;rtp-off", "a=#;#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cues, err := ParseScript(s)
		if err != nil {
			return
		}
		for _, c := range cues {
			for _, st := range c.Steps {
				again, err := ParseSteps(st.String())
				if err != nil || len(again) != 1 || !reflect.DeepEqual(again[0], st) {
					t.Fatalf("step %+v renders as %q, which parses to %+v, %v", st, st.String(), again, err)
				}
			}
		}
	})
}
