// Package ber reads and writes the BER tag-length-value framing that ANSI
// TCAP (T1.114) and AIN (GR-1299) are built from.
//
// It is deliberately small: definite lengths only on output (T1.114 forbids
// nothing else but every peer expects definite), definite lengths in short or
// long form (including non-minimal long forms) on input, high tag numbers in
// both directions. Decoding never copies: a TLV's Value aliases the input.
//
// Hot decoders read with Iter.NextInto and ParseInto, which store the
// element in the caller's TLV: handing a TLV back by value costs more than
// reading it (see NextInto).
package ber

import (
	"fmt"
)

// Class is the identifier octet's class bits (8-7).
type Class uint8

// Identifier classes.
const (
	Universal   Class = 0x00
	Application Class = 0x40
	Context     Class = 0x80
	Private     Class = 0xC0
)

func (c Class) String() string {
	switch c {
	case Universal:
		return "universal"
	case Application:
		return "application"
	case Context:
		return "context"
	case Private:
		return "private"
	}
	return "class?"
}

// constructedBit is bit 6 of the identifier octet.
const constructedBit = 0x20

// maxLength bounds a decoded length: a TCAP message rides in one SCCP
// message (at most a few kB), so anything larger is garbage.
const maxLength = 1 << 20

// Error says what failed and at which octet offset of the input given to the
// outermost Parse call (offsets inside nested values are relative to that
// value unless the caller adds its base; see ParseAt).
type Error struct {
	Offset int
	What   string
}

func (e *Error) Error() string { return fmt.Sprintf("ber: %s at offset %d", e.What, e.Offset) }

// TLV is one decoded element.
type TLV struct {
	Class       Class
	Constructed bool
	Tag         uint32
	Value       []byte // aliases the input
	Offset      int    // offset of the identifier octet (as passed to ParseAt)
	HeaderLen   int    // identifier + length octets
}

// Is reports whether the element has the given class, form and tag.
func (t TLV) Is(c Class, constructed bool, tag uint32) bool {
	return t.Class == c && t.Constructed == constructed && t.Tag == tag
}

// Len returns the element's encoded length (header + value).
func (t TLV) Len() int { return t.HeaderLen + len(t.Value) }

// Parse reads one element from the start of b and returns it with the bytes
// that follow it.
func Parse(b []byte) (TLV, []byte, error) { return ParseAt(b, 0) }

// ParseAt is Parse with base added to every offset it reports, so that errors
// in nested elements point into the whole message.
func ParseAt(b []byte, base int) (TLV, []byte, error) {
	// The common cases without the general loop: a tag number in the
	// identifier octet or in one more octet (AIN's tags go to 167), and a
	// short-form length — every element of a query but the package and
	// the parameter set.
	if len(b) >= 2 {
		id, tag, h := b[0], uint32(b[0]&0x1F), 1
		if tag == 0x1F && b[1] < 0x80 {
			tag, h = uint32(b[1]), 2
		}
		if tag != 0x1F && len(b) > h && b[h] < 0x80 {
			if end := h + 1 + int(b[h]); end <= len(b) {
				return TLV{Class: Class(id & 0xC0), Constructed: id&constructedBit != 0, Tag: tag,
					Value: b[h+1 : end : end], Offset: base, HeaderLen: h + 1}, b[end:], nil
			}
		}
	}
	return parseAt(b, base)
}

// ParseInto is ParseAt storing the element in *t, for hot paths (see
// Iter.NextInto for why). It returns the bytes that follow the element.
func ParseInto(b []byte, base int, t *TLV) ([]byte, error) {
	if len(b) == 0 {
		e, rest, err := parseAt(b, base)
		*t = e
		return rest, err
	}
	it := Iter{rest: b, off: base}
	if !it.NextInto(t) {
		return nil, it.err
	}
	return it.rest, nil
}

// parseAt is ParseAt for any form, and its errors.
func parseAt(b []byte, base int) (TLV, []byte, error) {
	var t TLV
	t.Offset = base
	if len(b) == 0 {
		return t, nil, &Error{base, "missing identifier octet"}
	}
	id := b[0]
	t.Class = Class(id & 0xC0)
	t.Constructed = id&constructedBit != 0
	i := 1
	if id&0x1F != 0x1F {
		t.Tag = uint32(id & 0x1F)
	} else {
		var tag uint32
		for n := 0; ; n++ {
			if i >= len(b) {
				return t, nil, &Error{base + i, "truncated high tag number"}
			}
			if n == 4 {
				return t, nil, &Error{base + i, "tag number too large"}
			}
			c := b[i]
			i++
			if n == 0 && c == 0x80 {
				return t, nil, &Error{base + i - 1, "tag number with leading zero septet"}
			}
			tag = tag<<7 | uint32(c&0x7F)
			if c&0x80 == 0 {
				break
			}
		}
		t.Tag = tag
	}
	if i >= len(b) {
		return t, nil, &Error{base + i, "missing length octet"}
	}
	l := int(b[i])
	i++
	if l&0x80 != 0 {
		n := l & 0x7F
		if n == 0 {
			return t, nil, &Error{base + i - 1, "indefinite length not supported"}
		}
		if n > 3 {
			return t, nil, &Error{base + i - 1, fmt.Sprintf("length of %d octets too large", n)}
		}
		if i+n > len(b) {
			return t, nil, &Error{base + i, "truncated long-form length"}
		}
		l = 0
		for k := 0; k < n; k++ {
			l = l<<8 | int(b[i+k])
		}
		i += n
		if l > maxLength {
			return t, nil, &Error{base + i - n - 1, fmt.Sprintf("length %d too large", l)}
		}
	}
	if i+l > len(b) {
		return t, nil, &Error{base + i, fmt.Sprintf("value of %d octets runs past the end (%d left)", l, len(b)-i)}
	}
	t.HeaderLen = i
	t.Value = b[i : i+l : i+l]
	return t, b[i+l:], nil
}

// Iter walks the elements inside a constructed value.
type Iter struct {
	rest []byte
	off  int
	err  error
}

// Children returns an iterator over the elements in t.Value.
func (t TLV) Children() Iter { return Iter{rest: t.Value, off: t.Offset + t.HeaderLen} }

// NewIter returns an iterator over the elements in b, whose first octet is at
// offset base of the whole message.
func NewIter(b []byte, base int) Iter { return Iter{rest: b, off: base} }

// Next returns the next element; ok is false at the end or on error (see Err).
func (it *Iter) Next() (t TLV, ok bool) {
	ok = it.NextInto(&t)
	return t, ok
}

// NextInto is Next storing the element in *t, which it leaves alone at the
// end (on error it holds what Next would return). Hot loops use it: a TLV
// has too many fields for the compiler to keep in registers, so Next's
// result is copied into the caller's variable as a block right after being
// stored field by field, and the CPU stalls on that copy (a wide load of
// narrow stores still in flight) once per element.
//
// The forms a query is made of (a tag number in the identifier octet or in
// one more octet, a short-form length) are read right here; the others go
// through ParseAt.
func (it *Iter) NextInto(t *TLV) bool {
	b := it.rest
	if len(b) < 2 {
		if len(b) == 0 { // the end, or an error emptied rest
			return false
		}
		return it.next(t)
	}
	id, h, tag := b[0], 1, uint32(b[0]&0x1F)
	if tag == 0x1F {
		if b[1] >= 0x80 || len(b) < 3 {
			return it.next(t)
		}
		h, tag = 2, uint32(b[1])
	}
	l := int(b[h])
	end := h + 1 + l
	if l >= 0x80 || end > len(b) {
		return it.next(t)
	}
	t.Class, t.Constructed, t.Tag = Class(id&0xC0), id&constructedBit != 0, tag
	t.Value, t.Offset, t.HeaderLen = b[h+1:end:end], it.off, h+1
	it.rest = b[end:]
	it.off += end
	return true
}

// next is NextInto for the other forms and for errors; after an error rest
// is emptied, so that NextInto stops at once.
func (it *Iter) next(t *TLV) bool {
	e, rest, err := ParseAt(it.rest, it.off)
	*t = e
	if err != nil {
		it.err, it.rest = err, nil
		return false
	}
	it.off += len(it.rest) - len(rest)
	it.rest = rest
	return true
}

// Err returns the error that stopped the iteration, if any.
func (it *Iter) Err() error { return it.err }

// TagLen returns the number of identifier octets for tag.
func TagLen(tag uint32) int {
	switch {
	case tag < 0x1F:
		return 1
	case tag < 1<<7:
		return 2
	case tag < 1<<14:
		return 3
	case tag < 1<<21:
		return 4
	}
	return 5
}

// LengthLen returns the number of length octets for a value of n octets in
// the shortest definite form.
func LengthLen(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n < 0x100:
		return 2
	case n < 0x10000:
		return 3
	}
	return 4
}

// HeaderLen returns identifier + length octets for an element.
func HeaderLen(tag uint32, n int) int { return TagLen(tag) + LengthLen(n) }

// ElementLen returns the whole encoded size of an element with n value octets.
func ElementLen(tag uint32, n int) int { return HeaderLen(tag, n) + n }

// AppendHeader appends the identifier and shortest definite length.
func AppendHeader(dst []byte, c Class, constructed bool, tag uint32, n int) []byte {
	id := byte(c)
	if constructed {
		id |= constructedBit
	}
	if tag < 0x1F {
		dst = append(dst, id|byte(tag))
	} else {
		dst = append(dst, id|0x1F)
		k := TagLen(tag) - 1
		for s := k - 1; s >= 0; s-- {
			b := byte(tag>>(7*uint(s))) & 0x7F
			if s > 0 {
				b |= 0x80
			}
			dst = append(dst, b)
		}
	}
	switch {
	case n < 0x80:
		dst = append(dst, byte(n))
	case n < 0x100:
		dst = append(dst, 0x81, byte(n))
	case n < 0x10000:
		dst = append(dst, 0x82, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return dst
}

// AppendTLV appends a whole primitive or constructed element with value v.
func AppendTLV(dst []byte, c Class, constructed bool, tag uint32, v []byte) []byte {
	dst = AppendHeader(dst, c, constructed, tag, len(v))
	return append(dst, v...)
}

// Uint decodes a non-negative BER INTEGER/ENUMERATED of up to 8 octets.
func Uint(v []byte) (uint64, bool) {
	if len(v) == 0 || len(v) > 9 || (len(v) == 9 && v[0] != 0) {
		return 0, false
	}
	var x uint64
	for _, b := range v {
		x = x<<8 | uint64(b)
	}
	return x, true
}

// UintLen returns the octets needed for x as a BER INTEGER (sign bit clear).
func UintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 8
		n++
	}
	return n
}

// AppendUint appends x as the minimal non-negative BER INTEGER contents.
func AppendUint(dst []byte, x uint64) []byte {
	n := UintLen(x)
	for s := n - 1; s >= 0; s-- {
		dst = append(dst, byte(x>>(8*uint(s))))
	}
	return dst
}
