package daemon

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"callgate/internal/config"
)

func TestB2BUAConfigMapping(t *testing.T) {
	c := config.Default()
	bc, _ := b2buaConfig(&c.B2BUA, &c.SIP)
	if bc.ContinueRoute != c.SIP.ContinueRoute {
		t.Errorf("continue route %q, want the SIP tier's %q", bc.ContinueRoute, c.SIP.ContinueRoute)
	}
	c.B2BUA.ContinueRoute = "sip:{called}@core.example"
	c.B2BUA.ChallengeSeed = 7
	bc, _ = b2buaConfig(&c.B2BUA, &c.SIP)
	if bc.ContinueRoute != "sip:{called}@core.example" || bc.ChallengeSeed != 7 || bc.Announcements[101] != "announcement_101.wav" ||
		bc.RTPTimeout != c.B2BUA.RTPTimeout || bc.UDP != c.B2BUA.UDP {
		t.Errorf("mapped %+v", bc)
	}
}

// Without sip.token_keys, the SIP tier and the B2BUA share one per-run key.
func TestScreeningKeysShared(t *testing.T) {
	c := config.Default()
	a, err := screeningKeys(&c.SIP, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := screeningKeys(&c.SIP, quietLogger())
	if len(a) != 1 || len(b) != 1 || !bytes.Equal(a[0].Secret, b[0].Secret) || a[0].ID != c.SIP.TokenKeyID {
		t.Errorf("keys %v and %v differ", a, b)
	}
	other := config.Default()
	o, _ := screeningKeys(&other.SIP, quietLogger())
	if bytes.Equal(o[0].Secret, a[0].Secret) {
		t.Error("two configurations share a random key")
	}
	c.SIP.TokenKeys = []config.TokenKey{{ID: 5, Secret: "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="}}
	k, err := screeningKeys(&c.SIP, quietLogger())
	if err != nil || len(k) != 1 || k[0].ID != 5 {
		t.Errorf("configured keys: %v %v", k, err)
	}
}

// config check builds the B2BUA: a prompt that is missing is reported,
// naming the file, without opening a socket.
func TestCheckB2BUA(t *testing.T) {
	c := testConfig(t)
	c.B2BUA.Enabled = true
	c.B2BUA.UDP, c.B2BUA.TCP = "127.0.0.1:0", ""
	if err := Check(&c); err != nil {
		t.Fatalf("check with the B2BUA on: %v", err)
	}
	// Defect: with the IVR configured, check refused what serve runs
	// ("IVRNumber or IVRUser is set but no store was given").
	c.B2BUA.IVRUser, c.B2BUA.IVRNumber = "ivr", "+13035550123"
	if err := Check(&c); err != nil {
		t.Fatalf("check with the IVR on: %v", err)
	}
	dir := t.TempDir()
	c.B2BUA.PromptDir = dir
	err := Check(&c)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "pin_enter.wav")) {
		t.Errorf("missing prompts: %v", err)
	}
	_ = os.Remove(dir)
}

// The daemon runs the B2BUA beside the other tiers: started, ready, its
// metrics on /metrics, stopped cleanly.
func TestB2BUATierRuns(t *testing.T) {
	cfg := testConfig(t)
	cfg.B2BUA.Enabled = true
	cfg.B2BUA.UDP, cfg.B2BUA.TCP = "127.0.0.1:0", ""
	cfg.B2BUA.RTPPortMin, cfg.B2BUA.RTPPortMax = 0, 0
	cfg.B2BUA.IVRUser, cfg.B2BUA.IVRNumber = "ivr", "+13035550900" // the IVR needs the daemon's store
	logs := &syncBuffer{}
	d := New(cfg, Options{Logger: NewLogger(logs, cfg.Log)})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tr := range d.Tiers() {
		names = append(names, tr.Name())
		if err := tr.Ready(); err != nil {
			t.Errorf("%s not ready: %v", tr.Name(), err)
		}
	}
	if !slices.Equal(names, []string{"sip", "scp", "b2bua", "api"}) {
		t.Errorf("tiers %v", names)
	}
	if code, body := get(t, "http://"+d.AdminAddr()+"/metrics"); code != 200 || !strings.Contains(body, "callgate_b2bua_sessions 0") {
		t.Errorf("/metrics: %d, lacks the B2BUA's collectors", code)
	}
	if err := d.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `tier=b2bua`) || !strings.Contains(logs.String(), "stopped cleanly") {
		t.Errorf("log:\n%s", logs)
	}
}
