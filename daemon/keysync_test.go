package daemon

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/internal/config"
	"callgate/keys"
	"callgate/policy"
	"callgate/store"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/storetest"
)

// TestKeysSharedAcrossNodes: with keys.replicate, a key an enterprise
// registers on one node (POST /api/v1/keys) lets its call through on
// another node, with the brand; without the key both nodes block it.
func TestKeysSharedAcrossNodes(t *testing.T) {
	withTiers(t, &fakeTier{name: "one", ev: &events{}})
	c := etcdtest.Start(t, 1)
	node := func(name string) *Daemon {
		t.Helper()
		cfg := testConfig(t)
		cfg.Store.Backend = config.BackendEtcd
		cfg.Store.Etcd.Endpoints = c.Endpoints()
		cfg.Store.Etcd.RequestTimeout = 5 * time.Second
		cfg.Keys.Replicate = true
		cfg.Cluster = config.Cluster{Name: name}
		d := New(cfg, Options{Logger: quietLogger()})
		if err := d.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Shutdown() })
		return d
	}
	a, b := node("a"), node("b")
	if err := storetest.Populate(a.Store()); err != nil {
		t.Fatal(err)
	}
	tok, hash, _ := keys.IssueToken(storetest.Enterprise)
	if _, err := a.Store().UpdateEnterpriseSignals(store.Operator, storetest.Enterprise, func(g *store.EnterpriseSignals) error {
		g.TokenHash, g.Brand.Name = hash, "Initech"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	calling := e164.MustParse(storetest.EnterpriseNumber)
	ask := func(d *Daemon) policy.Decision {
		t.Helper()
		var bud policy.Budget
		call := policy.Call{Calling: calling, Called: e164.MustParse(storetest.AliceNumber), Origin: policy.OriginSIP}
		dec, f := d.guard.Decide(&bud, &call, time.Now().Add(10*time.Second))
		if f != policy.FaultNone {
			t.Fatalf("fault %v", f)
		}
		return dec
	}
	// b's replica has the store's data (the enterprise and its brand).
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if e, ok := b.Store().GetEnterprise(store.Operator, storetest.Enterprise); ok == nil && e.Signals.Brand.Name != "" {
			break
		}
		if time.Now().After(end) {
			t.Fatal("node b never saw the enterprise")
		}
	}
	if dec := ask(b); dec.Action != policy.ActionBlock {
		t.Fatalf("no key anywhere: node b %v [%s]", dec.Action, &dec.Trace)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+a.AdminAddr()+"/api/v1/keys",
		strings.NewReader(`{"calling":"`+storetest.EnterpriseNumber+`","called":"`+storetest.AliceNumber+`"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/v1/keys on node a: %d", resp.StatusCode)
	}
	// The 201 means etcd holds the key; b applies it from its watch.
	var dec policy.Decision
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if dec = ask(b); dec.Action == policy.ActionAllow {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("node b never let the keyed call through: %v [%s]", dec.Action, &dec.Trace)
		}
	}
	if dec.Brand.Name != "Initech" || !dec.Trace.Has(policy.RuleKey, policy.OutcomeYes) {
		t.Errorf("keyed call on node b: brand %q [%s]", dec.Brand.Name, &dec.Trace)
	}
	_, body := get(t, "http://"+a.AdminAddr()+"/metrics")
	if !strings.Contains(body, "callgate_keys_replicated_total 1") {
		t.Errorf("node a's /metrics lacks keys_replicated_total 1")
	}

	// The enterprise revokes its keys on node a: the revocation reaches
	// node b (the call is blocked again there), and so does its audit
	// record, through etcd with the store (it was only in a's log).
	req, _ = http.NewRequest(http.MethodDelete, "http://"+a.AdminAddr()+"/api/v1/keys", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE /api/v1/keys on node a: %d", resp.StatusCode)
	}
	q := store.AuditQuery{Object: "enterprise/" + storetest.Enterprise + "/keys"}
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		recs, err := b.Store().SearchAudit(store.Operator, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 1 && ask(b).Action == policy.ActionBlock {
			r := recs[0]
			if r.Op != "keys.revoke" || r.Actor != "enterprise "+storetest.Enterprise || r.Via != "api" || !strings.Contains(string(r.After), `"revoked":1`) {
				t.Errorf("node b's audit record of the revocation: %+v %s", r, r.After)
			}
			break
		}
		if time.Now().After(end) {
			t.Fatalf("node b: audit %d records, call %v", len(recs), ask(b).Action)
		}
	}
}
