package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"callgate/internal/demo"
)

// TestFraudThroughTheAPI: with api: enabled the daemon's fraud monitor
// answers /api/v1/fraud: a rate table and CDRs sent through the API lock
// a group at the next recompute, `callgate fraud status` (forwarded to the
// same daemon) sees it, and an unlock through the API is in the group's
// history with the token that made it.
func TestFraudThroughTheAPI(t *testing.T) {
	dir := t.TempDir()
	seed := &cli{t: t, dir: dir}
	seed.ok("demo")
	r := startDaemonWith(t, dir, `
admin: {listen: "127.0.0.1:0"}
api: {enabled: true, listen: "127.0.0.1:0"}
shutdown_timeout: 5s
decision_log: {no_sync: true}
sip: {udp: "127.0.0.1:0", tcp: ""}
b2bua: {udp: "127.0.0.1:0", tcp: "", rtp_port_min: 0, rtp_port_max: 0}
scp: {enabled: false}
fraud: {enabled: true, interval: 1s}
`, "")
	c := &cli{t: t}
	var out struct{ Token string }
	jsonOf(t, c.ok("admin", "bootstrap", "--json", "--config", r.cliCfg), &out)
	var base string
	for _, tier := range r.d.Tiers() {
		if tier.Name() == "api" {
			base = tier.Describe()
		}
	}
	call := func(method, path, ctype, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+out.Token)
		req.Header.Set("Content-Type", ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := call("POST", "/fraud/rates?source=rates.csv", "text/csv", "1,domestic,0.01\n1900,premium,3.00\n"); code != 201 {
		t.Fatalf("rates import: %d %s", code, body)
	}
	start := time.Now().Add(-10 * time.Minute).UTC().Format(time.RFC3339)
	if code, body := call("POST", "/fraud/cdrs", "text/csv", demo.AliceNumber+",+19005550100,"+start+",240\n"); code != 200 {
		t.Fatalf("CDR: %d %s", code, body)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if code, body := call("GET", "/fraud/groups/"+demo.Alice, "", ""); code == 200 && strings.Contains(body, `"locked": true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("alice not locked after 12.00 of premium calls")
		}
	}
	if st := c.ok("fraud", "status", "--config", r.cliCfg); !strings.Contains(st, "LOCKED") {
		t.Fatalf("callgate fraud status:\n%s", st)
	}
	if code, body := call("POST", "/fraud/groups/"+demo.AliceNumber+"/unlock", "application/json", `{"reason":"customer confirmed the premium calls"}`); code != 200 {
		t.Fatalf("unlock: %d %s", code, body)
	}
	if h := c.ok("fraud", "history", demo.Alice, "--config", r.cliCfg); !strings.Contains(h, `unlock subscriber alice by token `) ||
		!strings.Contains(h, "as operator via api") {
		t.Fatalf("callgate fraud history:\n%s", h)
	}
}
