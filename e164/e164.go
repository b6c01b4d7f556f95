// Package e164 holds telephone numbers in their E.164 form as a compact integer.
//
// Every way a number enters callgate (AIN digits, SIP URIs, CSV imports, the
// command line) goes through this package, so the list store and the
// decision engine compare one representation only. A Number is the E.164 digit string
// read as a decimal integer: E.164 numbers never start with 0 and have at most
// 15 digits, so the integer identifies the digit string uniquely, fits in 50
// bits, and compares, hashes and sorts without allocating.
package e164

import (
	"errors"
	"fmt"
	"strconv"
)

// Number is an E.164 number (country code + national number, no '+') held as
// an integer. The zero value means "no number" (absent or anonymous).
type Number uint64

// MaxDigits is the longest E.164 number (ITU-T E.164 §6).
const MaxDigits = 15

// minDigits is the shortest number accepted. E.164 itself allows short
// numbers; anything under 7 digits in a list is almost always a typo.
const minDigits = 7

// Errors returned by Parse, wrapped with the offending input.
var (
	ErrEmpty     = errors.New("empty number")
	ErrCharacter = errors.New("not a telephone number")
	ErrLength    = errors.New("wrong number of digits")
	ErrLeading0  = errors.New("country code cannot start with 0")
	// ErrNANP is a +1 (or 10-digit) number with the right digit count
	// whose area code or central office code starts with 0 or 1.
	ErrNANP = errors.New("not a valid NANP number")
)

// Parse normalises s to E.164. Accepted forms:
//
//	+CC...            international, 7 to 15 digits after the '+'
//	NXXNXXXXXX        NANP 10 digits            -> +1NXXNXXXXXX
//	1NXXNXXXXXX       NANP 1+10                 -> +1NXXNXXXXXX
//	011CC...          NANP international prefix -> +CC...
//	00CC...           ITU international prefix  -> +CC...
//
// Visual separators (space, '-', '.', '(', ')') are ignored. Anything else is
// an error that names the input and what is wrong with it.
func Parse(s string) (Number, error) {
	return parse(s, false)
}

// parse scans s (an optional leading '+', digits, visual separators) and
// reads the digits with FromDigits, or with FromDialled's dialling plan
// (dialled). The calls are static, so the digit buffer stays on the stack.
func parse(s string, dialled bool) (Number, error) {
	var buf [24]byte
	n := 0
	plus := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == len(buf) {
				return 0, fmt.Errorf("%q: %w (more than %d digits)", s, ErrLength, MaxDigits)
			}
			buf[n] = c - '0'
			n++
		case c == '+' && n == 0 && !plus:
			plus = true
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return 0, fmt.Errorf("%q: %w (unexpected %q at position %d)", s, ErrCharacter, c, i+1)
		}
	}
	if n == 0 {
		if len(s) == 0 {
			return 0, ErrEmpty
		}
		return 0, fmt.Errorf("%q: %w (no digits)", s, ErrCharacter)
	}
	var (
		num Number
		err error
	)
	if dialled {
		num, err = FromDialled(buf[:n], plus)
	} else {
		num, err = FromDigits(buf[:n], plus)
	}
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	return num, nil
}

// FromDigits normalises a digit sequence (values 0-9, not ASCII) the way Parse
// does. international says the digits are already country code first (a '+'
// was present, or the signalling said "international"). It does not allocate
// on success, so the protocol tiers can use it on the hot path.
func FromDigits(d []byte, international bool) (Number, error) {
	// Signalling decoders hand over BCD nibbles; a filler or code nibble
	// (10-15) that slipped through must not be packed as if it were a digit.
	for _, c := range d {
		if c > 9 {
			return 0, fmt.Errorf("%w: digit value %d is not 0-9", ErrCharacter, c)
		}
	}
	if !international {
		switch {
		case len(d) == 10 && isNANP(d):
			return pack1(d), nil
		case len(d) == 11 && d[0] == 1 && isNANP(d[1:]):
			return pack(d), nil
		case len(d) > 3 && d[0] == 0 && d[1] == 1 && d[2] == 1:
			d = d[3:] // 011 + CC...
		case len(d) > 2 && d[0] == 0 && d[1] == 0:
			d = d[2:] // 00 + CC...
		case len(d) == 10:
			return 0, nanpError(d)
		case len(d) == 11 && d[0] == 1:
			return 0, nanpError(d[1:])
		default:
			return 0, fmt.Errorf("%w: %d digits is neither a NANP number (10 digits, or 1 + 10) nor international (+CC..., 011CC...)", ErrLength, len(d))
		}
	}
	if len(d) < minDigits || len(d) > MaxDigits {
		return 0, fmt.Errorf("%w: %d digits (E.164 allows %d to %d)", ErrLength, len(d), minDigits, MaxDigits)
	}
	if d[0] == 0 {
		return 0, ErrLeading0
	}
	if d[0] == 1 && !(len(d) == 11 && isNANP(d[1:])) {
		if len(d) == 11 {
			return 0, nanpError(d[1:])
		}
		return 0, fmt.Errorf("%w: +1 numbers have 10 digits after the country code (area code, central office code, line number), not %d", ErrLength, len(d)-1)
	}
	return pack(d), nil
}

// nanpError says which part of 10 NANP digits is not valid: the area code
// (NPA) or the central office code (NXX, the exchange) starting with 0 or 1.
func nanpError(d []byte) error {
	part, at := "area code (NPA)", 0
	if d[0] >= 2 {
		part, at = "central office code (NXX)", 3
	}
	return fmt.Errorf("%w: %s %d%d%d cannot start with %d (NANP area codes and central office codes start with 2-9)",
		ErrNANP, part, d[at], d[at+1], d[at+2], d[at])
}

// isNANP reports whether 10 digits form a NANP number: NPA and NXX both start
// with 2-9 (ATIS-0300076).
func isNANP(d []byte) bool {
	return len(d) == 10 && d[0] >= 2 && d[3] >= 2
}

func pack(d []byte) Number {
	var v uint64
	for _, c := range d {
		v = v*10 + uint64(c)
	}
	return Number(v)
}

func pack1(d []byte) Number {
	return Number(10000000000 + uint64(pack(d)))
}

// MustParse is Parse for constants in tests and demo data; it panics on error.
func MustParse(s string) Number {
	n, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return n
}

// IsZero reports whether n is the "no number" value.
func (n Number) IsZero() bool { return n == 0 }

// IsNANP reports whether n is in country code 1.
func (n Number) IsNANP() bool { return n >= 10000000000 && n < 20000000000 }

// String returns the number as "+CCNNN...", or "" for the zero Number.
func (n Number) String() string {
	if n == 0 {
		return ""
	}
	var b [MaxDigits + 1]byte
	return string(n.AppendTo(b[:0]))
}

// Digits returns the E.164 digits without '+'.
func (n Number) Digits() string {
	if n == 0 {
		return ""
	}
	return strconv.FormatUint(uint64(n), 10)
}

// AppendTo appends "+digits" to b (nothing for the zero Number).
func (n Number) AppendTo(b []byte) []byte {
	if n == 0 {
		return b
	}
	b = append(b, '+')
	return strconv.AppendUint(b, uint64(n), 10)
}

// National returns the 10-digit national number of a NANP number and true,
// or "" and false for other countries. AIN switches signal NANP numbers in
// this form with nature of address "national".
func (n Number) National() (string, bool) {
	if !n.IsNANP() {
		return "", false
	}
	return strconv.FormatUint(uint64(n)-10000000000, 10), true
}

// MarshalText implements encoding.TextMarshaler ("+13035550100").
func (n Number) MarshalText() ([]byte, error) { return n.AppendTo(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler using Parse.
func (n *Number) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*n = v
	return nil
}
