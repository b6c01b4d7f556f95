package ber

import (
	"encoding/hex"
	"testing"

	"callgate/internal/benchcpu"
)

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
func BenchmarkIterIntoQuery(b *testing.B) {
	raw, err := hex.DecodeString(p01qTCAP)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n, clk := 0, benchcpu.Start(b)
	for b.Loop() {
		n++
		if got := walkInto(raw, 0); got != 12 {
			b.Fatalf("%d elements", got)
		}
	}
	clk.Stop(b, n)
}
