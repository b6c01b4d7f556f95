package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/internal/demo"
	"callgate/redirect"
	"callgate/scp/ain"
	"callgate/simulators/ssp"
)

const fraudRates = `prefix,category,price_per_minute,description
1,domestic,0.01,US and Canada
1876,international,0.60,Jamaica
1900,premium,3.00,NANP premium
44,international,1.00,United Kingdom
`

// The acceptance of the fraud monitor through the daemon: a group that
// spends past its lockdown threshold has its international and premium
// calls refused on AIN (Info_Analyzed -> disconnect) and on SIP (an
// INVITE from an originating trunk -> 603) while its domestic calls and
// other groups' calls go through; the operator sees it, unlocks it with a
// reason through the CLI (run by the daemon, audited with the kernel's
// word for who), and the calls go through again.
func TestFraudLockdownOnBothTiers(t *testing.T) {
	dir := t.TempDir()
	c := &cli{t: t, dir: dir}
	c.ok("demo")
	rates := filepath.Join(dir, "rates.csv")

	// A bad rate table: every bad row by line, nothing imported.
	os.WriteFile(rates, []byte(fraudRates+"33,intl,0.5\n0044,international,1\n"), 0o600)
	r := c.fails(1, "rates.csv:6: category \"intl\"", "fraud", "rates", "import", rates)
	if !strings.Contains(r.err, "rates.csv:7: prefix \"0044\": starts with 0") {
		t.Fatalf("second bad row not reported:\n%s", r.err)
	}
	os.WriteFile(rates, []byte(fraudRates), 0o600)
	if out := c.ok("fraud", "rates", "import", rates); !strings.Contains(out, "version 1: 4 rows") {
		t.Fatalf("import: %s", out)
	}

	d := startDaemonWith(t, dir, `
admin: {listen: "127.0.0.1:0"}
shutdown_timeout: 5s
decision_log: {no_sync: true}
sip: {udp: "127.0.0.1:0", tcp: ""}
b2bua: {udp: "127.0.0.1:0", tcp: "", rtp_port_min: 0, rtp_port_max: 0}
scp: {listen: ["127.0.0.1:0"]}
fraud: {sip_outbound_sources: ["127.0.0.1"]}
`, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var sipAddr, scpAddr string
	for _, tr := range d.d.Tiers() {
		if st, ok := tr.(*redirect.Server); ok {
			sipAddr = st.Addr("udp").String()
		}
		if st, ok := tr.(interface{ Addr() string }); ok && tr.Name() == "scp" {
			scpAddr = st.Addr()
		}
	}
	sw, err := ssp.Dial(ctx, ssp.Config{Connect: []string{scpAddr}, RoutingContexts: []uint32{10}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	conn, err := net.Dial("udp", sipAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cseq := 0
	// ask places line's call to dialled on both tiers and returns the AIN
	// answer and the SIP status code.
	ask := func(line, dialled string) (string, string) {
		t.Helper()
		dn, err := ain.ParseDN(strings.TrimPrefix(line, "+1"))
		if err != nil {
			t.Fatal(err)
		}
		noa, digits := ain.NOANational, strings.TrimPrefix(dialled, "+1")
		if !strings.HasPrefix(dialled, "+1") {
			noa, digits = ain.NOAInternational, strings.TrimPrefix(dialled, "+")
		}
		to, err := ain.ParseDigits(digits, noa)
		if err != nil {
			t.Fatal(err)
		}
		ans, err := sw.Invoke(ctx, ain.OpInfoAnalyzed, (&ain.InfoAnalyzedArg{UserID: ain.UserIDFromDN(dn), CalledPartyID: ain.Some(to)}).Marshal(nil))
		if err != nil {
			t.Fatal(err)
		}
		cseq++
		status := sipAsk(t, conn, dialled, line, cseq)
		return ans.Operation, strings.Fields(status)[1]
	}
	const london, premium, domestic = "+442079460000", "+19005550100", demo.Stranger
	if a, s := ask(demo.AliceNumber, london); a != "continue" || s != "302" {
		t.Fatalf("before any spend: AIN %s, SIP %s", a, s)
	}

	// The mediation system reports Alice's 12 minutes to London (12.00).
	end := time.Now()
	body := fmt.Sprintf("%s,%s,%s,720\n", demo.AliceNumber, london, end.Add(-12*time.Minute).UTC().Format(time.RFC3339))
	resp, err := http.Post("http://"+d.d.AdminAddr()+"/fraud/cdrs", "text/csv", strings.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CDR post: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := d.d.Fraud().Recompute(); err != nil { // what the 5-minute loop does
		t.Fatal(err)
	}

	for _, tc := range []struct{ name, line, dialled, ain, sip string }{
		{"locked, international", demo.AliceNumber, london, "disconnect", "603"},
		{"locked, Caribbean", demo.AliceNumber, "+18765550100", "disconnect", "603"},
		{"locked, premium", demo.AliceNumber, premium, "disconnect", "603"},
		{"locked, domestic", demo.AliceNumber, domestic, "continue", "302"},
		{"other group, international", demo.BobNumber, london, "continue", "302"},
	} {
		if a, s := ask(tc.line, tc.dialled); a != tc.ain || s != tc.sip {
			t.Errorf("%s: AIN %s, SIP %s; want %s, %s", tc.name, a, s, tc.ain, tc.sip)
		}
	}

	// The operator's view, through the daemon.
	cc := &cli{t: t}
	out := cc.ok("fraud", "status", "--config", d.cliCfg)
	if !strings.Contains(out, "subscriber alice") || !strings.Contains(out, "LOCKED since") || !strings.Contains(out, "1 locked") {
		t.Fatalf("status:\n%s", out)
	}
	out = cc.ok("fraud", "status", demo.AliceNumber, "--config", d.cliCfg)
	if !strings.Contains(out, "thresholds alert 20.00, lockdown 22.00 (x2") || !strings.Contains(out, "spend      12.") {
		t.Fatalf("status of alice:\n%s", out)
	}
	cc.fails(2, "needs --reason", "fraud", "unlock", demo.Alice, "--config", d.cliCfg)
	cc.fails(1, "too short", "fraud", "unlock", demo.Alice, "--reason", "ok", "--config", d.cliCfg)
	out = cc.ok("fraud", "unlock", demo.Alice, "--reason", "customer confirmed the London calls (ticket 77)", "--config", d.cliCfg)
	if !strings.Contains(out, "Unlocked subscriber alice") {
		t.Fatalf("unlock: %s", out)
	}
	if a, s := ask(demo.AliceNumber, london); a != "continue" || s != "302" {
		t.Errorf("after the unlock: AIN %s, SIP %s", a, s)
	}
	var h struct {
		Events []struct {
			Kind, Actor, Reason string
		} `json:"events"`
	}
	jsonOf(t, cc.ok("fraud", "history", demo.Alice, "--json", "--config", d.cliCfg), &h)
	if len(h.Events) != 3 || h.Events[0].Kind != "unlock" || h.Events[0].Reason != "customer confirmed the London calls (ticket 77)" ||
		!strings.HasPrefix(h.Events[0].Actor, "cli:"+loginName()+" ") || h.Events[1].Kind != "lockdown" || h.Events[2].Kind != "alert" {
		t.Fatalf("history: %+v", h)
	}
	// callgate_fraud_* are in /metrics.
	if _, m := httpGet(t, "http://"+d.d.AdminAddr()+"/metrics"); !strings.Contains(m, `callgate_fraud_group_spend{group="subscriber:alice"} 12.0`) {
		t.Errorf("metrics lack alice's spend")
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("serve exit %d:\n%s", code, d.logs)
	}
	// Without the daemon the state is read from the store.
	out = c.ok("fraud", "status", demo.Alice)
	if !strings.Contains(out, "not locked") || !strings.Contains(out, "completed 12.00") {
		t.Fatalf("status from the store:\n%s", out)
	}
}
