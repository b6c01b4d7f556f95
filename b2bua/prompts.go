package b2bua

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/emiago/diago/audio"
)

// The built-in English prompt set: b2bua/prompts/en, made by
// scripts/prompts.sh from prompts.txt (name<TAB>text).
//
//go:embed prompts/en/*.wav prompts/en/prompts.txt
var builtinPrompts embed.FS

const builtinDir = "prompts/en"

// Prompt names (prompts.txt has every one with its text).
const (
	pPINEnter       = "pin_enter"
	pPINWrong       = "pin_wrong"
	pPINFailed      = "pin_failed"
	pPINLocked      = "pin_locked"
	pNameRecord     = "name_record"
	pPleaseHold     = "please_hold"
	pCallFrom       = "screen_call_from"
	pUnknownCaller  = "screen_unknown_caller"
	pScreenMenu     = "screen_menu"
	pScreenRefused  = "screen_refused"
	pNotAvailable   = "not_available"
	pVoicemail      = "voicemail_transfer"
	pChallengeIntro = "challenge_intro"
	pChallengeWrong = "challenge_wrong"
	pChallengeFail  = "challenge_failed"
	pCallRejected   = "call_rejected"

	pIVRWelcome       = "ivr_welcome"
	pIVRNotSubscriber = "ivr_not_subscriber"
	pIVRMenu          = "ivr_menu"
	pIVRLastCaller    = "ivr_last_caller"
	pIVRNoLastCaller  = "ivr_no_last_caller"
	pIVRConfirm       = "ivr_confirm"
	pIVREnterNumber   = "ivr_enter_number"
	pIVRYouEntered    = "ivr_you_entered"
	pIVRInvalidNumber = "ivr_invalid_number"
	pIVRChooseList    = "ivr_choose_list"
	pIVRAdded         = "ivr_added"
	pIVRRemoved       = "ivr_removed"
	pIVRNotOnLists    = "ivr_not_on_lists"
	pIVRBlockedCount  = "ivr_blocked_count"
	pIVRVIPCount      = "ivr_vip_count"
	pIVRNewPIN        = "ivr_new_pin"
	pIVRNewPINAgain   = "ivr_new_pin_again"
	pIVRPINMismatch   = "ivr_pin_mismatch"
	pIVRPINChanged    = "ivr_pin_changed"
	pIVRNotAllowed    = "ivr_not_allowed"
	pIVRGoodbye       = "ivr_goodbye"
)

// frameBytes is 20 ms of 8 kHz 16-bit PCM: the unit every prompt is
// padded to, so the last RTP packet of a prompt is a whole one.
const frameBytes = 320

// PromptNames returns the prompt names the B2BUA needs, as listed in the
// built-in set's prompts.txt, sorted.
func PromptNames() []string {
	names, err := readPromptList(builtinPrompts, builtinDir+"/prompts.txt")
	if err != nil {
		panic(err) // the embedded list is part of the build
	}
	return names
}

// readPromptList reads the names of a prompts.txt.
func readPromptList(fsys fs.FS, name string) ([]string, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n, _, ok := strings.Cut(line, "\t")
		if !ok || n == "" {
			return nil, fmt.Errorf("%s: line %q is not name<TAB>text", name, line)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names, sc.Err()
}

// promptSet holds every prompt and announcement decoded to 8 kHz 16-bit
// PCM, loaded once at start-up: a call never opens a file.
type promptSet struct {
	p   map[string][]byte
	ann map[uint32][]byte
	// digitsPCM[d] is the prompt digit_d.
	digits [10][]byte
	// ringback is a synthetic US ringback cycle (440+480 Hz, 2 s on, 4 s off).
	ringback []byte
}

// loadPrompts loads the prompt set (dir "" = built-in) and the
// announcement files. A missing or unreadable file is an error naming it.
func loadPrompts(dir string, announcements map[uint32]string) (*promptSet, error) {
	ps := &promptSet{p: map[string][]byte{}, ann: map[uint32][]byte{}}
	var fsys fs.FS
	base := dir
	if dir == "" {
		sub, err := fs.Sub(builtinPrompts, builtinDir)
		if err != nil {
			return nil, err
		}
		fsys, base = sub, "built-in prompts "+builtinDir
	} else {
		// A directory that is not there is one problem, not one per prompt
		// and announcement it would have held.
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			var pe *fs.PathError
			if err == nil {
				err = errors.New("not a directory")
			} else if errors.As(err, &pe) {
				err = pe.Err // the path is named once, below
			}
			return nil, fmt.Errorf("b2bua: prompt directory %s: %v (want a directory of the NAME.wav prompts b2bua/prompts/en/prompts.txt names; \"\" = the built-in English set)", dir, err)
		}
		fsys = os.DirFS(dir)
	}
	var errs []string
	for _, name := range PromptNames() {
		pcm, err := readWAV(fsys, name+".wav")
		if err != nil {
			errs = append(errs, fmt.Sprintf("prompt %s: %v", filepath.Join(base, name+".wav"), err))
			continue
		}
		ps.p[name] = pcm
	}
	for id, file := range announcements {
		var (
			pcm  []byte
			err  error
			path = file
		)
		if filepath.IsAbs(file) {
			pcm, err = readWAV(os.DirFS(filepath.Dir(file)), filepath.Base(file))
		} else {
			path = filepath.Join(base, file)
			pcm, err = readWAV(fsys, file)
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("announcement %d: %s: %v", id, path, err))
			continue
		}
		ps.ann[id] = pcm
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, fmt.Errorf("b2bua: %s", strings.Join(errs, "; "))
	}
	for d := range ps.digits {
		ps.digits[d] = ps.p[fmt.Sprintf("digit_%d", d)]
	}
	ps.ringback = ringbackPCM()
	return ps, nil
}

// readWAV reads a WAV file of 8 kHz mono 16-bit PCM and returns its
// samples padded with silence to whole 20 ms frames.
func readWAV(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := audio.NewWavReader(bufio.NewReader(f))
	if err := r.ReadHeaders(); err != nil {
		return nil, fmt.Errorf("not a WAV file: %v", err)
	}
	if r.WavAudioFormat != 1 || r.BitsPerSample != 16 || r.SampleRate != 8000 || r.NumChannels != 1 {
		return nil, fmt.Errorf("format %d, %d Hz, %d-bit, %d channels: want PCM (1), 8000 Hz, 16-bit, mono (sox in.wav -r 8000 -c 1 -b 16 -e signed-integer out.wav)",
			r.WavAudioFormat, r.SampleRate, r.BitsPerSample, r.NumChannels)
	}
	pcm, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading samples: %v", err)
	}
	if len(pcm) < frameBytes {
		return nil, fmt.Errorf("%d bytes of audio: shorter than one 20 ms frame", len(pcm))
	}
	if rem := len(pcm) % frameBytes; rem != 0 {
		pcm = append(pcm, make([]byte, frameBytes-rem)...)
	}
	return pcm, nil
}

// ringbackPCM synthesises one cycle of North American ringback: 440 Hz +
// 480 Hz at -19 dBm0 each for 2 s, then 4 s of silence.
func ringbackPCM() []byte {
	const rate = 8000
	pcm := make([]byte, 6*rate*2)
	amp := 0.1 * math.MaxInt16
	for i := 0; i < 2*rate; i++ {
		t := float64(i) / rate
		v := amp * (math.Sin(2*math.Pi*440*t) + math.Sin(2*math.Pi*480*t))
		s := int16(v)
		pcm[2*i], pcm[2*i+1] = byte(s), byte(uint16(s)>>8)
	}
	return pcm
}

// announcement returns the audio of announcement id, or the prompt
// call_rejected and false when id has no file.
func (ps *promptSet) announcement(id uint32) ([]byte, bool) {
	if a, ok := ps.ann[id]; ok {
		return a, true
	}
	return ps.p[pCallRejected], false
}
