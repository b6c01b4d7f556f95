package sip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/zaf/g711"
)

// SampleRate is the only audio rate the simulator speaks: G.711's 8 kHz.
const SampleRate = 8000

// maxWAVBytes bounds what ReadWAV accepts (10 minutes of 16-bit audio at
// 8 kHz is 9.6 MB); a prompt or a name is seconds long.
const maxWAVBytes = 16 << 20

// WAV format tags (the fmt chunk's audio format field).
const (
	wavPCM        = 1
	wavALaw       = 6
	wavMuLaw      = 7
	wavExtensible = 0xFFFE
)

// errWAVConvert is the fix ReadWAV's format errors suggest.
const errWAVConvert = "convert it with: sox IN.wav -r 8000 -c 1 -b 16 OUT.wav"

// ReadWAVFile reads a WAV file with ReadWAV; errors name the file.
func ReadWAVFile(path string) ([]int16, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pcm, err := ReadWAV(io.LimitReader(f, maxWAVBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pcm, nil
}

// ReadWAV reads a RIFF/WAVE stream of 8 kHz mono audio, 16-bit linear PCM,
// 8-bit G.711 mu-law or A-law (plain or WAVE_FORMAT_EXTENSIBLE), and returns
// it as linear 16-bit samples. Chunks other than fmt and data (LIST, fact,
// ...) are skipped. Anything else is an error that names what was found and
// how to convert it: the simulator neither resamples nor mixes channels, so
// what it plays is exactly what the file holds. Reading is bounded (16 MiB):
// sizes in the headers are checked against what is actually there.
func ReadWAV(r io.Reader) ([]int16, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxWAVBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxWAVBytes {
		return nil, fmt.Errorf("wav: larger than %d bytes; prompts and names are seconds long", maxWAVBytes)
	}
	return parseWAV(data)
}

type wavFormat struct {
	tag, channels, bits uint16
	rate                uint32
}

func parseWAV(data []byte) ([]int16, error) {
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, errors.New("wav: not a RIFF/WAVE file")
	}
	rest := data[12:]
	var format *wavFormat
	for len(rest) >= 8 {
		id := string(rest[0:4])
		size := binary.LittleEndian.Uint32(rest[4:8])
		body := rest[8:]
		if uint64(size) > uint64(len(body)) {
			if id != "data" {
				return nil, fmt.Errorf("wav: chunk %q claims %d bytes, only %d left", id, size, len(body))
			}
			// A streamed WAV (size unknown when the header was written)
			// may claim more than is there; take what is.
			size = uint32(len(body))
		}
		body = body[:size]
		switch id {
		case "fmt ":
			f, err := parseWAVFormat(body)
			if err != nil {
				return nil, err
			}
			format = &f
		case "data":
			if format == nil {
				return nil, errors.New("wav: data chunk before the fmt chunk")
			}
			return decodeWAVData(*format, body)
		}
		// Chunks are padded to an even size.
		next := 8 + int(size) + int(size&1)
		if next > len(rest) {
			break
		}
		rest = rest[next:]
	}
	if format == nil {
		return nil, errors.New("wav: no fmt chunk")
	}
	return nil, errors.New("wav: no data chunk")
}

func parseWAVFormat(b []byte) (wavFormat, error) {
	if len(b) < 16 {
		return wavFormat{}, fmt.Errorf("wav: fmt chunk of %d bytes, want at least 16", len(b))
	}
	f := wavFormat{
		tag:      binary.LittleEndian.Uint16(b[0:2]),
		channels: binary.LittleEndian.Uint16(b[2:4]),
		rate:     binary.LittleEndian.Uint32(b[4:8]),
		bits:     binary.LittleEndian.Uint16(b[14:16]),
	}
	if f.tag == wavExtensible {
		// cbSize(2) validBits(2) channelMask(4) subFormat GUID(16): the
		// GUID's first two bytes are the real format tag.
		if len(b) < 26 {
			return wavFormat{}, errors.New("wav: WAVE_FORMAT_EXTENSIBLE without its sub-format")
		}
		f.tag = binary.LittleEndian.Uint16(b[24:26])
	}
	switch {
	case f.channels != 1:
		return f, fmt.Errorf("wav: %d channels, want mono; %s", f.channels, errWAVConvert)
	case f.rate != SampleRate:
		return f, fmt.Errorf("wav: %d Hz, want %d Hz; %s", f.rate, SampleRate, errWAVConvert)
	case f.tag == wavPCM && f.bits == 16:
	case (f.tag == wavMuLaw || f.tag == wavALaw) && f.bits == 8:
	default:
		return f, fmt.Errorf("wav: format %d with %d bits per sample, want 16-bit PCM (or 8-bit G.711); %s", f.tag, f.bits, errWAVConvert)
	}
	return f, nil
}

func decodeWAVData(f wavFormat, b []byte) ([]int16, error) {
	switch f.tag {
	case wavPCM:
		pcm := make([]int16, len(b)/2)
		for i := range pcm {
			pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return pcm, nil
	case wavMuLaw:
		pcm := make([]int16, len(b))
		for i, v := range b {
			pcm[i] = g711.DecodeUlawFrame(v)
		}
		return pcm, nil
	default: // wavALaw, checked by parseWAVFormat
		pcm := make([]int16, len(b))
		for i, v := range b {
			pcm[i] = g711.DecodeAlawFrame(v)
		}
		return pcm, nil
	}
}

// EncodeWAV returns pcm as a 16-bit mono 8 kHz WAV file.
func EncodeWAV(pcm []int16) []byte {
	le := binary.LittleEndian
	b := make([]byte, 0, 44+2*len(pcm))
	b = append(b, "RIFF"...)
	b = le.AppendUint32(b, uint32(36+2*len(pcm)))
	b = append(b, "WAVEfmt "...)
	b = le.AppendUint32(b, 16)
	b = le.AppendUint16(b, wavPCM)
	b = le.AppendUint16(b, 1) // mono
	b = le.AppendUint32(b, SampleRate)
	b = le.AppendUint32(b, 2*SampleRate) // bytes per second
	b = le.AppendUint16(b, 2)            // block align
	b = le.AppendUint16(b, 16)           // bits per sample
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(2*len(pcm)))
	for _, v := range pcm {
		b = le.AppendUint16(b, uint16(v))
	}
	return b
}
