package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"callgate/fraud"
)

// The fraud: section maps onto package fraud's Config; every bad value is
// reported with its field.
func TestFraudSection(t *testing.T) {
	c, err := Parse([]byte(`
fraud:
  interval: 1m
  default_alert: "25"
  default_lockdown: "30.50"
  scale:
    - {up_to: "10", alert: "2", lockdown: "3"}
    - {alert: "1.5", lockdown: "2"}
  time_zone: America/Chicago
  zones: {"enterprise:initech": America/New_York}
  sip_outbound_sources: ["192.0.2.10", "198.51.100.0/24"]
  cdr_files: [/var/spool/cdr.csv]
`), "fraud.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Fraud.MonitorConfig()
	if err != nil {
		t.Fatal(err)
	}
	if m.Interval != time.Minute || m.DefaultAlert != 25*fraud.Unit || m.DefaultLockdown != 30_500_000 ||
		len(m.Scale) != 2 || m.Scale[0] != (fraud.Band{UpTo: 10 * fraud.Unit, Alert: 2000, Lockdown: 3000}) ||
		m.TimeZone.String() != "America/Chicago" || m.Zones["enterprise:initech"].String() != "America/New_York" {
		t.Fatalf("%+v", m)
	}
	src, err := c.Fraud.OutboundSources()
	if err != nil || len(src) != 2 || src[0].String() != "192.0.2.10/32" {
		t.Fatalf("sources %v %v", src, err)
	}
	// The defaults are package fraud's.
	d := Default()
	dm, err := d.Fraud.MonitorConfig()
	if err != nil || dm.DefaultAlert != fraud.DefaultConfig().DefaultAlert || len(dm.Scale) != len(fraud.DefaultScale) {
		t.Fatalf("defaults: %+v %v", dm, err)
	}
	for i, b := range fraud.DefaultScale {
		if dm.Scale[i] != b {
			t.Fatalf("default band %d: %+v, want %+v", i, dm.Scale[i], b)
		}
	}

	_, err = Parse([]byte(`
fraud:
  default_alert: "ten"
  scale:
    - {up_to: "10", alert: "0.5", lockdown: "3"}
  time_zone: Mars/Olympus
  sip_outbound_sources: ["not-an-address"]
  webhook: {url: "https://hooks.example/fraud"}
`), "bad.yaml")
	var p *Problems
	if !errors.As(err, &p) {
		t.Fatalf("bad section: %v", err)
	}
	for _, want := range []string{"fraud.default_alert", "fraud.scale[0].alert", "fraud.time_zone", "fraud.sip_outbound_sources", "fraud.webhook.secret_file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no problem named %s in:\n%v", want, err)
		}
	}
	// Off, the section is not checked.
	if _, err := Parse([]byte("fraud: {enabled: false, default_alert: x}\n"), "off.yaml"); err != nil {
		t.Fatalf("disabled section checked: %v", err)
	}
}

// fraud.sync_interval (how often each node reads back the others' locks
// and rate table) reaches package fraud's Config; the default is
// package fraud's, and a value out of 10ms..1m is refused by name.
func TestFraudSyncInterval(t *testing.T) {
	c, err := Parse([]byte("fraud: {sync_interval: 250ms}\n"), "sync.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := c.Fraud.MonitorConfig(); err != nil || m.SyncInterval != 250*time.Millisecond {
		t.Fatalf("sync_interval 250ms: %v %v", m.SyncInterval, err)
	}
	d := Default()
	if m, err := d.Fraud.MonitorConfig(); err != nil || m.SyncInterval != fraud.DefaultConfig().SyncInterval {
		t.Fatalf("default: %v %v", m.SyncInterval, err)
	}
	for _, bad := range []string{"0s", "5ms", "-1s", "2m"} {
		_, err := Parse([]byte("fraud: {sync_interval: "+bad+"}\n"), "bad.yaml")
		if err == nil || !strings.Contains(err.Error(), "fraud.sync_interval") || !strings.Contains(err.Error(), "want 10ms to 1m") {
			t.Errorf("sync_interval %s: %v", bad, err)
		}
	}
}
