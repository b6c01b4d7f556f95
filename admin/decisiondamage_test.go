package admin

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/policy/decisionlog/logtest"
	"callgate/store"
)

// A segment of the decision log damaged in place (a bad sector after
// start) was skipped silently: a search answered the other records as if
// that were all. The page says what it could not read, in damaged and in
// a warning, and a page of an undamaged log has neither.
func TestDecisionSearchReportsDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "decisions.db")
	opts := decisionlog.Options{FlushInterval: time.Hour, NoSync: true, BatchSize: 10}
	dl, err := decisionlog.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	st := newFixture(t).st
	alice, _ := st.GetSubscriber(store.Operator, "alice")
	base := time.Now().Add(-time.Minute)
	for i := range 30 {
		c := policy.Call{Calling: e164.MustParse("+19005550000") + e164.Number(i), Called: alice.Numbers[0], Origin: policy.OriginSIP}
		dl.Record(decisionlog.NewRecord(base.Add(time.Duration(i)*time.Second), &c, &policy.Decision{Action: policy.ActionAllow, Subscriber: alice.ID}, 0))
	}
	if err := dl.Close(); err != nil {
		t.Fatal(err)
	}
	logtest.DamageFirstSegment(t, path)
	if dl, err = decisionlog.Open(path, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dl.Close() })
	f := newFixture(t, WithDecisionLog(dl))
	var pg decisionPage
	f.want(t, 200, "operator", "GET", "/api/v1/decisions?limit=100", nil, &pg)
	if len(pg.Items) != 20 || pg.Damaged == nil || *pg.Damaged != (decisionlog.Damage{Segments: 1}) ||
		!strings.Contains(pg.Warning, "1 damaged segment skipped") {
		t.Fatalf("%d items, damaged %+v, warning %q; want 20, 1 segment and a warning", len(pg.Items), pg.Damaged, pg.Warning)
	}
	// By number: the same damage, found through the index.
	pg = decisionPage{}
	f.want(t, 200, "operator", "GET", "/api/v1/decisions?limit=100&number="+alice.Numbers[0].String(), nil, &pg)
	if len(pg.Items) != 20 || pg.Damaged == nil || pg.Damaged.Segments != 1 {
		t.Fatalf("by number: %d items, damaged %+v", len(pg.Items), pg.Damaged)
	}
	// Newer than the damage: nothing to say.
	pg = decisionPage{}
	f.want(t, 200, "operator", "GET", "/api/v1/decisions?limit=5", nil, &pg)
	if len(pg.Items) != 5 || pg.Damaged != nil || pg.Warning != "" {
		t.Fatalf("first 5: %d items, damaged %+v, warning %q", len(pg.Items), pg.Damaged, pg.Warning)
	}
}
