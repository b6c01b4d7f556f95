package stir_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/stir"
	"callgate/stir/pki"
)

// Interoperability with a verifier and signer that are not ours: the
// Debian secsipidx CLI (scripts/test-deps.sh installs it). secsipidx
// stamps iat with the real clock, so this test's PKI is built around now.

func secsipidx(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("secsipidx")
	if err != nil {
		t.Fatal("secsipidx not installed: run scripts/test-deps.sh (Debian package secsipidx)")
	}
	return path
}

type interop struct {
	dir     string
	keyPath string
	crtPath string
	key     *ecdsa.PrivateKey
	v       *stir.Verifier
}

const interopX5U = "https://cert.example.net/interop.pem"

func newInterop(t *testing.T) *interop {
	now := time.Now()
	p, err := pki.New(now.Add(-time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	leaf, key, err := p.IssueSP(pki.SP{SPC: "567A"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := &interop{dir: dir, key: key.(*ecdsa.PrivateKey),
		keyPath: filepath.Join(dir, "sp-key.pem"), crtPath: filepath.Join(dir, "sp.pem")}
	keyPEM, _ := pki.KeyPEM(key)
	if err := os.WriteFile(in.keyPath, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in.crtPath, pki.PEM(leaf), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := stir.NewCache(stir.CacheConfig{})
	if err := cache.Seed(interopX5U, pki.PEM(leaf, p.Inter)); err != nil {
		t.Fatal(err)
	}
	if in.v, err = stir.NewVerifier(stir.Config{Anchors: []*x509.Certificate{p.Root}}, cache); err != nil {
		t.Fatal(err)
	}
	return in
}

// TestSecsipidxSigns: secsipidx -sign-full makes the whole Identity value;
// callgate verifies it.
func TestSecsipidxSigns(t *testing.T) {
	bin := secsipidx(t)
	in := newInterop(t)
	for _, attest := range []string{"A", "B", "C"} {
		out, err := exec.Command(bin, "-sign-full", "-orig-tn", "12155551212", "-dest-tn", "12155550100",
			"-attest", attest, "-orig-id", "3a47ac02-5c44-4c6f-8cd6-7bf36ff0e4f0", "-x5u", interopX5U, "-k", in.keyPath).CombinedOutput()
		if err != nil {
			t.Fatalf("secsipidx -sign-full: %v: %s", err, out)
		}
		id := strings.TrimSpace(string(out))
		req, err := stir.RequestFromSIP(defaultInvite("Identity: "+id).bytes(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		r := in.v.Verify(context.Background(), req)
		if r.Verdict != stir.VerdictValid || r.Attestation.String() != attest || r.OrigID != "3a47ac02-5c44-4c6f-8cd6-7bf36ff0e4f0" {
			t.Fatalf("secsipidx %s: %+v\nIdentity: %s", attest, r, id)
		}
		// The same header with its PASSporT tampered: secsipidx's signature no longer holds.
		tampered := strings.Replace(id, ".", ".e30", 1)
		req.Identity = []string{tampered}
		if r := in.v.Verify(context.Background(), req); r.Verdict != stir.VerdictInvalid {
			t.Fatalf("tampered secsipidx PASSporT: %+v", r)
		}
	}
}

// TestSecsipidxVerifies: callgate signs; secsipidx -check verifies the full
// Identity value with the SP certificate's key, and refuses it once a byte
// of the signature changes.
func TestSecsipidxVerifies(t *testing.T) {
	bin := secsipidx(t)
	in := newInterop(t)
	s, err := stir.NewSigner(in.key, interopX5U)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Identity(stir.Claims{Attest: "B", OrigTN: "+12155551212", DestTN: []string{"+12155550100"}, OrigID: stir.NewOrigID(), Iat: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	check := func(identity string) (string, error) {
		out, err := exec.Command(bin, "-check", "-identity", identity, "-p", in.crtPath, "-expire", "60").CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := check(id); err != nil || out != "ok" {
		t.Fatalf("secsipidx -check on our Identity: %v: %s\n%s", err, out, id)
	}
	tok, params, _ := strings.Cut(id, ";")
	sig := tok[strings.LastIndexByte(tok, '.')+1:]
	flipped := tok[:len(tok)-len(sig)] + flip(sig) + ";" + params
	if out, err := check(flipped); err == nil && out == "ok" {
		t.Fatal("secsipidx accepted a changed signature: the check proves nothing")
	}
}

// flip changes the first base64url character of s.
func flip(s string) string {
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}
