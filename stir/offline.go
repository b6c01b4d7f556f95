package stir

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// Offline is one verification outside the daemon (`callgate stir verify`):
// a SIP request read from a file, a fixed clock, trust anchors and CRLs
// from files. Certificates come from Certs when given for the x5u URL,
// else they are fetched under the same rules as the daemon's (https only
// unless AllowHTTP, which is the lab setting and also admits loopback and
// private addresses).
type Offline struct {
	Invite        []byte
	At            time.Time
	Anchors       []byte            // PEM certificates (required)
	Intermediates []byte            // PEM certificates
	CRLs          []byte            // PEM (or one DER) CRLs
	Certs         map[string][]byte // x5u URL -> certificate body, instead of fetching
	AllowHTTP     bool
	Wait          time.Duration // how long to wait for fetches (default 10 s)
	Freshness     time.Duration
	Skew          time.Duration
	RequireCRL    bool
}

// Run verifies the request once.
func (o *Offline) Run(ctx context.Context) (Result, error) {
	anchors, err := parseCertificates(o.Anchors)
	if err != nil || len(o.Anchors) == 0 {
		return Result{}, fmt.Errorf("trust anchors: %v (want PEM CERTIFICATE blocks)", errOr(err, "empty"))
	}
	cfg := Config{Anchors: anchors, Freshness: o.Freshness, Skew: o.Skew, RequireCRL: o.RequireCRL, MissWait: o.Wait}
	if cfg.MissWait <= 0 {
		cfg.MissWait = 10 * time.Second
	}
	if len(o.Intermediates) > 0 {
		if cfg.Intermediates, err = parseCertificates(o.Intermediates); err != nil {
			return Result{}, fmt.Errorf("intermediates: %v", err)
		}
	}
	cache := NewCache(CacheConfig{Fetch: FetchConfig{AllowHTTP: o.AllowHTTP, AllowPrivate: o.AllowHTTP, Timeout: cfg.MissWait}})
	for url, body := range o.Certs {
		if err := cache.Seed(url, body); err != nil {
			return Result{}, err
		}
	}
	if len(o.CRLs) > 0 {
		if err := addCRLs(cache, o.CRLs); err != nil {
			return Result{}, err
		}
	}
	v, err := NewVerifier(cfg, cache)
	if err != nil {
		return Result{}, err
	}
	at := o.At
	if at.IsZero() {
		at = time.Now()
	}
	req, err := RequestFromSIP(o.Invite, at)
	if err != nil {
		return Result{}, err
	}
	return v.Verify(ctx, req), nil
}

// addCRLs adds every X509 CRL block of a PEM text (or one DER CRL).
func addCRLs(c *Cache, data []byte) error {
	rest, n := data, 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "X509 CRL" {
			continue
		}
		if err := c.AddCRL(pem.EncodeToMemory(b)); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		if err := c.AddCRL(data); err != nil {
			return errors.New("CRL file: no X509 CRL PEM block and not a DER CRL")
		}
	}
	return nil
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

// ParseCertificates reads every CERTIFICATE block of a PEM text (or one
// DER certificate), for trust anchors and intermediates from files.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	return parseCertificates(data)
}

// AddCRLs adds every X509 CRL block of a PEM text (or one DER CRL) to the
// cache's configured CRLs.
func (c *Cache) AddCRLs(data []byte) error { return addCRLs(c, data) }

// ParseECKey reads a PEM ECDSA P-256 private key (PKCS #8 or SEC 1), the
// signing key of an SP certificate.
func ParseECKey(data []byte) (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParseECPrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an ECDSA key (ES256 needs P-256)")
	}
	return ec, nil
}
