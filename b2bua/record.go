package b2bua

import (
	"math"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago/audio"
	"github.com/pion/rtp"
)

// nameRecorder keeps the caller's name as 8 kHz 16-bit PCM while the
// caller's pump feeds it (the leg's sink). Time is counted in samples, not
// by the clock, so jitter does not change what is kept: recording ends
// after max of audio, or after silence of audio following speech.
type nameRecorder struct {
	alaw    bool
	max     int // samples
	silence int // samples

	mu       sync.Mutex
	pcm      []byte
	n        int // samples so far
	spoke    bool
	lastLoud int // sample index just after the last loud frame
	done     chan struct{}
	closed   bool
	scratch  [2 * 1500]byte
}

// speechRMS is the frame level (RMS of 16-bit samples, about -36 dBFS)
// above which a frame counts as speech.
const speechRMS = 500

func newNameRecorder(codecName string, max, silence time.Duration) *nameRecorder {
	return &nameRecorder{
		alaw:    strings.EqualFold(codecName, "pcma"),
		max:     int(max.Seconds() * 8000),
		silence: int(silence.Seconds() * 8000),
		done:    make(chan struct{}),
	}
}

// write takes one RTP payload (G.711), on the pump goroutine.
func (r *nameRecorder) write(payload []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	pcm := r.scratch[:2*len(payload)]
	var err error
	if r.alaw {
		_, err = audio.DecodeAlawTo(pcm, payload)
	} else {
		_, err = audio.DecodeUlawTo(pcm, payload)
	}
	if err != nil {
		return
	}
	r.pcm = append(r.pcm, pcm...)
	r.n += len(payload)
	if frameRMS(pcm) >= speechRMS {
		r.spoke, r.lastLoud = true, r.n
	}
	if r.n >= r.max || (r.spoke && r.n-r.lastLoud >= r.silence) {
		r.stopLocked()
	}
}

func (r *nameRecorder) stopLocked() {
	if !r.closed {
		r.closed = true
		close(r.done)
	}
}

// stop ends the recording and returns the name: the audio up to a little
// after the last speech, or nil when nobody spoke.
func (r *nameRecorder) stop() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopLocked()
	if !r.spoke {
		return nil
	}
	end := 2 * min(r.lastLoud+1600, r.n) // 200 ms after the last speech
	name := r.pcm[:end]
	if rem := len(name) % frameBytes; rem != 0 {
		name = append(name, make([]byte, frameBytes-rem)...)
	}
	return name
}

// frameRMS is the root mean square of little-endian 16-bit samples.
func frameRMS(pcm []byte) float64 {
	if len(pcm) < 2 {
		return 0
	}
	var sum float64
	for i := 0; i+1 < len(pcm); i += 2 {
		v := float64(int16(uint16(pcm[i]) | uint16(pcm[i+1])<<8))
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(pcm)/2))
}

// recordName plays name_record to the caller and records the name: up to
// NameMax, ending early on '#' or on NameSilence after speech. A '#'
// keyed during the prompt skips the recording.
func (c *call) recordName() ([]byte, error) {
	l := c.caller
	l.drainDigits()
	if err := c.say(l, true, c.s.prompts.p[pNameRecord]); err != nil {
		return nil, err
	}
	select {
	case k := <-l.dtmf:
		if k == '#' {
			return nil, nil
		}
	default:
	}
	rec := newNameRecorder(l.codec.Name, c.s.cfg.NameMax, c.s.cfg.NameSilence)
	l.setSink(func(_ *rtp.Header, p []byte) { rec.write(p) })
	defer l.setSink(nil)
	// The sample count ends the recording; the timer only guards against a
	// caller who sends no RTP at all.
	t := time.NewTimer(c.s.cfg.NameMax + time.Second)
	defer t.Stop()
	for {
		select {
		case <-rec.done:
			return rec.stop(), nil
		case <-t.C:
			return rec.stop(), nil
		case k := <-l.dtmf:
			if k == '#' {
				return rec.stop(), nil
			}
		case <-c.ctx.Done():
			rec.stop()
			return nil, c.ctx.Err()
		}
	}
}
