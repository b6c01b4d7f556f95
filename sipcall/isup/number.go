package isup

import (
	"fmt"

	"callgate/e164"
)

// E164 returns the number in E.164 form. An international number is
// country code first; a national one (or ITU's "unknown") is read as NANP,
// 10 digits or 1 + 10, the only national numbering callgate's numbers are
// completed in, the way the SIP tiers read a number without '+'. A called
// number's end of pulsing (F) is dropped. Anything else (a subscriber
// number, a code signal, no digits) is an error that says why.
func (n Number) E164() (e164.Number, error) {
	s := n.Digits
	if len(s) > 0 && s[len(s)-1] == 'F' {
		s = s[:len(s)-1]
	}
	if s == "" {
		return 0, fmt.Errorf("isup: no digits (presentation %d)", n.Presentation)
	}
	var buf [32]byte
	d := buf[:len(s)]
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("isup: digits %q: %q is a code, not a digit", s, s[i])
		}
		d[i] = s[i] - '0'
	}
	var intl bool
	switch n.Nature {
	case NatureInternational, NatureNonUniqueInternational:
		intl = true
	case NatureNational, NatureNonUniqueNational, NatureUnknown:
	default:
		return 0, fmt.Errorf("isup: digits %q: nature of address 0x%02x is not a national or international number", s, n.Nature)
	}
	num, err := e164.FromDigits(d, intl)
	if err != nil {
		return 0, fmt.Errorf("isup: digits %q: %w", s, err)
	}
	return num, nil
}
