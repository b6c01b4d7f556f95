package fraud

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"callgate/e164"
)

// CDR is one call detail record of the feed: a call that ended (or an
// attempt that was never answered, with Seconds 0).
//
// Its line form, in a CSV batch and in a tailed file (a first line
// starting with "calling" is a header; no quoting: the fields never hold
// commas):
//
//	calling,called,start,duration
//	+13125550103,+442079460000,2026-03-14T10:04:05Z,754
//
// calling is the line that placed the call and called the number it
// dialled (any form e164.ParseDialled reads: a switch's CDR may keep the
// carrier access code or operator prefix the caller keyed); start is RFC 3339 (with its offset)
// or Unix seconds; duration is the billable seconds (a fraction is rounded
// up), 0 for an unanswered attempt.
type CDR struct {
	Calling e164.Number `json:"calling"`
	Called  e164.Number `json:"called"`
	Start   time.Time   `json:"start"`
	Seconds int64       `json:"duration"`
}

// maxCallSeconds bounds a CDR's duration (a day).
const maxCallSeconds = 24 * 60 * 60

// End is when the call ended.
func (c *CDR) End() time.Time { return c.Start.Add(time.Duration(c.Seconds) * time.Second) }

// String names the call for messages.
func (c CDR) String() string {
	return fmt.Sprintf("%s -> %s at %s for %ds", c.Calling, c.Called, c.Start.UTC().Format(time.RFC3339), c.Seconds)
}

func (c CDR) validate() error {
	switch {
	case c.Calling == 0:
		return fmt.Errorf("CDR %s: no calling number (the line that placed the call)", c.String())
	case c.Called == 0:
		return fmt.Errorf("CDR %s: no called number", c.String())
	case c.Start.IsZero():
		return fmt.Errorf("CDR %s: no start time", c.String())
	case c.Seconds < 0 || c.Seconds > maxCallSeconds:
		return fmt.Errorf("CDR %s: duration %ds: want 0 to %d seconds", c.String(), c.Seconds, maxCallSeconds)
	}
	return nil
}

// errHeader marks a header line.
var errHeader = errors.New("header")

// ParseCDR reads one line of the CDR line form (without its newline).
func ParseCDR(line []byte) (CDR, error) {
	line = bytes.TrimRight(line, "\r")
	var f [4][]byte
	n := 0
	for rest := line; ; n++ {
		i := bytes.IndexByte(rest, ',')
		if n == len(f) {
			return CDR{}, fmt.Errorf("%q: more than 4 fields (want calling,called,start,duration)", trunc(line))
		}
		if i < 0 {
			f[n] = bytes.TrimSpace(rest)
			n++
			break
		}
		f[n] = bytes.TrimSpace(rest[:i])
		rest = rest[i+1:]
	}
	if n != 4 {
		return CDR{}, fmt.Errorf("%q: %d field(s) (want calling,called,start,duration)", trunc(line), n)
	}
	if bytes.EqualFold(f[0], []byte("calling")) {
		return CDR{}, errHeader
	}
	var c CDR
	var err error
	if c.Calling, err = e164.Parse(string(f[0])); err != nil {
		return CDR{}, fmt.Errorf("calling: %w", err)
	}
	if c.Called, err = e164.ParseDialled(string(f[1])); err != nil {
		return CDR{}, fmt.Errorf("called: %w", err)
	}
	if c.Start, err = parseStart(f[2]); err != nil {
		return CDR{}, err
	}
	if c.Seconds, err = parseSeconds(f[3]); err != nil {
		return CDR{}, err
	}
	return c, nil
}

// parseStart reads RFC 3339 or Unix seconds.
func parseStart(b []byte) (time.Time, error) {
	if len(b) > 0 && len(b) <= 12 && allDigits(b) {
		s, _ := strconv.ParseInt(string(b), 10, 64)
		return time.Unix(s, 0), nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, fmt.Errorf("start %q: want RFC 3339 with its offset (2026-03-14T10:04:05Z) or Unix seconds", trunc(b))
	}
	return t, nil
}

// parseSeconds reads a duration in seconds, a fraction rounded up.
func parseSeconds(b []byte) (int64, error) {
	whole, frac, _ := bytes.Cut(b, []byte("."))
	if len(whole) == 0 || len(whole) > 6 || !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("duration %q: want whole seconds (0 for an unanswered attempt), at most %d", trunc(b), maxCallSeconds)
	}
	s, _ := strconv.ParseInt(string(whole), 10, 64)
	if len(bytes.Trim(frac, "0")) > 0 {
		s++
	}
	if s > maxCallSeconds {
		return 0, fmt.Errorf("duration %q: more than %d seconds (a day)", trunc(b), maxCallSeconds)
	}
	return s, nil
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func trunc(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}
