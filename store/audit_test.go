package store_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/store"

	"golang.org/x/crypto/bcrypt"
)

// TestAuditEveryWrite: every write method leaves one record naming the
// principal, role, path, operation and object, with before and after; a
// refused write leaves none; a PIN never appears.
func TestAuditEveryWrite(t *testing.T) {
	s := twoTenants(t)
	op := store.Operator.By("token abc (ops)", "api")
	p1 := store.ProviderActor("p1").By("user pat", "web")
	s1 := store.SubscriberActor("s1").By("user sam", "web")
	block := store.TreatBlock
	steps := []struct {
		op, object string
		before     bool // the record has a before (an update or delete)
		run        func() error
	}{
		{"route.set", "route/r2", false, func() error {
			_, err := s.SetRoute(op, store.RouteSpec{Name: "r2", SIPURI: "sip:x.example"})
			return err
		}},
		{"provider.create", "provider/p3", false, func() error { _, err := s.CreateProvider(op, store.ProviderSpec{Name: "p3"}); return err }},
		{"allocation.add", "provider/p3/allocations", true, func() error {
			return s.AllocateNumbers(op, "p3", mustRange(t, "+14045550100..+14045550199"))
		}},
		{"provider.defaults", "provider/p1", true, func() error {
			_, err := s.SetProviderDefaults(p1, "p1", store.SettingsUpdate{Unknown: &block})
			return err
		}},
		{"provider.signals", "provider/p1", true, func() error {
			_, err := s.SetProviderSignals(p1, "p1", store.ProviderSignals{KeyMissing: store.SignalScreen})
			return err
		}},
		{"subscriber.create", "subscriber/s3", false, func() error {
			_, err := s.CreateSubscriber(p1, store.SubscriberSpec{Name: "s3", Provider: "p1", Numbers: []string{"+12025550101"}})
			return err
		}},
		{"subscriber.treatments", "subscriber/s1", true, func() error {
			_, err := s.SetTreatments(s1, "s1", store.SettingsUpdate{Unknown: &block})
			return err
		}},
		{"subscriber.pin.set", "subscriber/s1/pin", true, func() error { return s.SetPIN(s1, "s1", "97531") }},
		{"list.add", "list/subscriber/s1/blocked", true, func() error {
			_, err := s.AddToList(s1, "s1", store.ListBlocked, []string{"+19005550123"}, "")
			return err
		}},
		{"list.remove", "list/subscriber/s1/blocked", true, func() error {
			_, err := s.RemoveFromList(s1, "s1", store.ListBlocked, []string{"+19005550123"})
			return err
		}},
		{"list.import", "list/subscriber/s1/vip", true, func() error {
			_, err := s.Import(strings.NewReader("s1,vip,+14155550111\n"), store.ImportOptions{Actor: p1})
			return err
		}},
		{"subscriber.delete", "subscriber/s3", true, func() error { return s.DeleteSubscriber(p1, "s3") }},
		{"enterprise.delete", "enterprise/e1", true, func() error { return s.DeleteEnterprise(p1, "e1") }},
		{"route.default", "default-route", true, func() error { return s.SetDefaultRoute(op, "r2") }},
	}
	for _, st := range steps {
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.op, err)
		}
		recs, err := s.SearchAudit(store.Operator, store.AuditQuery{Limit: 1})
		if err != nil || len(recs) != 1 {
			t.Fatalf("%s: %d records, %v", st.op, len(recs), err)
		}
		r := recs[0]
		if r.Op != st.op || r.Object != st.object || r.After == nil && !strings.HasSuffix(st.op, "delete") ||
			(r.Before != nil) != st.before || r.At.IsZero() || r.Principal == "" || r.Via == "" || r.Role == "" {
			t.Errorf("%s: record %+v (before %s, after %s)", st.op, r, r.Before, r.After)
		}
		if strings.Contains(string(r.Before)+string(r.After), "97531") {
			t.Errorf("%s: the PIN is in the audit log: %s %s", st.op, r.Before, r.After)
		}
	}
	// Who and via are recorded as given.
	recs, _ := s.SearchAudit(store.Operator, store.AuditQuery{Object: "subscriber/s1/pin"})
	if len(recs) != 1 || recs[0].Principal != "user sam" || recs[0].Via != "web" || recs[0].Role != "subscriber" {
		t.Fatalf("PIN record: %+v", recs)
	}
	if string(recs[0].Before) != `{"pin":"none"}` || string(recs[0].After) != `{"pin":"set"}` {
		t.Errorf("PIN before/after: %s %s", recs[0].Before, recs[0].After)
	}
	// A list change names the numbers.
	recs, _ = s.SearchAudit(store.Operator, store.AuditQuery{Object: "list/subscriber/s1/blocked"})
	if len(recs) != 2 || !strings.Contains(string(recs[1].After), "+19005550123") || !strings.Contains(string(recs[0].After), `"removed":["+19005550123"]`) {
		t.Errorf("list records: %+v", recs)
	}
	// Treatments: before and after are the subscriber as it was and is.
	recs, _ = s.SearchAudit(store.Operator, store.AuditQuery{Object: "subscriber/s1", Actor: "sam"})
	var before, after store.Subscriber
	for _, r := range recs {
		if r.Op == "subscriber.treatments" {
			_ = json.Unmarshal(r.Before, &before)
			_ = json.Unmarshal(r.After, &after)
		}
	}
	if before.Settings.Unknown == store.TreatBlock || after.Settings.Unknown != store.TreatBlock {
		t.Errorf("treatments before %+v after %+v", before.Settings, after.Settings)
	}
	// A refused write leaves no record.
	n := len(mustAudit(t, s, store.Operator, store.AuditQuery{Limit: 10000}))
	if _, err := s.AddToList(store.SubscriberActor("s2"), "s1", store.ListBlocked, []string{"+19005550124"}, ""); err == nil {
		t.Fatal("s2 changed s1's list")
	}
	if m := len(mustAudit(t, s, store.Operator, store.AuditQuery{Limit: 10000})); m != n {
		t.Errorf("a refused write left %d records", m-n)
	}
}

func mustAudit(t *testing.T, s *store.Store, a store.Actor, q store.AuditQuery) []store.AuditRecord {
	t.Helper()
	recs, err := s.SearchAudit(a, q)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestAuditScope: a provider reads the records of itself and its
// subscribers, a subscriber its own; never another tenant's.
func TestAuditScope(t *testing.T) {
	s := twoTenants(t)
	for _, sub := range []string{"s1", "s2"} {
		if _, err := s.AddToList(store.SubscriberActor(sub), sub, store.ListBlocked, []string{"+19005550123"}, ""); err != nil {
			t.Fatal(err)
		}
	}
	check := func(a store.Actor, want string, notWant ...string) {
		t.Helper()
		recs := mustAudit(t, s, a, store.AuditQuery{Limit: 10000})
		seen := map[string]bool{}
		for _, r := range recs {
			seen[r.Object] = true
		}
		if !seen[want] {
			t.Errorf("%s does not see %s: %v", a, want, seen)
		}
		for _, o := range notWant {
			if seen[o] {
				t.Errorf("%s sees %s", a, o)
			}
		}
	}
	check(store.Operator, "route/r")
	check(store.ProviderActor("p1"), "list/subscriber/s1/blocked", "list/subscriber/s2/blocked", "provider/p2", "route/r", "subscriber/s2")
	check(store.ProviderActor("p2"), "subscriber/s2", "list/subscriber/s1/blocked", "subscriber/s1", "provider/p1")
	check(store.SubscriberActor("s1"), "list/subscriber/s1/blocked", "list/subscriber/s2/blocked", "provider/p1", "subscriber/s2")
}

// TestAuditBounds: garbage collection keeps the newest AuditMax records
// and none older than AuditMaxAge; paging by ID walks back in time.
func TestAuditBounds(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, err := store.Open(filepath.Join(t.TempDir(), "a.db"), store.Options{PINCost: bcrypt.MinCost, NoSync: true,
		Now: clock, GCInterval: -1, AuditMax: 5, AuditMaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 8 {
		now = now.Add(time.Minute)
		if _, err := s.SetRoute(store.Operator, store.RouteSpec{Name: "r" + string(rune('a'+i)), SIPURI: "sip:x.example"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(mustAudit(t, s, store.Operator, store.AuditQuery{Limit: 100})); got != 8 {
		t.Fatalf("%d records before GC, want 8", got)
	}
	st, err := s.CollectGarbage()
	if err != nil || st.Audit != 3 {
		t.Fatalf("GC: %+v %v (want 3 audit records deleted)", st, err)
	}
	recs := mustAudit(t, s, store.Operator, store.AuditQuery{Limit: 100})
	if len(recs) != 5 || recs[0].Object != "route/rh" || recs[4].Object != "route/rd" {
		t.Fatalf("after GC by count: %d records, newest %v", len(recs), recs)
	}
	// Paging: two at a time, newest first.
	page := mustAudit(t, s, store.Operator, store.AuditQuery{Limit: 2})
	next := mustAudit(t, s, store.Operator, store.AuditQuery{Limit: 2, Before: page[1].ID})
	if page[0].Object != "route/rh" || next[0].Object != "route/rf" || next[1].Object != "route/re" {
		t.Errorf("pages %v / %v", page, next)
	}
	// By age: an hour later only records younger than an hour stay.
	now = now.Add(time.Hour - 2*time.Minute + time.Second)
	if st, err := s.CollectGarbage(); err != nil || st.Audit != 3 {
		t.Fatalf("GC by age: %+v %v (want 3 deleted)", st, err)
	}
	if recs := mustAudit(t, s, store.Operator, store.AuditQuery{Since: now.Add(-time.Hour)}); len(recs) != 2 {
		t.Errorf("after GC by age: %v", recs)
	}
}
