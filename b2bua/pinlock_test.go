package b2bua

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/store"
	"callgate/store/boltkv"
	"callgate/store/kv"
	"callgate/store/storetest"

	"golang.org/x/crypto/bcrypt"
)

// The PIN lockout across calls (pinlock.go) on the tone prompts: wrong
// PINs keyed over several calls, at the IVR and at the override prompt,
// lock alice's PIN in the store; while locked even her right PIN is not
// checked; the lock expires on the store's clock, which the test moves; a
// right PIN clears the count; a store that fails refuses PIN entry. The
// sipsim test with the spoken prompts is in ivr_test.go.

// lockClock is the store's clock, moved by the test.
type lockClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *lockClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *lockClock) add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// countingPINs is the store, counting the PIN checks (bcrypt) it is asked
// for; failLock makes its lockout state unreadable.
type countingPINs struct {
	*store.Store
	checks   atomic.Int32
	failLock atomic.Bool
}

func (p *countingPINs) CheckPIN(sub uint32, pin string) bool {
	p.checks.Add(1)
	return p.Store.CheckPIN(sub, pin)
}

func (p *countingPINs) PINLockState(sub uint32) (store.PINLockout, error) {
	if p.failLock.Load() {
		return store.PINLockout{}, errors.New("etcd: no leader")
	}
	return p.Store.PINLockState(sub)
}

type lockHarness struct {
	*harness
	st    *store.Store
	pins  *countingPINs
	clock *lockClock
	alice uint32
}

// newLockHarness is the B2BUA with the IVR over the demo store on a
// moved clock; failures wrong PINs lock for 10 minutes; tries per call.
func newLockHarness(t *testing.T, failures, tries int) *lockHarness {
	t.Helper()
	return newLockHarnessOver(t, failures, tries, nil)
}

// newLockHarnessOver is newLockHarness with the store over a backend
// wrap makes of its bbolt file (nil: the file itself).
func newLockHarnessOver(t *testing.T, failures, tries int, wrap func(kv.Backend) kv.Backend) *lockHarness {
	t.Helper()
	clk := &lockClock{now: time.Now()}
	db, err := boltkv.Open(filepath.Join(t.TempDir(), "callgate.db"), boltkv.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var b kv.Backend = db
	if wrap != nil {
		b = wrap(db)
	}
	st, err := store.New(b, store.Options{PINCost: bcrypt.MinCost, Now: clk.Now, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := storetest.Populate(st); err != nil {
		t.Fatal(err)
	}
	alice, ok := st.Subscriber(nSub)
	if !ok {
		t.Fatal("no alice")
	}
	pins := &countingPINs{Store: st}
	h := newHarness(t, func(c *Config) {
		c.IVRNumber, c.IVRUser = ivrNumber, "ivr"
		c.PINLockFailures, c.PINLockWindow, c.PINLockPeriod = failures, time.Hour, 10*time.Minute
		c.PINTries = tries
	}, WithIVR(st), WithPINChecker(pins))
	return &lockHarness{harness: h, st: st, pins: pins, clock: clk, alice: alice.ID}
}

func (h *lockHarness) state(t *testing.T) store.PINLockout {
	t.Helper()
	l, err := h.st.PINLockState(h.alice)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// lockoutRecords are the lockouts of alice's PIN in the audit log, as
// actor reads it.
func (h *lockHarness) lockoutRecords(t *testing.T, actor store.Actor) []store.AuditRecord {
	t.Helper()
	recs, err := h.st.SearchAudit(actor, store.AuditQuery{Object: "subscriber/alice/pin"})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditRecord
	for _, r := range recs {
		if r.Op == "subscriber.pin.lockout" {
			out = append(out, r)
		}
	}
	return out
}

// endSteps waits for the newest call's end step and returns its steps.
func (h *harness) endSteps(t *testing.T) string {
	t.Helper()
	var steps []decisionlog.Step
	waitFor(t, "the call's end step", func() bool {
		h.hasStep(&steps, "end", "")
		for _, s := range steps {
			if s.Name == "end" {
				return true
			}
		}
		return false
	})
	return stepString(steps)
}

// overrideCall is a screened call to alice whose caller keys each PIN at
// the override prompt (pin_enter, then after each pin_wrong).
func (h *lockHarness) overrideCall(t *testing.T, pins ...string) *callerDialog {
	t.Helper()
	c := h.dial(testCtx(t), h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: h.alice})), false)
	if c.err != nil {
		t.Fatalf("INVITE: %v", c.err)
	}
	c.pm.waitHeard(pPINEnter)
	for i, p := range pins {
		if i > 0 {
			waitFor(t, "pin_wrong", func() bool { return c.pm.heardTimes(pPINWrong) >= i })
		}
		for _, d := range p + "#" {
			c.pm.key(d)
		}
	}
	return c
}

// lockedThenScreened checks a caller heard pin_locked and then the screen
// treatment going on (name_record), and hangs up.
func lockedThenScreened(t *testing.T, c *callerDialog) {
	t.Helper()
	c.pm.waitHeard(pNameRecord)
	if got := c.pm.heardList(); !inOrder(got, pPINEnter, pPINLocked, pNameRecord) || c.pm.heardAny(pPINWrong) {
		t.Fatalf("heard %v, want pin_enter, pin_locked, name_record and no pin_wrong", got)
	}
	_ = c.d.Hangup(testCtx(t))
}

// Wrong PINs over two IVR calls lock alice's PIN (a lock the store
// audits); a third call keying the right PIN hears pin_locked and is
// released without its PIN being checked; once the lock expires, the
// right PIN opens the menu and clears the count.
func TestPINLockoutAcrossIVRCalls(t *testing.T) {
	t.Parallel()
	h := newLockHarness(t, 4, 3)
	ctx := testCtx(t)

	k := h.callIVR(t, ctx, storetest.AliceNumber)
	for try := 1; try <= 3; try++ {
		k.on(pIVRWelcome, try, "1111#")
	}
	k.released(ctx)
	if got := h.endSteps(t); got != "ivr=pin-wrong ivr=pin-wrong ivr=pin-wrong ivr=pin-failed end=released" {
		t.Fatalf("first call: steps %s", got)
	}
	if l := h.state(t); l.Locked || l.Failures != 3 {
		t.Fatalf("after the first call: %+v", l)
	}

	// A new call gets new tries, but the count goes on: the fourth wrong
	// PIN locks.
	k = h.callIVR(t, ctx, storetest.AliceNumber)
	k.on(pIVRWelcome, 1, "1357#")
	k.released(ctx)
	k.heardInOrder(pIVRWelcome, pPINLocked)
	if k.c.pm.heardAny(pPINWrong) || k.c.pm.heardAny(pPINFailed) {
		t.Fatalf("heard %v: a locking PIN says pin_locked only", k.c.pm.heardList())
	}
	if got := h.endSteps(t); got != "ivr=pin-wrong ivr=pin-lockout end=released" {
		t.Fatalf("second call: steps %s", got)
	}
	l := h.state(t)
	if !l.Locked || l.LastPrompt != store.PINPromptIVR || l.LastCalling != nSub {
		t.Fatalf("after the second call: %+v", l)
	}
	if n := testutil.ToFloat64(h.s.m.pinLockouts.WithLabelValues("ivr")); n != 1 {
		t.Fatalf("callgate_b2bua_pin_lockouts_total{ivr} = %v, want 1", n)
	}
	recs := h.lockoutRecords(t, store.ProviderActor(storetest.Provider))
	if len(recs) != 1 || recs[0].Principal != "ivr "+storetest.AliceNumber || recs[0].Via != "ivr" || recs[0].Role != "operator" {
		t.Fatalf("lockout audit records %+v; want one by the IVR", recs)
	}
	checked := h.pins.checks.Load()
	if checked != 4 {
		t.Fatalf("%d PIN checks, want 4", checked)
	}

	// While locked, the right PIN is not checked: the caller cannot tell
	// it from a wrong one.
	k = h.callIVR(t, ctx, storetest.AliceNumber)
	k.on(pIVRWelcome, 1, storetest.AlicePIN+"#")
	k.released(ctx)
	k.heardInOrder(pIVRWelcome, pPINLocked)
	if k.c.pm.heardAny(pIVRMenu) {
		t.Fatal("the menu opened while the PIN was locked")
	}
	if got := h.endSteps(t); !strings.HasPrefix(got, "ivr=pin-locked end=released") {
		t.Fatalf("third call: steps %s", got)
	}
	if n := h.pins.checks.Load(); n != checked {
		t.Fatalf("a PIN was checked while locked (%d checks, were %d)", n, checked)
	}
	if n := testutil.ToFloat64(h.s.m.pinRefused.WithLabelValues("ivr", "locked")); n != 1 {
		t.Fatalf("callgate_b2bua_pin_refused_total{ivr,locked} = %v, want 1", n)
	}

	// The lock expires on the store's clock; the right PIN then opens
	// the menu and clears the count.
	h.clock.add(10 * time.Minute)
	k = h.callIVR(t, ctx, storetest.AliceNumber)
	k.on(pIVRWelcome, 1, storetest.AlicePIN+"#")
	k.on(pIVRMenu, 1, "*")
	k.released(ctx)
	if got := h.endSteps(t); got != "ivr=pin-right ivr=goodbye end=completed" {
		t.Fatalf("after the lock: steps %s", got)
	}
	if l := h.state(t); l.Locked || l.Failures != 0 || l.Revision != 0 {
		t.Fatalf("after the right PIN: %+v, want the record cleared", l)
	}
}

// The override PIN and the IVR count together (it is one PIN): a right
// override PIN clears the count; two wrong in the IVR and one at the
// override prompt lock; the caller hears pin_locked and the screen goes
// on, and the next caller's right PIN is not checked.
func TestPINLockoutOverridePromptSharesCount(t *testing.T) {
	t.Parallel()
	h := newLockHarness(t, 3, 2)
	ctx := testCtx(t)
	h.onSubscriber(func(d *diago.DialogServerSession) {
		if pm := answerAndListen(t, d); pm != nil {
			<-d.Context().Done()
		}
	})

	// Wrong, then right: through to alice, and nothing left counted.
	c := h.overrideCall(t, "1111", storetest.AlicePIN)
	h.waitStep("subscriber", "answered")
	_ = c.d.Hangup(ctx)
	if got := h.endSteps(t); !strings.HasPrefix(got, "token=ok pin=wrong pin=right subscriber=") {
		t.Fatalf("steps %s", got)
	}
	if l := h.state(t); l.Failures != 0 || l.Revision != 0 {
		t.Fatalf("after a right override PIN: %+v, want the count cleared", l)
	}

	k := h.callIVR(t, ctx, storetest.AliceNumber)
	k.on(pIVRWelcome, 1, "1111#")
	k.on(pIVRWelcome, 2, "2222#")
	k.released(ctx)
	if l := h.state(t); l.Locked || l.Failures != 2 {
		t.Fatalf("after two wrong in the IVR: %+v", l)
	}

	c = h.overrideCall(t, "3333")
	lockedThenScreened(t, c)
	if got := h.endSteps(t); got != "token=ok pin=wrong pin=lockout end=abandoned" {
		t.Fatalf("locking call: steps %s", got)
	}
	if n := testutil.ToFloat64(h.s.m.pinLockouts.WithLabelValues("override")); n != 1 {
		t.Fatalf("callgate_b2bua_pin_lockouts_total{override} = %v, want 1", n)
	}
	recs := h.lockoutRecords(t, store.SubscriberActor(storetest.Alice))
	if len(recs) != 1 || recs[0].Principal != "caller "+nCaller.String() || recs[0].Via != "b2bua" {
		t.Fatalf("lockout audit records %+v; want one by the caller at the override prompt", recs)
	}

	checked := h.pins.checks.Load()
	c = h.overrideCall(t, storetest.AlicePIN)
	lockedThenScreened(t, c)
	if got := h.endSteps(t); got != "token=ok pin=locked end=abandoned" {
		t.Fatalf("locked call: steps %s", got)
	}
	if n := h.pins.checks.Load(); n != checked {
		t.Fatalf("the right PIN was checked while locked (%d checks, were %d)", n, checked)
	}
}

// A lockout state that cannot be read fails closed: the PIN is not
// checked, the caller hears pin_locked, and it is counted.
func TestPINLockoutFailsClosed(t *testing.T) {
	t.Parallel()
	h := newLockHarness(t, 5, 3)
	h.pins.failLock.Store(true)
	c := h.overrideCall(t, storetest.AlicePIN)
	lockedThenScreened(t, c)
	if got := h.endSteps(t); got != "token=ok pin=locked end=abandoned" {
		t.Fatalf("steps %s", got)
	}
	if n := h.pins.checks.Load(); n != 0 {
		t.Fatalf("%d PIN checks with the lockout state unknown", n)
	}
	if n := testutil.ToFloat64(h.s.m.pinLockErrors.WithLabelValues("read")); n != 1 {
		t.Fatalf("callgate_b2bua_pin_lockout_errors_total{read} = %v, want 1", n)
	}
	if n := testutil.ToFloat64(h.s.m.pinRefused.WithLabelValues("override", "unavailable")); n != 1 {
		t.Fatalf("callgate_b2bua_pin_refused_total{override,unavailable} = %v, want 1", n)
	}
}

// etcdDownKV is a backend whose system of record has stopped answering,
// as etcd does to a node cut off from it: reads answer from the replica,
// each write waits for etcd's request timeout (5 s, or less when its
// context ends first) and fails unavailable.
type etcdDownKV struct{ kv.Backend }

func (etcdDownKV) Txn(ctx context.Context, _ []kv.Cmp, _ []kv.Op) (int64, error) {
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return 0, fmt.Errorf("etcd: %w: context deadline exceeded", kv.ErrUnavailable)
}

// With etcd unreachable, a wrong override PIN that cannot be counted
// refuses PIN entry for the call (pin_locked, then the treatment) within
// pinLockWait of the caller's '#': not after the store's three 5 s tries
// and the pauses between them, some 16 s of silence.
func TestPINLockoutStoreDownBoundsTheWait(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	h := newLockHarnessOver(t, 5, 3, func(b kv.Backend) kv.Backend { return &switchKV{Backend: b, down: &down} })
	down.Store(true)
	c := h.overrideCall(t, "1111")
	keyed := time.Now()
	c.pm.waitHeard(pPINLocked)
	if waited := time.Since(keyed); waited > pinLockWait+2*time.Second {
		t.Errorf("the caller waited %v between its '#' and pin_locked; want about pinLockWait (%v)", waited, pinLockWait)
	}
	lockedThenScreened(t, c)
	if got := h.endSteps(t); got != "token=ok pin=wrong pin=lockout end=abandoned" {
		t.Fatalf("steps %s", got)
	}
	if n := testutil.ToFloat64(h.s.m.pinLockErrors.WithLabelValues("count")); n != 1 {
		t.Fatalf("callgate_b2bua_pin_lockout_errors_total{count} = %v, want 1", n)
	}
	if n := testutil.ToFloat64(h.s.m.pinRefused.WithLabelValues("override", "unavailable")); n != 1 {
		t.Fatalf("callgate_b2bua_pin_refused_total{override,unavailable} = %v, want 1", n)
	}
}

// switchKV is etcdDownKV while down, else the backend.
type switchKV struct {
	kv.Backend
	down *atomic.Bool
}

func (s *switchKV) Txn(ctx context.Context, cmps []kv.Cmp, ops []kv.Op) (int64, error) {
	if s.down.Load() {
		return etcdDownKV{}.Txn(ctx, cmps, ops)
	}
	return s.Backend.Txn(ctx, cmps, ops)
}
