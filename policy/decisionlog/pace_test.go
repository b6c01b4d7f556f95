package decisionlog

import (
	"testing"
	"time"

	"callgate/policy"
)

func TestPacerBreathe(t *testing.T) {
	off := pacer{}
	off.wake()
	if off.breathe(false) {
		t.Error("a pacer without a slice paused")
	}
	long := pacer{slice: time.Hour}
	long.wake()
	if long.breathe(false) {
		t.Error("paused before its slice was used up")
	}
	short := pacer{slice: time.Nanosecond}
	short.wake()
	time.Sleep(time.Microsecond)
	if short.breathe(true) {
		t.Error("paused while behind")
	}
	if !short.breathe(false) {
		t.Error("did not pause after its slice")
	}
	if short.pauses.Load() != 1 {
		t.Errorf("pauses = %d, want 1", short.pauses.Load())
	}
}

// TestWriterSlices: with slices on, the writer pauses while it encodes and
// commits, and writes the same records as without.
func TestWriterSlices(t *testing.T) {
	const n = 4096
	for _, c := range []struct {
		name   string
		slice  time.Duration
		pauses bool
	}{
		{"slices", time.Nanosecond, true},
		{"none", -1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := testOptions()
			opts.BatchSize, opts.QueueSize, opts.WriterSlice = n, 4*n, c.slice
			l := openTest(t, opts)
			if want := min(n, encodeChunk); c.pauses && l.kickEvery != want {
				t.Errorf("writer woken every %d records, want %d", l.kickEvery, want)
			}
			for i := range n {
				l.Record(Record{Time: t0.Add(time.Duration(i) * time.Millisecond), Calling: nC, Called: nA, Action: policy.ActionAllow})
			}
			waitFor(t, "the batch", func() bool { return l.Stats().Written == n })
			s := l.Stats()
			// A pause every breatheEvery records encoded, at least.
			if c.pauses && s.WriterPauses < n/breatheEvery {
				t.Errorf("pauses = %d, want at least %d", s.WriterPauses, n/breatheEvery)
			}
			if !c.pauses && s.WriterPauses != 0 {
				t.Errorf("pauses = %d without slices", s.WriterPauses)
			}
			if got := len(mustSearch(t, l, Query{Number: nA, Limit: 2 * n})); got != n {
				t.Errorf("search found %d records, want %d", got, n)
			}
		})
	}
}
