package decisionlog

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestBatchSegmentsAsBuilt: the writer's in-place segments are byte for
// byte what segBuilder makes of the same records (the format readers and
// migrate know), split where segBuilder splits them (segmentMax records or
// segmentBytes), with the newest time so far carried from segment to
// segment and from the file's last segment; and the index entries are
// those of each record, in order, with seqs counted from the batch's
// first record.
func TestBatchSegmentsAsBuilt(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	gen := newCallGen()
	var w writerState
	for round, n := range []int{1, segmentMax, 2*segmentMax + 17, 900} {
		w.logState.prefixMax = uint64(round) * 1e18 // the file's newest so far
		recs := make([]Record, n)
		for i := range recs {
			recs[i] = *gen.next()
			recs[i].Time = t0.Add(time.Duration(rng.IntN(1e9)))
			if round == 3 {
				// Long records: segmentBytes ends the segments first.
				recs[i].Peer = string(bytes.Repeat([]byte{'p'}, 1000))
				recs[i].Voicemail = string(bytes.Repeat([]byte{'v'}, 1000))
			}
		}
		for i := range recs {
			w.add(&recs[i])
		}
		w.finishSegment()
		var sb segBuilder
		var want [][]byte
		var wantRel []uint64
		prefix, rel := w.logState.prefixMax, 0
		for i := range recs {
			sb.addRecord(nanos(recs[i].Time), &recs[i])
			if sb.full() || i == len(recs)-1 {
				want = append(want, sb.appendTo(nil, prefix))
				wantRel = append(wantRel, uint64(rel))
				prefix = max(prefix, sb.maxTS)
				rel = i + 1
				sb.reset()
			}
		}
		if len(w.segs) != len(want) {
			t.Fatalf("round %d: %d segments, segBuilder made %d", round, len(w.segs), len(want))
		}
		for i, s := range w.segs {
			if got := w.buf[s.start:s.end]; !bytes.Equal(got, want[i]) || s.rel != wantRel[i] {
				t.Fatalf("round %d: segment %d (at record %d, want %d) differs from segBuilder's", round, i, s.rel, wantRel[i])
			}
			if _, err := parseSegment(1+s.rel, w.buf[s.start:s.end]); err != nil {
				t.Fatal(err)
			}
		}
		var es []entry
		for i := range recs {
			nums, k := distinctNumbers(recs[i].Calling, recs[i].Called, recs[i].OriginalCalled)
			for _, x := range nums[:k] {
				es = append(es, entry{num: uint64(x), ts: nanos(recs[i].Time), seq: uint64(i)})
			}
		}
		if !slices.Equal(w.entries, es) {
			t.Fatalf("round %d: index entries differ", round)
		}
		w.reset()
	}
}
