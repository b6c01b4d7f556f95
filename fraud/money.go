package fraud

import (
	"fmt"
	"strconv"
	"strings"
)

// Money is an amount in the account currency, in millionths of the unit
// (micros: 1.00 is 1,000,000). Sums are integer additions, never floats.
// A whole micro rather than the cent is the minor unit because per-minute
// prices carry fractions of a cent (0.0125 a minute) and a call's cost is a
// fraction of its per-minute price.
type Money int64

// Unit is 1.00 in the account currency.
const Unit Money = 1_000_000

// maxMoney bounds parsed amounts (9,000,000,000.00), so a sum of a day's
// calls or a threshold times a multiplier cannot overflow int64.
const maxMoney Money = 9_000_000_000 * Unit

// ParseMoney reads a non-negative decimal amount with at most six decimal
// places: "10", "10.00", "0.0125". No sign, exponent, grouping or currency
// symbol.
func ParseMoney(s string) (Money, error) {
	t := strings.TrimSpace(s)
	whole, frac, dot := strings.Cut(t, ".")
	if whole == "" && (!dot || frac == "") {
		return 0, fmt.Errorf("amount %q: empty (want a decimal such as 10.00)", s)
	}
	if len(frac) > 6 {
		return 0, fmt.Errorf("amount %q: more than 6 decimal places", s)
	}
	var m Money
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, fmt.Errorf("amount %q: character %q is not a digit (want a non-negative decimal such as 10.00)", s, part[i])
			}
		}
	}
	for i := 0; i < len(whole); i++ {
		m = m*10 + Money(whole[i]-'0')
		if m > maxMoney/Unit {
			return 0, fmt.Errorf("amount %q: above the largest amount %s", s, maxMoney)
		}
	}
	m *= Unit
	scale := Unit / 10
	for i := 0; i < len(frac); i++ {
		m += Money(frac[i]-'0') * scale
		scale /= 10
	}
	return m, nil
}

// String formats m with two decimal places, or as many more (up to six) as
// it needs to be exact: "10.00", "0.0125".
func (m Money) String() string {
	var b [32]byte
	return string(m.AppendTo(b[:0]))
}

// AppendTo appends m's String form to b.
func (m Money) AppendTo(b []byte) []byte {
	if m < 0 {
		b = append(b, '-')
		m = -m
	}
	b = strconv.AppendInt(b, int64(m/Unit), 10)
	f := int64(m % Unit)
	var d [6]byte
	for i := 5; i >= 0; i-- {
		d[i] = byte('0' + f%10)
		f /= 10
	}
	n := 6
	for n > 2 && d[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, d[:n]...)
}

// MarshalText implements encoding.TextMarshaler (the exact decimal).
func (m Money) MarshalText() ([]byte, error) { return m.AppendTo(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler (ParseMoney, and a
// leading '-' for the differences the history reports).
func (m *Money) UnmarshalText(b []byte) error {
	s := string(b)
	neg := strings.HasPrefix(s, "-")
	v, err := ParseMoney(strings.TrimPrefix(s, "-"))
	if err != nil {
		return err
	}
	if neg {
		v = -v
	}
	*m = v
	return nil
}

// PerMinute is the cost of seconds at m a minute, rounded up to the micro
// (a carrier never bills less than the call cost).
func (m Money) PerMinute(seconds int64) Money {
	if seconds <= 0 || m <= 0 {
		return 0
	}
	return (m*Money(seconds) + 59) / 60
}

// Multiplier is a ratio in thousandths (1.5 is 1500), for the threshold
// scale: integer, so thresholds are exact and reproducible.
type Multiplier int32

// maxMultiplier bounds a configured multiplier (100.000): with maxMoney it
// keeps every product inside int64.
const maxMultiplier Multiplier = 100_000

// ParseMultiplier reads a ratio of at least 1 with at most three decimal
// places: "3", "1.25".
func ParseMultiplier(s string) (Multiplier, error) {
	t := strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(t, ".")
	if whole == "" || len(frac) > 3 {
		return 0, fmt.Errorf("multiplier %q: want a decimal of at least 1 with at most 3 decimal places, such as 1.5", s)
	}
	var v int64
	for i := 0; i < len(whole); i++ {
		if whole[i] < '0' || whole[i] > '9' {
			return 0, fmt.Errorf("multiplier %q: character %q is not a digit", s, whole[i])
		}
		v = v*10 + int64(whole[i]-'0')
		if v > int64(maxMultiplier/1000) {
			return 0, fmt.Errorf("multiplier %q: above %s", s, maxMultiplier)
		}
	}
	v *= 1000
	scale := int64(100)
	for i := 0; i < len(frac); i++ {
		if frac[i] < '0' || frac[i] > '9' {
			return 0, fmt.Errorf("multiplier %q: character %q is not a digit", s, frac[i])
		}
		v += int64(frac[i]-'0') * scale
		scale /= 10
	}
	m := Multiplier(v)
	if err := m.check(); err != nil {
		return 0, fmt.Errorf("multiplier %q: %w", s, err)
	}
	return m, nil
}

func (m Multiplier) check() error {
	if m < 1000 {
		return fmt.Errorf("below 1 (a threshold under the group's own history would trip on an ordinary day)")
	}
	if m > maxMultiplier {
		return fmt.Errorf("above %s", maxMultiplier)
	}
	return nil
}

// String formats m as a decimal ("1.5", "3").
func (m Multiplier) String() string {
	s := strconv.FormatInt(int64(m)/1000, 10)
	if f := int64(m) % 1000; f != 0 {
		fs := strings.TrimRight(fmt.Sprintf("%03d", f), "0")
		s += "." + fs
	}
	return s
}

// MarshalText implements encoding.TextMarshaler.
func (m Multiplier) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Multiplier) UnmarshalText(b []byte) error {
	v, err := ParseMultiplier(string(b))
	if err == nil {
		*m = v
	}
	return err
}

// of is x times m, rounded down to the micro.
func (m Multiplier) of(x Money) Money { return x * Money(m) / 1000 }
