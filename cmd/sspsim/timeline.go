package main

import (
	"bufio"
	"fmt"
	"os"

	"callgate/simulators/ssp"
)

// writeTimeline writes a load run's timeline (--timeline) as CSV, one
// line per slice: its start and the slowest answer in milliseconds, the
// answers and the slow ones.
func writeTimeline(path string, tl []ssp.TimelineSlice) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--timeline: %w", err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "start_ms,answers,slow,max_ms")
	for _, s := range tl {
		fmt.Fprintf(w, "%.0f,%d,%d,%.3f\n", float64(s.Start)/1e6, s.Answers, s.Slow, float64(s.MaxDelay)/1e6)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("--timeline %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--timeline %s: %w", path, err)
	}
	return nil
}
