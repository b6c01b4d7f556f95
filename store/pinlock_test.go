package store_test

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/store"
	"callgate/store/storetest"

	"golang.org/x/crypto/bcrypt"
)

// The PIN lockout (pinlock.go): wrong PINs counted per subscriber across
// calls, a lock after MaxFailures within Window, its expiry, the reset by
// a right PIN, the audit records and who may see and clear a lock. Time is
// a clock the test moves.

// testClock is a clock the test sets; safe for the store's goroutines.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *testClock) add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// lockFixture is the demo store on a test clock.
func lockFixture(t *testing.T) (*store.Store, *testClock, uint32) {
	t.Helper()
	clk := &testClock{now: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)}
	s, err := store.Open(filepath.Join(t.TempDir(), "lock.db"), store.Options{PINCost: bcrypt.MinCost, NoSync: true, Now: clk.Now, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk, populatedAlice(t, s)
}

// populatedAlice populates s with the test tenants and returns Alice's
// subscriber ID.
func populatedAlice(t *testing.T, s *store.Store) uint32 {
	t.Helper()
	if err := storetest.Populate(s); err != nil {
		t.Fatal(err)
	}
	alice, ok := s.Subscriber(mustNum(storetest.AliceNumber))
	if !ok {
		t.Fatal("no alice")
	}
	return alice.ID
}

var lockPolicy = store.PINLockPolicy{MaxFailures: 3, Window: time.Minute, Period: 5 * time.Minute}

var ivrActor = store.Operator.By("ivr "+storetest.UnknownCaller, "ivr")

// wrongPIN counts a wrong PIN and checks PINFailed says it locked the PIN
// exactly when the lockout went from unlocked to locked.
func wrongPIN(t *testing.T, s *store.Store, sub uint32, prompt string) store.PINLockout {
	t.Helper()
	before := lockState(t, s, sub)
	l, locked, err := s.PINFailed(sub, store.PINFailure{Prompt: prompt, Calling: mustNum(storetest.UnknownCaller), Actor: ivrActor, Policy: lockPolicy})
	if err != nil {
		t.Fatal(err)
	}
	if locked != (l.Locked && !before.Locked) {
		t.Fatalf("PINFailed says it locked: %v; before %+v, after %+v", locked, before, l)
	}
	return l
}

func lockState(t *testing.T, s *store.Store, sub uint32) store.PINLockout {
	t.Helper()
	l, err := s.PINLockState(sub)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func pinAudit(t *testing.T, s *store.Store, actor store.Actor, op string) []store.AuditRecord {
	t.Helper()
	recs, err := s.SearchAudit(actor, store.AuditQuery{Object: "subscriber/alice/pin"})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditRecord
	for _, r := range recs {
		if r.Op == op {
			out = append(out, r)
		}
	}
	return out
}

// MaxFailures wrong PINs within the window, from both prompts, lock the
// PIN for Period; the lock is audited once, readable by the subscriber's
// provider and the subscriber; wrong PINs while locked are not counted;
// the lock expires by itself.
func TestPINLockAfterFailuresAndExpiry(t *testing.T) {
	s, clk, alice := lockFixture(t)
	if l := lockState(t, s, alice); l.Locked || l.Failures != 0 || l.Revision != 0 || l.Subscriber != storetest.Alice {
		t.Fatalf("before any wrong PIN: %+v", l)
	}
	wrongPIN(t, s, alice, store.PINPromptIVR)
	clk.add(10 * time.Second)
	if l := wrongPIN(t, s, alice, store.PINPromptOverride); l.Locked || l.Failures != 2 {
		t.Fatalf("after two wrong PINs: %+v", l)
	}
	if n := len(pinAudit(t, s, store.Operator, "subscriber.pin.lockout")); n != 0 {
		t.Fatalf("%d lockout records before the lock", n)
	}
	clk.add(10 * time.Second)
	locked := wrongPIN(t, s, alice, store.PINPromptIVR)
	want := clk.Now().Add(lockPolicy.Period)
	if !locked.Locked || !locked.LockedUntil.Equal(want) || locked.Lockouts != 1 || locked.Failures != 0 ||
		locked.LastPrompt != store.PINPromptIVR || locked.LastCalling != mustNum(storetest.UnknownCaller) || locked.Provider != storetest.Provider {
		t.Fatalf("after the third wrong PIN: %+v, want locked until %s", locked, want)
	}
	for _, who := range []store.Actor{store.Operator, store.ProviderActor(storetest.Provider), store.SubscriberActor(storetest.Alice)} {
		recs := pinAudit(t, s, who, "subscriber.pin.lockout")
		if len(recs) != 1 {
			t.Fatalf("%s sees %d lockout records, want 1", who, len(recs))
		}
		r := recs[0]
		if r.Principal != "ivr "+storetest.UnknownCaller || r.Via != "ivr" || r.Subscriber != storetest.Alice || r.Provider != storetest.Provider ||
			!strings.Contains(string(r.After), `"failures":3`) || !strings.Contains(string(r.After), storetest.UnknownCaller) {
			t.Fatalf("lockout record %+v after %s", r, r.After)
		}
	}
	if recs := pinAudit(t, s, store.ProviderActor(storetest.OtherProvider), "subscriber.pin.lockout"); len(recs) != 0 {
		t.Fatalf("another provider sees alice's lockout: %+v", recs)
	}
	// While locked nothing is counted, and the lock is not lengthened.
	clk.add(time.Minute)
	if l := wrongPIN(t, s, alice, store.PINPromptOverride); !l.Locked || !l.LockedUntil.Equal(want) || l.Failures != 0 || l.Lockouts != 1 {
		t.Fatalf("a wrong PIN while locked: %+v", l)
	}
	if n := len(pinAudit(t, s, store.Operator, "subscriber.pin.lockout")); n != 1 {
		t.Fatalf("%d lockout records, want 1", n)
	}
	clk.add(lockPolicy.Period - time.Minute - time.Second)
	if !lockState(t, s, alice).Locked {
		t.Fatal("unlocked a second before the period ended")
	}
	clk.add(time.Second)
	l := lockState(t, s, alice)
	if l.Locked || !l.LockedUntil.Equal(want) || l.Lockouts != 1 {
		t.Fatalf("after the period: %+v, want unlocked, the expired lock shown", l)
	}
	// The count starts again after a lock.
	if l := wrongPIN(t, s, alice, store.PINPromptIVR); l.Locked || l.Failures != 1 {
		t.Fatalf("the first wrong PIN after the lock: %+v", l)
	}
}

// Wrong PINs further apart than the window never lock.
func TestPINLockWindowSlides(t *testing.T) {
	s, clk, alice := lockFixture(t)
	for i := range 6 {
		if l := wrongPIN(t, s, alice, store.PINPromptOverride); l.Locked || l.Failures > 2 {
			t.Fatalf("wrong PIN %d, 31s apart: %+v", i+1, l)
		}
		clk.add(31 * time.Second)
	}
	if l := lockState(t, s, alice); l.Failures != 1 {
		t.Fatalf("31s after the last wrong PIN: %d counted, want 1 (the older ones left the window)", l.Failures)
	}
}

// A right PIN clears the count, so the next lock needs MaxFailures again;
// it does not lift a lock.
func TestPINRightResetsCount(t *testing.T) {
	s, _, alice := lockFixture(t)
	wrongPIN(t, s, alice, store.PINPromptIVR)
	wrongPIN(t, s, alice, store.PINPromptIVR)
	if err := s.PINSucceeded(alice); err != nil {
		t.Fatal(err)
	}
	if l := lockState(t, s, alice); l.Failures != 0 || l.Revision != 0 {
		t.Fatalf("after a right PIN: %+v, want no record", l)
	}
	wrongPIN(t, s, alice, store.PINPromptIVR)
	if l := wrongPIN(t, s, alice, store.PINPromptIVR); l.Locked {
		t.Fatalf("locked after two wrong PINs following a right one: %+v", l)
	}
	if l := wrongPIN(t, s, alice, store.PINPromptIVR); !l.Locked {
		t.Fatalf("not locked after three: %+v", l)
	}
	if err := s.PINSucceeded(alice); err != nil {
		t.Fatal(err)
	}
	if !lockState(t, s, alice).Locked {
		t.Fatal("PINSucceeded lifted a lock")
	}
}

// The platform owner and the subscriber's provider may clear a lock
// (audited); the subscriber may see its own but not clear it; another
// provider sees nothing. Deleting the subscriber deletes its record.
func TestPINLockoutScope(t *testing.T) {
	s, _, alice := lockFixture(t)
	for range lockPolicy.MaxFailures {
		wrongPIN(t, s, alice, store.PINPromptOverride)
	}
	acme, globex := store.ProviderActor(storetest.Provider), store.ProviderActor(storetest.OtherProvider)
	self := store.SubscriberActor(storetest.Alice)
	for _, who := range []store.Actor{store.Operator, acme, self} {
		l, err := s.PINLockoutOf(who, storetest.AliceNumber)
		if err != nil || !l.Locked || l.Subscriber != storetest.Alice {
			t.Fatalf("%s reads %+v, %v", who, l, err)
		}
		all, err := s.PINLockouts(who)
		if err != nil || len(all) != 1 || all[0].Subscriber != storetest.Alice || !all[0].Locked {
			t.Fatalf("%s lists %+v, %v", who, all, err)
		}
	}
	if _, err := s.PINLockoutOf(globex, storetest.Alice); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another provider reads alice's lockout: %v", err)
	}
	if all, err := s.PINLockouts(globex); err != nil || len(all) != 0 {
		t.Fatalf("another provider lists %+v, %v", all, err)
	}
	if _, err := s.ClearPINLockout(self, storetest.Alice); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("the subscriber cleared its own lock: %v", err)
	}
	if _, err := s.ClearPINLockout(globex, storetest.Alice); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another provider clearing alice's lock: %v, want not found", err)
	}
	was, err := s.ClearPINLockout(acme.By("token 1 (noc)", "api"), storetest.Alice)
	if err != nil || !was.Locked || was.Subscriber != storetest.Alice {
		t.Fatalf("clear: %+v, %v", was, err)
	}
	if l := lockState(t, s, alice); l.Locked || l.Revision != 0 {
		t.Fatalf("after the clear: %+v", l)
	}
	recs := pinAudit(t, s, self, "subscriber.pin.unlock")
	if len(recs) != 1 || recs[0].Principal != "token 1 (noc)" || recs[0].Role != "provider" || !strings.Contains(string(recs[0].Before), `"locked":true`) {
		t.Fatalf("unlock records %+v", recs)
	}
	// Nothing to clear: no error, no record.
	if was, err := s.ClearPINLockout(store.Operator, storetest.Alice); err != nil || was.Locked || was.Revision != 0 {
		t.Fatalf("clearing nothing: %+v, %v", was, err)
	}
	if n := len(pinAudit(t, s, store.Operator, "subscriber.pin.unlock")); n != 1 {
		t.Fatalf("%d unlock records, want 1", n)
	}
	wrongPIN(t, s, alice, store.PINPromptIVR)
	if err := s.DeleteSubscriber(store.Operator, storetest.Alice); err != nil {
		t.Fatal(err)
	}
	if all, err := s.PINLockouts(store.Operator); err != nil || len(all) != 0 {
		t.Fatalf("after deleting alice: %+v, %v", all, err)
	}
	if l := lockState(t, s, alice); l.Revision != 0 {
		t.Fatalf("alice's record outlived her: %+v", l)
	}
}

// A policy that could never lock, or never unlock, is refused naming it.
func TestPINLockPolicyChecked(t *testing.T) {
	s, _, alice := lockFixture(t)
	for _, p := range []store.PINLockPolicy{{0, time.Minute, time.Minute}, {3, 0, time.Minute}, {3, time.Minute, -time.Second}} {
		_, _, err := s.PINFailed(alice, store.PINFailure{Prompt: store.PINPromptIVR, Actor: ivrActor, Policy: p})
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "PIN lockout") {
			t.Errorf("policy %+v: %v", p, err)
		}
	}
	if _, _, err := s.PINFailed(9999, store.PINFailure{Prompt: store.PINPromptIVR, Actor: ivrActor, Policy: lockPolicy}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a wrong PIN of no subscriber: %v", err)
	}
}
