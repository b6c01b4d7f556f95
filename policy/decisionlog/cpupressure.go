package decisionlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// cpuPressurePath is the kernel's CPU pressure (PSI): for how long, in
// total, some runnable task has waited for a CPU.
var cpuPressurePath = "/proc/pressure/cpu"

// cpuPressure samples the share of wall time in which some runnable task
// waited for a CPU, between one sample and the next: near 1 when other
// work keeps every CPU busy, which is when a SCHED_IDLE thread starves.
type cpuPressure struct {
	f     *os.File
	buf   [512]byte
	total uint64        // the "some" total at the last sample, µs
	at    time.Duration // when it was taken (monoSince)
}

func openCPUPressure(path string) (*cpuPressure, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	p := &cpuPressure{f: f}
	if _, err := p.sample(); err != nil {
		f.Close()
		return nil, err
	}
	return p, nil
}

// sample returns the share since the previous sample (0 at the first).
func (p *cpuPressure) sample() (float64, error) {
	n, err := p.f.ReadAt(p.buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	total, err := someTotal(p.buf[:n])
	if err != nil {
		return 0, fmt.Errorf("%s: %w", cpuPressurePath, err)
	}
	now := monoSince()
	var share float64
	if wall := now - p.at; p.at != 0 && wall > 0 && total >= p.total {
		share = float64(total-p.total) * float64(time.Microsecond) / float64(wall)
	}
	p.total, p.at = total, now
	return min(share, 1), nil
}

func (p *cpuPressure) close() { p.f.Close() }

// someTotal reads the "some" line's total (µs) from the PSI file's text:
// "some avg10=0.00 avg60=0.00 avg300=0.00 total=12345".
func someTotal(b []byte) (uint64, error) {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("some "))
		if !ok {
			continue
		}
		for f := range bytes.FieldsSeq(rest) {
			if v, ok := bytes.CutPrefix(f, []byte("total=")); ok {
				return strconv.ParseUint(string(v), 10, 64)
			}
		}
		return 0, fmt.Errorf("no total in %q", bytes.TrimSpace(line))
	}
	return 0, fmt.Errorf("no \"some\" line in %q", trunc(b))
}

func trunc(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}
