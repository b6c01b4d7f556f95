package store_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"callgate/e164"
	"callgate/store"
	"callgate/store/storetest"
)

// TestProviderSignals: a provider's signal policy is stored, shown to the
// engine through every subscriber's view at once, survives a reopen, and
// is audited with before and after; an out-of-range setting is refused
// naming the setting and writes nothing.
func TestProviderSignals(t *testing.T) {
	st := storetest.Fixture(t)
	alice := e164.MustParse(storetest.AliceNumber)
	if v, _ := st.Subscriber(alice); v.Signals != (store.ProviderSignals{}) {
		t.Fatalf("a new provider has settings of its own: %+v", v.Signals)
	}
	want := store.ProviderSignals{Reputation: store.ReputationActions{Medium: store.SignalBlock, Unknown: store.SignalChallenge},
		KeyMissing: store.SignalScreen}
	p, err := st.SetProviderSignals(store.ProviderActor(storetest.Provider), storetest.Provider, want)
	if err != nil {
		t.Fatal(err)
	}
	if p.Signals != want {
		t.Errorf("returned %+v", p.Signals)
	}
	if v, _ := st.Subscriber(alice); v.Signals != want {
		t.Errorf("the view has %+v, want %+v", v.Signals, want)
	}
	recs, err := st.SearchAudit(store.Operator, store.AuditQuery{Limit: 1})
	if err != nil || len(recs) != 1 || recs[0].Op != "provider.signals" ||
		!strings.Contains(string(recs[0].After), `"signals":{"reputation":{"medium":"block","unknown":"challenge"},"key_missing":"screen"}`) ||
		strings.Contains(string(recs[0].Before), `"signals"`) {
		t.Errorf("audit: %+v (before %s after %s) %v", recs, recs[0].Before, recs[0].After, err)
	}

	for _, bad := range []store.ProviderSignals{{KeyMissing: store.SignalAllow}, {KeyMissing: store.SignalChallenge},
		{Reputation: store.ReputationActions{High: store.SignalScreen + 1}}} {
		if _, err := st.SetProviderSignals(store.Operator, storetest.Provider, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", bad, err)
		}
	}
	if v, _ := st.Subscriber(alice); v.Signals != want {
		t.Errorf("a refused change changed the view: %+v", v.Signals)
	}

	path := st.Path()
	st.Close()
	st2, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if v, _ := st2.Subscriber(alice); v.Signals != want {
		t.Errorf("after reopening: %+v", v.Signals)
	}
}

func TestSignalActionText(t *testing.T) {
	for _, s := range []string{"default", "continue", "allow", "challenge", "block", "screen"} {
		a, err := store.ParseSignalAction(s)
		if err != nil || a.String() != s {
			t.Errorf("%s: %v %v", s, a, err)
		}
	}
	if a, err := store.ParseSignalAction(" Tag "); err != nil || a != store.SignalContinue {
		t.Errorf("tag: %v %v", a, err)
	}
	if _, err := store.ParseSignalAction("drop"); err == nil || !strings.Contains(err.Error(), "want default, continue") {
		t.Errorf("drop: %v", err)
	}
	var p store.ProviderSignals
	if err := json.Unmarshal([]byte(`{"reputation":{"high":"block"},"key_missing":"tag"}`), &p); err != nil ||
		p.Reputation.High != store.SignalBlock || p.KeyMissing != store.SignalContinue {
		t.Errorf("JSON: %+v %v", p, err)
	}
	if b, _ := json.Marshal(store.ProviderSignals{}); string(b) != "{}" {
		t.Errorf("empty settings marshal as %s", b)
	}
}
