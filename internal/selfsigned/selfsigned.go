// Package selfsigned makes a self-signed TLS certificate for one IP
// address: for a simulator's TLS listener when it is given none, and for
// the tests of every TLS listener. The certificate is its own authority
// (a CA certificate), so a peer given its PEM as a CA file trusts it, and
// it serves both ends of a connection (server and client auth).
package selfsigned

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Cert is a certificate for one IP address and its P-256 key.
type Cert struct {
	TLS     tls.Certificate // for a tls.Config
	CertPEM []byte          // the certificate, PEM
	KeyPEM  []byte          // the key, PEM (EC PRIVATE KEY)
}

// New makes a certificate for ip valid from a minute ago for valid.
func New(ip string, valid time.Duration) (*Cert, error) {
	addr := net.ParseIP(ip)
	if addr == nil {
		return nil, fmt.Errorf("self-signed certificate: %q is not an IP address", ip)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: ip},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(valid),
		IPAddresses: []net.IP{addr}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Cert{
		TLS:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	}, nil
}

// Write writes c into dir as cert.pem, key.pem and both.pem (the two in
// one file, as baresip's sip_certificate wants) and returns their paths.
func (c *Cert) Write(dir string) (cert, key, both string, err error) {
	cert, key, both = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "both.pem")
	for f, b := range map[string][]byte{cert: c.CertPEM, key: c.KeyPEM, both: append(append([]byte(nil), c.CertPEM...), c.KeyPEM...)} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			return "", "", "", err
		}
	}
	return cert, key, both, nil
}
