package main

import (
	"os/user"
	"strings"
	"testing"

	"callgate/internal/demo"
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

// While a daemon serves the store, `callgate demo` seeds through its API
// (it refused before: the daemon holds the file): the demo calls get
// their decisions from the running daemon at once, a second run creates
// nothing twice, and the writes are audited as cli:USER via cli.
func TestDemoThroughARunningDaemon(t *testing.T) {
	dir := t.TempDir()
	r := startDaemon(t, dir, "") // serve creates the empty store
	c := &cli{t: t}
	first := c.ok("demo", "--config", r.cliCfg)
	for _, want := range []string{"through the running daemon", "created:", "provider demo-telco", "subscriber alice"} {
		if !strings.Contains(first, want) {
			t.Errorf("demo through the daemon lacks %q:\n%s", want, first)
		}
	}
	for _, try := range demo.Decisions {
		args := append(strings.Fields(demo.DecideCommand("callgate", "", try))[1:], "--json", "--config", r.cliCfg)
		var res struct {
			Decision struct {
				Action string `json:"action"`
			} `json:"decision"`
			Source string `json:"source"`
		}
		jsonOf(t, c.ok(args...), &res)
		if res.Decision.Action != try.Expect || res.Source != "daemon" {
			t.Errorf("%s: the daemon answers %s (source %s), want %s", try.What, res.Decision.Action, res.Source, try.Expect)
		}
	}
	var again struct {
		Source  string   `json:"source"`
		Created []string `json:"created"`
		Updated []string `json:"updated"`
	}
	jsonOf(t, c.ok("demo", "--json", "--config", r.cliCfg), &again)
	if again.Source != "daemon" || len(again.Created) != 0 || len(again.Updated) != 5 {
		t.Errorf("second demo through the daemon: %+v", again)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	var recs []store.AuditRecord
	jsonOf(t, c.ok("audit", "search", "--object", "subscriber/"+demo.Alice, "--json", "--config", r.cliCfg), &recs)
	if len(recs) == 0 {
		t.Fatal("no audit record of the demo's alice")
	}
	for _, rec := range recs {
		if rec.Principal != "cli:"+me.Username || rec.Via != "cli" {
			t.Errorf("%s %s audited as %q via %q, want cli:%s via cli", rec.Op, rec.Object, rec.Principal, rec.Via, me.Username)
		}
	}
	if code := r.stop(); code != 0 {
		t.Fatalf("serve exit %d:\n%s", code, r.logs)
	}
}
