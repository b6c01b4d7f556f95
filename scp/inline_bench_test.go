package scp

import (
	"testing"
	"time"

	"callgate/internal/benchcpu"
	"callgate/policy"
	"callgate/sigtran/m3ua"
	"callgate/store/storetest"
)

// BenchmarkServeQueryInline is BenchmarkServeQuery as the association's
// reader runs it (handleInline: the inline gate's timing around each
// query), in batches of inlineBenchBatch queries read at once, as under
// load: ns/op is per query.
func BenchmarkServeQueryInline(b *testing.B) {
	const inlineBenchBatch = 8
	h := newHarness(b, testConfig(), policy.New(storetest.Fixture(b)))
	var d m3ua.Data
	if err := d.UnmarshalBinary(vectorM3UA(b, "P-01Q")); err != nil {
		b.Fatal(err)
	}
	sink := &encodeSink{buf: make([]byte, 0, 512)}
	w := h.w
	pd := d.ProtocolData
	h.s.handleInline(w, sink, &pd, time.Now())
	if sink.n == 0 {
		b.Fatal("no answer")
	}
	b.ReportAllocs()
	n, clk := 0, benchcpu.Start(b)
	var now time.Time
	for b.Loop() {
		if n%inlineBenchBatch == 0 {
			now = time.Now()
		}
		n++
		pd := d.ProtocolData
		h.s.handleInline(w, sink, &pd, now)
	}
	clk.Stop(b, n)
	if h.s.tx.Len() != 0 {
		b.Fatalf("%d dialogues left open", h.s.tx.Len())
	}
}
