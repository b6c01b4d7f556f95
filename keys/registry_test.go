package keys

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/store"
	"callgate/store/storetest"
)

var (
	entNumber = e164.MustParse(storetest.EnterpriseNumber)
	called    = e164.MustParse(storetest.AliceNumber)
)

// clock is a settable clock for a registry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func fixture(t *testing.T) (*store.Store, uint32) {
	t.Helper()
	st := storetest.Fixture(t)
	e, err := st.GetEnterprise(store.Operator, storetest.Enterprise)
	if err != nil {
		t.Fatal(err)
	}
	return st, e.ID
}

func openReg(t *testing.T, st *store.Store, cfg Config) *Registry {
	t.Helper()
	r, err := Open(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestRegisterAndCheck(t *testing.T) {
	st, ent := fixture(t)
	clk := newClock()
	r := openReg(t, st, Config{Now: clk.Now})

	if m, _ := r.Check(entNumber, called, clk.Now()); m != policy.KeyMissing {
		t.Fatalf("enrolled caller without a key: %v, want KeyMissing", m)
	}
	if m, _ := r.Check(e164.MustParse(storetest.UnknownCaller), called, clk.Now()); m != policy.KeyNotChecked {
		t.Fatalf("caller nobody enrolled: %v, want KeyNotChecked", m)
	}
	k, err := r.Register(ent, Key{Calling: entNumber, Called: called})
	if err != nil {
		t.Fatal(err)
	}
	if !k.NotBefore.Equal(clk.Now()) || k.NotAfter.Sub(k.NotBefore) != DefaultWindow {
		t.Errorf("default window: %s..%s", k.NotBefore, k.NotAfter)
	}
	if m, id := r.Check(entNumber, called, clk.Now().Add(30*time.Second)); m != policy.KeyMatched || id != ent {
		t.Errorf("within the window: %v (enterprise %d), want KeyMatched (%d)", m, id, ent)
	}
	if m, _ := r.Check(entNumber, called, clk.Now().Add(61*time.Second+DefaultClockSkew)); m != policy.KeyMissing {
		t.Errorf("after the window and the clock skew: %v, want KeyMissing", m)
	}
	if m, _ := r.Check(entNumber, called+1, clk.Now()); m != policy.KeyMissing {
		t.Errorf("another called number: %v, want KeyMissing", m)
	}
}

// TestClockSkew: an enterprise sets a key's window on its own clock. One
// a few seconds ahead of ours registers "from now" a window that, by our
// clock, starts after its call arrives; one behind ends the window before
// a call placed late in it. Within keys.clock_skew either way the key
// matches (and its slot is kept until then, sweeps and snapshots
// included); beyond it, or with no skew configured, it does not.
func TestClockSkew(t *testing.T) {
	st, ent := fixture(t)
	clk := newClock()
	now := clk.Now()
	dir := t.TempDir()
	r := openReg(t, st, Config{Now: clk.Now, Dir: dir, ClockSkew: 3 * time.Second, SnapshotInterval: time.Hour})
	ahead := Key{Calling: entNumber, Called: called, NotBefore: now.Add(3 * time.Second), NotAfter: now.Add(63 * time.Second)}
	if _, err := r.Register(ent, ahead); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at   time.Duration
		want policy.KeyMatch
	}{{-time.Second, policy.KeyMissing}, {0, policy.KeyMatched}, {66 * time.Second, policy.KeyMatched}, {67 * time.Second, policy.KeyMissing}} {
		at := now.Add(c.at)
		if c.at == 66*time.Second {
			clk.add(66 * time.Second) // the sweep and the snapshot run at the key's last skewed second
			r.Sweep()
			if err := r.w.snapshotNow(); err != nil {
				t.Fatal(err)
			}
		}
		if m, _ := r.Peek(entNumber, called, at); m != c.want {
			t.Errorf("at %s from the start of our clock's window: %v, want %v", c.at, m, c.want)
		}
	}
	// The enterprise's clock behind: a window that ended 2 s ago by ours
	// is still accepted within the skew.
	if _, err := r.Register(ent, Key{Calling: entNumber, Called: called + 1, NotBefore: clk.Now().Add(-time.Minute), NotAfter: clk.Now().Add(-2 * time.Second)}); err != nil {
		t.Errorf("a window 2 s past with 3 s skew: %v", err)
	}

	strict := openReg(t, st, Config{Now: newClock().Now, ClockSkew: -1})
	if _, err := strict.Register(ent, ahead); err != nil {
		t.Fatal(err)
	}
	if m, _ := strict.Peek(entNumber, called, now); m != policy.KeyMissing {
		t.Errorf("no skew configured: a key starting 3 s ahead matched now (%v)", m)
	}
}

func TestRegisterRefuses(t *testing.T) {
	st, ent := fixture(t)
	clk := newClock()
	r := openReg(t, st, Config{Now: clk.Now, MaxWindow: time.Hour})
	now := clk.Now()
	for _, c := range []struct {
		name string
		k    Key
		want error
	}{
		{"not the enterprise's number", Key{Calling: e164.MustParse(storetest.UnknownCaller), Called: called}, ErrNotEnrolled},
		{"no called number", Key{Calling: entNumber}, ErrInvalid},
		{"ends before it starts", Key{Calling: entNumber, Called: called, NotBefore: now, NotAfter: now.Add(-time.Minute)}, ErrInvalid},
		{"already over", Key{Calling: entNumber, Called: called, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(-time.Minute)}, ErrInvalid},
		{"too long", Key{Calling: entNumber, Called: called, NotAfter: now.Add(2 * time.Hour)}, ErrInvalid},
	} {
		if _, err := r.Register(ent, c.k); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := r.Register(ent+1, Key{Calling: entNumber, Called: called}); !errors.Is(err, ErrNotEnrolled) {
		t.Errorf("another enterprise's number: %v", err)
	}
}

// TestSurvivesRestart: keys registered before a restart (including a use
// of a single-use key) are there after it, within their windows, through
// the log and then through a snapshot.
func TestSurvivesRestart(t *testing.T) {
	st, ent := fixture(t)
	dir := t.TempDir()
	clk := newClock()
	cfg := Config{Dir: dir, Now: clk.Now, SingleUse: true, Grace: -1, FlushInterval: time.Hour, SnapshotInterval: time.Hour}
	r, err := Open(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	other := called + 1
	if _, err := r.RegisterWait(context.Background(), ent, Key{Calling: entNumber, Called: called}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Register(ent, Key{Calling: entNumber, Called: other}); err != nil {
		t.Fatal(err)
	}
	if m, _ := r.Check(entNumber, other, clk.Now()); m != policy.KeyMatched {
		t.Fatal("single-use key did not match its first call")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	check := func(when string, r *Registry) {
		t.Helper()
		if m, _ := r.Check(entNumber, called, clk.Now()); m != policy.KeyMatched {
			t.Errorf("%s: the unused key: %v, want KeyMatched", when, m)
		}
		if m, _ := r.Check(entNumber, other, clk.Now()); m != policy.KeyMissing {
			t.Errorf("%s: the used single-use key: %v, want KeyMissing", when, m)
		}
	}
	r2, err := Open(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	// Re-register the used one: it is the same key, still used.
	if _, err := r2.Register(ent, Key{Calling: entNumber, Called: other, NotBefore: clk.Now(), NotAfter: clk.Now().Add(DefaultWindow)}); err != nil {
		t.Fatal(err)
	}
	check("after replaying the log", r2)
	// check used the first key up: register it again (a no-op), snapshot.
	if err := r2.w.snapshotNow(); err != nil {
		t.Fatal(err)
	}
	if r2.Stats().Snapshots != 1 {
		t.Fatal("no snapshot taken")
	}
	r2.Close()
	if _, err := os.Stat(filepath.Join(dir, snapName)); err != nil {
		t.Fatal(err)
	}
	r3, err := Open(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	defer r3.Close()
	if m, _ := r3.Check(entNumber, called, clk.Now()); m != policy.KeyMissing {
		t.Errorf("after the snapshot: the key used before it matched again (%v)", m)
	}
	if s := r3.Stats(); s.Live != 2 {
		t.Errorf("after the snapshot: %d live keys, want 2 (both used, in their windows)", s.Live)
	}
	// Past the window nothing is loaded.
	r3.Close()
	clk.add(2 * DefaultWindow)
	r4, err := Open(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	defer r4.Close()
	if s := r4.Stats(); s.Live != 0 || s.Held != 0 {
		t.Errorf("after the windows: %+v, want nothing loaded", s)
	}
}

// TestTornLogTail: a crash in the middle of a record loses that record
// only.
func TestTornLogTail(t *testing.T) {
	st, ent := fixture(t)
	dir := t.TempDir()
	clk := newClock()
	cfg := Config{Dir: dir, Now: clk.Now, FlushInterval: time.Hour, SnapshotInterval: time.Hour}
	r, _ := Open(cfg, st)
	r.RegisterWait(context.Background(), ent, Key{Calling: entNumber, Called: called})
	r.Close()
	gens, _ := logGens(dir)
	f, err := os.OpenFile(filepath.Join(dir, logName(gens[len(gens)-1])), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		// the last log is the empty one opened at Close's Open; use the one with data
		t.Fatal(err)
	}
	f.Write([]byte{recAdd, 1, 2, 3})
	f.Close()
	r2, err := Open(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if m, _ := r2.Check(entNumber, called, clk.Now()); m != policy.KeyMatched {
		t.Errorf("key before a torn tail: %v", m)
	}
}

func TestCorruptSnapshotSetAside(t *testing.T) {
	st, _ := fixture(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, snapName), []byte("garbage, not a snapshot"), 0o600)
	r, err := Open(Config{Dir: dir}, st)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := os.Stat(filepath.Join(dir, snapName+".corrupt")); err != nil {
		t.Errorf("damaged snapshot not set aside: %v", err)
	}
}

func TestCheckAllocatesNothing(t *testing.T) {
	st, ent := fixture(t)
	r := openReg(t, st, Config{SingleUse: true, Dir: t.TempDir()})
	r.Register(ent, Key{Calling: entNumber, Called: called})
	now := time.Now()
	if n := testing.AllocsPerRun(1000, func() { r.Check(entNumber, called, now) }); n != 0 {
		t.Errorf("Check allocates %v times", n)
	}
}

func TestEnrol(t *testing.T) {
	st, _ := fixture(t)
	clk := newClock()
	r := openReg(t, st, Config{Now: clk.Now})
	src := netip.MustParseAddr("192.0.2.10")
	if _, err := r.Enrol(src, entNumber, called); !errors.Is(err, ErrNoEnrolment) {
		t.Fatalf("before enrolment is set up: %v", err)
	}
	if _, err := st.UpdateEnterpriseSignals(store.Operator, storetest.Enterprise, func(g *store.EnterpriseSignals) error {
		g.Trunk, g.Onward = "192.0.2.0/24", "sip:{called}@carrier.example;user=phone"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Enrol(netip.MustParseAddr("198.51.100.1"), entNumber, called); !errors.Is(err, ErrWrongTrunk) {
		t.Errorf("from another address: %v, want ErrWrongTrunk", err)
	}
	if _, err := r.Enrol(src, e164.MustParse(storetest.UnknownCaller), called); !errors.Is(err, ErrNotEnrolled) {
		t.Errorf("a number nobody enrolled: %v", err)
	}
	en, err := r.Enrol(src, entNumber, called)
	if err != nil {
		t.Fatal(err)
	}
	if en.Onward != "sip:+13035550100@carrier.example;user=phone" || en.Enterprise != storetest.Enterprise {
		t.Errorf("enrolment: %+v", en)
	}
	if m, _ := r.Check(entNumber, called, clk.Now()); m != policy.KeyMatched {
		t.Errorf("the enrolled call: %v, want KeyMatched", m)
	}
}

// TestExpandOnward: the placeholders are filled wherever and however often
// they appear, and nothing else changes (as strings.Replacer did).
func TestExpandOnward(t *testing.T) {
	calling, called := e164.MustParse("+15125550100"), e164.MustParse("+13035550100")
	for tpl, want := range map[string]string{
		"sip:{called}@carrier.example;user=phone":     "sip:+13035550100@carrier.example;user=phone",
		"sip:{called}@gw;cg={calling};again={called}": "sip:+13035550100@gw;cg=+15125550100;again=+13035550100",
		"sip:x@{gw}.example;{calling":                 "sip:x@{gw}.example;{calling",
		"{{called}}{calling}":                         "{+13035550100}+15125550100",
		"sip:carrier.example":                         "sip:carrier.example",
		"":                                            "",
	} {
		if got := expandOnward(tpl, calling, called); got != want {
			t.Errorf("%q: %q, want %q", tpl, got, want)
		}
		if got := strings.NewReplacer("{called}", called.String(), "{calling}", calling.String()).Replace(tpl); got != want {
			t.Errorf("%q: strings.Replacer gives %q, the test wants %q", tpl, got, want)
		}
	}
}

// TestEnrolAllocations: an enrolment allocates only its onward URI (it
// built a strings.Replacer each time: 17 allocations, 1.3 kB).
func TestEnrolAllocations(t *testing.T) {
	st, _ := fixture(t)
	r := openReg(t, st, Config{})
	if _, err := st.UpdateEnterpriseSignals(store.Operator, storetest.Enterprise, func(g *store.EnterpriseSignals) error {
		g.Trunk, g.Onward = "192.0.2.0/24", "sip:{called}@carrier.example;cg={calling};user=phone"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	src := netip.MustParseAddr("192.0.2.10")
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := r.Enrol(src, entNumber, called); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("Enrol allocates %v times, want 1 (the onward URI)", n)
	}
}

// TestIdleRunsLeaveNoFiles: runs that register no key leave no log
// behind for the next start (each start used to add an empty file, and
// every start to read them all, with a 1 MiB buffer each).
func TestIdleRunsLeaveNoFiles(t *testing.T) {
	st, _ := fixture(t)
	dir := t.TempDir()
	cfg := Config{Dir: dir, Now: newClock().Now, FlushInterval: time.Hour, SnapshotInterval: time.Hour}
	for range 5 {
		r, err := Open(cfg, st)
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) > 1 {
		var names []string
		for _, f := range files {
			names = append(names, f.Name())
		}
		t.Errorf("after 5 idle runs the keys folder holds %v, want at most the last run's log", names)
	}
}
