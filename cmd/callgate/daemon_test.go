package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"callgate/daemon"
	"callgate/internal/demo"
	"callgate/store"
)

// running is a daemon serving dir in-process (what `callgate serve` does),
// on free loopback ports.
type running struct {
	d      *daemon.Daemon
	logs   *syncBuffer
	cliCfg string // a configuration for CLI commands that reaches this daemon
	stop   func() int
}

// startDaemon serves dir (seed it first); cliExtra is added to the CLI's
// configuration (YAML lines).
func startDaemon(t *testing.T, dir, cliExtra string) *running {
	t.Helper()
	return startDaemonWith(t, dir, `
admin: {listen: "127.0.0.1:0"}
shutdown_timeout: 5s
decision_log: {no_sync: true}
sip: {udp: "127.0.0.1:0", tcp: ""}
b2bua: {udp: "127.0.0.1:0", tcp: "", rtp_port_min: 0, rtp_port_max: 0}
scp: {listen: ["127.0.0.1:0"]}
`, cliExtra)
}

// startDaemonWith is startDaemon with serve's configuration given.
func startDaemonWith(t *testing.T, dir, serveYAML, cliExtra string) *running {
	t.Helper()
	cfgFile := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(cfgFile, []byte(serveYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{logs: &syncBuffer{}}
	ready := make(chan *daemon.Daemon, 1)
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: r.logs, ctx: ctx, pinCost: bcrypt.MinCost,
		serveHook: func(d *daemon.Daemon) { ready <- d }}
	done := make(chan int, 1)
	go func() { done <- e.run([]string{"serve", "--config", cfgFile, "--data", dir}) }()
	select {
	case r.d = <-ready:
	case code := <-done:
		cancel()
		t.Fatalf("serve exited %d before ready:\n%s", code, r.logs)
	}
	stopped := false
	code := 0
	r.stop = func() int {
		if !stopped {
			stopped = true
			cancel()
			code = <-done
		}
		return code
	}
	t.Cleanup(func() { r.stop() })
	r.cliCfg = filepath.Join(dir, "cli.yaml")
	if err := os.WriteFile(r.cliCfg, []byte(fmt.Sprintf("data_dir: %q\nadmin: {listen: %q}\n%s", dir, r.d.AdminAddr(), cliExtra)), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

// Defect: every operator command waited out store.lock_timeout (1 s by
// default) on the file the daemon holds before asking the daemon. Now it
// asks the daemon first: with a lock timeout of an hour, the command still
// comes back at once (before, it hung for the hour).
func TestCommandsAskTheDaemonBeforeTheStoreLock(t *testing.T) {
	dir := t.TempDir()
	c := &cli{t: t}
	(&cli{t: t, dir: dir}).ok("demo")
	r := startDaemon(t, dir, "store: {lock_timeout: 1h}\n")
	done := make(chan result, 1)
	go func() {
		done <- c.run("list", "show", "--owner", demo.Alice, "--config", r.cliCfg)
	}()
	select {
	case res := <-done:
		if res.code != 0 || !strings.Contains(res.out, demo.Mom) {
			t.Errorf("list show via the daemon: %+v", res)
		}
	case <-time.After(time.Minute): // a hang guard, not a measurement
		t.Fatal("list show waited for the store lock (lock_timeout 1h) instead of asking the running daemon")
	}
	// log search has its own file (the decision log) and asks first too.
	go func() {
		done <- c.run("log", "search", "--config", r.cliCfg)
	}()
	select {
	case res := <-done:
		if res.code != 0 {
			t.Errorf("log search via the daemon: %+v", res)
		}
	case <-time.After(time.Minute):
		t.Fatal("log search did not reach the running daemon")
	}
}

// Every change a command makes through a running daemon is in the audit
// log as the platform owner, named by the kernel's word for the socket's
// client: principal cli:USER, path cli. A PIN is in neither the audit log
// nor the daemon's log; a read or a refused change leaves no record.
func TestDaemonAuditsCLIChanges(t *testing.T) {
	dir := t.TempDir()
	(&cli{t: t, dir: dir}).ok("demo")
	r := startDaemon(t, dir, "")
	c := &cli{t: t}
	c.ok("pin", "set", demo.Carol, "--pin", "97531", "--config", r.cliCfg)
	c.stdin = "86420\n"
	c.ok("pin", "set", demo.Bob, "--config", r.cliCfg)
	c.stdin = ""
	c.ok("list", "add", "--owner", demo.Carol, "--list", "blocked", "+17195550999", "--note", "two words", "--config", r.cliCfg)
	c.ok("list", "show", "--owner", demo.Carol, "--config", r.cliCfg)
	c.fails(1, "not found", "subscriber", "delete", "nobody", "--config", r.cliCfg)
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	var recs []store.AuditRecord
	jsonOf(t, c.ok("audit", "search", "--actor", "cli:"+me.Username, "--since", "1h", "--json", "--config", r.cliCfg), &recs)
	var got []string
	for _, rec := range recs {
		if rec.Principal != "cli:"+me.Username || rec.Via != "cli" || rec.Role != "operator" {
			t.Errorf("record %+v: want principal cli:%s, via cli, role operator", rec, me.Username)
		}
		got = append(got, rec.Op+" "+rec.Object)
	}
	// The demo's own records are older (and by its seeder); newest first.
	want := []string{"list.add list/subscriber/" + demo.Carol + "/blocked", "subscriber.pin.set subscriber/" + demo.Bob + "/pin", "subscriber.pin.set subscriber/" + demo.Carol + "/pin"}
	if len(got) < len(want) || strings.Join(got[:len(want)], "\n") != strings.Join(want, "\n") {
		t.Errorf("audit records of the CLI's changes:\n%s\nwant first:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	b, _ := json.Marshal(recs)
	if code := r.stop(); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
	for _, pin := range []string{"97531", "86420"} {
		if strings.Contains(string(b), pin) || strings.Contains(r.logs.String(), pin) {
			t.Errorf("PIN %s in the audit log or the daemon's log", pin)
		}
	}
}
