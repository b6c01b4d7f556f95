package daemon

import (
	"context"
	"testing"
	"time"
)

// The monitor the daemon runs reads back the shared state every
// fraud.sync_interval (before, always package fraud's 1s).
func TestFraudSyncIntervalConfigured(t *testing.T) {
	withTiers(t, &fakeTier{name: "one", ev: &events{}})
	cfg := testConfig(t)
	cfg.Fraud.SyncInterval = 250 * time.Millisecond
	d := New(cfg, Options{Logger: quietLogger()})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown()
	if got := d.Fraud().Config().SyncInterval; got != 250*time.Millisecond {
		t.Errorf("the monitor's SyncInterval %s, want fraud.sync_interval 250ms", got)
	}
}
