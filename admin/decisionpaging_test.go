package admin

import (
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/store"
)

// The SCP stamps every query of one read from the association with the
// time of the read, so records share times. The cursor was the time of a
// page's last record and the next page ended before it: the records of
// that time not on the page were never shown, and a decision's id (its
// time) named the first record of its batch, not itself. 250 records in
// 5 batches of one time each, alice's and bob's interleaved, paged by 7:
// alice sees each of hers once, in order, and each id names its record.
func TestDecisionPagesThroughSharedTimes(t *testing.T) {
	dl, err := decisionlog.Open(filepath.Join(t.TempDir(), "decisions.db"), decisionlog.Options{FlushInterval: time.Hour, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dl.Close() })
	f := newFixture(t, WithDecisionLog(dl))
	alice, _ := f.st.GetSubscriber(store.Operator, "alice")
	bob, _ := f.st.GetSubscriber(store.Operator, "bob")
	base := time.Now().Truncate(time.Microsecond)
	for batch := range 5 {
		at := base.Add(time.Duration(batch) * time.Millisecond)
		for i := range 50 {
			caller := e164.MustParse("+19005550000") + e164.Number(batch*100+i)
			sub := alice
			if i%3 == 2 {
				sub = bob
			}
			c := policy.Call{Calling: caller, Called: sub.Numbers[0], Origin: policy.OriginAIN}
			dl.Record(decisionlog.NewRecord(at, &c, &policy.Decision{Action: policy.ActionAllow, Subscriber: sub.ID}, 0))
		}
	}
	// Newest first: the later batch first, and in a batch the later record.
	var newest []e164.Number
	for batch := 4; batch >= 0; batch-- {
		for i := 49; i >= 0; i-- {
			if i%3 != 2 {
				newest = append(newest, e164.MustParse("+19005550000")+e164.Number(batch*100+i))
			}
		}
	}
	var got []decisionView
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		var pg page[decisionView]
		q := url.Values{"limit": {"7"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		f.want(t, 200, "alice", "GET", "/api/v1/decisions?"+q.Encode(), nil, &pg)
		got = append(got, pg.Items...)
		if pg.NextCursor == "" {
			break
		}
		cursor = pg.NextCursor
	}
	if len(got) != len(newest) {
		t.Fatalf("paged %d records, want alice's %d", len(got), len(newest))
	}
	for i := range got {
		if got[i].Calling != newest[i] {
			t.Fatalf("record %d: calling %s, want %s", i, got[i].Calling, newest[i])
		}
	}
	for _, i := range []int{0, 1, 33, len(got) - 1} {
		var one decisionView
		f.want(t, 200, "alice", "GET", "/api/v1/decisions/"+got[i].ID, nil, &one)
		if one.Calling != got[i].Calling || one.ID != got[i].ID {
			t.Fatalf("story of %s: calling %s, want %s", got[i].ID, one.Calling, got[i].Calling)
		}
	}
	// bob's record is not alice's, by its id either; an id of the time
	// alone (older builds) still names a record of that time she may see.
	var bobs page[decisionView]
	f.want(t, 200, "operator", "GET", "/api/v1/decisions?limit=1&number="+bob.Numbers[0].String(), nil, &bobs)
	f.want(t, 404, "alice", "GET", "/api/v1/decisions/"+bobs.Items[0].ID, nil, nil)
	var one decisionView
	f.want(t, 200, "alice", "GET", "/api/v1/decisions/"+itoa(base.UnixNano()), nil, &one)
	if one.Called != alice.Numbers[0] || !one.Time.Equal(base) {
		t.Fatalf("story by time alone: %+v", one)
	}
}
