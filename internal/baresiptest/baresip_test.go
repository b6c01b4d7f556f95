package baresiptest

import (
	"encoding/binary"
	"math"
	"testing"
)

func tone(hz float64, frames int) []int16 {
	s := make([]int16, 160*frames)
	for i := range s {
		s[i] = int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/8000))
	}
	return s
}

func TestToneFrames(t *testing.T) {
	s := append(tone(1300, 10), make([]int16, 160*5)...)
	s = append(s, tone(1100, 7)...)
	if n := ToneFrames(s, 1300); n != 10 {
		t.Errorf("1300 Hz: %d frames, want 10", n)
	}
	if n := ToneFrames(s, 1100); n != 7 {
		t.Errorf("1100 Hz: %d frames, want 7", n)
	}
	if n := ToneFrames(s, 440); n != 0 {
		t.Errorf("440 Hz: %d frames, want 0", n)
	}
	if n := Loud(s); n != 17 {
		t.Errorf("loud: %d frames, want 17", n)
	}
}

func TestWAV(t *testing.T) {
	w := WAV([]byte{1, 2, 3, 4})
	if len(w) != 48 || string(w[:4]) != "RIFF" || string(w[8:16]) != "WAVEfmt " ||
		binary.LittleEndian.Uint32(w[24:]) != 8000 || binary.LittleEndian.Uint32(w[40:]) != 4 {
		t.Errorf("header % x", w[:44])
	}
}
