package ssp

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"callgate/scp/ain"
)

// ACG is one automatic code gapping control received from the SCP.
type ACG struct {
	// Code is the controlled code: the leading digits of the called
	// numbers it applies to (e.g. "303555" for NPA-NXX 303-555).
	Code            string `json:"controlledCode"`
	TranslationType uint8  `json:"translationType"`
	// ControlCause is the controlCauseIndicator octet.
	ControlCause uint8           `json:"controlCauseIndicator"`
	Interval     ain.GapInterval `json:"-"`
	IntervalText string          `json:"gapInterval"`
	Duration     ain.GapDuration `json:"-"`
	DurationText string          `json:"gapDuration"`
	// Gap and For are the interval and duration as times; For 0 means
	// "until removed". Remove is set by "remove gap control"; StopAll
	// by "stop all calls".
	Gap     time.Duration `json:"-"`
	For     time.Duration `json:"-"`
	Remove  bool          `json:"remove,omitempty"`
	StopAll bool          `json:"stopAllCalls,omitempty"`
}

var nationalGaps = [...]time.Duration{0, 0, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second,
	15 * time.Second, 30 * time.Second, 60 * time.Second, 120 * time.Second, 300 * time.Second,
	600 * time.Second}

var privateGaps = [...]time.Duration{0, 3 * time.Second, 4 * time.Second, 6 * time.Second,
	8 * time.Second, 11 * time.Second, 16 * time.Second, 22 * time.Second, 30 * time.Second,
	42 * time.Second, 58 * time.Second, 81 * time.Second, 112 * time.Second, 156 * time.Second,
	217 * time.Second, 300 * time.Second, 0, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2 * time.Second}

// ACGFromArg interprets a decoded acg argument (GR-1299 tables: national
// gap interval 0 removes the control, 15 stops all calls; private 16
// removes; duration v means 2^(v-1) s, 13 infinity).
func ACGFromArg(a *ain.AcgArg) (ACG, error) {
	g := ACG{Code: gtaDigits(a.GlobalTitleAddress), TranslationType: a.TranslationType,
		ControlCause: a.ControlCauseIndicator, Interval: a.GapInterval, IntervalText: a.GapInterval.String(),
		Duration: a.GapDuration, DurationText: a.GapDuration.String()}
	v := a.GapInterval.Value
	switch {
	case !a.GapInterval.Private && v == ain.NationalGapRemove, a.GapInterval.Private && v == ain.PrivateGapRemove:
		g.Remove = true
	case !a.GapInterval.Private && v == ain.NationalGapStopAll:
		g.StopAll = true
	case !a.GapInterval.Private && int(v) < len(nationalGaps):
		g.Gap = nationalGaps[v]
	case a.GapInterval.Private && int(v) < len(privateGaps):
		g.Gap = privateGaps[v]
	default:
		return g, fmt.Errorf("ssp: acg for %q: gap interval %s out of range", g.Code, a.GapInterval)
	}
	switch d := a.GapDuration; {
	case d >= 1 && d <= 12:
		g.For = time.Duration(1<<(d-1)) * time.Second
	case d == ain.GapDurationInfinity:
		g.For = 0
	default:
		if !g.Remove {
			return g, fmt.Errorf("ssp: acg for %q: gap duration %d out of range", g.Code, d)
		}
	}
	if g.Code == "" && !g.Remove {
		return g, fmt.Errorf("ssp: acg without a controlled code")
	}
	return g, nil
}

// gtaDigits reads the globalTitleAddress: packed BCD, low nibble first.
// An F nibble is filler. A trailing 0 nibble is ambiguous (filler of an odd
// count, or a digit 0); NANP controls are 3, 6 or 10 digits, so a 4-digit
// reading ending in 0 is taken as a 3-digit NPA with its filler.
func gtaDigits(b []byte) string {
	out := make([]byte, 0, 2*len(b))
	for _, o := range b {
		for _, nib := range [2]byte{o & 0x0F, o >> 4} {
			switch {
			case nib <= 9:
				out = append(out, '0'+nib)
			case nib == 0x0F:
			default:
				out = append(out, "0123456789*#ABCDEF"[nib])
			}
		}
	}
	if len(out) == 4 && out[3] == '0' && len(b) == 2 && b[1]>>4 == 0 {
		out = out[:3]
	}
	return string(out)
}

// GapControl is an active control in a GapTable, for reports.
type GapControl struct {
	ACG
	Since   time.Time `json:"since"`
	Until   time.Time `json:"until,omitzero"` // zero: until removed
	Gapped  int64     `json:"gapped"`         // calls not queried because of it
	Allowed int64     `json:"allowed"`        // calls let through at the end of a gap
}

type gapEntry struct {
	ctl     GapControl
	next    atomic.Int64 // unix nanos before which matching calls are gapped
	gapped  atomic.Int64
	allowed atomic.Int64
}

// GapTable is the switch's ACG state: controlled codes and their gap
// timers. Check is lock-free when no control is active and takes a read
// lock otherwise; it never allocates.
type GapTable struct {
	active atomic.Int32
	mu     sync.RWMutex
	byCode map[string]*gapEntry
	lens   []int // distinct code lengths, ascending
}

// NewGapTable returns an empty table.
func NewGapTable() *GapTable { return &GapTable{byCode: map[string]*gapEntry{}} }

// Apply installs, replaces or removes a control received at now. A new
// control starts with a full gap: the first matching call is let through
// only once the gap interval has passed (GR-1299 gapping starts at receipt).
func (g *GapTable) Apply(c ACG, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c.Remove {
		delete(g.byCode, c.Code)
	} else {
		e := &gapEntry{ctl: GapControl{ACG: c, Since: now}}
		if c.For > 0 {
			e.ctl.Until = now.Add(c.For)
		}
		if old, ok := g.byCode[c.Code]; ok {
			// A refreshed control keeps its counters and running gap.
			e.gapped.Store(old.gapped.Load())
			e.allowed.Store(old.allowed.Load())
		}
		e.next.Store(now.Add(c.Gap).UnixNano())
		g.byCode[c.Code] = e
	}
	g.reindexLocked()
}

func (g *GapTable) reindexLocked() {
	g.lens = g.lens[:0]
	for code := range g.byCode {
		if !slices.Contains(g.lens, len(code)) {
			g.lens = append(g.lens, len(code))
		}
	}
	sort.Ints(g.lens)
	g.active.Store(int32(len(g.byCode)))
}

// Check reports whether a call to the given called digits must be gapped
// at now (not queried). A call that falls under a control whose gap has run
// out is let through and restarts the gap. Expired controls are ignored
// (and dropped by the next Apply or Controls). The longest matching code
// governs.
func (g *GapTable) Check(called []byte, now time.Time) bool {
	if g.active.Load() == 0 {
		return false
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	t := now.UnixNano()
	for i := len(g.lens) - 1; i >= 0; i-- {
		l := g.lens[i]
		if l > len(called) {
			continue
		}
		e, ok := g.byCode[string(called[:l])]
		if !ok {
			continue
		}
		if !e.ctl.Until.IsZero() && now.After(e.ctl.Until) {
			continue
		}
		if e.ctl.StopAll {
			e.gapped.Add(1)
			return true
		}
		for {
			next := e.next.Load()
			if t < next {
				e.gapped.Add(1)
				return true
			}
			if e.next.CompareAndSwap(next, t+int64(e.ctl.Gap)) {
				e.allowed.Add(1)
				return false
			}
		}
	}
	return false
}

// Controls lists the controls still in force at now, by code, and drops
// the expired ones.
func (g *GapTable) Controls(now time.Time) []GapControl {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []GapControl
	for code, e := range g.byCode {
		if !e.ctl.Until.IsZero() && now.After(e.ctl.Until) {
			delete(g.byCode, code)
			continue
		}
		c := e.ctl
		c.Gapped, c.Allowed = e.gapped.Load(), e.allowed.Load()
		out = append(out, c)
	}
	g.reindexLocked()
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}
