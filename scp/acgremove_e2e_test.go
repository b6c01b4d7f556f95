package scp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callgate/e164"
	"callgate/internal/tsharktest"
	"callgate/policy"
	"callgate/simulators/ssp"
)

// TestACGRemovalEndToEnd runs the SCP on loopback TCP with the switch
// simulator, which honours ACG as a switch does. The switch calls one
// number at about 4x the SCP's capacity until it gaps it (16 s gap), then
// the load stops; once the SCP has been quiet for remove_after, the one
// call the switch lets through carries the removal (acg, national gap
// interval 0), the switch drops the control and the number's calls are
// queried again at once, not 16 s later. tshark decodes the removal as an
// AIN acg with nationalGapInterval 0, without expert warnings.
func TestACGRemovalEndToEnd(t *testing.T) {
	tsharktest.Path(t)
	cfg := testConfig()
	cfg.Overload = Overload{Capacity: 50, GapDuration: 16 * time.Second, GapInterval: 500 * time.Millisecond,
		RemoveAfter: 500 * time.Millisecond}
	reg := prometheus.NewRegistry()
	svc, err := New(cfg, &recorder{d: policy.Decision{Action: policy.ActionAllow}}, WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer svc.Shutdown(context.Background())
	cl, err := ssp.Dial(ctx, ssp.Config{Network: "tcp", Connect: []string{svc.Addr()}, RoutingContexts: []uint32{10}, Capture: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	h := &harness{s: svc, reg: reg}

	busy := ssp.TA{Calling: e164.MustParse("+17195551212"), Called: e164.MustParse("+13035550100")}
	call := func() ssp.Answer {
		t.Helper()
		a, err := cl.TerminationAttempt(ctx, busy)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	// Overload: ~200 calls/s to one number until the switch gaps it.
	for deadline := time.Now().Add(10 * time.Second); call().Operation != ssp.OutcomeGapped; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the switch was never told to gap the number")
		}
	}
	// The load stops; the switch keeps trying the number, gapped but for
	// one call per gap interval, until a call carries the removal.
	removals := 0
	for deadline := time.Now().Add(12 * time.Second); removals == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the gap was not removed within 12 s (it runs 16 s)")
		}
		for _, g := range call().ACG {
			if g.Remove {
				removals++
				if g.Code != "3035550100" {
					t.Errorf("removal for %q, want the gapped 3035550100", g.Code)
				}
			}
		}
	}
	// The calls flow again: every one is queried.
	for i := range 10 {
		a := call()
		if a.Operation != "authorizeTermination" {
			t.Fatalf("call %d after the removal: %s, want it queried and authorized", i, a.Operation)
		}
		for _, g := range a.ACG {
			if g.Remove {
				t.Errorf("call %d: a second removal", i)
			}
		}
	}
	if n := len(cl.Gaps().Controls(time.Now())); n != 0 {
		t.Errorf("the switch still holds %d controls", n)
	}
	if n := h.counter(t, "callgate_scp_acg_removed_total"); n != 1 {
		t.Errorf("acg_removed_total = %v, want 1 (one code, one switch)", n)
	}

	pcap := filepath.Join(t.TempDir(), "acg-remove.pcap")
	f, err := os.Create(pcap)
	if err != nil {
		t.Fatal(err)
	}
	if err := ssp.WritePcap(f, cl.Capture()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	rows := tsharktest.Fields(t, pcap, "ain.AcgArg_element && ain.nationalGapInterval == 0",
		"ansi_tcap.private", "ain.nationalGapInterval", "ain.gapDuration", "ain.globalTitleAddress")
	if len(rows) != 1 {
		t.Fatalf("tshark shows %d acg removals, want 1: %v", len(rows), rows)
	}
	// The acg (26881) first, then the linked authorizeTermination (25858).
	if r := rows[0]; len(r) != 4 || r[0] != "26881,25858" || r[1] != "0" || r[2] != "5" || strings.ReplaceAll(r[3], ":", "") != "0353551000" {
		t.Errorf("tshark reads the removal as %q, want ops 26881,25858, interval 0, duration 5 (16 s), code 3035550100 (BCD 0353551000)", r)
	}
	if gaps := tsharktest.Fields(t, pcap, "ain.AcgArg_element && ain.nationalGapInterval != 0", "ain.nationalGapInterval"); len(gaps) == 0 {
		t.Error("tshark shows no acg that set the gap")
	}
	if ex := tsharktest.Expert(t, pcap); len(ex) != 0 {
		t.Errorf("tshark expert info:\n%s", strings.Join(ex, "\n"))
	}
}
