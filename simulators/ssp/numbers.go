package ssp

import (
	"errors"
	"fmt"
	"strings"

	"callgate/e164"
)

// NumberRange is a block of consecutive E.164 numbers that all have the
// same number of digits (so that queries for them have the same length
// and a pre-encoded template can be patched in place).
type NumberRange struct {
	First, Last e164.Number
}

// ParseRange reads "FIRST-LAST" ("+13035550000-+13035559999"), a pattern
// with trailing x wildcards ("+1303555xxxx"), or a single number.
func ParseRange(s string) (NumberRange, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "xX"); i >= 0 {
		head, tail := s[:i], s[i:]
		if strings.Trim(tail, "xX") != "" {
			return NumberRange{}, fmt.Errorf("number range %q: wildcards x must be trailing", s)
		}
		lo, err := e164.Parse(head + strings.Repeat("0", len(tail)))
		if errors.Is(err, e164.ErrNANP) && len(tail) > 4 {
			// The wildcards reach into the area or central office code,
			// whose first digit cannot be 0 or 1.
			return NumberRange{}, fmt.Errorf("number range %q: %w; x may stand only for the 4 line-number digits of a NANP number (or give FIRST-LAST)", s, err)
		}
		if err != nil {
			return NumberRange{}, fmt.Errorf("number range %q: %w", s, err)
		}
		hi, err := e164.Parse(head + strings.Repeat("9", len(tail)))
		if err != nil {
			return NumberRange{}, fmt.Errorf("number range %q: %w", s, err)
		}
		return newRange(s, lo, hi)
	}
	// "-" also appears inside numbers as a separator; split on the one
	// that is followed by a '+' or that separates two parseable halves.
	if i := strings.Index(s, "-+"); i > 0 {
		return parsePair(s, s[:i], s[i+1:])
	}
	for i := 1; i < len(s)-1; i++ {
		if s[i] != '-' {
			continue
		}
		if r, err := parsePair(s, s[:i], s[i+1:]); err == nil {
			return r, nil
		}
	}
	n, err := e164.Parse(s)
	if err != nil {
		return NumberRange{}, fmt.Errorf("number range %q: %w", s, err)
	}
	return NumberRange{n, n}, nil
}

func parsePair(s, a, b string) (NumberRange, error) {
	lo, err := e164.Parse(a)
	if err != nil {
		return NumberRange{}, fmt.Errorf("number range %q: first: %w", s, err)
	}
	hi, err := e164.Parse(b)
	if err != nil {
		return NumberRange{}, fmt.Errorf("number range %q: last: %w", s, err)
	}
	return newRange(s, lo, hi)
}

func newRange(s string, lo, hi e164.Number) (NumberRange, error) {
	if hi < lo {
		return NumberRange{}, fmt.Errorf("number range %q: last %s before first %s", s, hi, lo)
	}
	if len(lo.Digits()) != len(hi.Digits()) {
		return NumberRange{}, fmt.Errorf("number range %q: %s and %s have different digit counts", s, lo, hi)
	}
	return NumberRange{lo, hi}, nil
}

// Count is the number of numbers in the range.
func (r NumberRange) Count() uint64 { return uint64(r.Last-r.First) + 1 }

// At returns the i-th number, wrapping around.
func (r NumberRange) At(i uint64) e164.Number { return r.First + e164.Number(i%r.Count()) }

func (r NumberRange) String() string {
	if r.First == r.Last {
		return r.First.String()
	}
	return r.First.String() + "-" + r.Last.String()
}
