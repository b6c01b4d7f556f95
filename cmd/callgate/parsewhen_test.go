package main

import (
	"strings"
	"testing"
	"time"
)

// An operator asks about "the call at 14:02": a time to the minute, without
// seconds, was refused. Times without a zone are the machine's.
func TestParseWhenMinutes(t *testing.T) {
	now := time.Date(2026, 5, 2, 9, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2026-05-01 14:02":     time.Date(2026, 5, 1, 14, 2, 0, 0, time.Local),
		"2026-05-01T14:02":     time.Date(2026, 5, 1, 14, 2, 0, 0, time.Local),
		"2026-05-01 14:02:30":  time.Date(2026, 5, 1, 14, 2, 30, 0, time.Local),
		"2026-05-01T14:02:00Z": time.Date(2026, 5, 1, 14, 2, 0, 0, time.UTC),
		"2026-05-01":           time.Date(2026, 5, 1, 0, 0, 0, 0, time.Local),
		"90m":                  now.Add(-90 * time.Minute),
		"1d":                   now.Add(-24 * time.Hour),
	} {
		got, err := parseWhen(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseWhen("14:02", now); err == nil {
		t.Error("a time without a date accepted")
	}
	// "-1h" was read as 1h: a negative duration back from now is a time
	// in the future, refused as the API refuses it.
	if _, err := parseWhen("-1h", now); err == nil || !strings.Contains(err.Error(), "must not be negative") {
		t.Errorf("-1h: %v", err)
	}
}
