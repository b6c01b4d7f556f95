package decisionlog

import (
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
)

// Query.After pages through records that share a time, by time and by
// number, each record once, in the answer's order; a time bound cannot.
func TestSearchAfterPagesSharedTimes(t *testing.T) {
	opts := testOptions()
	opts.BatchSize = 100
	l := openTest(t, opts)
	for i := range 1000 {
		// 4 times, 250 records each, committed in 10 batches.
		l.Record(Record{Time: t0.Add(time.Duration(i%4) * time.Second), Calling: nC + e164.Number(i), Called: nA, Action: policy.ActionAllow})
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, q := range []Query{{Limit: 7}, {Number: nA, Limit: 7}, {Number: nA, Limit: 7, From: t0.Add(time.Second), To: t0.Add(3 * time.Second)}} {
		res, err := l.Find(Query{Number: q.Number, From: q.From, To: q.To, Limit: 5000})
		if err != nil {
			t.Fatal(err)
		}
		all, allPos := res.Records, res.Pos
		var got []Record
		for {
			res, err := l.Find(q)
			if err != nil {
				t.Fatal(err)
			}
			recs, pos := res.Records, res.Pos
			got = append(got, recs...)
			if len(recs) < q.Limit {
				break
			}
			q.After = pos[len(pos)-1]
		}
		if len(got) != len(all) || len(all) == 0 {
			t.Fatalf("%+v: paged %d records, one search %d", q, len(got), len(all))
		}
		for i := range got {
			if got[i].Calling != all[i].Calling {
				t.Fatalf("%+v: record %d is %s, want %s", q, i, got[i].Calling, all[i].Calling)
			}
			if i > 0 && !recKeyLess(uint64(allPos[i].Time), allPos[i].Seq, uint64(allPos[i-1].Time), allPos[i-1].Seq) {
				t.Fatalf("positions not descending at %d: %+v %+v", i, allPos[i-1], allPos[i])
			}
		}
	}
}
