package stir_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"callgate/stir"
	"callgate/stir/pki"
)

// t0 is the fixed clock of every test: calls "arrive" then.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	x5uGood     = "https://cert.example.net/sp.pem"
	x5uExpired  = "https://cert.example.net/expired.pem"
	x5uFuture   = "https://cert.example.net/future.pem"
	x5uCA       = "https://cert.example.net/ca.pem"
	x5uNoDS     = "https://cert.example.net/no-digitalsignature.pem"
	x5uNoTN     = "https://cert.example.net/no-tnauthlist.pem"
	x5uCritical = "https://cert.example.net/critical-tnauthlist.pem"
	x5uForeign  = "https://cert.example.net/foreign.pem"
	x5uRevoked  = "https://cert.example.net/revoked.pem"
	x5uRSA      = "https://cert.example.net/rsa.pem"
	x5uHTTP     = "http://cert.example.net/sp.pem"
	x5uUncached = "https://cert.example.net/never-fetched.pem"

	revokedSerial = 7777
)

// fixture is a test PKI with one SP certificate per defect, all seeded in
// the cache (no network).
type fixture struct {
	pki     *pki.PKI
	foreign *pki.PKI // an STI-CA nobody configured
	keys    map[string]crypto.Signer
	bodies  map[string][]byte
}

var theFixture *fixture

func getFixture(t testing.TB) *fixture {
	t.Helper()
	if theFixture != nil {
		return theFixture
	}
	p, err := pki.New(t0.Add(-30*24*time.Hour), "http://crl.example.net/inter.crl")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := pki.NewNamed("foreign", t0.Add(-30*24*time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{pki: p, foreign: foreign, keys: map[string]crypto.Signer{}, bodies: map[string][]byte{}}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for url, sp := range map[string]pki.SP{
		x5uGood:     {SPC: "1234"},
		x5uExpired:  {SPC: "1234", NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.Add(-time.Second)},
		x5uFuture:   {SPC: "1234", NotBefore: t0.Add(time.Hour)},
		x5uCA:       {SPC: "1234", IsCA: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign},
		x5uNoDS:     {SPC: "1234", KeyUsage: x509.KeyUsageKeyEncipherment},
		x5uNoTN:     {},
		x5uCritical: {SPC: "1234", Critical: true},
		x5uForeign:  {SPC: "1234", SelfIssuedBy: foreign},
		x5uRevoked:  {SPC: "1234", Serial: revokedSerial},
		x5uRSA:      {SPC: "1234", Key: rsaKey},
	} {
		if url == x5uNoTN {
			sp.Name = "SHAKEN no TNAuthList"
		}
		cert, key, err := p.IssueSP(sp)
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		issuer := p.Inter
		if sp.SelfIssuedBy != nil {
			issuer = foreign.Inter
		}
		f.keys[url] = key
		f.bodies[url] = pki.PEM(cert, issuer)
	}
	theFixture = f
	return f
}

// verifier returns a verifier over a cache seeded with every fixture
// certificate, plus the given CRLs (DER). With no CRL, the intermediate's
// empty CRL valid around t0 is used.
func (f *fixture) verifier(t testing.TB, cfg stir.Config, crls ...[]byte) *stir.Verifier {
	t.Helper()
	cache := stir.NewCache(stir.CacheConfig{})
	for url, body := range f.bodies {
		if err := cache.Seed(url, body); err != nil {
			t.Fatal(err)
		}
	}
	if crls == nil {
		crl, err := f.pki.CRL([]*big.Int{big.NewInt(revokedSerial)}, t0.Add(-time.Hour), t0.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		crls = [][]byte{crl}
	}
	for _, c := range crls {
		if err := cache.AddCRL(c); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Anchors = []*x509.Certificate{f.pki.Root}
	v, err := stir.NewVerifier(cfg, cache)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The default PASSporT of the corpus, as JSON text (mutated by cases).
func defaultHeader(x5u string) string {
	return `{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"` + x5u + `"}`
}

func defaultClaims(iat int64) string {
	return fmt.Sprintf(`{"attest":"A","dest":{"tn":["12155550100"]},"iat":%d,"orig":{"tn":"12155551212"},"origid":"123e4567-e89b-12d3-a456-426614174000"}`, iat)
}

var b64 = base64.RawURLEncoding

// signRaw signs header and claims JSON text as given (no re-encoding),
// with a raw R||S ES256 signature (or PKCS #1 v1.5 for an RSA key).
func signRaw(t testing.TB, key crypto.Signer, header, claims string) string {
	t.Helper()
	in := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(claims))
	sum := sha256.Sum256([]byte(in))
	var sig []byte
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	default: // ES256 cannot be made with this key: 64 bytes that do not verify
		sig = append(sum[:], sum[:]...)
	}
	return in + "." + b64.EncodeToString(sig)
}

// invite is a SIP INVITE with the given Identity header lines (each a full
// "Name: value" line) and From/To/PAI.
type invite struct {
	ruri     string
	from, to string
	pai      string // "" = no P-Asserted-Identity
	identity []string
}

func defaultInvite(identity ...string) invite {
	return invite{
		ruri:     "sip:+12155550100@callgate.example.net",
		from:     `"Alice" <sip:+12155551212@carrier.example.com;user=phone>;tag=a1`,
		to:       `<sip:+12155550100@callgate.example.net;user=phone>`,
		pai:      `<sip:+12155551212@carrier.example.com;user=phone>`,
		identity: identity,
	}
}

func (in invite) bytes() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "INVITE %s SIP/2.0\r\n", in.ruri)
	b.WriteString("Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1\r\n")
	b.WriteString("Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\n", in.from, in.to)
	if in.pai != "" {
		fmt.Fprintf(&b, "P-Asserted-Identity: %s\r\n", in.pai)
	}
	b.WriteString("Call-ID: corpus-1@192.0.2.10\r\nCSeq: 1 INVITE\r\n")
	for _, id := range in.identity {
		b.WriteString(id + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return []byte(b.String())
}

func verifyInvite(t testing.TB, v *stir.Verifier, in invite, at time.Time) stir.Result {
	t.Helper()
	req, err := stir.RequestFromSIP(in.bytes(), at)
	if err != nil {
		t.Fatal(err)
	}
	return v.Verify(context.Background(), req)
}

func (f *fixture) verifierAnchors() []*x509.Certificate { return []*x509.Certificate{f.pki.Root} }

func (f *fixture) keysECDSA(url string) *ecdsa.PrivateKey { return f.keys[url].(*ecdsa.PrivateKey) }
