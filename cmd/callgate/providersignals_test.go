package main

import (
	"strings"
	"testing"

	"callgate/internal/demo"
)

// `provider signals` through a running daemon shows the platform defaults
// the daemon's engine applies (from the file serve was started with), not
// those of the CLI's own configuration; with no daemon running, the CLI's
// configuration's, and the output says which.
func TestProviderSignalsShowTheDaemonsPlatformDefaults(t *testing.T) {
	dir := t.TempDir()
	(&cli{t: t, dir: dir}).ok("demo")
	r := startDaemonWith(t, dir, `
admin: {listen: "127.0.0.1:0"}
shutdown_timeout: 5s
decision_log: {no_sync: true}
sip: {udp: "127.0.0.1:0", tcp: ""}
b2bua: {udp: "127.0.0.1:0", tcp: "", rtp_port_min: 0, rtp_port_max: 0}
scp: {listen: ["127.0.0.1:0"]}
reputation: {actions: {medium: block, unknown: screen}}
keys: {on_missing: screen}
`, "")
	c := &cli{t: t}
	effective := func(out signalsOut) map[string]string {
		m := map[string]string{}
		for _, s := range out.Effective {
			m[s.Setting] = s.Action + "/" + s.From
		}
		return m
	}
	// Through the daemon: its defaults (the CLI's file has the built-in
	// medium challenge, unknown continue, key_missing block).
	var served signalsOut
	jsonOf(t, c.ok("provider", "signals", demo.Provider, "--high", "allow", "--json", "--config", r.cliCfg), &served)
	got := effective(served)
	for setting, want := range map[string]string{"reputation.medium": "block/platform", "reputation.unknown": "screen/platform",
		"key_missing": "screen/platform", "reputation.low": "allow/platform", "reputation.high": "allow/provider"} {
		if got[setting] != want {
			t.Errorf("through the daemon, %s: %q, want %q (%+v)", setting, got[setting], want, served)
		}
	}
	if served.PlatformFrom != "daemon" {
		t.Errorf("platform_from %q, want daemon", served.PlatformFrom)
	}
	if out := c.ok("provider", "signals", demo.Provider, "--config", r.cliCfg); !strings.Contains(out, "platform defaults: the running daemon's") ||
		!strings.Contains(out, "reputation.medium:  block      (platform)") {
		t.Errorf("text through the daemon:\n%s", out)
	}

	// No daemon: the CLI's configuration's defaults, said to be so.
	if code := r.stop(); code != 0 {
		t.Fatalf("serve exit %d:\n%s", code, r.logs)
	}
	var local signalsOut
	jsonOf(t, c.ok("provider", "signals", demo.Provider, "--json", "--config", r.cliCfg), &local)
	got = effective(local)
	for setting, want := range map[string]string{"reputation.medium": "challenge/platform", "reputation.unknown": "continue/platform",
		"key_missing": "block/platform", "reputation.high": "allow/provider"} {
		if got[setting] != want {
			t.Errorf("on the file, %s: %q, want %q", setting, got[setting], want)
		}
	}
	if local.PlatformFrom != "config" {
		t.Errorf("platform_from %q, want config", local.PlatformFrom)
	}
	if out := c.ok("provider", "signals", demo.Provider, "--config", r.cliCfg); !strings.Contains(out, "platform defaults: reputation.actions, keys.on_missing of "+r.cliCfg+"; no daemon runs") {
		t.Errorf("text on the file:\n%s", out)
	}
}

// signalsOut is `provider signals --json`.
type signalsOut struct {
	Effective []struct {
		Setting, Action, From string
	} `json:"effective"`
	PlatformFrom string `json:"platform_from"`
}
