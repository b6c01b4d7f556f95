package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/internal/demo"
	"callgate/redirect"
	"callgate/stir"
	"callgate/stir/pki"
)

// TestStirEndToEnd: the daemon with the verification service on, the demo
// platform, a provider policy set with the CLI, INVITEs over UDP:
// a valid A Identity -> 302 with verstat Passed and the "verified" tag;
// C-attested to a provider that blocks C -> 608; tampered -> the provider's
// reject (438); the decision log shows each reason code.
func TestStirEndToEnd(t *testing.T) {
	dir := t.TempDir()
	(&cli{t: t, dir: dir}).ok("demo")
	(&cli{t: t, dir: dir}).ok("provider", "stir", demo.Provider, "--on-c", "block", "--on-failed", "reject", "--tag", "on")
	pkiDir := filepath.Join(dir, "pki")
	if _, err := pki.WriteDemo(pkiDir, "567A", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	certs := httptest.NewServer(http.FileServer(http.Dir(pkiDir)))
	defer certs.Close()
	r := startDaemonWith(t, dir, fmt.Sprintf(`
admin: {listen: "127.0.0.1:0"}
shutdown_timeout: 5s
decision_log: {no_sync: true, flush_interval: 10ms}
sip:
  udp: "127.0.0.1:0"
  tcp: ""
  reject_608: true
  stir: {verify: true, trust_anchors: %q, miss_wait: 5s, allow_http_x5u: true}
scp: {listen: ["127.0.0.1:0"]}
b2bua: {udp: "127.0.0.1:0", tcp: "", rtp_port_min: 0, rtp_port_max: 0}
`, filepath.Join(pkiDir, "root.pem")), "")
	var sipAddr net.Addr
	for _, tr := range r.d.Tiers() {
		if s, ok := tr.(*redirect.Server); ok {
			sipAddr = s.Addr("udp")
		}
	}
	if sipAddr == nil {
		t.Fatal("no SIP tier")
	}
	keyPEM, err := os.ReadFile(filepath.Join(pkiDir, "sp-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := stir.ParseECKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := stir.NewSigner(key, certs.URL+"/sp.pem")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp", sipAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const caller = "+12155551212"
	n := 0
	call := func(attest string, tamper bool) string {
		t.Helper()
		id, err := signer.Identity(stir.Claims{Attest: attest, OrigTN: caller, DestTN: []string{demo.CarolNumber}, OrigID: "e2e", Iat: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if tamper { // the signature changed in transit
			tok, params, _ := strings.Cut(id, ";")
			parts := strings.Split(tok, ".")
			parts[2] = flipFirst(parts[2])
			id = strings.Join(parts, ".") + ";" + params
		}
		n++
		msg := fmt.Sprintf("INVITE sip:%s@callgate.example;user=phone SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=z9hG4bK-e2e%d;rport\r\nMax-Forwards: 70\r\n"+
			"From: \"Alice\" <sip:%s@sbc.example;user=phone>;tag=e%d\r\nTo: <sip:%s@callgate.example;user=phone>\r\n"+
			"Call-ID: e2e-%d@test\r\nCSeq: 1 INVITE\r\nIdentity: %s\r\nContent-Length: 0\r\n\r\n",
			demo.CarolNumber, conn.LocalAddr(), n, caller, n, demo.CarolNumber, n, id)
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4096)
		m, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		return string(buf[:m])
	}
	if res := call("A", false); !strings.HasPrefix(res, "SIP/2.0 302 ") ||
		!strings.Contains(res, "\r\nP-Asserted-Identity: \"verified Alice\" <tel:+12155551212;verstat=TN-Validation-Passed>\r\n") ||
		!strings.Contains(res, "\r\nP-Attestation-Indicator: A\r\n") {
		t.Fatalf("valid A:\n%s", res)
	}
	if res := call("C", false); !strings.HasPrefix(res, "SIP/2.0 608 ") {
		t.Fatalf("C to a provider that blocks C:\n%s", res)
	}
	if res := call("A", true); !strings.HasPrefix(res, "SIP/2.0 438 Invalid Identity Header") {
		t.Fatalf("tampered to a provider that rejects failures:\n%s", res)
	}
	// The decision log: each call with its attestation and reason code.
	c := &cli{t: t}
	var recs []struct {
		Attestation string `json:"attestation"`
		StirReason  string `json:"stir_reason"`
		Action      string `json:"action"`
	}
	waitFor(t, func() bool {
		out := c.ok("log", "search", "--config", r.cliCfg, "--number", demo.CarolNumber, "--json")
		recs = nil
		jsonOf(t, out, &recs)
		return len(recs) >= 3
	})
	got := map[string]bool{}
	for _, rec := range recs {
		got[rec.Attestation+"/"+rec.StirReason+"/"+rec.Action] = true
	}
	for _, want := range []string{"A/ok/allow", "C/ok/block", "failed/signature-invalid/block"} {
		if !got[want] {
			t.Errorf("decision log lacks %s: %v", want, recs)
		}
	}
}

func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// waitFor polls cond (a deadlock guard, not a timing assertion).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
