package sip

import (
	"math/rand"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// b2buaPromptDir is the B2BUA's built-in English prompt set: what sipsim
// is pointed at in the end-to-end tests (internal/e2e, the B2BUA's IVR
// tests) and in the README's walk-throughs. It is read as files; nothing
// here imports the B2BUA.
const b2buaPromptDir = "../../b2bua/prompts/en"

// Every prompt of the B2BUA's built-in set is heard as itself and as
// nothing else, played alone and in a shuffled stream of all of them
// through G.711 with loss and jitter. One set serves the treatments and
// the subscribers' IVR, so a prompt of one must not explain the audio of
// another: the IVR's first closing prompt, a bare "Goodbye.", scored 0.96
// to 0.99 at the end of every treatment prompt ending in "Goodbye." and
// won over call_rejected and screen_refused.
func TestB2BUAPromptsHeardAsThemselves(t *testing.T) {
	prompts, err := LoadPrompts(b2buaPromptDir)
	if err != nil {
		t.Fatal(err)
	}
	names := prompts.Names()
	pcm := map[string][]int16{}
	for _, n := range names {
		if pcm[n], err = ReadWAVFile(filepath.Join(b2buaPromptDir, n+".wav")); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("alone", func(t *testing.T) {
		for _, n := range names {
			for _, alaw := range []bool{false, true} {
				got, speech := hearPrompts(prompts, pcm, []string{n}, rand.New(rand.NewSource(1)), alaw, 0, 0)
				if !slices.Equal(got, []string{n}) || speech > 0 {
					t.Errorf("%s (alaw %v) heard as %q and %d stretches of speech", n, alaw, got, speech)
				}
			}
		}
	})
	for _, tc := range []struct {
		name   string
		loss   float64
		alaw   bool
		jitter time.Duration
	}{
		{"stream mu-law", 0, false, 0},
		{"stream a-law 3% loss 15ms jitter", 0.03, true, 15 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(11))
			order := slices.Clone(names)
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			got, speech := hearPrompts(prompts, pcm, order, rng, tc.alaw, tc.loss, tc.jitter)
			if !slices.Equal(got, order) || speech > 0 {
				t.Errorf("heard %q and %d stretches of speech\nwant %q", got, speech, order)
			}
		})
	}
}

// hearPrompts plays the prompts in order (0-300 ms apart) to a listener
// and returns the prompts it reported and how many stretches of speech.
func hearPrompts(prompts *Prompts, pcm map[string][]int16, order []string, rng *rand.Rand, alaw bool, loss float64, jitter time.Duration) ([]string, int) {
	var got []string
	speech := 0
	lst := newListener(prompts, nil, 0, func(h heard) {
		switch h.kind {
		case heardPrompt:
			got = append(got, h.prompt)
		case heardSpeech:
			speech++
		}
	})
	f := &rtpFeed{rx: &receiver{listener: lst, counter: &rtpCounter{}, eventPT: -1}, rng: rng, loss: loss, alaw: alaw, jitter: jitter, now: time.Unix(1000, 0)}
	for _, n := range order {
		f.pause(time.Duration(rng.Intn(4)) * 100 * time.Millisecond)
		f.play(pcm[n])
	}
	f.pause(time.Second)
	f.play(Silence(500 * time.Millisecond))
	lst.flush()
	return got, speech
}
