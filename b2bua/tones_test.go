package b2bua

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/emiago/diago/audio"
)

// Every sound a test phone names is told apart from every other in each 20
// ms packet, through PCMU and through PCMA: the tone prompts, the two
// voices and the B2BUA's own ringback. (With 100 Hz steps the IVR's
// prompts pushed the set past 4 kHz, where not_available's 4300 Hz tone is
// ivr_pin_mismatch's 3700 Hz and pin_enter's is ivr_pin_changed's.)
func TestTestTonesAreDistinct(t *testing.T) {
	freqs := recognised()
	sounds := map[string][]byte{"ringback": ringbackPCM()[:2*8000*2]}
	for name, f := range freqs {
		if name != "ringback" {
			sounds[name] = tonePCM(f, 200*time.Millisecond, 0)
		}
	}
	if _, ok := sounds[pNotAvailable]; !ok {
		t.Fatalf("no tone for %s", pNotAvailable)
	}
	for _, alaw := range []bool{false, true} {
		enc := make([]byte, 160)
		dec := make([]byte, 320)
		s := make([]int16, 160)
		for name, pcm := range sounds {
			for off := 0; off+320 <= len(pcm); off += 320 {
				if alaw {
					_, _ = audio.EncodeAlawTo(enc, pcm[off:off+320])
					_, _ = audio.DecodeAlawTo(dec, enc)
				} else {
					_, _ = audio.EncodeUlawTo(enc, pcm[off:off+320])
					_, _ = audio.DecodeUlawTo(dec, enc)
				}
				for i := range s {
					s[i] = int16(binary.LittleEndian.Uint16(dec[2*i:]))
				}
				if got := classify(s, freqs); got != name {
					t.Errorf("alaw %v: a packet of %s (%.0f Hz) is heard as %q", alaw, name, freqs[name], got)
					break
				}
			}
		}
	}
}
