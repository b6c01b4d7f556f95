// Package progress draws a one-line progress bar on a terminal.
//
// A Bar draws only when its writer is a terminal (so logs and pipes stay
// clean) and redraws at most ten times a second, so callers may update it
// as often as they like.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Bar is a terminal progress bar. The zero value is not usable; use New.
type Bar struct {
	mu      sync.Mutex
	w       io.Writer
	enabled bool
	width   int
	label   string
	unit    Unit
	start   time.Time
	last    time.Time
	drawn   bool
	now     func() time.Time
}

// Unit says how Done and Total are printed.
type Unit uint8

// Units.
const (
	Count Unit = iota // plain counts ("450000/1000000")
	Bytes             // sizes ("12.5 MiB/40.0 MiB")
)

// New returns a bar writing to w (normally os.Stderr). It is enabled only
// when w is an *os.File on a terminal.
func New(w io.Writer) *Bar {
	b := &Bar{w: w, width: 80, now: time.Now}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b.enabled = true
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
			b.width = cols
		}
	}
	b.start = b.now()
	return b
}

// Enabled reports whether the bar draws anything.
func (b *Bar) Enabled() bool { return b.enabled }

// Set updates the bar: a phase label, the unit, how far and out of how much
// (total <= 0: unknown, shown as a count without a bar). A new label
// restarts the rate clock.
func (b *Bar) Set(label string, unit Unit, done, total int64) {
	if !b.enabled {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	changed := label != b.label
	if changed {
		b.label, b.unit, b.start = label, unit, now
	}
	if !changed && now.Sub(b.last) < 100*time.Millisecond && (total <= 0 || done < total) {
		return
	}
	b.last = now
	fmt.Fprint(b.w, "\r"+Render(b.width-1, label, unit, done, total, now.Sub(b.start))+"\x1b[K")
	b.drawn = true
}

// Finish ends the bar's line so later output starts on a fresh one.
func (b *Bar) Finish() {
	if !b.enabled {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprintln(b.w)
		b.drawn = false
	}
}

// Render formats one bar line of at most width columns: label, bar,
// percentage, amounts and rate. It is pure so it can be tested.
func Render(width int, label string, unit Unit, done, total int64, elapsed time.Duration) string {
	amount := format(unit, done)
	if total > 0 {
		amount += "/" + format(unit, total)
	}
	rate := ""
	if s := elapsed.Seconds(); s > 0.05 && done > 0 {
		rate = " " + format(unit, int64(float64(done)/s)) + "/s"
	}
	if total <= 0 {
		return clip(fmt.Sprintf("%s %s%s", label, amount, rate), width)
	}
	frac := float64(done) / float64(total)
	frac = max(0, min(1, frac))
	tail := fmt.Sprintf(" %3.0f%% %s%s", frac*100, amount, rate)
	barW := width - len(label) - len(tail) - 3
	if barW < 10 {
		return clip(label+tail, width)
	}
	fill := int(frac * float64(barW))
	bar := strings.Repeat("=", fill)
	if fill < barW {
		bar += ">" + strings.Repeat(" ", barW-fill-1)
	}
	return label + " [" + bar + "]" + tail
}

func clip(s string, width int) string {
	if width > 0 && len(s) > width {
		return s[:width]
	}
	return s
}

func format(u Unit, n int64) string {
	if u == Bytes {
		return ByteSize(n)
	}
	return fmt.Sprintf("%d", n)
}

// ByteSize is n bytes for people: 512 B, 1.5 KiB, 20.0 MiB, 2.1 GiB.
func ByteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
