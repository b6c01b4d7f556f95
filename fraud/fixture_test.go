package fraud

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/store"
)

// The fixture: provider acme (time zone America/Chicago) with subscribers
// dave and erin; enterprise initech; a rate table with domestic, mobile,
// international and premium rows at round prices.
var (
	lineDave     = e164.MustParse("+13125550103")
	lineErin     = e164.MustParse("+13125550105")
	lineInitech  = e164.MustParse("+15125550100")
	lineStranger = e164.MustParse("+17195550100") // nobody's

	toDomestic = e164.MustParse("+13035550100")  // 0.01 a minute
	toUKMobile = e164.MustParse("+447700900123") // 447: 0.30 a minute, international
	toLondon   = e164.MustParse("+442079460000") // 1.00 a minute
	toJamaica  = e164.MustParse("+18765550100")  // 0.60 a minute
	toPremium  = e164.MustParse("+19005550100")  // 3.00 a minute
	toPumped   = e164.MustParse("+17125550100")  // rated premium by the table, domestic to the engine
)

const testRates = `prefix,category,price_per_minute,description
1,domestic,0.01,US and Canada
1876,international,0.60,Jamaica
1900,premium,3.00,NANP premium
1712555,premium,0.50,traffic pumping range
44,international,1.00,United Kingdom
447,international,0.30,UK mobile
`

var chicago = mustZone("America/Chicago")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// t0 is a Monday morning in Chicago.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, chicago)

type fixture struct {
	st    *store.Store
	state State
	clock *ManualClock
	cfg   Config
	m     *Monitor
	note  *recorder
	dave  GroupID
	erin  GroupID
	ient  GroupID
}

func newStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "callgate.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	populate(t, st)
	return st
}

// populate creates the fixture's tenants in st.
func populate(t testing.TB, st *store.Store) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := st.CreateProvider(store.Operator, store.ProviderSpec{Name: "acme"})
	must(err)
	must(st.AllocateNumbers(store.Operator, "acme", store.Range{First: e164.MustParse("+13125550100"), Last: e164.MustParse("+13125550199")}))
	_, err = st.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "dave", Provider: "acme", Numbers: []string{lineDave.String()}})
	must(err)
	_, err = st.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "erin", Provider: "acme", Numbers: []string{lineErin.String()}})
	must(err)
	_, err = st.CreateEnterprise(store.Operator, store.EnterpriseSpec{Name: "initech", Numbers: []string{lineInitech.String()}})
	must(err)
}

// newFixture builds a monitor over a fresh store at t0 with the test rate
// table imported.
func newFixture(t testing.TB, edit ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{st: newStore(t), clock: NewManualClock(t0), cfg: DefaultConfig(), note: &recorder{}}
	f.state = StoreState(f.st)
	f.cfg.Zones = map[string]*time.Location{"provider:acme": chicago}
	for _, e := range edit {
		e(&f.cfg)
	}
	f.open(t)
	if _, err := f.m.ImportRates(strings.NewReader(testRates), "test.csv", store.Operator.By("tester", "test"), false); err != nil {
		t.Fatal(err)
	}
	var ok bool
	if f.dave, ok = f.m.GroupOf(lineDave); !ok {
		t.Fatal("dave has no group")
	}
	f.erin, _ = f.m.GroupOf(lineErin)
	f.ient, _ = f.m.GroupOf(lineInitech)
	return f
}

// open (re)builds the monitor over the fixture's store and state, as a
// restart does.
func (f *fixture) open(t testing.TB) {
	t.Helper()
	m, err := New(f.cfg, f.st, f.state, WithClock(f.clock), WithNotifier(f.note))
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
}

// spend records a completed call from line to dest lasting d, ending now.
func (f *fixture) spend(t testing.TB, line, dest e164.Number, d time.Duration) {
	t.Helper()
	now := f.clock.Now()
	if err := f.m.Record(CDR{Calling: line, Called: dest, Start: now.Add(-d), Seconds: int64(d / time.Second)}); err != nil {
		t.Fatal(err)
	}
}

// recompute runs a recompute and returns the events it raised.
func (f *fixture) recompute(t testing.TB) []Event {
	t.Helper()
	before := len(f.note.all())
	if err := f.m.Recompute(); err != nil {
		t.Fatal(err)
	}
	return f.note.all()[before:]
}

// engine is the decision engine over the fixture's store, asking the rate
// table through the classifier, behind the fraud hook.
func (f *fixture) engine() policy.Decider {
	return Wrap(policy.New(f.st, policy.WithClassifier(f.m)), f.m)
}

func (f *fixture) status(g GroupID) GroupStatus { return f.m.GroupStatus(g) }

// recorder is a Notifier keeping what it hears.
type recorder struct {
	mu  sync.Mutex
	evs []Event
}

func (r *recorder) Notify(e Event) {
	r.mu.Lock()
	r.evs = append(r.evs, e)
	r.mu.Unlock()
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.evs...)
}

func kinds(evs []Event) string {
	var b []string
	for _, e := range evs {
		k := string(e.Kind)
		if e.AlreadyLocked {
			k += "(again)"
		}
		b = append(b, k)
	}
	return strings.Join(b, ",")
}

func money(s string) Money {
	m, err := ParseMoney(s)
	if err != nil {
		panic(err)
	}
	return m
}

var errBroken = errors.New("disk on fire")
