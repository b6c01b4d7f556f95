package sip

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Prompts is the set of recordings a phone can recognise in what it hears:
// the prompt directory the B2BUA plays from (every *.wav file, named by its
// path without the extension), plus any reference added by name (the caller's own name
// recording, so the subscriber's phone can tell it apart). A Prompts is
// read-only once built and shared by any number of calls.
type Prompts struct {
	refs   []*reference
	maxLen int // frames of the longest reference
}

// reference is one recording's fingerprint, trimmed to its sound and at
// most 100 ms of silence either side (so a prompt matches however much
// silence the player adds around it).
type reference struct {
	name  string
	digit rune // the digit a digit prompt announces, 0 for others
	fp    fingerprint
}

// minRefFrames is the shortest sound a reference may hold: below 80 ms a
// fingerprint is too short to tell recordings apart.
const minRefFrames = 8

// contextFrames is how much of a recording's leading and trailing silence
// its reference keeps (100 ms).
const contextFrames = 10

// LoadPrompts reads every .wav file under dir, subdirectories included, as
// a reference named by its path below dir without the extension
// ("enter-pin.wav" -> "enter-pin", "digits/4.wav" -> "digits/4"). The
// files must be 8 kHz mono (ReadWAV); a directory without any is an error.
func LoadPrompts(dir string) (*Prompts, error) {
	p := &Prompts{}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || !strings.EqualFold(filepath.Ext(e.Name()), ".wav") {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		pcm, err := ReadWAVFile(path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(strings.TrimSuffix(rel, filepath.Ext(rel)))
		if err := p.Add(name, pcm); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("prompts: %w", err)
	}
	if len(p.refs) == 0 {
		return nil, fmt.Errorf("prompts: no .wav file in %s", dir)
	}
	return p, nil
}

// Add adds a reference recording (8 kHz linear samples) under name.
// Names are unique; a recording without sound, or with under 80 ms of it,
// is refused.
func (p *Prompts) Add(name string, pcm []int16) error {
	if name == "" {
		return errors.New("reference without a name")
	}
	for _, r := range p.refs {
		if r.name == name {
			return fmt.Errorf("reference %q added twice", name)
		}
	}
	fp := fingerprintOf(pcm)
	first, last := -1, -1
	for i := 0; i < fp.len(); i++ {
		if fp.voiced(i) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 || last-first+1 < minRefFrames {
		return fmt.Errorf("reference %q has no sound to recognise (under %d ms above %.0f dBFS)", name, minRefFrames*frameDurMs, speechDB)
	}
	// Keep up to contextFrames of the recording's own silence on each side:
	// a digit played alone ends in silence, the same word inside a sentence
	// runs on into the next one, and that is what tells them apart.
	first = max(0, first-contextFrames)
	last = min(fp.len()-1, last+contextFrames)
	r := &reference{name: name, digit: digitOf(name)}
	r.fp.bands = append([]float32(nil), fp.bands[first*nBands:(last+1)*nBands]...)
	r.fp.level = append([]float32(nil), fp.level[first:last+1]...)
	r.fp.missing = make([]bool, last-first+1)
	p.refs = append(p.refs, r)
	sort.Slice(p.refs, func(i, j int) bool { return p.refs[i].name < p.refs[j].name })
	p.maxLen = max(p.maxLen, r.fp.len())
	return nil
}

// Names lists the references in name order.
func (p *Prompts) Names() []string {
	if p == nil {
		return nil
	}
	out := make([]string, len(p.refs))
	for i, r := range p.refs {
		out[i] = r.name
	}
	return out
}

// Duration returns the length of a reference's sound (silence trimmed).
func (p *Prompts) Duration(name string) (time.Duration, bool) {
	if p == nil {
		return 0, false
	}
	for _, r := range p.refs {
		if r.name == name {
			return time.Duration(r.fp.len()) * frameDurMs * time.Millisecond, true
		}
	}
	return 0, false
}

var digitWords = map[string]rune{
	"zero": '0', "one": '1', "two": '2', "three": '3', "four": '4', "five": '5',
	"six": '6', "seven": '7', "eight": '8', "nine": '9', "star": '*', "hash": '#', "pound": '#',
}

// digitOf returns the DTMF digit a prompt named like a digit announces:
// "4", "digit-4", "digit_4", "digit4", "four", "digit-four" (also star,
// hash, pound), at the top of the prompt directory or in a directory whose
// name says digits ("digits/4"); 0 for any other name. These are the
// prompts the echo-digits action keys back (the challenge's digits).
func digitOf(name string) rune {
	n := strings.ToLower(name)
	if dir, base, ok := strings.Cut(n, "/"); ok {
		if strings.Contains(base, "/") || !strings.Contains(dir, "digit") {
			return 0
		}
		n = base
	}
	for _, prefix := range []string{"digit-", "digit_", "digit"} {
		if strings.HasPrefix(n, prefix) {
			n = n[len(prefix):]
			break
		}
	}
	if len(n) == 1 && strings.ContainsRune("0123456789*#", rune(n[0])) {
		return rune(n[0])
	}
	return digitWords[n]
}
