package admin

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/store"
)

// sameAnswerRow aims one route at an object through the placeholder {X}
// in its path and body; kind says what {X} stands for.
type sameAnswerRow struct {
	method, path, body, kind string
}

// TestForeignAnswersAsNonexistent (OWASP API Security Top 10 2023, API1
// broken object level authorisation): a tenant aiming a route at another
// tenant's object, or at one of its own provider's it may not see, gets
// byte for byte the answer for an object that does not exist (the name
// aside): the status, the field and the wording, so nothing says the
// object is there. Every route naming an object is in the table, for a
// provider against another provider's objects, and for a subscriber
// against another provider's, a sibling subscriber's and its own
// provider's.
func TestForeignAnswersAsNonexistent(t *testing.T) {
	f, dl, _ := isolationFixture(t)
	op := store.Operator
	// carol is alice's sibling under acme.
	if _, err := f.st.CreateSubscriber(op, store.SubscriberSpec{Name: "carol", Provider: "acme", Numbers: []string{"+12025550101"}}); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"bob", "carol"} {
		if _, err := f.st.CreateWebUser(op, store.SubscriberActor(who), who+"web", "0123456789ab"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.st.PINFailed(mustSub(t, f, who).ID, store.PINFailure{Prompt: store.PINPromptIVR, Actor: op.By("ivr", "ivr"),
			Policy: store.PINLockPolicy{MaxFailures: 1, Window: time.Hour, Period: time.Hour}}); err != nil {
			t.Fatal(err)
		}
	}
	stories := map[string]string{}
	at := time.Now().Truncate(time.Microsecond)
	for i, who := range []string{"bob", "carol"} {
		s := mustSub(t, f, who)
		c := policy.Call{Calling: e164.MustParse("+19005550100"), Called: s.Numbers[0], Origin: policy.OriginSIP}
		d := policy.Decision{Action: policy.ActionBlock, Subscriber: s.ID}
		when := at.Add(time.Duration(i) * time.Millisecond)
		dl.Record(decisionlog.NewRecord(when, &c, &d, time.Millisecond))
		stories[who] = itoa(when.UnixNano())
	}
	if err := dl.Flush(); err != nil {
		t.Fatal(err)
	}
	// tokenOf is the ID of the fixture's token acting as a.
	tokenOf := func(a store.Actor) string {
		toks, err := f.st.APITokens(op)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range toks {
			if tk.Actor() == a {
				return tk.ID
			}
		}
		t.Fatalf("no token of %s", a)
		return ""
	}
	globexTok, acmeTok, bobTok := tokenOf(store.ProviderActor("globex")), tokenOf(store.ProviderActor("acme")), tokenOf(store.SubscriberActor("bob"))
	carolTok, _, err := f.st.CreateAPIToken(op, store.SubscriberActor("carol"), "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	nobody := func(id string) string { return strings.Repeat("0", len(id)) }

	rows := []sameAnswerRow{
		{"POST", "/api/v1/tokens", `{"role":"subscriber","name":"{X}"}`, "sub"},
		{"POST", "/api/v1/tokens", `{"role":"provider","name":"{X}"}`, "prov"},
		{"DELETE", "/api/v1/tokens/{X}", "", "tok"},
		{"POST", "/api/v1/users", `{"name":"mole","role":"subscriber","tenant":"{X}","password":"0123456789ab"}`, "sub"},
		{"POST", "/api/v1/users", `{"name":"mole","role":"provider","tenant":"{X}","password":"0123456789ab"}`, "prov"},
		{"DELETE", "/api/v1/users/{X}", "", "user"},

		{"GET", "/api/v1/providers/{X}", "", "prov"},
		{"PATCH", "/api/v1/providers/{X}", `{"default_permissions":"none"}`, "prov"},
		{"PATCH", "/api/v1/providers/{X}", `{"route":"east"}`, "prov"},
		{"DELETE", "/api/v1/providers/{X}", "", "prov"},
		{"POST", "/api/v1/providers/{X}/allocations", `{"ranges":["+14045550100"]}`, "prov"},
		{"DELETE", "/api/v1/providers/{X}/allocations/+13035550100..+13035550199", "", "prov"},
		{"GET", "/api/v1/providers/{X}/signals", "", "prov"},
		{"PUT", "/api/v1/providers/{X}/signals", `{"key_missing":"screen"}`, "prov"},
		{"GET", "/api/v1/providers/{X}/stir", "", "prov"},
		{"PATCH", "/api/v1/providers/{X}/stir", `{"tag":true}`, "prov"},

		{"GET", "/api/v1/subscribers?provider={X}", "", "prov"},
		{"GET", "/api/v1/subscribers:count?provider={X}", "", "prov"},
		{"POST", "/api/v1/subscribers", `{"name":"mole","provider":"{X}","numbers":["+13035550160"]}`, "prov"},
		{"POST", "/api/v1/subscribers:import", "name,provider,numbers\nmole,{X},+13035550162\n", "prov"},
		{"POST", "/api/v1/enterprises", `{"name":"shell","provider":"{X}"}`, "prov"},
		{"GET", "/api/v1/lists/provider:{X}/blocked", "", "prov"},
		{"POST", "/api/v1/lists/provider:{X}/vip", `{"numbers":["+19115550199"]}`, "prov"},
		{"DELETE", "/api/v1/lists/provider:{X}/blocked/+19005550101", "", "prov"},
		{"POST", "/api/v1/lists/provider:{X}/blocked/remove", `{"numbers":["+19005550101"]}`, "prov"},
		{"GET", "/api/v1/lists/export?owner=provider:{X}", "", "prov"},
		{"POST", "/api/v1/lists/import", "owner,list,number\nprovider:{X},blocked,+19005550198\n", "prov"},

		{"GET", "/api/v1/subscribers/{X}", "", "sub"},
		{"PATCH", "/api/v1/subscribers/{X}", `{"permissions":"none"}`, "sub"},
		{"PATCH", "/api/v1/subscribers/{X}", `{"settings":{"anonymous":"block"}}`, "sub"},
		{"DELETE", "/api/v1/subscribers/{X}", "", "sub"},
		{"POST", "/api/v1/subscribers/{X}/numbers", `{"numbers":["+13035550161"]}`, "sub"},
		{"DELETE", "/api/v1/subscribers/{X}/numbers/+13035550100", "", "sub"},
		{"POST", "/api/v1/subscribers/{X}/numbers/remove", `{"numbers":["+13035550100"]}`, "sub"},
		{"PUT", "/api/v1/subscribers/{X}/pin", `{"pin":"1234"}`, "sub"},
		{"DELETE", "/api/v1/subscribers/{X}/pin", "", "sub"},
		{"GET", "/api/v1/subscribers/{X}/pin/lockout", "", "sub"},
		{"DELETE", "/api/v1/subscribers/{X}/pin/lockout", "", "sub"},
		{"GET", "/api/v1/subscribers/{X}/treatment", "", "sub"},
		{"GET", "/api/v1/lists/{X}/blocked", "", "sub"},
		{"POST", "/api/v1/lists/{X}/vip", `{"numbers":["+19005550199"]}`, "sub"},
		{"DELETE", "/api/v1/lists/{X}/blocked/+19005550100", "", "sub"},
		{"POST", "/api/v1/lists/{X}/blocked/remove", `{"numbers":["+19005550100"]}`, "sub"},
		{"GET", "/api/v1/lists/export?owner={X}", "", "sub"},
		{"POST", "/api/v1/lists/import", "owner,list,number\n{X},blocked,+19005550198\n", "sub"},
		{"GET", "/api/v1/fraud/groups/{X}", "", "sub"},
		{"GET", "/api/v1/fraud/groups/{X}/history", "", "sub"},
		{"POST", "/api/v1/fraud/groups/{X}/unlock", `{"reason":"lifted by a stranger"}`, "sub"},

		{"GET", "/api/v1/subscribers/{X}", "", "num"},
		{"PATCH", "/api/v1/subscribers/{X}", `{"permissions":"none"}`, "num"},
		{"DELETE", "/api/v1/subscribers/{X}", "", "num"},
		{"GET", "/api/v1/lists/{X}/blocked", "", "num"},
		{"POST", "/api/v1/lists/{X}/vip", `{"numbers":["+19005550199"]}`, "num"},
		{"PUT", "/api/v1/subscribers/{X}/pin", `{"pin":"1234"}`, "num"},
		{"DELETE", "/api/v1/subscribers/{X}/pin/lockout", "", "num"},
		{"POST", "/api/v1/decide", `{"called":"{X}","calling":"+19005550100"}`, "num"},
		{"GET", "/api/v1/decisions?number={X}", "", "num"},
		{"GET", "/api/v1/fraud/groups/{X}", "", "num"},

		{"GET", "/api/v1/enterprises/{X}", "", "ent"},
		{"DELETE", "/api/v1/enterprises/{X}", "", "ent"},
		{"GET", "/api/v1/enterprises/{X}/signals", "", "ent"},
		{"PATCH", "/api/v1/enterprises/{X}/signals", `{"brand":{"name":"Evil"}}`, "ent"},
		{"POST", "/api/v1/enterprises/{X}/token", "", "ent"},
		{"DELETE", "/api/v1/enterprises/{X}/keys", "", "ent"},
		{"GET", "/api/v1/fraud/groups/enterprise:{X}", "", "ent"},
		{"GET", "/api/v1/fraud/groups/enterprise:{X}/history", "", "ent"},

		{"GET", "/api/v1/decisions/{X}", "", "at"},

		// Another provider's numbers, held or not, are as unallocated ones.
		{"POST", "/api/v1/subscribers/alice/numbers", `{"numbers":["{X}"]}`, "othernum"},
		{"POST", "/api/v1/subscribers", `{"name":"mole","provider":"acme","numbers":["{X}"]}`, "othernum"},
		{"POST", "/api/v1/subscribers:import", "name,provider,numbers\nmole,acme,{X}\n", "othernum"},
	}
	// Each role's targets: kind -> pairs of (another tenant's object, a
	// name nothing has). The nonexistent ones have the length of the real
	// ones, so not even a length differs.
	type pair struct{ real, none string }
	ghostAt := itoa(at.Add(-time.Hour).UnixNano())
	targets := map[string]map[string][]pair{
		"acme": {
			"sub":  {{"bob", "zed"}},
			"num":  {{lineBob, "+13035550177"}},
			"prov": {{"globex", "nobody"}},
			"ent":  {{"umbrella", "nobodyco"}},
			"tok":  {{globexTok, nobody(globexTok)}, {bobTok, nobody(bobTok)}},
			"user": {{"bobweb", "zedweb"}},
			"at":   {{stories["bob"], ghostAt}},
			// bob's, and a free one of globex's, against one nobody has.
			"othernum": {{lineBob, "+14045550100"}, {"+13035550177", "+14045550177"}},
		},
		"alice": {
			"sub":  {{"bob", "zed"}, {"carol", "zelda"}},
			"num":  {{lineBob, "+13035550177"}, {"+12025550101", "+12025550177"}},
			"prov": {{"globex", "nobody"}, {"acme", "nobo"}},
			"ent":  {{"umbrella", "nobodyco"}, {"initech", "nobodyc"}},
			"tok":  {{acmeTok, nobody(acmeTok)}, {bobTok, nobody(bobTok)}, {carolTok.ID, nobody(carolTok.ID)}},
			"user": {{"bobweb", "zedweb"}, {"carolweb", "zeldweb"}},
			"at":   {{stories["bob"], ghostAt}, {stories["carol"], ghostAt}},
		},
	}
	ask := func(who, method, path, body string) (int, string) {
		var b any
		switch {
		case body == "":
		case strings.HasPrefix(body, "{"):
			b = json.RawMessage(body)
		default:
			b = body
		}
		status, out, _ := f.do(t, who, method, path, b, "If-Match", `"1"`)
		return status, string(out)
	}
	// Enrolling another provider's enterprise's number is refused (taken,
	// 409, by nature) without naming that enterprise.
	status, body, _ := f.do(t, "acme", "POST", "/api/v1/enterprises", map[string]any{"name": "shell", "provider": "acme", "numbers": []string{lineUmbrella}})
	if status != 409 || strings.Contains(string(body), "umbrella") {
		t.Errorf("acme enrols umbrella's number: %d %s", status, body)
	}
	for _, r := range rows {
		for who, kinds := range targets {
			for _, p := range kinds[r.kind] {
				sub := func(x string) (string, string) {
					return strings.ReplaceAll(r.path, "{X}", x), strings.ReplaceAll(r.body, "{X}", x)
				}
				path, body := sub(p.real)
				rs, rb := ask(who, r.method, path, body)
				path2, body2 := sub(p.none)
				ns, nb := ask(who, r.method, path2, body2)
				rb = strings.ReplaceAll(rb, p.real, "{X}")
				nb = strings.ReplaceAll(nb, p.none, "{X}")
				if rs != ns || rb != nb {
					t.Errorf("%s %s as %s: %s's object answers %d %s\n  a nonexistent one %d %s", r.method, r.path, who, p.real, rs, rb, ns, nb)
				}
			}
		}
	}
}

func mustSub(t *testing.T, f *fixture, name string) store.Subscriber {
	t.Helper()
	s, err := f.st.GetSubscriber(store.Operator, name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
