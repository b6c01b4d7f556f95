package stir

import (
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// OIDTNAuthList is the TN Authorization List certificate extension
// (RFC 8226 §9, id-pe-TNAuthList).
var OIDTNAuthList = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 26}

// TNAuthList is a decoded TN Authorization List. SHAKEN certificates
// (ATIS-1000080) carry exactly one Service Provider Code.
type TNAuthList struct {
	SPCs   []string
	TNs    []string  // "one" entries
	Ranges []TNRange // "range" entries
}

// TNRange is a TelephoneNumberRange: start and how many numbers.
type TNRange struct {
	Start string
	Count int
}

// RFC 8226's module uses EXPLICIT tags:
//
//	TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry
//	TNEntry ::= CHOICE {
//	    spc   [0] ServiceProviderCode,      -- IA5String
//	    range [1] TelephoneNumberRange,     -- SEQUENCE { start TelephoneNumber, count INTEGER }
//	    one   [2] TelephoneNumber }         -- IA5String
//
// Some encoders write the strings with IMPLICIT tags ([0] and [2]
// primitive, the IA5String's bytes directly); those are read too.
var (
	tagSPC     = cbasn1.Tag(0).ContextSpecific().Constructed()
	tagRange   = cbasn1.Tag(1).ContextSpecific().Constructed()
	tagOne     = cbasn1.Tag(2).ContextSpecific().Constructed()
	tagSPCImpl = cbasn1.Tag(0).ContextSpecific()
	tagOneImpl = cbasn1.Tag(2).ContextSpecific()
)

// ParseTNAuthList decodes the extension's value.
func ParseTNAuthList(der []byte) (TNAuthList, error) {
	var l TNAuthList
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return l, errors.New("TNAuthList: not a SEQUENCE")
	}
	if seq.Empty() {
		return l, errors.New("TNAuthList: no entries")
	}
	for !seq.Empty() {
		var entry cryptobyte.String
		var tag cbasn1.Tag
		if !seq.ReadAnyASN1(&entry, &tag) {
			return l, errors.New("TNAuthList: bad entry")
		}
		switch tag {
		case tagSPCImpl, tagOneImpl:
			if len(entry) == 0 || !isIA5(entry) {
				return l, fmt.Errorf("TNAuthList: entry [%d] is not an IA5String", tag&0x1f)
			}
			if tag == tagSPCImpl {
				l.SPCs = append(l.SPCs, string(entry))
			} else {
				l.TNs = append(l.TNs, string(entry))
			}
		case tagSPC, tagOne:
			var s cryptobyte.String
			if !entry.ReadASN1(&s, cbasn1.IA5String) || !entry.Empty() || len(s) == 0 {
				return l, fmt.Errorf("TNAuthList: entry [%d] is not an IA5String", tag&0x1f)
			}
			if tag == tagSPC {
				l.SPCs = append(l.SPCs, string(s))
			} else {
				l.TNs = append(l.TNs, string(s))
			}
		case tagRange:
			var r, start cryptobyte.String
			var count int
			if !entry.ReadASN1(&r, cbasn1.SEQUENCE) || !r.ReadASN1(&start, cbasn1.IA5String) || !r.ReadASN1Integer(&count) {
				return l, errors.New("TNAuthList: bad range entry")
			}
			l.Ranges = append(l.Ranges, TNRange{Start: string(start), Count: count})
		default:
			return l, fmt.Errorf("TNAuthList: unknown entry tag %#x", uint8(tag))
		}
	}
	return l, nil
}

func isIA5(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// MarshalTNAuthList encodes a TNAuthList holding one SPC (what an STI-CA
// issues to a service provider).
func MarshalTNAuthList(spc string) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(tagSPC, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.IA5String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(spc)) })
		})
	})
	return b.Bytes()
}
