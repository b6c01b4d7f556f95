package main

import (
	"os/user"
	"testing"

	"callgate/store"
)

// The demo data is audited like every other write of the CLI: the
// platform owner as cli:USER, via cli (it was "(unnamed) via library").
func TestDemoAuditedAsTheCLIUser(t *testing.T) {
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	c := newCLI(t)
	c.ok("demo")
	var recs []store.AuditRecord
	jsonOf(t, c.ok("audit", "search", "--limit", "1000", "--json"), &recs)
	if len(recs) == 0 {
		t.Fatal("the demo left no audit records")
	}
	for _, r := range recs {
		if r.Principal != "cli:"+me.Username || r.Via != "cli" || r.Role != "operator" {
			t.Errorf("%s %s audited as %q via %q (%s), want cli:%s via cli", r.Op, r.Object, r.Principal, r.Via, r.Role, me.Username)
		}
	}
}
