package when

import (
	"strings"
	"testing"
	"time"
)

// The forms the CLI and the API accept; a negative duration (a time in
// the future) and text that is no time are refused, saying why.
func TestParse(t *testing.T) {
	now := time.Date(2026, 5, 2, 9, 0, 0, 0, time.UTC)
	loc := time.FixedZone("MDT", -6*3600)
	for in, want := range map[string]time.Time{
		"":                            {},
		"2026-05-01 14:02":            time.Date(2026, 5, 1, 14, 2, 0, 0, loc),
		"2026-05-01T14:02":            time.Date(2026, 5, 1, 14, 2, 0, 0, loc),
		"2026-05-01 14:02:30":         time.Date(2026, 5, 1, 14, 2, 30, 0, loc),
		"2026-05-01T14:02:00Z":        time.Date(2026, 5, 1, 14, 2, 0, 0, time.UTC),
		"2026-05-01T14:02:00.5+02:00": time.Date(2026, 5, 1, 12, 2, 0, 5e8, time.UTC),
		"2026-05-01":                  time.Date(2026, 5, 1, 0, 0, 0, 0, loc),
		"90m":                         now.Add(-90 * time.Minute),
		" 2h ":                        now.Add(-2 * time.Hour),
		"0s":                          now,
		"1d":                          now.Add(-24 * time.Hour),
		"7d":                          now.Add(-7 * 24 * time.Hour),
		"1.5d":                        now.Add(-36 * time.Hour),
	} {
		got, err := Parse(in, now, loc)
		if err != nil || !got.Equal(want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, why := range map[string]string{
		"-1h":       "must not be negative",
		"-2d":       "must not be negative",
		"14:02":     "is neither a duration back from now",
		"yesterday": "nor a time",
		"NaNd":      "must not be negative",
		"1e9d":      "more days than a duration holds",
	} {
		if _, err := Parse(in, now, loc); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("Parse(%q): %v; want an error saying %q", in, err, why)
		}
	}
}
