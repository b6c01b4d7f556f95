package ber

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func TestParseForms(t *testing.T) {
	for _, c := range []struct {
		name        string
		in          string
		class       Class
		constructed bool
		tag         uint32
		value       string
		rest        string
	}{
		{"private constructed low tag", "e2020102ff", Private, true, 2, "0102", "ff"},
		{"context primitive high tag", "9f2103414243", Context, false, 33, "414243", ""},
		{"two-octet high tag [141]", "9f810d0101", Context, false, 141, "01", ""},
		{"long-form length 81", "04810200ff", Universal, false, 4, "00ff", ""},
		{"non-minimal long form (tshark accepts it)", "cf81050102030405", Private, false, 15, "0102030405", ""},
		{"two-octet length", "3082000100", Universal, true, 16, "00", ""},
		{"empty value", "f200", Private, true, 18, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, _ := hex.DecodeString(c.in)
			tlv, rest, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if tlv.Class != c.class || tlv.Constructed != c.constructed || tlv.Tag != c.tag ||
				hex.EncodeToString(tlv.Value) != c.value || hex.EncodeToString(rest) != c.rest {
				t.Fatalf("got %v %v %d %x rest %x", tlv.Class, tlv.Constructed, tlv.Tag, tlv.Value, rest)
			}
			if tlv.Len() != len(b)-len(rest) {
				t.Fatalf("Len %d, consumed %d", tlv.Len(), len(b)-len(rest))
			}
		})
	}
}

func TestParseErrorsCarryOffsets(t *testing.T) {
	for _, c := range []struct {
		in   string
		base int
		off  int
	}{
		{"", 0, 0},
		{"04", 10, 11},         // missing length
		{"0480", 0, 1},         // indefinite length
		{"048401000000", 0, 1}, // 4 length octets
		{"0481", 0, 2},         // truncated long form
		{"0405010203", 5, 7},   // value runs past the end
		{"1f", 0, 1},           // truncated high tag
		{"1f80", 0, 1},         // leading zero septet
		{"1fffffffff01", 0, 5}, // tag number too large
	} {
		b, _ := hex.DecodeString(c.in)
		_, _, err := ParseAt(b, c.base)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: error %v is not *ber.Error", c.in, err)
		}
		if e.Offset != c.off {
			t.Errorf("%s: offset %d, want %d (%v)", c.in, e.Offset, c.off, err)
		}
	}
}

func TestIterOffsets(t *testing.T) {
	b, _ := hex.DecodeString("e809cf0101d1026405f200")
	top, _, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	it := top.Children()
	var offs []int
	for e, ok := it.Next(); ok; e, ok = it.Next() {
		offs = append(offs, e.Offset)
	}
	if it.Err() != nil || len(offs) != 3 || offs[0] != 2 || offs[1] != 5 || offs[2] != 9 {
		t.Fatalf("offsets %v err %v", offs, it.Err())
	}
	bad := NewIter([]byte{0x04, 0x05, 0x00}, 100)
	if _, ok := bad.Next(); ok || bad.Err() == nil {
		t.Fatal("iterator accepted a truncated element")
	}
}

func TestAppendRoundTrip(t *testing.T) {
	for _, tag := range []uint32{0, 1, 30, 31, 127, 128, 141, 16383, 16384, 1 << 20} {
		for _, n := range []int{0, 1, 127, 128, 255, 256, 65535, 65536} {
			v := bytes.Repeat([]byte{0xab}, n)
			for _, cons := range []bool{false, true} {
				enc := AppendTLV(nil, Context, cons, tag, v)
				if len(enc) != ElementLen(tag, n) {
					t.Fatalf("tag %d len %d: ElementLen %d, encoded %d", tag, n, ElementLen(tag, n), len(enc))
				}
				tlv, rest, err := Parse(enc)
				if err != nil || len(rest) != 0 || tlv.Tag != tag || tlv.Constructed != cons || len(tlv.Value) != n {
					t.Fatalf("tag %d len %d: %v %+v", tag, n, err, tlv)
				}
			}
		}
	}
}

func TestUint(t *testing.T) {
	for _, x := range []uint64{0, 1, 0x7f, 0x80, 0xff, 0x100, 0x6405, 0xffffffff, 1<<63 + 5} {
		enc := AppendUint(nil, x)
		if len(enc) != UintLen(x) || enc[0]&0x80 != 0 {
			t.Fatalf("%d: encoded %x", x, enc)
		}
		got, ok := Uint(enc)
		if !ok || got != x {
			t.Fatalf("%d: decoded %d %v", x, got, ok)
		}
	}
	if _, ok := Uint(nil); ok {
		t.Fatal("empty INTEGER accepted")
	}
	if _, ok := Uint(bytes.Repeat([]byte{1}, 9)); ok {
		t.Fatal("9-octet INTEGER with a non-zero first octet accepted")
	}
}

// FuzzParse: no input makes the reader panic, and whatever it accepts
// re-encodes (in the shortest form) to something it reads back identically.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"e2320102", "9f810d0101", "cf81050102030405", "e809cf0101d1026405f200", "1f80", "0480"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tlv, _, err := Parse(b)
		if err != nil {
			return
		}
		enc := AppendTLV(nil, tlv.Class, tlv.Constructed, tlv.Tag, tlv.Value)
		again, rest, err := Parse(enc)
		if err != nil || len(rest) != 0 || again.Tag != tlv.Tag || again.Class != tlv.Class ||
			again.Constructed != tlv.Constructed || !bytes.Equal(again.Value, tlv.Value) {
			t.Fatalf("re-encoding %x gave %x (%v)", b, enc, err)
		}
		it := tlv.Children()
		for _, ok := it.Next(); ok; _, ok = it.Next() {
		}
	})
}
