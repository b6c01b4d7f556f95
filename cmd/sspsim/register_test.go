package main

import (
	"strings"
	"sync/atomic"
	"testing"

	"callgate/sigtran/m3ua"
	"callgate/simulators/ssp"
	"callgate/simulators/ssp/ssptest"
)

// TestCallRegister: with --register the switch registers its routing key
// (REG REQ) before going active and gets its answer; a key the SG refuses
// (an SCP point code it does not serve) ends the command with exit 1 and
// the Registration Status.
func TestCallRegister(t *testing.T) {
	var asked atomic.Int32
	r, err := ssptest.Start(ssptest.Config{Registrar: func(_ *m3ua.Association, k m3ua.RoutingKey) (uint32, m3ua.RegStatus) {
		asked.Add(1)
		if k.DPC != uint32(ssp.DefaultDPC) {
			return 0, m3ua.RegStatusInvalidDPC
		}
		return 10, m3ua.RegStatusSuccess
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })

	res := run(t, "", "call", "--connect", r.Addr(), "--register", "--rc", "none", "--calling", "+17195551212", "--called", "+13035550100")
	if res.code != 0 || !strings.Contains(res.out, ": authorizeTermination") || asked.Load() != 1 {
		t.Fatalf("exit %d, %d REG REQ keys\n%s\n%s", res.code, asked.Load(), res.out, res.err)
	}
	res = run(t, "", "call", "--connect", r.Addr(), "--register", "--dpc", "1-2-3", "--calling", "+17195551212", "--called", "+13035550100")
	if res.code != 1 || !strings.Contains(res.err, "REG REQ refused: local RK 1: Error - Invalid DPC") {
		t.Fatalf("refused key: exit %d\n%s\n%s", res.code, res.out, res.err)
	}
	// Without --register the provisioned RC is used and nothing is registered.
	res = run(t, "", "call", "--connect", r.Addr(), "--calling", "+17195551212", "--called", "+13035550100")
	if res.code != 0 || asked.Load() != 2 {
		t.Fatalf("without --register: exit %d, %d keys\n%s", res.code, asked.Load(), res.err)
	}
	for _, sub := range []string{"call", "load", "replay"} {
		if res = run(t, "", sub, "--help"); !strings.Contains(res.out, "--register") || !strings.Contains(res.out, "instead of relying on a provisioned routing context") {
			t.Errorf("%s --help lacks --register:\n%s", sub, res.out)
		}
	}
}
