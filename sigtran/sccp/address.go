package sccp

import (
	"fmt"
	"strings"
)

// RoutingIndicator is bit 7 of the address indicator.
type RoutingIndicator uint8

// Routing indicator values.
const (
	RouteOnGT  RoutingIndicator = 0 // route on global title
	RouteOnSSN RoutingIndicator = 1 // route on DPC + subsystem number
)

func (r RoutingIndicator) String() string {
	if r == RouteOnSSN {
		return "SSN"
	}
	return "GT"
}

// Global title indicator values. ANSI and ITU share 0 and 2 but number the
// others differently; the GTI is kept as carried on the wire, interpreted
// with the Variant.
const (
	GTINone uint8 = 0

	ANSIGTITTNPES uint8 = 1 // ANSI: translation type, numbering plan, encoding scheme
	ANSIGTITT     uint8 = 2 // ANSI: translation type only

	ITUGTINAI      uint8 = 1 // ITU: nature of address (and odd/even) only
	ITUGTITT       uint8 = 2 // ITU: translation type only
	ITUGTITTNPES   uint8 = 3 // ITU: TT, NP, ES
	ITUGTITTNPESNA uint8 = 4 // ITU: TT, NP, ES, NAI
)

// Encoding schemes (low nibble of the NP/ES octet).
const (
	ESUnknown  uint8 = 0
	ESBCDOdd   uint8 = 1
	ESBCDEven  uint8 = 2
	ESNational uint8 = 3
)

// GlobalTitle is the global title part of an address. Which fields are on
// the wire depends on Indicator and the Variant; the others are ignored.
type GlobalTitle struct {
	Indicator uint8 // GTI as carried in the address indicator (0 = no GT)
	TT        uint8 // translation type
	NP        uint8 // numbering plan (4 bits)
	ES        uint8 // encoding scheme (4 bits)
	NAI       uint8 // nature of address indicator (7 bits, ITU GTI 1 and 4)
	// Odd reports an odd number of address digits: taken from the ES (BCD
	// odd/even) or, for ITU GTI 1, from bit 8 of the NAI octet. For GT forms
	// without either, digits are counted as even.
	Odd bool
	// Digits holds the address signals as on the wire: BCD, first digit in
	// the low nibble. For a GTI this package does not know (ANSI 3-15, ITU
	// 5-15) it holds every octet of the GT verbatim. Decoding aliases the
	// input.
	Digits []byte
}

// known reports whether this package knows the field layout of the GTI.
func gtKnown(v Variant, gti uint8) bool {
	if v == ITU {
		return gti <= 4
	}
	return gti <= 2
}

// hasES reports whether the GT form carries an NP/ES octet.
func (g *GlobalTitle) hasES(v Variant) bool {
	if v == ITU {
		return g.Indicator == ITUGTITTNPES || g.Indicator == ITUGTITTNPESNA
	}
	return g.Indicator == ANSIGTITTNPES
}

// headerLen is the number of GT octets before the digits.
func (g *GlobalTitle) headerLen(v Variant) int {
	if !gtKnown(v, g.Indicator) {
		return 0
	}
	if v == ITU {
		switch g.Indicator {
		case ITUGTINAI:
			return 1
		case ITUGTITT:
			return 1
		case ITUGTITTNPES:
			return 2
		case ITUGTITTNPESNA:
			return 3
		}
		return 0
	}
	switch g.Indicator {
	case ANSIGTITTNPES:
		return 2
	case ANSIGTITT:
		return 1
	}
	return 0
}

// DigitCount returns the number of address signals in Digits.
func (g *GlobalTitle) DigitCount() int {
	n := 2 * len(g.Digits)
	if g.Odd && n > 0 {
		n--
	}
	return n
}

const digitChars = "0123456789ABCDEF"

// AppendDigits appends the address signals as characters 0-9, A-F (B and C
// are the ITU codes 11 and 12, F the ST signal).
func (g *GlobalTitle) AppendDigits(dst []byte) []byte {
	n := g.DigitCount()
	for i := 0; i < n; i++ {
		b := g.Digits[i/2]
		if i&1 == 1 {
			b >>= 4
		}
		dst = append(dst, digitChars[b&0x0F])
	}
	return dst
}

// DigitString returns the address signals as text.
func (g *GlobalTitle) DigitString() string { return string(g.AppendDigits(nil)) }

// SetDigits encodes s (0-9, A-F, case-insensitive) as BCD into a new buffer
// and sets Odd; for forms with an encoding scheme the ES becomes BCD odd or
// even.
func (g *GlobalTitle) SetDigits(s string) error {
	b := make([]byte, (len(s)+1)/2)
	for i := 0; i < len(s); i++ {
		c := strings.IndexByte(digitChars, upper(s[i]))
		if c < 0 {
			return fmt.Errorf("sccp: global title digit %q at %d is not 0-9 or A-F", s[i], i)
		}
		if i&1 == 0 {
			b[i/2] = byte(c)
		} else {
			b[i/2] |= byte(c) << 4
		}
	}
	g.Digits = b
	g.Odd = len(s)&1 == 1
	if g.Odd {
		g.ES = ESBCDOdd
	} else {
		g.ES = ESBCDEven
	}
	return nil
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 32
	}
	return c
}

// Address is a called or calling party address.
type Address struct {
	// National is bit 8 of the address indicator: ANSI "national
	// indicator" (1 = national, what ANSI networks send), ITU "reserved for
	// national use".
	National bool
	Routing  RoutingIndicator
	HasPC    bool
	PC       PointCode
	HasSSN   bool
	SSN      uint8
	GT       GlobalTitle
}

// NewSSNAddress is the common ANSI form: national, route on SSN, PC + SSN.
func NewSSNAddress(pc PointCode, ssn uint8) Address {
	return Address{National: true, Routing: RouteOnSSN, HasPC: true, PC: pc, HasSSN: true, SSN: ssn}
}

// String renders the address for logs.
func (a *Address) String() string { return a.Format(ANSI) }

// Format renders the address for logs in the given variant.
func (a *Address) Format(v Variant) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "route on %v", a.Routing)
	if a.HasPC {
		fmt.Fprintf(&sb, " pc %s", a.PC.Format(v))
	}
	if a.HasSSN {
		fmt.Fprintf(&sb, " ssn %d", a.SSN)
	}
	if a.GT.Indicator != GTINone {
		fmt.Fprintf(&sb, " gti %d tt %d", a.GT.Indicator, a.GT.TT)
		if a.GT.hasES(v) {
			fmt.Fprintf(&sb, " np %d es %d", a.GT.NP, a.GT.ES)
		}
		if v == ITU && (a.GT.Indicator == ITUGTINAI || a.GT.Indicator == ITUGTITTNPESNA) {
			fmt.Fprintf(&sb, " nai %d", a.GT.NAI)
		}
		if gtKnown(v, a.GT.Indicator) {
			fmt.Fprintf(&sb, " digits %s", a.GT.DigitString())
		} else {
			fmt.Fprintf(&sb, " raw %x", a.GT.Digits)
		}
	}
	return sb.String()
}

// Len returns the encoded address length (without the length octet).
func (a *Address) Len(v Variant) int {
	n := 1
	if a.HasPC {
		if v == ITU {
			n += 2
		} else {
			n += 3
		}
	}
	if a.HasSSN {
		n++
	}
	if a.GT.Indicator != GTINone {
		n += a.GT.headerLen(v) + len(a.GT.Digits)
	}
	return n
}

// Append appends the address (without the length octet).
func (a *Address) Append(dst []byte, v Variant) ([]byte, error) {
	if a.GT.Indicator > 15 {
		return dst, fmt.Errorf("sccp: global title indicator %d does not fit 4 bits", a.GT.Indicator)
	}
	if a.HasPC && !a.PC.Valid(v) {
		return dst, fmt.Errorf("sccp: point code %d does not fit a %v address", a.PC, v)
	}
	ai := byte(a.Routing&1)<<6 | a.GT.Indicator<<2
	if a.National {
		ai |= 0x80
	}
	if v == ITU {
		if a.HasSSN {
			ai |= 0x02
		}
		if a.HasPC {
			ai |= 0x01
		}
		dst = append(dst, ai)
		if a.HasPC {
			dst = append(dst, byte(a.PC), byte(a.PC>>8)&0x3F)
		}
		if a.HasSSN {
			dst = append(dst, a.SSN)
		}
	} else {
		if a.HasPC {
			ai |= 0x02
		}
		if a.HasSSN {
			ai |= 0x01
		}
		dst = append(dst, ai)
		if a.HasSSN {
			dst = append(dst, a.SSN)
		}
		if a.HasPC {
			dst = append(dst, a.PC.Member(), a.PC.Cluster(), a.PC.Network())
		}
	}
	if a.GT.Indicator != GTINone {
		dst = a.GT.appendHeader(dst, v)
		dst = append(dst, a.GT.Digits...)
	}
	return dst, nil
}

func (g *GlobalTitle) esOctet() byte {
	es := g.ES & 0x0F
	// Keep the BCD odd/even scheme consistent with the digits we carry.
	if es == ESBCDOdd || es == ESBCDEven {
		if g.Odd {
			es = ESBCDOdd
		} else {
			es = ESBCDEven
		}
	}
	return g.NP<<4 | es
}

func (g *GlobalTitle) appendHeader(dst []byte, v Variant) []byte {
	if !gtKnown(v, g.Indicator) {
		return dst
	}
	if v == ITU {
		switch g.Indicator {
		case ITUGTINAI:
			nai := g.NAI & 0x7F
			if g.Odd {
				nai |= 0x80
			}
			return append(dst, nai)
		case ITUGTITT:
			return append(dst, g.TT)
		case ITUGTITTNPES:
			return append(dst, g.TT, g.esOctet())
		case ITUGTITTNPESNA:
			return append(dst, g.TT, g.esOctet(), g.NAI&0x7F)
		}
		return dst
	}
	switch g.Indicator {
	case ANSIGTITTNPES:
		return append(dst, g.TT, g.esOctet())
	case ANSIGTITT:
		return append(dst, g.TT)
	}
	return dst
}

// Decode parses an address value (without its length octet). base is the
// offset of b[0] in the message, for errors. Digits alias b.
func (a *Address) Decode(b []byte, v Variant, base int) error {
	*a = Address{}
	if len(b) == 0 {
		return &Error{Offset: base, What: "empty address (no address indicator)"}
	}
	ai := b[0]
	a.National = ai&0x80 != 0
	a.Routing = RoutingIndicator(ai >> 6 & 1)
	a.GT.Indicator = ai >> 2 & 0x0F
	i := 1
	need := func(n int, what string) error {
		if i+n > len(b) {
			return &Error{Offset: base + i, What: fmt.Sprintf("address too short for %s (%d octets left)", what, len(b)-i)}
		}
		return nil
	}
	if v == ITU {
		a.HasSSN = ai&0x02 != 0
		a.HasPC = ai&0x01 != 0
		if a.HasPC {
			if err := need(2, "point code"); err != nil {
				return err
			}
			a.PC = PointCode(uint32(b[i]) | uint32(b[i+1]&0x3F)<<8)
			i += 2
		}
		if a.HasSSN {
			if err := need(1, "SSN"); err != nil {
				return err
			}
			a.SSN = b[i]
			i++
		}
	} else {
		a.HasPC = ai&0x02 != 0
		a.HasSSN = ai&0x01 != 0
		if a.HasSSN {
			if err := need(1, "SSN"); err != nil {
				return err
			}
			a.SSN = b[i]
			i++
		}
		if a.HasPC {
			if err := need(3, "point code"); err != nil {
				return err
			}
			a.PC = ANSIPointCode(b[i+2], b[i+1], b[i])
			i += 3
		}
	}
	g := &a.GT
	if g.Indicator == GTINone {
		if i != len(b) {
			return &Error{Offset: base + i, What: fmt.Sprintf("%d unexpected octets after address without global title", len(b)-i)}
		}
		return nil
	}
	h := g.headerLen(v)
	if err := need(h, "global title header"); err != nil {
		return err
	}
	hb := b[i : i+h]
	if gtKnown(v, g.Indicator) {
		if v == ITU {
			switch g.Indicator {
			case ITUGTINAI:
				g.NAI = hb[0] & 0x7F
				g.Odd = hb[0]&0x80 != 0
			case ITUGTITT:
				g.TT = hb[0]
			case ITUGTITTNPES, ITUGTITTNPESNA:
				g.TT = hb[0]
				g.NP = hb[1] >> 4
				g.ES = hb[1] & 0x0F
				g.Odd = g.ES == ESBCDOdd
				if g.Indicator == ITUGTITTNPESNA {
					g.NAI = hb[2] & 0x7F
				}
			}
		} else {
			g.TT = hb[0]
			if g.Indicator == ANSIGTITTNPES {
				g.NP = hb[1] >> 4
				g.ES = hb[1] & 0x0F
				g.Odd = g.ES == ESBCDOdd
			}
		}
	}
	i += h
	g.Digits = b[i:len(b):len(b)]
	return nil
}
