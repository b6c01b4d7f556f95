package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGHUP (an operator's "systemctl reload", a closed terminal) does not
// end the daemon: Go's default would exit at once, without a drain. It is
// logged; SIGTERM still stops the daemon cleanly.
func TestServeIgnoresSIGHUP(t *testing.T) {
	n := newNode(t, "hup")
	yaml := fmt.Sprintf(`data_dir: %q
shutdown_timeout: 5s
admin: {listen: %q}
decision_log: {no_sync: true}
sip: {enabled: false}
b2bua: {enabled: false}
scp: {listen: [%q]}
`, n.dir, n.admin, n.scp)
	if err := os.WriteFile(n.cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	n.start()
	n.waitReadyz("")
	if err := n.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.done:
		t.Fatalf("serve ended on SIGHUP (exit %d)\n%s", n.cmd.ProcessState.ExitCode(), n.logs())
	case <-time.After(500 * time.Millisecond):
	}
	if code, body := n.readyz(); code != 200 {
		t.Fatalf("/readyz after SIGHUP: %d %s", code, body)
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	<-n.done
	if code := n.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0\n%s", code, n.logs())
	}
	if !strings.Contains(n.logs(), "SIGHUP ignored") {
		t.Errorf("SIGHUP not logged\n%s", n.logs())
	}
}
