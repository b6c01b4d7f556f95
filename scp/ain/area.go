package ain

import (
	"errors"
	"fmt"

	"callgate/e164"
)

// NPA is a NANP numbering plan area (area code): the home numbering area a
// switch completes 7-digit numbers with. Valid values are 200-999 (the
// first digit 2-9); 0 means none.
type NPA uint16

// ErrNoArea is wrapped by the error E164InArea returns for a 7-digit
// number when no home area is known.
var ErrNoArea = errors.New("ain: 7-digit number and no home numbering area (NPA) to complete it with")

// ParseNPA reads a three-digit area code ("303").
func ParseNPA(s string) (NPA, error) {
	if len(s) != 3 || s[0] < '2' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' {
		return 0, fmt.Errorf("ain: area code %q: want three digits, the first 2-9 (e.g. 303)", s)
	}
	return NPA(s[0]-'0')*100 + NPA(s[1]-'0')*10 + NPA(s[2]-'0'), nil
}

// Valid reports whether a is an area code (200-999).
func (a NPA) Valid() bool { return a >= 200 && a <= 999 }

func (a NPA) String() string {
	if !a.Valid() {
		return "none"
	}
	return fmt.Sprintf("%03d", uint16(a))
}

// NPAOf returns the area code of a NANP number (+1 NPA NXX XXXX).
func NPAOf(n e164.Number) (NPA, bool) {
	if !n.IsNANP() {
		return 0, false
	}
	a := NPA(uint64(n) / 10_000_000 % 1000)
	return a, a.Valid()
}

// NPA returns the area code of a directory number (its first three
// digits), if they form one.
func (d DN) NPA() (NPA, bool) {
	d0, d1, d2 := d[0]&0x0F, d[0]>>4, d[1]&0x0F
	if d0 > 9 || d1 > 9 || d2 > 9 {
		return 0, false
	}
	a := NPA(d0)*100 + NPA(d1)*10 + NPA(d2)
	return a, a.Valid()
}

// Local reports whether d is a number a NANP switch signals relative to
// its home numbering area: 7 digits (NXX-XXXX) with nature of address
// subscriber (also operator requested) or unknown (dialled locally).
func (d Digits) Local() bool {
	if d.n != 7 {
		return false
	}
	switch d.NatureOfAddress {
	case NOASubscriber, NOASubscriberOpReq, NOAUnknown:
		return true
	}
	return false
}

// E164InArea converts the digits like E164, except that a Local number
// (7 digits, subscriber or unknown nature) is completed with the home
// area code npa, as the switch that sent it would: NXX-XXXX in area 303
// is +1 303 NXX XXXX. A Local number with no valid npa is an error
// wrapping ErrNoArea; every other number reads exactly as E164 reads it
// (npa is not used). It does not allocate on success.
func (d Digits) E164InArea(npa NPA) (e164.Number, error) {
	if !d.Local() {
		return d.E164()
	}
	if !npa.Valid() {
		return 0, fmt.Errorf("%w: %s", ErrNoArea, d)
	}
	var buf [10]byte
	buf[0], buf[1], buf[2] = byte(npa/100), byte(npa/10%10), byte(npa%10)
	for i := 0; i < 7; i++ {
		buf[3+i] = d.Digit(i)
	}
	n, err := e164.FromDigits(buf[:], false)
	if err != nil {
		return 0, fmt.Errorf("%w: %s in area %s: %w", ErrNotE164, d, npa, err)
	}
	return n, nil
}
