package fraud

import (
	"callgate/store"
	"errors"
	"strings"
	"testing"
	"time"
)

// lockDave locks dave's group (12.00 of premium calls).
func lockDave(t *testing.T, f *fixture) {
	t.Helper()
	f.spend(t, lineDave, toPremium, 4*time.Minute)
	f.recompute(t)
	if !f.m.IsLocked(f.dave) {
		t.Fatal("dave not locked")
	}
}

// Acceptance: unlock requires a reason and is audited.
func TestUnlockNeedsReasonAndIsAudited(t *testing.T) {
	f := newFixture(t)
	lockDave(t, f)
	for _, reason := range []string{"", "   ", "ok", "fixed\nit now, really"} {
		if _, err := f.m.Unlock(f.dave, store.Operator.By("alice", "test"), reason); err == nil {
			t.Errorf("unlock with reason %q accepted", reason)
		}
	}
	if _, err := f.m.Unlock(f.dave, store.Operator.By(" ", "test"), "PBX password changed, calls to Sierra Leone confirmed fraudulent"); err == nil {
		t.Error("unlock without an operator accepted")
	}
	if !f.m.IsLocked(f.dave) {
		t.Fatal("a refused unlock unlocked")
	}
	if _, err := f.m.Unlock(f.erin, store.Operator.By("alice", "test"), "erin was never locked, checking"); !errors.Is(err, ErrNotLocked) {
		t.Fatalf("unlock of an unlocked group: %v, want ErrNotLocked", err)
	}
	f.clock.Advance(time.Hour)
	reason := "PBX password changed; customer confirmed the premium calls were fraud (ticket 4411)"
	e, err := f.m.Unlock(f.dave, store.Operator.By("alice", "test"), reason)
	if err != nil {
		t.Fatal(err)
	}
	if f.m.IsLocked(f.dave) {
		t.Fatal("still locked after the unlock")
	}
	audit, err := f.m.Audit(f.dave.Key(), 0)
	if err != nil {
		t.Fatal(err)
	}
	last := audit[len(audit)-1]
	if last.Kind != EventUnlock || last.Actor != "alice as operator via test" || last.Reason != reason || last.Seq != e.Seq || !last.Time.Equal(f.clock.Now()) {
		t.Fatalf("audit record %+v", last)
	}
	// The platform's audit log has the lockdown and the unlock too, with
	// who did them, and the group's provider finds them in its own search.
	recs, err := f.st.SearchAudit(store.ProviderActor("acme"), store.AuditQuery{Object: "dave"})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, r := range recs {
		if strings.HasPrefix(r.Op, "fraud.") {
			ops = append(ops, r.Op+" by "+r.Principal)
		}
	}
	if got := strings.Join(ops, ", "); got != "fraud.unlock by alice, fraud.lockdown by fraud monitor, fraud.alert by fraud monitor" {
		t.Fatalf("platform audit for dave, as provider acme: %s", got)
	}
	if got := kinds(f.note.all()); got != "rates,alert,lockdown,unlock" {
		t.Fatalf("notified %s", got)
	}
	// The doubled thresholds stay for the day: 24.00 is past 22.00.
	if st := f.status(f.dave); st.Factor != 2 || st.Locked {
		t.Fatalf("after the unlock: %+v", st)
	}
	f.spend(t, lineDave, toPremium, 4*time.Minute) // 24.00
	if evs := f.recompute(t); kinds(evs) != "alert,lockdown" || !f.m.IsLocked(f.dave) {
		t.Fatalf("24.00 after the unlock: %s, locked %v", kinds(evs), f.m.IsLocked(f.dave))
	}
}

// Locks, unlocks, the day's totals and doubling, and the rate table
// survive a restart; midnight and a restart never unlock.
func TestStateSurvivesRestart(t *testing.T) {
	f := newFixture(t)
	lockDave(t, f)
	f.spend(t, lineErin, toLondon, 5*time.Minute)
	f.recompute(t)
	before := f.status(f.erin)
	f.open(t) // restart
	if !f.m.IsLocked(f.dave) || f.m.IsLocked(f.erin) {
		t.Fatal("locks not restored")
	}
	if st := f.status(f.dave); st.Factor != 2 || st.Completed != 12*Unit || st.Lockdowns != 1 || st.Alerted {
		t.Fatalf("dave after restart: %+v", st)
	}
	if st := f.status(f.erin); st.Completed != before.Completed {
		t.Fatalf("erin after restart: %s, want %s", st.Completed, before.Completed)
	}
	if f.m.Rates().Version != 1 || f.m.Rates().Len() != 6 {
		t.Fatalf("rates after restart: v%d %d rows", f.m.Rates().Version, f.m.Rates().Len())
	}
	// No alert again for what was already reported.
	if evs := f.recompute(t); len(evs) != 0 {
		t.Fatalf("after restart: %s", kinds(evs))
	}
	if _, err := f.m.Unlock(f.dave, store.Operator.By("alice", "test"), "customer confirmed the calls, password changed"); err != nil {
		t.Fatal(err)
	}
	f.open(t)
	if f.m.IsLocked(f.dave) {
		t.Fatal("unlock not stored")
	}
	// The audit numbering carries on.
	audit, _ := f.m.Audit("", 0)
	for i, e := range audit {
		if e.Seq != uint64(i+1) {
			t.Fatalf("audit numbering: %s", kinds(audit))
		}
	}
}

// A store that refuses writes never lifts or loses a lock: the lockdown is
// in force at once and stored when the store recovers; an unlock that
// cannot be stored does not happen.
func TestFailingStoreKeepsLocks(t *testing.T) {
	f := newFixture(t)
	mem := NewMemState()
	f.state = mem
	f.open(t)
	if _, err := f.m.ImportRates(strings.NewReader(testRates), "", store.Operator.By("tester", "test"), false); err != nil {
		t.Fatal(err)
	}
	mem.Fail = errBroken
	f.spend(t, lineDave, toPremium, 4*time.Minute)
	if err := f.m.Recompute(); !errors.Is(err, errBroken) {
		t.Fatalf("recompute on a broken store: %v", err)
	}
	if !f.m.IsLocked(f.dave) || f.m.Stats().WriteErrors == 0 {
		t.Fatal("lock not in force while the store is broken")
	}
	if _, err := f.m.Unlock(f.dave, store.Operator.By("alice", "test"), "customer confirmed the calls, password changed"); !errors.Is(err, errBroken) || !f.m.IsLocked(f.dave) {
		t.Fatalf("unlock on a broken store: %v, locked %v", err, f.m.IsLocked(f.dave))
	}
	mem.Fail = nil
	if err := f.m.Recompute(); err != nil {
		t.Fatal(err)
	}
	f.open(t)
	if !f.m.IsLocked(f.dave) {
		t.Fatal("the lock was not stored once the store recovered")
	}
	if st := f.status(f.dave); st.Completed != 12*Unit {
		t.Fatalf("day total after recovery: %s", st.Completed)
	}
}
