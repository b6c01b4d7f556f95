package ain

import (
	"errors"
	"fmt"

	"callgate/e164"
)

// MaxDigits is the most digits a Digits value holds. AIN-Parameters.asn
// bounds every AINDigits parameter at 32 digits or fewer (CollectedDigits
// "0 - 32 digits"; numbers are at most 15).
const MaxDigits = 32

// NatureOfAddress is bits 7-1 of AINDigits octet 1 (T1.113 values).
type NatureOfAddress uint8

// Nature of address values.
const (
	NOASubscriber         NatureOfAddress = 0x01 // subscriber number (7 digits in NANP)
	NOAUnknown            NatureOfAddress = 0x02
	NOANational           NatureOfAddress = 0x03 // national significant number (NPA-NXX-XXXX)
	NOAInternational      NatureOfAddress = 0x04 // country code first
	NOASubscriberOpReq    NatureOfAddress = 0x71 // subscriber, operator requested
	NOANationalOpReq      NatureOfAddress = 0x72 // national, operator requested
	NOAInternationalOpReq NatureOfAddress = 0x73 // international, operator requested
	NOANoNumberOpReq      NatureOfAddress = 0x74 // no number present, operator requested
	NOANoNumberCutThrough NatureOfAddress = 0x75 // no number present, cut-through to carrier
	NOA950                NatureOfAddress = 0x76 // 950+ call from local exchange carrier
	NOATestLineTestCode   NatureOfAddress = 0x77
)

// AINDigits layout.
const (
	noaMask                NatureOfAddress = 0x7F
	natureOfAddressOddFlag                 = 0x80
	numberingPlanShift                     = 4
	presentationShift                      = 2
	digitsHeaderLen                        = 2
	maxDigitOctets                         = MaxDigits / 2
	bcdFiller              byte            = 0
)

func (n NatureOfAddress) String() string {
	switch n {
	case NOASubscriber:
		return "subscriber"
	case NOAUnknown:
		return "unknown"
	case NOANational:
		return "national"
	case NOAInternational:
		return "international"
	case NOASubscriberOpReq:
		return "subscriber operator-requested"
	case NOANationalOpReq:
		return "national operator-requested"
	case NOAInternationalOpReq:
		return "international operator-requested"
	case NOANoNumberOpReq:
		return "no number operator-requested"
	case NOANoNumberCutThrough:
		return "no number cut-through"
	case NOA950:
		return "950+"
	case NOATestLineTestCode:
		return "test line"
	}
	return fmt.Sprintf("noa(%d)", uint8(n))
}

// NumberingPlan is bits 7-5 of AINDigits octet 2 (T1.113 values).
type NumberingPlan uint8

// Numbering plans. ISDN (E.164) is what switches send in practice.
const (
	NPUnknown NumberingPlan = 0
	NPISDN    NumberingPlan = 1
	NPData    NumberingPlan = 3
	NPTelex   NumberingPlan = 4
	NPPrivate NumberingPlan = 5
)

func (p NumberingPlan) String() string {
	switch p {
	case NPUnknown:
		return "unknown"
	case NPISDN:
		return "isdn"
	case NPData:
		return "data"
	case NPTelex:
		return "telex"
	case NPPrivate:
		return "private"
	}
	return fmt.Sprintf("np(%d)", uint8(p))
}

// Presentation is the presentation restriction indicator, bits 4-3 of
// AINDigits octet 2 (T1.113 calling party number layout).
type Presentation uint8

// Presentation restriction values.
const (
	PresentationAllowed     Presentation = 0
	PresentationRestricted  Presentation = 1
	PresentationUnavailable Presentation = 2 // number unavailable
)

func (p Presentation) String() string {
	switch p {
	case PresentationAllowed:
		return "allowed"
	case PresentationRestricted:
		return "restricted"
	case PresentationUnavailable:
		return "unavailable"
	}
	return "spare"
}

// Screening is the screening indicator, bits 2-1 of AINDigits octet 2.
type Screening uint8

// Screening values.
const (
	ScreeningUserNotScreened Screening = 0 // user provided, not screened
	ScreeningUserPassed      Screening = 1 // user provided, passed network screening
	ScreeningUserFailed      Screening = 2 // user provided, failed network screening
	ScreeningNetwork         Screening = 3 // network provided
)

func (s Screening) String() string {
	switch s {
	case ScreeningUserNotScreened:
		return "user provided not screened"
	case ScreeningUserPassed:
		return "user provided passed"
	case ScreeningUserFailed:
		return "user provided failed"
	}
	return "network provided"
}

// Digits is an AINDigits value (CalledPartyID, CallingPartyID, ChargeNumber,
// OriginalCalledPartyID, RedirectingPartyID, OutpulseNumber, CollectedDigits,
// Lata, ...):
//
//	octet 1: bit 8 odd/even (1 = odd number of digits), bits 7-1 nature of address
//	octet 2: bit 8 spare, bits 7-5 numbering plan, bits 4-3 presentation, bits 2-1 screening
//	octet 3..: BCD, first digit in bits 4-1, an odd count padded with a filler nibble
//
// It is a fixed-size value: copying, decoding and converting it never
// allocates. The zero value is an empty number with nature of address 0.
type Digits struct {
	NatureOfAddress NatureOfAddress
	NumberingPlan   NumberingPlan
	Presentation    Presentation
	Screening       Screening
	n               uint8                // number of digits
	bcd             [maxDigitOctets]byte // packed as on the wire, filler kept
}

// Digit errors.
var (
	ErrTooManyDigits = errors.New("ain: more than 32 digits")
	ErrNotDigit      = errors.New("ain: not a digit")
	ErrNoDigits      = errors.New("ain: no digits")
	ErrNotE164       = errors.New("ain: digits do not form an E.164 number")
)

// ParseDigits builds Digits from a string of decimal digits (hexadecimal
// digits a-f/A-F are accepted for the non-decimal BCD codes) with the given
// nature of address, numbering plan ISDN, presentation allowed and screening
// 0. The empty string gives an empty (zero-digit) value.
func ParseDigits(s string, noa NatureOfAddress) (Digits, error) {
	d := Digits{NatureOfAddress: noa, NumberingPlan: NPISDN}
	if len(s) > MaxDigits {
		return Digits{}, ErrTooManyDigits
	}
	for i := 0; i < len(s); i++ {
		v, ok := hexDigit(s[i])
		if !ok {
			return Digits{}, fmt.Errorf("%w: %q at position %d of %q", ErrNotDigit, s[i], i+1, s)
		}
		d.set(i, v)
	}
	d.n = uint8(len(s))
	return d, nil
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// DigitsFromE164 encodes an E.164 number for the wire with numbering plan
// ISDN, presentation allowed and screening 0:
//
//	NOANational:      a NANP number as its 10 national digits (NPA-NXX-XXXX)
//	NOASubscriber:    a NANP number as its 7 subscriber digits (NXX-XXXX)
//	NOAInternational: all E.164 digits, country code first
//	NOAUnknown:       as dialled in NANP: 10 digits, or 011 + all digits
//
// Other natures of address, and national/subscriber for a non-NANP number,
// are an error. It does not allocate.
func DigitsFromE164(n e164.Number, noa NatureOfAddress) (Digits, error) {
	var d Digits
	if err := d.SetE164(n, noa); err != nil {
		return Digits{}, err
	}
	return d, nil
}

// pow10[i] is 10^i: the number of decimal digits of n is the first i
// with n < pow10[i].
var pow10 = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// SetE164 is DigitsFromE164 into d, for a caller that keeps its Digits
// in place (an answer's argument reused query after query): d is
// overwritten, and zero on error. It does not allocate.
func (d *Digits) SetE164(n e164.Number, noa NatureOfAddress) error {
	*d = Digits{}
	if n == 0 {
		return ErrNoDigits
	}
	skip, prefix := 0, 0 // leading digits of n left out; 011 put first
	switch noa {
	case NOANational, NOANationalOpReq:
		if !n.IsNANP() {
			return fmt.Errorf("%w: %s is not a NANP number, use international", ErrNotE164, n)
		}
		skip = 1
	case NOASubscriber, NOASubscriberOpReq:
		if !n.IsNANP() {
			return fmt.Errorf("%w: %s is not a NANP number, use international", ErrNotE164, n)
		}
		skip = 4
	case NOAInternational, NOAInternationalOpReq:
	case NOAUnknown:
		if n.IsNANP() {
			skip = 1
		} else {
			prefix = 3
		}
	default:
		return fmt.Errorf("%w: cannot encode a number with nature of address %s", ErrNotE164, noa)
	}
	count := 1
	for count < len(pow10) && uint64(n) >= pow10[count] {
		count++
	}
	total := prefix + count - skip
	// The digits from the last, two to an octet where they share one
	// (digit k-1 in the low nibble, k in the high, k odd).
	v := uint64(n)
	k := total - 1
	if k&1 == 0 && k >= prefix { // the last digit alone, filler 0 above it
		d.bcd[k>>1] = byte(v % 10)
		v /= 10
		k--
	}
	for ; k-1 >= prefix; k -= 2 {
		r := v % 100
		v /= 100
		d.bcd[k>>1] = byte(r/10) | byte(r%10)<<4
	}
	if k >= prefix { // after 011: the high nibble of the prefix's octet
		d.bcd[k>>1] |= byte(v%10) << 4
	}
	if prefix == 3 {
		d.bcd[0] = 0x10  // 0, 1
		d.bcd[1] |= 0x01 // 1, then the first digit of n
	}
	d.NatureOfAddress, d.NumberingPlan, d.n = noa, NPISDN, uint8(total)
	return nil
}

// E164 converts the digits to an E.164 number according to the nature of
// address, without allocating on success:
//
//	national (and operator-requested): NANP 10 digits -> +1NXXNXXXXXX
//	  (1 + 10 digits tolerated)
//	international (and operator-requested): country code first
//	unknown: read like a dialled string (NANP 10 or 1+10 digits, 011/00 + CC)
//	subscriber: only when the switch actually sent 10 NANP digits; a 7-digit
//	  subscriber number has no area code and cannot be made E.164
//
// Empty digits give ErrNoDigits; no-number natures, non-decimal digits and
// digit strings that are not valid numbers give errors matching ErrNotE164.
func (d Digits) E164() (e164.Number, error) { return d.number(false) }

// Dialled converts digits a line dialled (an originating trigger's
// CalledPartyID or CollectedAddressInfo) like E164, except that digits of
// unknown nature are read under the NANP dialling plan (e164.FromDialled):
// a carrier access code (101XXXX) or an operator prefix (0, 01) before the
// number is read through, as the switch will route the call. It does not
// allocate on success.
func (d Digits) Dialled() (e164.Number, error) { return d.number(true) }

// number is E164 (dialled false) or Dialled.
func (d Digits) number(dialled bool) (e164.Number, error) {
	if d.n == 0 {
		return 0, ErrNoDigits
	}
	if d.n > e164.MaxDigits+10 { // 101XXXX + 011 + 15 digits is the longest accepted form
		return 0, fmt.Errorf("%w: %d digits", ErrNotE164, d.n)
	}
	var buf [e164.MaxDigits + 10]byte
	digits := buf[:d.n]
	// Two digits an octet, the first in the low nibble.
	for i := 0; i < len(digits); i += 2 {
		b := d.bcd[i>>1]
		if v := b & 0x0F; v <= 9 {
			digits[i] = v
		} else {
			return 0, fmt.Errorf("%w: non-decimal digit %X at position %d", ErrNotE164, v, i+1)
		}
		if i+1 < len(digits) {
			if v := b >> 4; v <= 9 {
				digits[i+1] = v
			} else {
				return 0, fmt.Errorf("%w: non-decimal digit %X at position %d", ErrNotE164, v, i+2)
			}
		}
	}
	var (
		n   e164.Number
		err error
	)
	switch d.NatureOfAddress {
	case NOANational, NOANationalOpReq:
		if d.n != 10 && !(d.n == 11 && digits[0] == 1) {
			return 0, fmt.Errorf("%w: %d-digit national number (want 10)", ErrNotE164, d.n)
		}
		n, err = e164.FromDigits(digits, false)
		if err == nil && !n.IsNANP() {
			return 0, fmt.Errorf("%w: national digits %s are not a NANP number", ErrNotE164, d)
		}
	case NOAUnknown:
		if dialled {
			n, err = e164.FromDialled(digits, false)
		} else {
			n, err = e164.FromDigits(digits, false)
		}
	case NOAInternational, NOAInternationalOpReq:
		n, err = e164.FromDigits(digits, true)
	case NOASubscriber, NOASubscriberOpReq:
		if d.n != 10 {
			return 0, fmt.Errorf("%w: %d-digit subscriber number has no area code", ErrNotE164, d.n)
		}
		n, err = e164.FromDigits(digits, false)
	default:
		return 0, fmt.Errorf("%w: nature of address %s", ErrNotE164, d.NatureOfAddress)
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNotE164, err)
	}
	return n, nil
}

// Len returns the number of digits.
func (d Digits) Len() int { return int(d.n) }

// Odd reports whether the digit count is odd (the odd/even indicator).
func (d Digits) Odd() bool { return d.n&1 == 1 }

// Digit returns digit i (0-15; 10-15 are the non-decimal BCD codes).
func (d Digits) Digit(i int) byte {
	b := d.bcd[i>>1]
	if i&1 == 0 {
		return b & 0x0F
	}
	return b >> 4
}

func (d *Digits) set(i int, v byte) {
	b := &d.bcd[i>>1]
	if i&1 == 0 {
		*b = *b&0xF0 | v
	} else {
		*b = *b&0x0F | v<<4
	}
}

// AppendDigits appends the digits as ASCII ('0'-'9', 'A'-'F' for codes 10-15).
func (d Digits) AppendDigits(dst []byte) []byte {
	const h = "0123456789ABCDEF"
	for i := 0; i < int(d.n); i++ {
		dst = append(dst, h[d.Digit(i)])
	}
	return dst
}

// String returns the digits as ASCII.
func (d Digits) String() string {
	var b [MaxDigits]byte
	return string(d.AppendDigits(b[:0]))
}

// Equal reports whether two values encode the same octets.
func (d Digits) Equal(o Digits) bool { return d == o }

// contentLen is the encoded length of the parameter contents.
func (d *Digits) contentLen() int { return digitsHeaderLen + (int(d.n)+1)/2 }

func (d *Digits) appendContent(dst []byte) []byte {
	o1 := byte(d.NatureOfAddress & noaMask)
	if d.Odd() {
		o1 |= natureOfAddressOddFlag
	}
	o2 := byte(d.NumberingPlan&7)<<numberingPlanShift | byte(d.Presentation&3)<<presentationShift | byte(d.Screening&3)
	dst = append(dst, o1, o2)
	return append(dst, d.bcd[:(int(d.n)+1)/2]...)
}

// parseDigits decodes AINDigits contents; the filler nibble is kept as
// received so that re-encoding reproduces the input.
func parseDigits(v []byte) (Digits, string) {
	var d Digits
	if bad := d.decode(v); bad != "" {
		return Digits{}, bad
	}
	return d, ""
}

// decode is parseDigits in place: on success every field of d is
// overwritten (digit octets past the received ones are zeroed, as in a
// fresh value); on error d is left as it was.
func (d *Digits) decode(v []byte) string {
	if len(v) < digitsHeaderLen {
		return "AINDigits shorter than 2 octets"
	}
	octets := len(v) - digitsHeaderLen
	if octets > maxDigitOctets {
		return "AINDigits longer than 32 digits"
	}
	n := octets * 2
	if v[0]&natureOfAddressOddFlag != 0 {
		if octets == 0 {
			return "odd/even indicator odd with no digits"
		}
		n--
	}
	d.NatureOfAddress = NatureOfAddress(v[0]) & noaMask
	d.NumberingPlan = NumberingPlan(v[1]>>numberingPlanShift) & 7
	d.Presentation = Presentation(v[1]>>presentationShift) & 3
	d.Screening = Screening(v[1] & 3)
	d.n = uint8(n)
	d.bcd = [maxDigitOctets]byte{}
	copy(d.bcd[:], v[digitsHeaderLen:])
	return ""
}

// appendBCD packs ASCII-free digit values (0-15) low nibble first, padding an
// odd count with filler.
func appendBCD(dst []byte, digits []byte) []byte {
	for i := 0; i < len(digits); i += 2 {
		b := digits[i] & 0x0F
		if i+1 < len(digits) {
			b |= digits[i+1] << 4
		} else {
			b |= bcdFiller << 4
		}
		dst = append(dst, b)
	}
	return dst
}

// appendBCDText renders packed BCD (low nibble first) as ASCII, n digits.
func appendBCDText(dst, bcd []byte, n int) []byte {
	const h = "0123456789ABCDEF"
	for i := 0; i < n && i/2 < len(bcd); i++ {
		b := bcd[i/2]
		if i&1 == 1 {
			b >>= 4
		}
		dst = append(dst, h[b&0x0F])
	}
	return dst
}

// parseBCDString converts an ASCII digit string into packed BCD in dst.
func parseBCDString(dst []byte, s string) ([]byte, error) {
	var tmp [2 * maxDigitOctets]byte
	if len(s) > len(tmp) {
		return dst, ErrTooManyDigits
	}
	for i := 0; i < len(s); i++ {
		v, ok := hexDigit(s[i])
		if !ok {
			return dst, fmt.Errorf("%w: %q at position %d of %q", ErrNotDigit, s[i], i+1, s)
		}
		tmp[i] = v
	}
	return appendBCD(dst, tmp[:len(s)]), nil
}

// DN is a directory number as carried in UserID (Dn ::= OCTET STRING(SIZE(5))):
// 10 BCD digits, first digit in the low nibble, like AINDigits.
type DN [5]byte

// ParseDN builds a DN from exactly 10 decimal digits.
func ParseDN(s string) (DN, error) {
	var d DN
	if len(s) != 10 {
		return d, fmt.Errorf("ain: DN %q: want 10 digits", s)
	}
	b, err := parseBCDString(d[:0], s)
	if err != nil {
		return d, err
	}
	copy(d[:], b)
	return d, nil
}

// String returns the 10 digits.
func (d DN) String() string {
	var b [10]byte
	return string(appendBCDText(b[:0], d[:], 10))
}

// E164 reads the DN as a 10-digit NANP national number.
func (d DN) E164() (e164.Number, error) {
	var buf [10]byte
	for i := 0; i < 10; i++ {
		v := d[i/2]
		if i&1 == 1 {
			v >>= 4
		}
		buf[i] = v & 0x0F
		if buf[i] > 9 {
			return 0, fmt.Errorf("%w: non-decimal digit in DN", ErrNotE164)
		}
	}
	return e164.FromDigits(buf[:], false)
}

// AMAslpID identifies the service logic program for billing (AMAslpID ::=
// OCTET STRING(SIZE(5))): 9 BCD digits, low nibble first, filler 0.
type AMAslpID [5]byte

// ParseAMAslpID builds an AMAslpID from exactly 9 decimal digits.
func ParseAMAslpID(s string) (AMAslpID, error) {
	var a AMAslpID
	if len(s) != 9 {
		return a, fmt.Errorf("ain: AMAslpID %q: want 9 digits", s)
	}
	b, err := parseBCDString(a[:0], s)
	if err != nil {
		return a, err
	}
	copy(a[:], b)
	return a, nil
}

// String returns the 9 digits.
func (a AMAslpID) String() string {
	var b [9]byte
	return string(appendBCDText(b[:0], a[:], 9))
}
