package ber

import (
	"encoding/hex"
	"testing"

	"callgate/internal/benchcpu"
)

// p01qTCAP is the TCAP package of the P-01Q query (testdata/vectors): the
// shapes the SCP decodes for every call.
const p01qTCAP = "e232c70400000101e82ae928cf0101d1026405f21fbf3507810503535510008d01008f0703100353551000920703131759552121"

// walk visits every element of b, descending into constructed ones, and
// returns how many it saw.
func walk(b []byte, base int) int {
	n := 0
	it := NewIter(b, base)
	for t, ok := it.Next(); ok; t, ok = it.Next() {
		n++
		if t.Constructed {
			n += walk(t.Value, t.Offset+t.HeaderLen)
		}
	}
	return n
}

// BenchmarkIterQuery walks every TLV of the P-01Q TCAP package, as TCAP and
// AIN decoding do between them.
func BenchmarkIterQuery(b *testing.B) { benchWalk(b, walk) }

// benchWalk measures walking the P-01Q package with walkFn, which must
// see its 12 elements.
func benchWalk(b *testing.B, walkFn func([]byte, int) int) {
	raw, err := hex.DecodeString(p01qTCAP)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n, clk := 0, benchcpu.Start(b)
	for b.Loop() {
		n++
		if got := walkFn(raw, 0); got != 12 {
			b.Fatalf("%d elements", got)
		}
	}
	clk.Stop(b, n)
}
