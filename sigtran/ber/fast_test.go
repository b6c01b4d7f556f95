package ber

import (
	"reflect"
	"testing"
)

// FuzzParseFastPath: ParseAt's (and ParseInto's) shortcut for one- and two-octet identifiers
// with a short-form length gives exactly what the general parser gives.
func FuzzParseFastPath(f *testing.F) {
	for _, s := range [][]byte{{0x30, 0x00}, {0x9F, 0x35, 0x02, 0x01, 0x02}, {0x9F, 0x1F, 0x01, 0x00},
		{0x9F, 0x00, 0x00}, {0x9F, 0x80, 0x01, 0x00}, {0x04, 0x81, 0x01, 0xAA}, {0x04, 0x05, 0x01}, {0x1F}} {
		f.Add(s, 7)
	}
	f.Fuzz(func(t *testing.T, b []byte, base int) {
		t1, r1, e1 := ParseAt(b, base)
		t2, r2, e2 := parseAt(b, base)
		if (e1 == nil) != (e2 == nil) || (e1 != nil && e1.Error() != e2.Error()) {
			t.Fatalf("% x: errors %v / %v", b, e1, e2)
		}
		if e1 == nil && (!reflect.DeepEqual(t1, t2) || len(r1) != len(r2)) {
			t.Fatalf("% x: %+v rest %d / %+v rest %d", b, t1, len(r1), t2, len(r2))
		}
		var t3 TLV
		r3, e3 := ParseInto(b, base, &t3)
		if (e3 == nil) != (e2 == nil) || (e3 != nil && e3.Error() != e2.Error()) || !reflect.DeepEqual(t3, t2) || len(r3) != len(r2) {
			t.Fatalf("% x: ParseInto %+v rest %d error %v, want %+v rest %d error %v", b, t3, len(r3), e3, t2, len(r2), e2)
		}
	})
}

// FuzzIterFastPath: Iter.Next and NextInto, which read the common forms itself, walks
// any input exactly as repeated calls of the general parser do, and stops
// for good at the first error.
func FuzzIterFastPath(f *testing.F) {
	for _, s := range [][]byte{{0x30, 0x00}, {0x9F, 0x35, 0x02, 0x01, 0x02, 0x04, 0x00}, {0x9F, 0x1F, 0x01, 0x00},
		{0x9F, 0x00, 0x00}, {0x9F, 0x80, 0x01, 0x00}, {0x04, 0x81, 0x01, 0xAA, 0x01, 0x01}, {0x04, 0x05, 0x01},
		{0x1F}, {0x04}, {0x04, 0x00, 0x1F, 0x35}, {0x9F, 0x81, 0x0D, 0x01, 0x00}} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, b []byte, base int) {
		it, next := NewIter(b, base), NewIter(b, base)
		rest, off := b, base
		for {
			var got TLV
			ok := it.NextInto(&got)
			if n, nok := next.Next(); nok != ok || !reflect.DeepEqual(n, got) {
				t.Fatalf("% x: Next gives %+v %v, NextInto %+v %v", b, n, nok, got, ok)
			}
			if len(rest) == 0 {
				if ok || it.Err() != nil {
					t.Fatalf("% x: element or error %v past the end", b, it.Err())
				}
				break
			}
			want, r, err := parseAt(rest, off)
			if err != nil {
				if ok || it.Err() == nil || it.Err().Error() != err.Error() {
					t.Fatalf("% x: got %+v %v, error %v; want error %v", b, got, ok, it.Err(), err)
				}
				if _, again := it.Next(); again || it.Err().Error() != err.Error() || next.Err().Error() != err.Error() {
					t.Fatalf("% x: iteration went on after %v", b, err)
				}
				break
			}
			if !ok || !reflect.DeepEqual(got, want) {
				t.Fatalf("% x: got %+v %v (%v), want %+v", b, got, ok, it.Err(), want)
			}
			off += len(rest) - len(r)
			rest = r
		}
	})
}
