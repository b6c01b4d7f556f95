package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"callgate/daemon"
	"callgate/internal/demo"
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

// Defect: the daemon ran operator changes without a trace. Now each change
// is logged with who asked and the command line, never the PIN; reads are
// not logged as changes.
func TestDaemonLogsOperatorChanges(t *testing.T) {
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
	if code := r.stop(); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
	var changes []string
	for _, l := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(l, "operator change") {
			changes = append(changes, l)
		}
	}
	want := []string{
		`command="callgate pin set carol --pin=***"`,
		`command="callgate pin set bob"`,
		`command="callgate list add --owner carol --list blocked +17195550999 --note \"two words\""`,
		`command="callgate subscriber delete nobody" exit=1`,
	}
	if len(changes) != len(want) {
		t.Fatalf("%d changes logged, want %d:\n%s", len(changes), len(want), strings.Join(changes, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(changes[i], w) || !strings.Contains(changes[i], "peer=127.0.0.1:") || !strings.Contains(changes[i], "user=") {
			t.Errorf("change %d: %s\nwant %s, the peer and the user", i, changes[i], w)
		}
	}
	if strings.Contains(r.logs.String(), "97531") || strings.Contains(r.logs.String(), "86420") {
		t.Errorf("a PIN reached the daemon's log:\n%s", r.logs)
	}
}
