package decisionlog

import (
	"path/filepath"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
)

// Query.Subscriber keeps one tenant's records in the walk: a page of
// Limit of them, in order, however many of other tenants lie between,
// by time and by number, with Action and After, and with no record of
// another tenant.
func TestSubscriberFilter(t *testing.T) {
	opts := testOptions()
	opts.BatchSize = 100
	opts.MaxAge = -1
	l := openTest(t, opts)
	for i := range 2000 {
		sub, a := uint32(2), policy.ActionAllow
		if i%50 == 7 {
			sub = 1 // 40 records of tenant 1 among 1,960 of tenant 2
		}
		if i%100 == 7 {
			a = policy.ActionBlock
		}
		l.Record(Record{Time: t0.Add(time.Duration(i) * time.Millisecond), Calling: nC + e164.Number(i), Called: nA, Action: a, Subscriber: sub})
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	mine := func(id uint32) bool { return id == 1 }
	for _, q := range []Query{{Limit: 7}, {Number: nA, Limit: 7}, {Action: policy.ActionBlock, Limit: 3}, {Number: nA, Action: policy.ActionAllow, Limit: 3}} {
		var want []Record
		for _, r := range mustSearch(t, l, Query{Number: q.Number, Action: q.Action, Limit: 5000}) {
			if r.Subscriber == 1 {
				want = append(want, r)
			}
		}
		q.Subscriber = mine
		var got []Record
		for pages := 0; ; pages++ {
			res, err := l.Find(q)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, res.Records...)
			if len(res.Records) < q.Limit {
				break
			}
			if pages > 100 {
				t.Fatal("paging does not end")
			}
			q.After = res.Pos[len(res.Pos)-1]
		}
		if len(got) != len(want) || len(want) == 0 {
			t.Fatalf("%+v: %d records, want %d", q, len(got), len(want))
		}
		for i := range got {
			if got[i].Subscriber != 1 || got[i].Calling != want[i].Calling {
				t.Fatalf("%+v: record %d is %s of %d, want %s", q, i, got[i].Calling, got[i].Subscriber, want[i].Calling)
			}
		}
	}
}

// BenchmarkTenantPage is a provider's first page (100) of GET
// /decisions with no number, on a log of 500,000 records of which its
// tenant's are 1 in 200: requery is what the API did (a search of 101,
// filtered after, then the next from the last, until the page is
// full), filter is Query.Subscriber (one pass).
//
//	go test -run '^$' -bench TenantPage -benchtime 20x ./policy/decisionlog/
func BenchmarkTenantPage(b *testing.B) {
	opts := Options{NoSync: true, MaxRecords: -1, MaxAge: 365 * 24 * time.Hour, FlushInterval: time.Hour}
	l, err := Open(filepath.Join(b.TempDir(), FileName), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	base := time.Now().Add(-time.Hour)
	r := sample()
	for i := range 500_000 {
		r.Time = base.Add(time.Duration(i) * time.Millisecond)
		r.Calling, r.Subscriber = nC+e164.Number(i%10000), 2
		if i%200 == 0 {
			r.Subscriber = 1
		}
		l.Record(r)
		if i%(DefaultQueueSize/2) == 0 {
			_ = l.Flush()
		}
	}
	if err := l.Flush(); err != nil {
		b.Fatal(err)
	}
	const lim = 100
	mine := func(id uint32) bool { return id == 1 }
	b.Run("requery", func(b *testing.B) {
		for b.Loop() {
			q := Query{Limit: lim + 1}
			var page []Record
			for len(page) < lim {
				res, err := l.Find(q)
				if err != nil {
					b.Fatal(err)
				}
				for i := range res.Records {
					if len(page) < lim && mine(res.Records[i].Subscriber) {
						page = append(page, res.Records[i])
					}
				}
				if len(res.Records) < q.Limit {
					break
				}
				q.After = res.Pos[len(res.Pos)-1]
			}
			if len(page) != lim {
				b.Fatalf("%d records", len(page))
			}
		}
	})
	b.Run("filter", func(b *testing.B) {
		for b.Loop() {
			res, err := l.Find(Query{Limit: lim + 1, Subscriber: mine})
			if err != nil || len(res.Records) != lim+1 {
				b.Fatalf("%d records, %v", len(res.Records), err)
			}
		}
	})
}
