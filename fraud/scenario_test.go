package fraud

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
)

// Acceptance: a new group alerts at 10.00 and locks at 11.00.
func TestNewGroupAlertsAt10LocksAt11(t *testing.T) {
	f := newFixture(t)
	// 9 minutes 59 seconds to London at 1.00 a minute: 9.983334.
	f.spend(t, lineDave, toLondon, 9*time.Minute+59*time.Second)
	if evs := f.recompute(t); len(evs) != 0 {
		t.Fatalf("below 10.00: events %s", kinds(evs))
	}
	if st := f.status(f.dave); st.Thresholds != (Thresholds{10 * Unit, 11 * Unit}) || st.Baseline != 0 {
		t.Fatalf("new group thresholds %+v baseline %s, want 10.00/11.00 and 0", st.Thresholds, st.Baseline)
	}
	f.clock.Advance(5 * time.Minute)
	f.spend(t, lineDave, toLondon, time.Second) // 10.000001
	evs := f.recompute(t)
	if kinds(evs) != "alert" || evs[0].Spend < 10*Unit || evs[0].Thresholds.Alert != 10*Unit {
		t.Fatalf("at 10.00: %s %+v", kinds(evs), evs)
	}
	if f.m.IsLocked(f.dave) {
		t.Fatal("locked at the alert")
	}
	f.clock.Advance(5 * time.Minute)
	f.spend(t, lineDave, toLondon, 59*time.Second) // 10.983334
	if evs := f.recompute(t); len(evs) != 0 {
		t.Fatalf("between 10.00 and 11.00: %s", kinds(evs))
	}
	f.clock.Advance(5 * time.Minute)
	f.spend(t, lineDave, toLondon, time.Second) // 11.000001
	evs = f.recompute(t)
	if kinds(evs) != "lockdown" || evs[0].Thresholds.Lockdown != 11*Unit {
		t.Fatalf("at 11.00: %s %+v", kinds(evs), evs)
	}
	if !f.m.IsLocked(f.dave) || f.m.IsLocked(f.erin) {
		t.Fatalf("locked: dave %v erin %v, want only dave", f.m.IsLocked(f.dave), f.m.IsLocked(f.erin))
	}
	// The audit log has the rate import, the alert and the lockdown.
	audit, err := f.m.Audit("", 0)
	if err != nil {
		t.Fatal(err)
	}
	if kinds(audit) != "rates,alert,lockdown" || audit[2].Group != f.dave.Key() || audit[2].Name != "subscriber dave" {
		t.Fatalf("audit: %s %+v", kinds(audit), audit)
	}
}

// Acceptance: a group with 30 days of steady history gets its thresholds
// from the scale and trips only on the spike.
func TestSteadyHistoryTripsOnlyOnSpike(t *testing.T) {
	f := newFixture(t)
	// Thirty days of 40.00 (and a spikier 45.00 on one of them), learned
	// day by day: the history is seeded as the days' stored totals, as
	// thirty days of running would have left them.
	today := dayOf(f.clock.Now(), chicago)
	var ops []Op
	for d := today - 30; d < today; d++ {
		spend := 40 * Unit
		if d == today-12 {
			spend = 45 * Unit
		}
		v, _ := json.Marshal(dayRecord{Spend: spend})
		ops = append(ops, Op{Key: dayKey(f.dave, d), Value: v})
	}
	// A day older than the history does not count, however high.
	v, _ := json.Marshal(dayRecord{Spend: 900 * Unit})
	ops = append(ops, Op{Key: dayKey(f.dave, today-31), Value: v})
	if err := f.state.Write(ops); err != nil {
		t.Fatal(err)
	}
	f.open(t)
	st := f.status(f.dave)
	// baseline 45.00: alert 20x3 + 25x2 = 110.00, lockdown 20x4 + 25x2.5 = 142.50
	want := Thresholds{Alert: money("110"), Lockdown: money("142.50")}
	if st.Baseline != 45*Unit || st.Thresholds != want {
		t.Fatalf("baseline %s thresholds %+v, want 45.00 and %+v", st.Baseline, st.Thresholds, want)
	}
	// An ordinary day, well past a new group's 10.00/11.00: nothing.
	for i := 0; i < 8; i++ {
		f.clock.Advance(time.Hour)
		f.spend(t, lineDave, toLondon, 5*time.Minute) // 5.00 an hour
		if evs := f.recompute(t); len(evs) != 0 {
			t.Fatalf("ordinary day, spend %s: %s", f.status(f.dave).Spend, kinds(evs))
		}
	}
	// The spike: premium calls, 75.00 in half an hour (115.00 today).
	f.clock.Advance(30 * time.Minute)
	f.spend(t, lineDave, toPremium, 25*time.Minute)
	if evs := f.recompute(t); kinds(evs) != "alert" {
		t.Fatalf("spike to %s: %s, want alert at 110.00", f.status(f.dave).Spend, kinds(evs))
	}
	f.clock.Advance(10 * time.Minute)
	f.spend(t, lineDave, toPremium, 9*time.Minute) // 142.00
	if evs := f.recompute(t); len(evs) != 0 {
		t.Fatalf("142.00: %s", kinds(evs))
	}
	f.clock.Advance(5 * time.Minute)
	f.spend(t, lineDave, toPremium, time.Minute) // 145.00
	if evs := f.recompute(t); kinds(evs) != "lockdown" {
		t.Fatalf("145.00: %s, want lockdown at 142.50", kinds(evs))
	}
}

// Acceptance: calls in progress count before they end (from the engine's
// decision), and their CDR replaces the estimate without counting twice.
func TestInProgressCallsCount(t *testing.T) {
	f := newFixture(t)
	eng := f.engine()
	call := policy.Call{Calling: lineDave, Called: toLondon, Direction: policy.DirectionOriginating, Origin: policy.OriginAIN}
	if d := eng.Decide(context.Background(), call); d.Action != policy.ActionAllow {
		t.Fatalf("open call: %v", d.Action)
	}
	start := f.clock.Now()
	f.clock.Advance(5 * time.Minute)
	if evs := f.recompute(t); len(evs) != 0 {
		t.Fatalf("5 minutes in: %s", kinds(evs))
	}
	if st := f.status(f.dave); st.InProgress != 5*Unit || st.Completed != 0 {
		t.Fatalf("5 minutes in: in progress %s completed %s, want 5.00 and 0", st.InProgress, st.Completed)
	}
	f.clock.Advance(6 * time.Minute)
	if evs := f.recompute(t); kinds(evs) != "alert,lockdown" {
		t.Fatalf("11 minutes in, no CDR yet: %s, want alert,lockdown", kinds(evs))
	}
	// The CDR: answered 20 s after the decision, 10 minutes 40 s long.
	if err := f.m.Record(CDR{Calling: lineDave, Called: toLondon, Start: start.Add(20 * time.Second), Seconds: 640}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	f.recompute(t)
	st := f.status(f.dave)
	if st.InProgress != 0 || st.Completed != money("10.666667") {
		t.Fatalf("after the CDR: in progress %s completed %s, want 0 and 10.666667", st.InProgress, st.Completed)
	}
	if s := f.m.Stats(); s.Matched != 1 || s.Unmatched != 0 || s.Started != 1 {
		t.Fatalf("stats %+v", s)
	}
	// A call with no CDR is valued until max_call_duration, then dropped.
	eng.Decide(context.Background(), policy.Call{Calling: lineErin, Called: toDomestic, Direction: policy.DirectionOriginating})
	f.clock.Advance(f.cfg.MaxCallDuration + time.Minute)
	f.recompute(t)
	if s := f.m.Stats(); s.Expired != 1 || s.Open != 0 {
		t.Fatalf("after max_call_duration: %+v", s)
	}
}

// Acceptance: after a lockdown the thresholds double until the group's
// local midnight (not UTC's), and a lockdown threshold reached again
// doubles them again; midnight resets them and does not unlock.
func TestThresholdsDoubleUntilLocalMidnight(t *testing.T) {
	f := newFixture(t)
	f.spend(t, lineDave, toLondon, 11*time.Minute) // 11.00
	if evs := f.recompute(t); kinds(evs) != "alert,lockdown" {
		t.Fatalf("11.00: %s", kinds(evs))
	}
	if st := f.status(f.dave); st.Thresholds != (Thresholds{20 * Unit, 22 * Unit}) || st.Factor != 2 {
		t.Fatalf("after lockdown: %+v x%d, want 20.00/22.00 x2", st.Thresholds, st.Factor)
	}
	f.clock.Advance(time.Hour)
	f.spend(t, lineDave, toDomestic, 100*time.Minute) // 1.00: 12.00
	f.spend(t, lineDave, toLondon, 7*time.Minute)     // 19.00
	if evs := f.recompute(t); len(evs) != 0 {
		t.Fatalf("19.00 under doubled thresholds: %s", kinds(evs))
	}
	f.clock.Advance(time.Hour)
	f.spend(t, lineDave, toLondon, time.Minute) // 20.00
	if evs := f.recompute(t); kinds(evs) != "alert" || evs[0].Thresholds.Alert != 20*Unit {
		t.Fatalf("20.00: %s %+v", kinds(evs), evs)
	}
	f.spend(t, lineDave, toLondon, 2*time.Minute) // 22.00
	evs := f.recompute(t)
	if kinds(evs) != "lockdown(again)" || evs[0].Factor != 2 {
		t.Fatalf("22.00: %s, want a second lockdown (already locked)", kinds(evs))
	}
	if st := f.status(f.dave); st.Thresholds != (Thresholds{40 * Unit, 44 * Unit}) || st.Lockdowns != 2 {
		t.Fatalf("after the second lockdown: %+v, %d lockdowns", st.Thresholds, st.Lockdowns)
	}
	// 18:00 in Chicago is midnight UTC: nothing resets.
	f.clock.Set(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC))
	f.recompute(t)
	if st := f.status(f.dave); st.Factor != 4 || st.Day != "2026-03-02" {
		t.Fatalf("at UTC midnight: x%d day %s, want x4 on 2026-03-02", st.Factor, st.Day)
	}
	f.clock.Set(time.Date(2026, 3, 2, 23, 59, 59, 0, chicago))
	f.recompute(t)
	if st := f.status(f.dave); st.Factor != 4 {
		t.Fatalf("a second before local midnight: x%d", st.Factor)
	}
	f.clock.Set(time.Date(2026, 3, 3, 0, 0, 0, 0, chicago))
	f.recompute(t)
	st := f.status(f.dave)
	// The locked day is left out of the baseline: back to the defaults.
	if st.Day != "2026-03-03" || st.Factor != 1 || st.Thresholds != (Thresholds{10 * Unit, 11 * Unit}) || st.Spend != 0 {
		t.Fatalf("after local midnight: %+v", st)
	}
	if !f.m.IsLocked(f.dave) {
		t.Fatal("midnight unlocked the group")
	}
	h, err := f.m.History(f.dave, 0)
	if err != nil {
		t.Fatal(err)
	}
	if h.Days[0] != (DaySpend{Day: "2026-03-02", Spend: 22 * Unit, Lockdowns: 2}) {
		t.Fatalf("history: %+v", h.Days[0])
	}
}

// A day without a lockdown joins the baseline at midnight: the history is
// computed daily from the days' totals.
func TestHistoryLearnedAtMidnight(t *testing.T) {
	f := newFixture(t)
	f.spend(t, lineErin, toLondon, 9*time.Minute) // 9.00: below the alert
	f.recompute(t)
	f.clock.Set(time.Date(2026, 3, 3, 0, 0, 1, 0, chicago))
	f.recompute(t)
	// baseline 9.00: 27.00 / 36.00
	if st := f.status(f.erin); st.Baseline != 9*Unit || st.Thresholds != (Thresholds{27 * Unit, 36 * Unit}) {
		t.Fatalf("next day: %+v", st)
	}
	// 31 days later the 9.00 day has left the history.
	f.clock.Set(time.Date(2026, 4, 2, 0, 0, 1, 0, chicago))
	f.recompute(t)
	if st := f.status(f.erin); st.Baseline != 0 {
		t.Fatalf("31 days later: baseline %s, want 0", st.Baseline)
	}
}

// Acceptance (engine side; the tiers are tested in internal/crosstier): a
// locked group's international and premium calls are refused, domestic
// and mobile calls go through, other groups are untouched, and the trace
// says why.
func TestLockedGroupBarsInternationalAndPremium(t *testing.T) {
	f := newFixture(t)
	eng := f.engine()
	f.spend(t, lineDave, toPremium, 4*time.Minute) // 12.00
	f.recompute(t)
	if !f.m.IsLocked(f.dave) {
		t.Fatal("not locked")
	}
	tests := []struct {
		name  string
		call  policy.Call
		block bool
		trace string
	}{
		{"locked, London", orig(lineDave, toLondon), true, "line=yes fraud=yes destination=yes"},
		{"locked, UK mobile (international)", orig(lineDave, toUKMobile), true, "line=yes fraud=yes destination=yes"},
		{"locked, Jamaica", orig(lineDave, toJamaica), true, "line=yes fraud=yes destination=yes"},
		{"locked, 900", orig(lineDave, toPremium), true, "line=yes fraud=yes destination=yes"},
		{"locked, rate table premium range", orig(lineDave, toPumped), true, "line=yes fraud=yes destination=yes"},
		{"locked, domestic", orig(lineDave, toDomestic), false, "line=yes fraud=yes destination=no"},
		{"locked, emergency (unreadable)", orig(lineDave, 0), false, "line=yes fraud=yes destination=missing"},
		{"other group, London", orig(lineErin, toLondon), false, "line=yes fraud=no"},
		{"enterprise, premium", orig(lineInitech, toPremium), false, "line=no fraud=no"},
		{"terminating call to a locked line", policy.Call{Calling: toLondon, Called: lineDave}, false, ""},
	}
	for _, tc := range tests {
		d := eng.Decide(context.Background(), tc.call)
		if (d.Action == policy.ActionBlock) != tc.block {
			t.Errorf("%s: %v, want block %v (trace %s)", tc.name, d.Action, tc.block, d.Trace.String())
		}
		if tc.trace != "" && d.Trace.String() != tc.trace {
			t.Errorf("%s: trace %q, want %q", tc.name, d.Trace.String(), tc.trace)
		}
	}
	// Only the calls let through are opened as in progress (dave's
	// domestic call, erin's and initech's; the emergency call has no
	// number to rate).
	if s := f.m.Stats(); s.Started != 3 {
		t.Fatalf("started %d, want 3", s.Started)
	}
}

// orig is an originating call from line to dest asked over AIN.
func orig(line, dest e164.Number) policy.Call {
	return policy.Call{Calling: line, Called: dest, Direction: policy.DirectionOriginating, Origin: policy.OriginAIN}
}
