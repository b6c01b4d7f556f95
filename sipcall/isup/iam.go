// Package isup reads and writes the addressing of an ISUP Initial Address
// Message (ITU-T Q.763, ANSI T1.113) as SIP-T and SIP-I gateways carry it
// in an INVITE's application/ISUP body part (RFC 3204: the message from its
// message type code on, without routing label or circuit code).
//
// Both SIP tiers read it, through package sipcall, for what a gateway may
// leave out of the SIP headers: the number a forwarded call was first
// meant for (Original Called Number, Redirecting Number, Redirection
// Information) and the caller's number and its presentation (Calling Party
// Number). Only the IAM is read, and of it
// only the fixed part, the called party number and those optional
// parameters; the rest is checked for shape (every pointer and length in
// the message, the end of optional parameters) and skipped. The variant
// decides the mandatory part's layout: ANSI has the User Service
// Information where ITU has the Transmission Medium Requirement.
//
// AppendIAM writes one, for tests and tools (Wireshark's ISUP dissector
// judges what it writes: iam_test.go).
package isup

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// Variant is the ISUP specification a message follows.
type Variant uint8

// The variants. Unknown means the body did not say (VariantOf).
const (
	Unknown Variant = iota
	ITU             // ITU-T Q.763 and national variants of it (ETSI, ...)
	ANSI            // ANSI T1.113 and Telcordia GR-317/GR-394
)

func (v Variant) String() string {
	switch v {
	case ITU:
		return "itu"
	case ANSI:
		return "ansi"
	}
	return "unknown"
}

// VariantOf tells the variant from an application/ISUP Content-Type's
// parameters (RFC 3204 §4: version, and base when the version is a
// network's own name): base first, since it names the specification a
// private version is built on, then version. It returns Unknown when
// neither names a variant it knows.
func VariantOf(version, base string) Variant {
	for _, s := range [...]string{base, version} {
		s = strings.ToLower(strings.TrimSpace(s))
		switch {
		case s == "":
		case strings.HasPrefix(s, "ansi"), strings.HasPrefix(s, "gr317"), strings.HasPrefix(s, "gr-317"),
			strings.HasPrefix(s, "gr394"), strings.HasPrefix(s, "gr-394"), strings.HasPrefix(s, "t1"):
			return ANSI
		case strings.HasPrefix(s, "itu"), strings.HasPrefix(s, "etsi"), strings.HasPrefix(s, "q763"),
			strings.HasPrefix(s, "q.763"), strings.HasPrefix(s, "spirou"), strings.HasPrefix(s, "uk-isup"):
			return ITU
		}
	}
	return Unknown
}

// Message type and parameter codes (Q.763 Tables 4 and 5, T1.113 the same
// for these).
const (
	msgIAM             = 0x01
	parEnd             = 0x00
	parCallingNumber   = 0x0a
	parRedirectingNum  = 0x0b
	parRedirectionInfo = 0x13
	parOriginalCalled  = 0x28
)

// Nature of address indicators (Q.763 §3.9 b; T1.113 gives the unique
// ones the same values and adds the non-unique ones at 0x71-0x74).
const (
	NatureSubscriber    = 0x01
	NatureUnknown       = 0x02 // ITU only
	NatureNational      = 0x03
	NatureInternational = 0x04
	// ANSI non-unique numbers.
	NatureNonUniqueSubscriber    = 0x71
	NatureNonUniqueNational      = 0x73
	NatureNonUniqueInternational = 0x74
)

// Address presentation restricted indicators (Q.763 §3.10 e).
const (
	PresentationAllowed     = 0
	PresentationRestricted  = 1
	PresentationUnavailable = 2
)

// Number is an address parameter: the called, calling, original called
// or redirecting number. Digits are the address signals in order, as the
// hexadecimal characters of their codes ('0'-'9'; 'B' and 'C' are codes
// 11 and 12, 'F' the called number's end of pulsing).
type Number struct {
	Nature       uint8 // nature of address indicator, 7 bits
	Plan         uint8 // numbering plan indicator, 3 bits (1 = ISDN/E.164)
	Presentation uint8 // address presentation restricted indicator (not in the called number)
	Screening    uint8 // screening indicator (calling number only)
	Digits       string
}

// RedirectionInfo is the Redirection Information parameter (Q.763 §3.45).
type RedirectionInfo struct {
	Indicator      uint8 // redirecting indicator, 3 bits
	OriginalReason uint8 // original redirection reason, 4 bits
	Counter        uint8 // redirection counter, 3 bits
	Reason         uint8 // redirecting reason, 4 bits
}

// Redirecting reasons (Q.763 §3.45 d; T1.113 the same for 1-3).
const (
	ReasonUnknown       = 0
	ReasonBusy          = 1
	ReasonNoReply       = 2
	ReasonUnconditional = 3
	ReasonDeflectAlert  = 4
	ReasonDeflectNow    = 5
	ReasonUnreachable   = 6
)

// IAM is what this package reads of an Initial Address Message. The Has
// fields say which optional parameters were present.
type IAM struct {
	NatureOfConnection uint8
	ForwardCall        uint16 // forward call indicators, first octet in the low byte
	CallingCategory    uint8
	TransmissionMedium uint8  // ITU only
	UserServiceInfo    []byte // ANSI only (AppendIAM writes speech, 64 kbit/s, G.711 µ-law when empty)

	Called Number

	Calling, OriginalCalled, Redirecting Number
	Redirection                          RedirectionInfo

	HasCalling, HasOriginalCalled, HasRedirecting, HasRedirection bool
}

// ErrMalformed is what ParseIAM's errors wrap.
var ErrMalformed = errors.New("malformed ISUP IAM")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// ParseIAM reads an IAM that starts with its message type code. With
// variant Unknown it reads the ITU layout and, when that does not fit the
// message, the ANSI one: ANSI's extra pointer (to the User Service
// Information) sits where ITU has the Transmission Medium Requirement, and
// every pointer counts from its own octet, so an ANSI IAM read as ITU
// gives the same numbers. The returned IAM shares no memory with b.
func ParseIAM(b []byte, v Variant) (IAM, error) {
	var m IAM
	err := ParseIAMInto(&m, b, v, new(DigitBuf))
	m.UserServiceInfo = bytes.Clone(m.UserServiceInfo)
	return m, err
}

// DigitBuf holds the digits of the numbers ParseIAMInto reads.
type DigitBuf [numbers][32]byte

// numbers is how many address parameters an IAM read holds.
const numbers = 4

// ParseIAMInto is ParseIAM without allocating, for a reader on the hot
// path: m's digit strings are views of buf, and its User Service
// Information of b, so m is valid only while neither changes.
func ParseIAMInto(m *IAM, b []byte, v Variant, buf *DigitBuf) error {
	if v == Unknown {
		if err := parseIAM(m, b, ITU, buf); err == nil {
			return nil
		} else if aerr := parseIAM(m, b, ANSI, buf); aerr != nil {
			*m = IAM{}
			return err
		}
		return nil
	}
	return parseIAM(m, b, v, buf)
}

func parseIAM(m *IAM, b []byte, v Variant, buf *DigitBuf) error {
	*m = IAM{}
	if len(b) == 0 {
		return malformed("empty body")
	}
	if b[0] != msgIAM {
		return malformed("message type 0x%02x is not an IAM (0x01)", b[0])
	}
	// Fixed part, then one pointer per mandatory variable parameter and
	// one to the optional part, each counted from its own octet.
	fixed, vars := 6, []string{"called party number"}
	if v == ANSI {
		fixed, vars = 5, []string{"user service information", "called party number"}
	}
	if len(b) < fixed+len(vars)+1 {
		return malformed("%d octets, shorter than the %s IAM's mandatory part", len(b), v)
	}
	m.NatureOfConnection = b[1]
	m.ForwardCall = uint16(b[2]) | uint16(b[3])<<8
	m.CallingCategory = b[4]
	if v == ITU {
		m.TransmissionMedium = b[5]
	}
	for i, name := range vars {
		at := fixed + i
		val, err := variable(b, at, name)
		if err != nil {
			return err
		}
		switch name {
		case "user service information":
			if len(val) < 2 {
				return malformed("user service information of %d octets (at least 2)", len(val))
			}
			m.UserServiceInfo = val
		case "called party number":
			n, err := parseNumber(val, name, false, &buf[0])
			if err != nil {
				return err
			}
			m.Called = n
		}
	}
	optAt := fixed + len(vars)
	if b[optAt] == 0 {
		return nil // no optional part
	}
	start := optAt + int(b[optAt])
	if start >= len(b) {
		return malformed("optional part pointer %d runs past the message (%d octets)", b[optAt], len(b))
	}
	return parseOptional(m, b[start:], start, buf)
}

// variable returns the mandatory variable parameter whose pointer is at
// b[at].
func variable(b []byte, at int, name string) ([]byte, error) {
	p := int(b[at])
	if p == 0 {
		return nil, malformed("%s pointer is 0", name)
	}
	lenAt := at + p
	if lenAt >= len(b) {
		return nil, malformed("%s pointer %d runs past the message (%d octets)", name, p, len(b))
	}
	end := lenAt + 1 + int(b[lenAt])
	if end > len(b) {
		return nil, malformed("%s of %d octets runs past the message (%d octets)", name, b[lenAt], len(b))
	}
	return b[lenAt+1 : end], nil
}

// parseOptional reads the optional part o (starting at offset off of the
// message, for errors) up to its end of optional parameters.
func parseOptional(m *IAM, o []byte, off int, buf *DigitBuf) error {
	for i := 0; ; {
		if i >= len(o) {
			return malformed("optional part has no end of optional parameters (octet 0x00)")
		}
		code := o[i]
		if code == parEnd {
			return nil
		}
		if i+1 >= len(o) || i+2+int(o[i+1]) > len(o) {
			return malformed("optional parameter 0x%02x at octet %d runs past the message", code, off+i)
		}
		val := o[i+2 : i+2+int(o[i+1])]
		var err error
		switch code {
		case parCallingNumber:
			if !m.HasCalling {
				m.Calling, err = parseNumber(val, "calling party number", true, &buf[1])
				m.HasCalling = err == nil
			}
		case parOriginalCalled:
			if !m.HasOriginalCalled {
				m.OriginalCalled, err = parseNumber(val, "original called number", true, &buf[2])
				m.HasOriginalCalled = err == nil
			}
		case parRedirectingNum:
			if !m.HasRedirecting {
				m.Redirecting, err = parseNumber(val, "redirecting number", true, &buf[3])
				m.HasRedirecting = err == nil
			}
		case parRedirectionInfo:
			if !m.HasRedirection {
				if len(val) < 1 {
					err = malformed("redirection information of 0 octets")
					break
				}
				m.Redirection.Indicator, m.Redirection.OriginalReason = val[0]&0x07, val[0]>>4
				if len(val) > 1 {
					m.Redirection.Counter, m.Redirection.Reason = val[1]&0x07, val[1]>>4
				}
				m.HasRedirection = true
			}
		}
		if err != nil {
			return err
		}
		i += 2 + len(val)
	}
}

// parseNumber reads an address parameter: nature of address and odd/even
// indicator, plan (with presentation and screening when withPresentation),
// then the address signals two to an octet, the first in the low nibble,
// as characters into dst (the Number's Digits view it).
func parseNumber(val []byte, name string, withPresentation bool, dst *[32]byte) (Number, error) {
	if len(val) < 2 {
		return Number{}, malformed("%s of %d octets (at least 2)", name, len(val))
	}
	n := Number{Nature: val[0] & 0x7f, Plan: val[1] >> 4 & 0x07}
	if withPresentation {
		n.Presentation, n.Screening = val[1]>>2&0x03, val[1]&0x03
	}
	sig := val[2:]
	count := 2 * len(sig)
	if val[0]&0x80 != 0 { // odd number of signals: the last high nibble is filler
		if count == 0 {
			return Number{}, malformed("%s says it has an odd number of digits but has none", name)
		}
		count--
	}
	if count > 2*16 {
		return Number{}, malformed("%s of %d digits (at most 32)", name, count)
	}
	for i := range count {
		nib := sig[i/2] >> (4 * (i % 2)) & 0x0f
		dst[i] = "0123456789ABCDEF"[nib]
	}
	if count > 0 {
		n.Digits = unsafe.String(&dst[0], count)
	}
	return n, nil
}
