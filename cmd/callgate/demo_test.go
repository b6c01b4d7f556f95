package main

import (
	"os"
	"os/user"
	"path/filepath"
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

// `callgate demo --config FILE` (what `make run CONFIG=FILE` runs) follows
// the file: the demo route sends calls to screen to the B2BUA the file
// runs, and every suggested line reaches that daemon (--config on the
// operator commands and capture, the file's SIP, SCP and admin addresses),
// not the default ports where nothing of it listens.
func TestDemoFollowsItsConfiguration(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "lab.yaml")
	if err := os.WriteFile(cfg, []byte(`admin: {listen: 127.0.0.1:16464}
sip: {udp: 127.0.0.1:16060, tcp: 127.0.0.1:16060}
scp: {listen: ["0.0.0.0:16905"]}
b2bua: {udp: 127.0.0.1:16070, tcp: 127.0.0.1:16070}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &cli{t: t}
	out := c.ok("demo", "--config", cfg)
	for _, want := range []string{"--connect 127.0.0.1:16905", "-nostdin 127.0.0.1:16060", "http://127.0.0.1:16464/metrics",
		"capture --seconds 10 --output scp.pcap --config " + cfg, "log search --number " + demo.AliceNumber + " --since 1h --config " + cfg} {
		if !strings.Contains(out, want) {
			t.Errorf("demo --config: no %q in\n%s", want, out)
		}
	}
	for _, stale := range []string{":2905", ":5060", ":9464", "--data"} {
		if strings.Contains(out, stale) {
			t.Errorf("demo --config suggests %q:\n%s", stale, out)
		}
	}
	var routes []struct {
		Name   string `json:"name"`
		SIPURI string `json:"sip_uri"`
	}
	jsonOf(t, c.ok("route", "list", "--json", "--config", cfg), &routes)
	if len(routes) != 1 || routes[0].SIPURI != "sip:screen@127.0.0.1:16070" {
		t.Errorf("demo route with the B2BUA on 16070: %+v", routes)
	}
	// Without a file the route is the README's.
	d := newCLI(t)
	d.ok("demo")
	jsonOf(t, d.ok("route", "list", "--json"), &routes)
	if len(routes) != 1 || routes[0].SIPURI != demo.RouteURI {
		t.Errorf("demo route with the defaults: %+v, want %s", routes, demo.RouteURI)
	}
}
