package sip

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"github.com/zaf/g711"
)

// wavWith builds a WAV file from raw chunks (id, body) after the header.
func wavWith(chunks ...any) []byte {
	var b bytes.Buffer
	for i := 0; i < len(chunks); i += 2 {
		id, body := chunks[i].(string), chunks[i+1].([]byte)
		b.WriteString(id)
		_ = binary.Write(&b, binary.LittleEndian, uint32(len(body)))
		b.Write(body)
		if len(body)%2 == 1 {
			b.WriteByte(0)
		}
	}
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+b.Len()))...)
	out = append(out, "WAVE"...)
	return append(out, b.Bytes()...)
}

func fmtChunk(tag, channels uint16, rate uint32, bits uint16) []byte {
	le := binary.LittleEndian
	b := le.AppendUint16(nil, tag)
	b = le.AppendUint16(b, channels)
	b = le.AppendUint32(b, rate)
	b = le.AppendUint32(b, rate*uint32(channels)*uint32(bits/8))
	b = le.AppendUint16(b, channels*bits/8)
	return le.AppendUint16(b, bits)
}

func TestWAVRoundTrip(t *testing.T) {
	pcm := Tone(440, 100e6, 0.5)
	got, err := ReadWAV(bytes.NewReader(EncodeWAV(pcm)))
	if err != nil || !slices.Equal(got, pcm) {
		t.Fatalf("round trip: err %v, equal %v", err, slices.Equal(got, pcm))
	}
}

func TestReadWAVFormats(t *testing.T) {
	pcm := []int16{0, 1000, -1000, 32767, -32768}
	var pcmBytes, ulaw, alaw []byte
	for _, v := range pcm {
		pcmBytes = binary.LittleEndian.AppendUint16(pcmBytes, uint16(v))
		ulaw = append(ulaw, g711.EncodeUlawFrame(v))
		alaw = append(alaw, g711.EncodeAlawFrame(v))
	}
	ext := append(fmtChunk(wavExtensible, 1, 8000, 16), binary.LittleEndian.AppendUint16(nil, 22)...)
	ext = append(ext, 16, 0, 0, 0, 0, 0) // valid bits, channel mask
	ext = append(ext, 1, 0)              // sub-format PCM
	ext = append(ext, make([]byte, 14)...)
	for _, tc := range []struct {
		name string
		file []byte
		want []int16
	}{
		{"pcm16 with LIST and odd chunk", wavWith("LIST", []byte("odd"), "fmt ", fmtChunk(wavPCM, 1, 8000, 16), "data", pcmBytes), pcm},
		{"mu-law", wavWith("fmt ", fmtChunk(wavMuLaw, 1, 8000, 8), "data", ulaw), decodeAll(ulaw, g711.DecodeUlawFrame)},
		{"a-law", wavWith("fmt ", fmtChunk(wavALaw, 1, 8000, 8), "data", alaw), decodeAll(alaw, g711.DecodeAlawFrame)},
		{"extensible pcm", wavWith("fmt ", ext, "data", pcmBytes), pcm},
	} {
		got, err := ReadWAV(bytes.NewReader(tc.file))
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

func decodeAll(b []byte, f func(byte) int16) []int16 {
	out := make([]int16, len(b))
	for i, v := range b {
		out[i] = f(v)
	}
	return out
}

func TestReadWAVErrorsNameTheFix(t *testing.T) {
	data := []byte{1, 2, 3, 4}
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"not riff", []byte("hello world, not a wav"), "not a RIFF/WAVE"},
		{"stereo", wavWith("fmt ", fmtChunk(wavPCM, 2, 8000, 16), "data", data), "2 channels, want mono; convert it with: sox"},
		{"44.1 kHz", wavWith("fmt ", fmtChunk(wavPCM, 1, 44100, 16), "data", data), "44100 Hz, want 8000 Hz"},
		{"8-bit pcm", wavWith("fmt ", fmtChunk(wavPCM, 1, 8000, 8), "data", data), "want 16-bit PCM"},
		{"float", wavWith("fmt ", fmtChunk(3, 1, 8000, 32), "data", data), "format 3"},
		{"no data", wavWith("fmt ", fmtChunk(wavPCM, 1, 8000, 16)), "no data chunk"},
		{"data first", wavWith("data", data, "fmt ", fmtChunk(wavPCM, 1, 8000, 16)), "data chunk before the fmt chunk"},
		{"short fmt", wavWith("fmt ", []byte{1, 0}, "data", data), "fmt chunk of 2 bytes"},
		{"lying chunk size", append(wavWith("fmt ", fmtChunk(wavPCM, 1, 8000, 16)), []byte("LIST\xff\xff\xff\x7f")...), "claims"},
	} {
		_, err := ReadWAV(bytes.NewReader(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to say %q", tc.name, err, tc.want)
		}
	}
}

func FuzzReadWAV(f *testing.F) {
	f.Add(EncodeWAV([]int16{1, 2, 3}))
	f.Add(wavWith("fmt ", fmtChunk(wavMuLaw, 1, 8000, 8), "data", []byte{0x7f, 0xff}))
	f.Add(wavWith("LIST", []byte("x"), "fmt ", fmtChunk(wavPCM, 1, 8000, 16), "data", []byte{1}))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pcm, err := ReadWAV(bytes.NewReader(b))
		if err != nil {
			return
		}
		// Never more samples than bytes.
		if len(pcm) > len(b) {
			t.Fatalf("%d samples from %d bytes", len(pcm), len(b))
		}
		// What was read writes back and reads the same (16-bit PCM).
		again, err := ReadWAV(bytes.NewReader(EncodeWAV(pcm)))
		if err != nil || !slices.Equal(again, pcm) {
			t.Fatalf("re-encoded: %v", err)
		}
	})
}
