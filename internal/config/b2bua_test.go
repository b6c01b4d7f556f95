package config

import (
	"strings"
	"testing"
	"time"
)

func TestB2BUASection(t *testing.T) {
	c, err := Parse([]byte("b2bua: {enabled: true}\n"), "on.yaml")
	if err != nil {
		t.Fatalf("defaults with b2bua on: %v", err)
	}
	if c.B2BUA.UDP != "127.0.0.1:5070" || c.B2BUA.Announcements["101"] != "announcement_101.wav" ||
		c.B2BUA.PINLockFailures != 5 || c.B2BUA.PINLockWindow != 15*time.Minute || c.B2BUA.PINLockPeriod != 15*time.Minute {
		t.Errorf("defaults %+v", c.B2BUA)
	}
	bad := `
b2bua:
  enabled: true
  udp: ""
  tcp: ""
  not_for_us: 500
  reject_mode: loud
  rtp_port_min: 20000
  rtp_port_max: 0
  ring_timeout: 0s
  pin_tries: 0
  pin_lock_failures: 0
  pin_lock_window: 500ms
  pin_lock_period: 200h
  continue_route: "http://x"
  announcements: {0: x.wav}
`
	_, err = Parse([]byte(bad), "bad.yaml")
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"b2bua.enabled", "b2bua.not_for_us", "b2bua.reject_mode", "b2bua.rtp_port_min",
		"b2bua.ring_timeout", "b2bua.pin_tries", "b2bua.continue_route", "b2bua.announcements",
		"b2bua.pin_lock_failures", "b2bua.pin_lock_window", "b2bua.pin_lock_period"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no %s in %v", want, err)
		}
	}
	if _, err := Parse([]byte("b2bua: {nope: 1}\n"), "typo.yaml"); err == nil || !strings.Contains(err.Error(), `unknown field "nope" in b2bua`) {
		t.Errorf("unknown field: %v", err)
	}
}
