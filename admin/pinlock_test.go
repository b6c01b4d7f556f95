package admin

import (
	"testing"
	"time"

	"callgate/store"
)

// PIN lockouts through the API: the platform owner and the subscriber's
// provider see and clear; the subscriber sees its own and may not clear;
// another provider or subscriber sees nothing; the clear is audited with
// the token's principal.
func TestPINLockoutAPI(t *testing.T) {
	f := newFixture(t)
	alice, err := f.st.GetSubscriber(store.Operator, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetPIN(store.Operator, "alice", "2468"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, _, err := f.st.PINFailed(alice.ID, store.PINFailure{Prompt: store.PINPromptOverride, Calling: 0,
			Actor: store.Operator.By("caller anonymous", "b2bua"), Policy: store.PINLockPolicy{MaxFailures: 2, Window: time.Hour, Period: time.Hour}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, who := range []string{"operator", "acme", "alice"} {
		var l store.PINLockout
		f.want(t, 200, who, "GET", "/api/v1/subscribers/alice/pin/lockout", nil, &l)
		if !l.Locked || l.Subscriber != "alice" || l.Provider != "acme" || l.Lockouts != 1 || l.LastPrompt != "override" {
			t.Fatalf("%s reads %+v", who, l)
		}
		var all page[store.PINLockout]
		f.want(t, 200, who, "GET", "/api/v1/pin-lockouts", nil, &all)
		if len(all.Items) != 1 || all.Items[0].Subscriber != "alice" || !all.Items[0].Locked {
			t.Fatalf("%s lists %+v", who, all)
		}
	}
	for _, who := range []string{"globex", "bob"} {
		f.want(t, 404, who, "GET", "/api/v1/subscribers/alice/pin/lockout", nil, nil)
		var all page[store.PINLockout]
		f.want(t, 200, who, "GET", "/api/v1/pin-lockouts", nil, &all)
		if len(all.Items) != 0 {
			t.Fatalf("%s lists %+v", who, all)
		}
	}
	f.want(t, 403, "alice", "DELETE", "/api/v1/subscribers/alice/pin/lockout", nil, nil)
	f.want(t, 404, "globex", "DELETE", "/api/v1/subscribers/alice/pin/lockout", nil, nil)
	var was store.PINLockout
	f.want(t, 200, "acme", "DELETE", "/api/v1/subscribers/+12025550100/pin/lockout", nil, &was)
	if !was.Locked || was.Subscriber != "alice" {
		t.Fatalf("the clear answered %+v, want the lock as it was", was)
	}
	var l store.PINLockout
	f.want(t, 200, "alice", "GET", "/api/v1/subscribers/alice/pin/lockout", nil, &l)
	if l.Locked || l.Revision != 0 {
		t.Fatalf("after the clear: %+v", l)
	}
	recs, err := f.st.SearchAudit(store.Operator, store.AuditQuery{Object: "subscriber/alice/pin", Limit: 1})
	if err != nil || len(recs) != 1 || recs[0].Op != "subscriber.pin.unlock" || recs[0].Via != "api" || recs[0].Role != "provider" {
		t.Fatalf("audit %+v, %v: want the unlock by acme's token via api", recs, err)
	}
	f.want(t, 404, "operator", "GET", "/api/v1/subscribers/nobody/pin/lockout", nil, nil)
}
