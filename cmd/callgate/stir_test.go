package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const stirCorpus = "../../testdata/stir"

// TestStirVerifyCorpus runs `callgate stir verify --json` over the
// committed corpus and checks every verdict, reason, response code and
// attestation against its manifest.
func TestStirVerifyCorpus(t *testing.T) {
	c := &cli{t: t}
	var entries []struct {
		File, Name, Verdict, Reason, Attestation string
		At                                       int64
		ResponseCode                             int `json:"response_code"`
	}
	data, err := os.ReadFile(filepath.Join(stirCorpus, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	jsonOf(t, string(data), &entries)
	var urls map[string]string
	b, err := os.ReadFile(filepath.Join(stirCorpus, "certs/urls.json"))
	if err != nil {
		t.Fatal(err)
	}
	jsonOf(t, string(b), &urls)
	base := []string{"stir", "verify", "--json", "--trust-anchors", filepath.Join(stirCorpus, "root.pem"),
		"--crl", filepath.Join(stirCorpus, "crl.pem"), "--timeout", "1ms"}
	for url, file := range urls {
		base = append(base, "--cert", url+"="+filepath.Join(stirCorpus, "certs", file))
	}
	for _, e := range entries {
		out := c.ok(append(base, "--invite", filepath.Join(stirCorpus, e.File), "--at", strconv.FormatInt(e.At, 10))...)
		var got stirVerifyOutput
		jsonOf(t, out, &got)
		if got.Verdict != e.Verdict || got.Reason != e.Reason || got.ResponseCode != e.ResponseCode || got.Attestation != e.Attestation {
			t.Errorf("%s: got %+v, want %s/%s/%d/%s", e.Name, got, e.Verdict, e.Reason, e.ResponseCode, e.Attestation)
		}
		if want := map[string]string{"valid": "TN-Validation-Passed", "invalid": "TN-Validation-Failed", "none": "No-TN-Validation"}[e.Verdict]; got.Verstat != want {
			t.Errorf("%s: verstat %s, want %s", e.Name, got.Verstat, want)
		}
	}
}

// TestStirLab: pki demo -> sign -> verify with the certificate fetched
// over plain http from a lab server (--allow-http-x5u), and refused
// without that setting; usage errors exit 2.
func TestStirLab(t *testing.T) {
	c := &cli{t: t}
	dir := t.TempDir()
	out := c.ok("stir", "pki", "demo", dir, "--spc", "567A")
	for _, f := range []string{"root.pem", "intermediate.pem", "sp.pem", "sp-key.pem", "crl.pem"} {
		if !strings.Contains(out, filepath.Join(dir, f)) {
			t.Fatalf("pki demo did not write %s:\n%s", f, out)
		}
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	invite := filepath.Join(dir, "invite.sip")
	os.WriteFile(invite, []byte("INVITE sip:+12155550100@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"+
		"From: <sip:+12155551212@example.com>;tag=1\r\nTo: <sip:+12155550100@example.net>\r\nCall-ID: 1@x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"), 0o644)
	at := strconv.FormatInt(time.Now().Unix(), 10)
	signed := c.ok("stir", "sign", "--invite", invite, "--key", filepath.Join(dir, "sp-key.pem"), "--x5u", srv.URL+"/sp.pem",
		"--attest", "B", "--origid", "gw-7", "--at", at)
	if !strings.Contains(signed, "\r\nIdentity: ") || !strings.HasSuffix(signed, "\r\n\r\n") {
		t.Fatalf("signed INVITE:\n%s", signed)
	}
	signedFile := filepath.Join(dir, "signed.sip")
	os.WriteFile(signedFile, []byte(signed), 0o644)
	verify := []string{"stir", "verify", "--json", "--invite", signedFile, "--at", at, "--trust-anchors", filepath.Join(dir, "root.pem")}
	var got stirVerifyOutput
	jsonOf(t, c.ok(append(verify, "--allow-http-x5u")...), &got)
	if got.Verdict != "valid" || got.Attestation != "B" || got.OrigID != "gw-7" || got.Verstat != "TN-Validation-Passed" {
		t.Fatalf("lab verify: %+v", got)
	}
	jsonOf(t, c.ok(verify...), &got)
	if got.Verdict != "invalid" || got.Reason != "x5u-scheme" || got.ResponseCode != 436 {
		t.Fatalf("http x5u without the lab setting: %+v", got)
	}
	c.fails(2, "trust-anchors", "stir", "verify", "--invite", signedFile)
	c.fails(2, "--at", "stir", "verify", "--invite", signedFile, "--trust-anchors", "x", "--at", "yesterday")
	c.fails(1, "no such file", "stir", "verify", "--invite", filepath.Join(dir, "missing.sip"), "--trust-anchors", filepath.Join(dir, "root.pem"))
	c.fails(1, "attestation", "stir", "sign", "--invite", invite, "--key", filepath.Join(dir, "sp-key.pem"), "--x5u", srv.URL+"/sp.pem", "--attest", "D")
	var sj map[string]string
	jsonOf(t, c.ok("stir", "sign", "--json", "--invite", invite, "--key", filepath.Join(dir, "sp-key.pem"), "--x5u", srv.URL+"/sp.pem", "--attest", "A"), &sj)
	if !strings.Contains(sj["identity"], ";info=<"+srv.URL+"/sp.pem>;alg=ES256;ppt=shaken") || sj["origid"] == "" {
		t.Fatalf("sign --json: %v", sj)
	}
}

// TestDecideAttestation: `decide --attestation` shows the provider's
// STIR/SHAKEN policy at work, with the attestation step in the trace.
func TestDecideAttestation(t *testing.T) {
	c := newCLI(t)
	c.ok("demo")
	c.ok("provider", "stir", "demo-telco", "--on-c", "screen", "--on-failed", "reject", "--tag", "on", "--verified-tag", "[V]")
	out := c.ok("decide", "--calling", "+12155551212", "--called", "+13035550102", "--attestation", "failed")
	for _, want := range []string{"STIR/SHAKEN attestation failed", "decision:      block", "reject:", "attestation       apply"} {
		if !strings.Contains(out, want) {
			t.Fatalf("decide --attestation failed lacks %q:\n%s", want, out)
		}
	}
	if out := c.ok("decide", "--calling", "+12155551212", "--called", "+13035550102", "--attestation", "B"); !strings.Contains(out, `display tag:   "[V]"`) {
		t.Fatalf("decide --attestation B:\n%s", out)
	}
	if out := c.ok("provider", "stir", "demo-telco"); !strings.Contains(out, "C-attested calls:   screen") {
		t.Fatalf("provider stir:\n%s", out)
	}
	c.fails(2, "want none, A, B, C or failed", "decide", "--called", "+13035550102", "--attestation", "D")
	c.fails(2, "want allow, screen, block or reject", "provider", "stir", "demo-telco", "--on-c", "maybe")
}
