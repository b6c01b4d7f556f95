// Package when reads a point in time as an operator writes it on the
// command line or in an API query: a duration back from now ("90m",
// "2h", "7d", "1.5d") or a time (RFC 3339, or a date and time without a
// zone, to the minute or second, or a date alone, read in a given zone).
// The CLI's --since/--until and the API's since/until read the same
// forms through it, so that what works in one works in the other.
package when

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Forms names the accepted forms, for error messages and help.
const Forms = `a duration back from now (90m, 2h, 7d) or a time (2026-05-01T12:00:00Z, "2026-05-01 14:02" in local time, 2026-05-01)`

// layouts are the time forms, RFC 3339 first; those without a zone are
// read in the zone Parse is given.
var layouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

// errFuture is the error for a negative duration: "-1h" back from now is
// an hour ahead, a time no record has yet, and more likely a typo for 1h
// than a wish for an empty answer.
var errFuture = errors.New("a duration back from now must not be negative (it would be a time in the future)")

// Parse reads s ("" is the zero time: no bound). Days ("7d") are 24
// hours each, whatever the calendar. A time without a zone is read in loc.
func Parse(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.ParseFloat(d, 64); err == nil {
			if n < 0 || n != n { // negative, or NaN
				return time.Time{}, fmt.Errorf("%q: %w", s, errFuture)
			}
			if n*24 > float64(maxHours) {
				return time.Time{}, fmt.Errorf("%q: more days than a duration holds (%d)", s, maxHours/24)
			}
			return now.Add(-time.Duration(n * 24 * float64(time.Hour))), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: %w", s, errFuture)
		}
		return now.Add(-d), nil
	}
	for _, layout := range layouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither %s", s, strings.Replace(Forms, ") or a time", ") nor a time", 1))
}

// maxHours is the most hours a time.Duration holds (some 292 years).
const maxHours = int64(1<<63-1) / int64(time.Hour)
