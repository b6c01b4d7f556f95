// Package pki makes a SHAKEN test PKI (ATIS-1000080 shaped): an STI-CA root,
// an intermediate, service-provider certificates with a TNAuthList holding
// an SPC, and CRLs. Tests use it to build every certificate defect, and
// `callgate stir pki demo DIR` writes one for labs. None of it is for
// production: the keys are generated in memory and written unencrypted.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"callgate/stir"
)

// PKI is an STI-CA root and intermediate.
type PKI struct {
	Now        time.Time // the issue time everything is relative to
	Root       *x509.Certificate
	RootKey    *ecdsa.PrivateKey
	Inter      *x509.Certificate
	InterKey   *ecdsa.PrivateKey
	CRLURL     string // distribution point put in SP certificates ("" = none)
	nextSerial int64
}

// New makes a root (valid 10 years) and an intermediate (5 years) from now.
// crlURL is the distribution point SP certificates will name.
func New(now time.Time, crlURL string) (*PKI, error) {
	return NewNamed("callgate test", now, crlURL)
}

// NewNamed is New with the CAs' names starting with name ("NAME STI-CA
// root", "NAME STI-CA intermediate").
func NewNamed(name string, now time.Time, crlURL string) (*PKI, error) {
	p := &PKI{Now: now, CRLURL: crlURL, nextSerial: 1000}
	var err error
	if p.RootKey, err = NewKey(); err != nil {
		return nil, err
	}
	root := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name + " STI-CA root", Organization: []string{"callgate lab"}},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true,
	}
	if p.Root, err = p.issue(root, nil, nil, &p.RootKey.PublicKey); err != nil {
		return nil, err
	}
	if p.InterKey, err = NewKey(); err != nil {
		return nil, err
	}
	inter := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name + " STI-CA intermediate", Organization: []string{"callgate lab"}},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
	}
	if p.Inter, err = p.issue(inter, p.Root, p.RootKey, &p.InterKey.PublicKey); err != nil {
		return nil, err
	}
	return p, nil
}

// NewKey makes an ECDSA P-256 key.
func NewKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

func (p *PKI) issue(tmpl, parent *x509.Certificate, parentKey crypto.Signer, pub crypto.PublicKey) (*x509.Certificate, error) {
	p.nextSerial++
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(p.nextSerial)
	}
	if parent == nil {
		parent = tmpl
		parentKey = p.RootKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		return nil, fmt.Errorf("pki: issuing %q: %w", tmpl.Subject.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

// SP describes a service-provider certificate; the zero value (but for
// SPC) is a correct SHAKEN certificate. The other fields make defects.
type SP struct {
	SPC          string        // Service Provider Code ("" = no TNAuthList)
	Name         string        // common name (default "SHAKEN <SPC>")
	NotBefore    time.Time     // default Now - 1 h
	NotAfter     time.Time     // default Now + 1 year
	KeyUsage     x509.KeyUsage // default digitalSignature
	IsCA         bool          // a CA certificate (a defect for an SP)
	Critical     bool          // mark TNAuthList critical
	Key          crypto.Signer // default: a new P-256 key
	SelfIssuedBy *PKI          // issue from another PKI's intermediate (an untrusted one)
	Serial       int64         // default: the next serial
}

// IssueSP issues a service-provider certificate under the intermediate
// and returns it with its key.
func (p *PKI) IssueSP(sp SP) (*x509.Certificate, crypto.Signer, error) {
	key := sp.Key
	if key == nil {
		k, err := NewKey()
		if err != nil {
			return nil, nil, err
		}
		key = k
	}
	name := sp.Name
	if name == "" {
		name = "SHAKEN " + sp.SPC
	}
	t := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name, Organization: []string{"callgate lab SP"}},
		NotBefore:             orDefault(sp.NotBefore, p.Now.Add(-time.Hour)),
		NotAfter:              orDefault(sp.NotAfter, p.Now.AddDate(1, 0, 0)),
		KeyUsage:              sp.KeyUsage,
		BasicConstraintsValid: true, IsCA: sp.IsCA,
	}
	if t.KeyUsage == 0 {
		t.KeyUsage = x509.KeyUsageDigitalSignature
	}
	if sp.Serial != 0 {
		t.SerialNumber = big.NewInt(sp.Serial)
	}
	if p.CRLURL != "" {
		t.CRLDistributionPoints = []string{p.CRLURL}
	}
	if sp.SPC != "" {
		v, err := stir.MarshalTNAuthList(sp.SPC)
		if err != nil {
			return nil, nil, err
		}
		t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: stir.OIDTNAuthList, Critical: sp.Critical, Value: v})
	}
	issuer, issuerKey := p.Inter, p.InterKey
	if sp.SelfIssuedBy != nil {
		issuer, issuerKey = sp.SelfIssuedBy.Inter, sp.SelfIssuedBy.InterKey
	}
	c, err := p.issue(t, issuer, issuerKey, key.Public())
	return c, key, err
}

func orDefault(t, d time.Time) time.Time {
	if t.IsZero() {
		return d
	}
	return t
}

// CRL returns a DER CRL of the intermediate revoking serials, valid from
// thisUpdate to nextUpdate.
func (p *PKI) CRL(serials []*big.Int, thisUpdate, nextUpdate time.Time) ([]byte, error) {
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: thisUpdate})
	}
	p.nextSerial++
	return x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(p.nextSerial), ThisUpdate: thisUpdate, NextUpdate: nextUpdate,
		RevokedCertificateEntries: entries,
	}, p.Inter, p.InterKey)
}

// RootCRL returns a DER CRL of the root revoking serials (intermediates).
func (p *PKI) RootCRL(serials []*big.Int, thisUpdate, nextUpdate time.Time) ([]byte, error) {
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: thisUpdate})
	}
	p.nextSerial++
	return x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(p.nextSerial), ThisUpdate: thisUpdate, NextUpdate: nextUpdate,
		RevokedCertificateEntries: entries,
	}, p.Root, p.RootKey)
}

// PEM encodes certificates as a PEM text.
func PEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// KeyPEM encodes a private key (PKCS #8).
func KeyPEM(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// CRLPEM encodes a DER CRL as PEM.
func CRLPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// Demo is what WriteDemo wrote.
type Demo struct {
	Files []string
}

// WriteDemo writes a lab PKI into dir: root.pem (the trust anchor),
// intermediate.pem, sp.pem (the SP certificate followed by the
// intermediate: what an x5u URL serves), sp-key.pem, crl.pem (empty CRL
// valid 30 days). spc is the Service Provider Code; crlURL the
// distribution point (may be "").
func WriteDemo(dir, spc, crlURL string, now time.Time) (Demo, error) {
	if spc == "" {
		return Demo{}, errors.New("pki: a Service Provider Code is required")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Demo{}, err
	}
	p, err := New(now, crlURL)
	if err != nil {
		return Demo{}, err
	}
	leaf, key, err := p.IssueSP(SP{SPC: spc})
	if err != nil {
		return Demo{}, err
	}
	keyPEM, err := KeyPEM(key)
	if err != nil {
		return Demo{}, err
	}
	crl, err := p.CRL(nil, now.Add(-time.Hour), now.AddDate(0, 0, 30))
	if err != nil {
		return Demo{}, err
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"root.pem", PEM(p.Root), 0o644},
		{"intermediate.pem", PEM(p.Inter), 0o644},
		{"sp.pem", PEM(leaf, p.Inter), 0o644},
		{"sp-key.pem", keyPEM, 0o600},
		{"crl.pem", CRLPEM(crl), 0o644},
	}
	var d Demo
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, f.data, f.mode); err != nil {
			return d, err
		}
		d.Files = append(d.Files, path)
	}
	return d, nil
}
