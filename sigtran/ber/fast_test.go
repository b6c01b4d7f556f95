package ber

import (
	"reflect"
	"testing"
)

// FuzzParseFastPath: ParseAt's shortcut for one- and two-octet identifiers
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
	})
}
