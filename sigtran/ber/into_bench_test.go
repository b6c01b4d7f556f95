package ber

import "testing"

// walkInto is walk with NextInto.
func walkInto(b []byte, base int) int {
	n := 0
	it := NewIter(b, base)
	var t TLV
	for it.NextInto(&t) {
		n++
		if t.Constructed {
			n += walkInto(t.Value, t.Offset+t.HeaderLen)
		}
	}
	return n
}

// BenchmarkIterIntoQuery is BenchmarkIterQuery with NextInto, the way the
// hot decoders walk.
func BenchmarkIterIntoQuery(b *testing.B) { benchWalk(b, walkInto) }
