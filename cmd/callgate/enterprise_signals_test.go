package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/keys"
	"callgate/policy"
	"callgate/store"
)

func TestEnterpriseSignalCommands(t *testing.T) {
	c := newCLIWithStore(t)
	c.ok("enterprise", "create", "initech", "--number", "+15125550100")
	out := c.ok("enterprise", "brand", "initech")
	if !strings.Contains(out, "API token:    none") || !strings.Contains(out, "enrolment:    off") {
		t.Errorf("show before anything is set:\n%s", out)
	}
	var issued struct {
		Token    string `json:"token"`
		HasToken bool   `json:"has_token"`
	}
	jsonOf(t, c.ok("enterprise", "token", "initech", "--json"), &issued)
	if name, _, err := keys.ParseToken(issued.Token); err != nil || name != "initech" || !issued.HasToken {
		t.Errorf("issued token %q: %v", issued.Token, err)
	}
	out = c.ok("enterprise", "brand", "initech", "--name", "Initech", "--reason", "Your order")
	if !strings.Contains(out, "brand:        Initech") || !strings.Contains(out, "reason:       Your order") || !strings.Contains(out, "API token:    issued") {
		t.Errorf("brand set:\n%s", out)
	}
	c.fails(1, "https://", "enterprise", "brand", "initech", "--logo", "http://insecure.example/logo.png")
	c.fails(1, `"`, "enterprise", "brand", "initech", "--name", `Ini"tech`)
	c.fails(2, "--trunk and --onward, or --off", "enterprise", "enrolment", "initech")
	c.fails(1, "trunk", "enterprise", "enrolment", "initech", "--trunk", "not-an-address", "--onward", "sip:{called}@x.example")
	out = c.ok("enterprise", "enrolment", "initech", "--trunk", "192.0.2.0/24", "--onward", "sip:{called}@carrier.example")
	if !strings.Contains(out, "INVITEs from 192.0.2.0/24, redirected to sip:{called}@carrier.example") {
		t.Errorf("enrolment set:\n%s", out)
	}
	out = c.ok("enterprise", "enrolment", "initech", "--off")
	if !strings.Contains(out, "enrolment:    off") || !strings.Contains(out, "brand:        Initech") {
		t.Errorf("enrolment off (the brand stays):\n%s", out)
	}
}

// TestEnterpriseRevokeKeysCommands: with no daemon running, `enterprise
// revoke-keys` revokes the keys saved in keys.dir (a daemon started later
// loads them revoked); `enterprise token --revoke-keys` reissues the token
// and revokes the keys registered since; a plain reissue leaves them.
func TestEnterpriseRevokeKeysCommands(t *testing.T) {
	c := newCLIWithStore(t)
	c.ok("enterprise", "create", "initech", "--number", "+15125550100")
	dir := filepath.Join(c.dir, "keys")
	calling := e164.MustParse("+15125550100")
	register := func(called string) {
		t.Helper()
		st, err := store.Open(filepath.Join(c.dir, "callgate.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		en, err := st.GetEnterprise(store.Operator, "initech")
		if err != nil {
			t.Fatal(err)
		}
		reg, err := keys.Open(keys.Config{Dir: dir}, st)
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Close()
		if _, err := reg.Register(en.ID, keys.Key{Calling: calling, Called: e164.MustParse(called)}); err != nil {
			t.Fatal(err)
		}
	}
	matches := func(called string) bool {
		t.Helper()
		st, err := store.Open(filepath.Join(c.dir, "callgate.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		reg, err := keys.OpenReadOnly(keys.Config{Dir: dir}, st)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := reg.Peek(calling, e164.MustParse(called), time.Now())
		return m == policy.KeyMatched
	}
	register("+13035550100")
	if out := c.ok("enterprise", "revoke-keys", "initech"); !strings.Contains(out, "call keys of initech revoked: 1") || matches("+13035550100") {
		t.Errorf("revoke-keys:\n%s", out)
	}
	register("+13035550101")
	c.ok("enterprise", "token", "initech")
	if !matches("+13035550101") {
		t.Error("a plain token reissue revoked the keys")
	}
	var issued struct {
		Token       string `json:"token"`
		RevokedKeys *int   `json:"revoked_keys"`
	}
	jsonOf(t, c.ok("enterprise", "token", "initech", "--revoke-keys", "--json"), &issued)
	if issued.Token == "" || issued.RevokedKeys == nil || *issued.RevokedKeys != 1 || matches("+13035550101") {
		t.Errorf("token --revoke-keys: %+v", issued)
	}
	c.fails(1, "not found", "enterprise", "revoke-keys", "nobody")

	// Both revocations are in the audit log, as the operator on the CLI.
	out := c.ok("audit", "search", "--object", "enterprise/initech/keys")
	if n := strings.Count(out, " keys.revoke "); n != 2 || !strings.Contains(out, "operator   cli:") || !strings.Contains(out, `after:  {"revoked":1,"reason":"token reissued"}`) ||
		!strings.Contains(out, `after:  {"revoked":1}`) {
		t.Errorf("audit search of the revocations (%d keys.revoke):\n%s", n, out)
	}
}
