package daemon

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/keys"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/store"
	"callgate/store/storetest"

	repsim "callgate/simulators/reputation"
)

// TestSignalsInTheDaemon: the daemon's signal stage end to end — an
// enterprise registers a key with POST /api/v1/keys on the admin listener,
// its call is delivered with the brand, the key survives a restart; a
// caller's reputation is looked up for a call to a subscriber, the band
// decides (medium: challenge) and the decision log shows how it was found;
// the metrics count both.
func TestSignalsInTheDaemon(t *testing.T) {
	withTiers(t, &fakeTier{name: "one", ev: &events{}})
	sim, err := repsim.New(repsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	medium := e164.MustParse("+16175550102")
	sim.SetBand(medium, "medium")

	cfg := testConfig(t)
	cfg.Reputation.Enabled, cfg.Reputation.BaseURL, cfg.Reputation.Budget = true, sim.URL(), time.Second
	d := New(cfg, Options{Logger: quietLogger()})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { d.Shutdown() }()
	st := d.Store()
	if err := storetest.Populate(st); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateEnterpriseSignals(store.Operator, storetest.Enterprise, func(g *store.EnterpriseSignals) error {
		g.Brand.Name = "Initech"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tok, hash, _ := keys.IssueToken(storetest.Enterprise)
	st.UpdateEnterpriseSignals(store.Operator, storetest.Enterprise, func(g *store.EnterpriseSignals) error { g.TokenHash = hash; return nil })

	req, _ := http.NewRequest(http.MethodPost, "http://"+d.AdminAddr()+"/api/v1/keys",
		strings.NewReader(`{"calling":"`+storetest.EnterpriseNumber+`","called":"`+storetest.AliceNumber+`"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/v1/keys: %d", resp.StatusCode)
	}

	ask := func(d *Daemon, calling string) policy.Decision {
		t.Helper()
		var b policy.Budget
		c := policy.Call{Calling: e164.MustParse(calling), Called: e164.MustParse(storetest.AliceNumber), Origin: policy.OriginAIN}
		dec, f := d.guard.Decide(&b, &c, time.Now().Add(10*time.Second))
		if f != policy.FaultNone {
			t.Fatalf("fault %v", f)
		}
		return dec
	}
	if dec := ask(d, storetest.EnterpriseNumber); dec.Action != policy.ActionAllow || dec.Brand.Name != "Initech" {
		t.Errorf("keyed enterprise call: %v brand %q [%s]", dec.Action, dec.Brand.Name, &dec.Trace)
	}
	// The enterprise's call to Alice, forwarded by the switch to Bob: the
	// key names the number it dialled, which the SSP reports as the
	// original called number. A SIP Diversion can be forged by any peer,
	// so the same call over SIP is not matched through it.
	forwarded := func(o policy.Origin) policy.Decision {
		t.Helper()
		var b policy.Budget
		c := policy.Call{Calling: e164.MustParse(storetest.EnterpriseNumber), Called: e164.MustParse(storetest.BobNumber),
			OriginalCalled: e164.MustParse(storetest.AliceNumber), Origin: o}
		dec, f := d.guard.Decide(&b, &c, time.Now().Add(10*time.Second))
		if f != policy.FaultNone {
			t.Fatalf("fault %v", f)
		}
		return dec
	}
	if dec := forwarded(policy.OriginAIN); !dec.Trace.Has(policy.RuleKey, policy.OutcomeYes) || dec.Brand.Name != "Initech" {
		t.Errorf("keyed enterprise call forwarded by the switch: %v brand %q [%s], want key=yes", dec.Action, dec.Brand.Name, &dec.Trace)
	}
	if dec := forwarded(policy.OriginSIP); !dec.Trace.Has(policy.RuleKey, policy.OutcomeMissing) {
		t.Errorf("keyed enterprise call with a Diversion over SIP: %v [%s], want key=missing", dec.Action, &dec.Trace)
	}
	if dec := ask(d, medium.String()); dec.Action != policy.ActionChallenge || !dec.Trace.Has(policy.RuleReputation, policy.OutcomeMedium) {
		t.Errorf("medium-risk caller: %v [%s]", dec.Action, &dec.Trace)
	}
	// Under a Budget that allows deferring (the SCP's readers and
	// workers), a look-up that would wait defers the decision with
	// nothing recorded; asked again, the call joins the look-up started.
	fresh := e164.MustParse("+16175550177")
	c := policy.Call{Calling: fresh, Called: e164.MustParse(storetest.AliceNumber), Origin: policy.OriginAIN}
	var b policy.Budget
	b.AllowDefer(true)
	if _, f := d.guard.Decide(&b, &c, time.Now().Add(10*time.Second)); f != policy.FaultDeferred {
		t.Fatalf("a new caller under a deferring Budget: fault %v, want deferred", f)
	}
	b.AllowDefer(false)
	if dec, f := d.guard.Decide(&b, &c, time.Now().Add(10*time.Second)); f != policy.FaultNone || !dec.Trace.Has(policy.RuleReputation, policy.OutcomeLow) {
		t.Errorf("asked again: fault %v [%s], want the low band", f, &dec.Trace)
	}
	// (The look-up the deferral started may have answered before the call
	// was asked again: then the call found it cached, outcome fresh, not
	// answered; either way the provider was asked once.)
	if n := sim.Requests(fresh); n != 1 {
		t.Errorf("the provider was asked %d times about the deferred caller, want once", n)
	}
	if err := d.dlog.Flush(); err != nil {
		t.Fatal(err)
	}
	if recs, err := d.dlog.Search(decisionlog.Query{Number: fresh}); err != nil || len(recs) != 1 {
		t.Errorf("decision log of the deferred call: %v %d records, want 1", err, len(recs))
	}
	recs, err := d.dlog.Search(decisionlog.Query{Number: medium})
	if err != nil || len(recs) != 1 {
		t.Fatalf("decision log: %v %d records", err, len(recs))
	}
	if s := recs[0].String(); !strings.Contains(s, "reputation=medium(cache=miss latency=") {
		t.Errorf("decision log record %q does not show the look-up", s)
	}
	_, body := get(t, "http://"+d.AdminAddr()+"/metrics")
	for _, want := range []string{"callgate_keys_live 1", `callgate_reputation_checks_total{outcome="answered"} `, "callgate_reputation_breaker_open 0",
		`callgate_decisions_total{action="allow",tier="ain"} 3`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// The key survives a restart.
	if err := d.Shutdown(); err != nil {
		t.Fatal(err)
	}
	d2 := New(cfg, Options{Logger: quietLogger()})
	if err := d2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer d2.Shutdown()
	if dec := ask(d2, storetest.EnterpriseNumber); dec.Action != policy.ActionAllow || !dec.Trace.Has(policy.RuleKey, policy.OutcomeYes) {
		t.Errorf("after a restart the keyed call: %v [%s]", dec.Action, &dec.Trace)
	}
	// The enterprise revokes the pair's keys on the admin listener: the
	// call is taken for a spoof again.
	req, _ = http.NewRequest(http.MethodDelete, "http://"+d2.AdminAddr()+"/api/v1/keys/"+storetest.EnterpriseNumber+"/"+storetest.AliceNumber, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(out), `"revoked":1`) {
		t.Fatalf("DELETE /api/v1/keys/{calling}/{called}: %d %s", resp.StatusCode, out)
	}
	if dec := ask(d2, storetest.EnterpriseNumber); dec.Action == policy.ActionAllow || !dec.Trace.Has(policy.RuleKey, policy.OutcomeMissing) {
		t.Errorf("after the revocation the call: %v [%s], want key=missing", dec.Action, &dec.Trace)
	}
}
