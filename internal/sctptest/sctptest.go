// Package sctptest decides what a test that needs kernel SCTP does on a
// host without it. By default it skips, saying why (many CI and container
// kernels have no sctp module, and TCP carries the same M3UA code paths);
// with CALLGATE_REQUIRE_SCTP=1 in the environment it fails instead, so a
// run meant to prove SCTP (a lab host with `modprobe sctp`) cannot pass by
// skipping.
package sctptest

import (
	"os"
	"testing"
)

// RequireEnv is the environment variable that turns a missing kernel SCTP
// from a skip into a failure.
const RequireEnv = "CALLGATE_REQUIRE_SCTP"

// Need checks kernel SCTP with probe (transport.SCTPAvailable: the probe is
// passed in so that the transport package's own tests can use this one)
// and skips or fails t when it is unavailable.
func Need(t testing.TB, probe func() error) {
	t.Helper()
	err := probe()
	if err == nil {
		return
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("kernel SCTP is required (%s=1) but unavailable: %v", RequireEnv, err)
		return
	}
	t.Skipf("skipping: kernel SCTP unavailable: %v (set %s=1 to make this a failure)", err, RequireEnv)
}
