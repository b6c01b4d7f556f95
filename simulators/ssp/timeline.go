package ssp

import (
	"sync/atomic"
	"time"
)

// A timeline says when in a run the slow answers came: per slice of
// LoadConfig.TimelineStep, the answers received, how many took longer
// than LoadConfig.TimelineSlow, and the slowest. A latency tail can come
// from slow answers spread evenly (the SCP's cost per query) or from
// stalls of some milliseconds at moments (a garbage collection, a
// commit, the operating system giving the core to another process); the
// percentiles alone cannot tell which.

// TimelineSlice is one step of a run's timeline.
type TimelineSlice struct {
	// Start is when the slice begins, from the start of the run.
	Start    time.Duration `json:"startNs"`
	Answers  int64         `json:"answers"`
	Slow     int64         `json:"slow"` // answers over TimelineSlow
	MaxDelay time.Duration `json:"maxNs"`
}

// timeline collects the slices of a run; record runs on the answering
// goroutines.
type timeline struct {
	step, slow time.Duration
	slices     []timelineSlice
}

type timelineSlice struct{ answers, slow, max atomic.Int64 }

// newTimeline returns a timeline of step-long slices covering d, or nil
// when step is 0 (no timeline).
func newTimeline(step, slow, d time.Duration) *timeline {
	if step <= 0 || d <= 0 {
		return nil
	}
	return &timeline{step: step, slow: slow, slices: make([]timelineSlice, int(d/step)+1)}
}

// record notes an answer received at since (from the start of the run)
// that took took.
func (t *timeline) record(since, took time.Duration) {
	i := int(since / t.step)
	if i < 0 || i >= len(t.slices) {
		return // after the last call's timeout: not part of the run
	}
	s := &t.slices[i]
	s.answers.Add(1)
	if took > t.slow {
		s.slow.Add(1)
	}
	for {
		m := s.max.Load()
		if int64(took) <= m || s.max.CompareAndSwap(m, int64(took)) {
			return
		}
	}
}

// result returns the slices, up to the last one with an answer.
func (t *timeline) result() []TimelineSlice {
	if t == nil {
		return nil
	}
	last := -1
	for i := range t.slices {
		if t.slices[i].answers.Load() > 0 {
			last = i
		}
	}
	out := make([]TimelineSlice, last+1)
	for i := range out {
		s := &t.slices[i]
		out[i] = TimelineSlice{Start: time.Duration(i) * t.step, Answers: s.answers.Load(), Slow: s.slow.Load(),
			MaxDelay: time.Duration(s.max.Load())}
	}
	return out
}
