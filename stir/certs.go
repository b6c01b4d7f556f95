package stir

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"time"
)

// checkLeaf runs the checks of an SP certificate (ATIS-1000080 §6.4) that
// depend neither on time nor on trust: an ECDSA P-256 key, not a CA,
// keyUsage with digitalSignature, and a TNAuthList holding an SPC.
func checkLeaf(leaf *x509.Certificate) *fail {
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return failf(ReasonCertKey, "certificate key is not ECDSA P-256 (ES256 needs one)")
	}
	if leaf.BasicConstraintsValid && leaf.IsCA {
		return failf(ReasonCertCA, "certificate %q is a CA certificate, not an SP certificate", leaf.Subject.CommonName)
	}
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return failf(ReasonCertKeyUse, "certificate %q keyUsage lacks digitalSignature", leaf.Subject.CommonName)
	}
	var ext []byte
	for _, e := range leaf.Extensions {
		if e.Id.Equal(OIDTNAuthList) {
			if ext != nil {
				return failf(ReasonCertTN, "certificate has two TNAuthList extensions")
			}
			ext = e.Value
		}
	}
	if ext == nil {
		return failf(ReasonCertTN, "certificate %q has no TNAuthList extension (RFC 8226)", leaf.Subject.CommonName)
	}
	l, err := ParseTNAuthList(ext)
	if err != nil {
		return failf(ReasonCertTN, "certificate %q: %v", leaf.Subject.CommonName, err)
	}
	if len(l.SPCs) == 0 {
		return failf(ReasonCertTN, "certificate %q TNAuthList has no Service Provider Code", leaf.Subject.CommonName)
	}
	return nil
}

// chainMemo remembers a chain verification for the window in which its
// answer holds: all certificates of the path valid, and one CRL version.
type chainMemo struct {
	owner       *Verifier
	from, until time.Time
	chain       []*x509.Certificate // leaf first, anchor last
	err         *fail               // a trust failure (time-independent), or nil
}

// checkChain builds a path from the leaf to a configured trust anchor at
// time at, through the configured intermediates and those served with the
// leaf; the system roots are never consulted.
func (v *Verifier) checkChain(cv *certValue, at time.Time) ([]*x509.Certificate, *fail) {
	if m := cv.memo.Load(); m != nil && m.owner == v {
		if m.err != nil {
			return nil, m.err
		}
		if !at.Before(m.from) && !at.After(m.until) {
			return m.chain, nil
		}
	}
	leaf := cv.leaf
	if at.Before(leaf.NotBefore) || at.After(leaf.NotAfter) {
		return nil, failf(ReasonCertDates, "certificate %q valid %s to %s, not at %s", leaf.Subject.CommonName,
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	inter := v.intermediates
	if len(cv.extra) > 0 {
		inter = v.intermediates.Clone()
		for _, c := range cv.extra {
			inter.AddCert(c)
		}
	}
	// We handle TNAuthList ourselves; x509 would refuse a critical one as unknown.
	vl := leaf
	if len(leaf.UnhandledCriticalExtensions) > 0 {
		cp := *leaf
		cp.UnhandledCriticalExtensions = slices.DeleteFunc(slices.Clone(leaf.UnhandledCriticalExtensions),
			func(o asn1.ObjectIdentifier) bool { return OIDTNAuthList.Equal(o) })
		vl = &cp
	}
	chains, err := vl.Verify(x509.VerifyOptions{
		Roots:         v.anchors,
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		f := chainFailure(err)
		if f.reason != ReasonCertDates {
			cv.memo.Store(&chainMemo{owner: v, err: f})
		}
		return nil, f
	}
	var caErr *fail
	for _, chain := range chains {
		if caErr = checkCAs(chain); caErr == nil {
			from, until := leaf.NotBefore, leaf.NotAfter
			for _, c := range chain[1:] {
				from = maxTime(from, c.NotBefore)
				until = minTime(until, c.NotAfter)
			}
			cv.memo.Store(&chainMemo{owner: v, from: from, until: until, chain: chain})
			return chain, nil
		}
	}
	cv.memo.Store(&chainMemo{owner: v, err: caErr})
	return nil, caErr
}

// checkCAs checks what crypto/x509 leaves out: a CA with a keyUsage
// extension must have keyCertSign.
func checkCAs(chain []*x509.Certificate) *fail {
	for _, c := range chain[1:] {
		if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
			return failf(ReasonCertCA, "CA certificate %q keyUsage lacks keyCertSign", c.Subject.CommonName)
		}
	}
	return nil
}

func chainFailure(err error) *fail {
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) {
		switch inv.Reason {
		case x509.Expired:
			return failf(ReasonCertDates, "certificate chain: %v", err)
		case x509.NotAuthorizedToSign, x509.TooManyIntermediates, x509.CANotAuthorizedForThisName,
			x509.CANotAuthorizedForExtKeyUsage:
			return failf(ReasonCertCA, "certificate chain: %v", err)
		}
	}
	return failf(ReasonCertTrust, "no path to a configured STI-CA trust anchor: %v", err)
}

// checkRevocation looks every certificate of the path below the anchor up
// in its issuer's CRL: a configured one, else the one at the certificate's
// distribution point (fetched in the background). A revoked intermediate
// fails the call like a revoked leaf.
func (v *Verifier) checkRevocation(ctx context.Context, cv *certValue, chain []*x509.Certificate, at, waitUntil time.Time, res *Result) *fail {
	for i := 0; i+1 < len(chain); i++ {
		serial := cv.serial
		if i > 0 {
			serial = chain[i].SerialNumber.String()
		}
		if f := v.checkRevoked(ctx, chain[i], serial, chain[i+1], at, waitUntil, res); f != nil {
			return f
		}
	}
	return nil
}

func (v *Verifier) checkRevoked(ctx context.Context, cert *x509.Certificate, serial string, issuer *x509.Certificate, at, waitUntil time.Time, res *Result) *fail {
	lists := v.cache.staticCRLs(issuer)
	var dpErr error
	if len(lists) == 0 {
		for _, dp := range cert.CRLDistributionPoints {
			cl := v.cache.crl(ctx, dp, waitLeft(waitUntil))
			if cl == nil {
				dpErr = errors.New(dp + ": not fetched yet")
				continue
			}
			if cl.list == nil {
				dpErr = errors.New(dp + ": " + cl.err.Error())
				continue
			}
			lists = append(lists, cl.list)
			break
		}
	}
	if len(lists) == 0 {
		if len(cert.CRLDistributionPoints) == 0 {
			return nil // nothing to check against
		}
		if v.cfg.RequireCRL {
			return failf(ReasonCRLMissing, "CRL for %q unavailable: %v", cert.Subject.CommonName, dpErr)
		}
		res.Warnings = append(res.Warnings, "crl-unavailable: "+dpErr.Error())
		return nil
	}
	current := false
	var stale error
	for _, l := range lists {
		if err := l.checkSignature(issuer); err != nil {
			return failf(ReasonCRL, "CRL of %q: signature: %v", issuer.Subject.CommonName, err)
		}
		// A revocation stays a revocation, even in a CRL past its nextUpdate.
		if t, ok := l.revoked[serial]; ok && !at.Before(t) {
			return failf(ReasonRevoked, "certificate %q (serial %s) revoked at %s", cert.Subject.CommonName,
				serial, t.UTC().Format(time.RFC3339))
		}
		// RFC 5280 §6.3.3: a CRL past its nextUpdate (or not yet issued by
		// our clock, less the skew allowed for iat) leaves the status
		// undetermined. That is a CRL not available, not a bad one: the CA's
		// server being late must not fail every call of its SPs.
		if at.Add(v.cfg.Skew).Before(l.ThisUpdate) || (!l.NextUpdate.IsZero() && at.After(l.NextUpdate)) {
			stale = fmt.Errorf("CRL of %q valid %s to %s, not at %s", issuer.Subject.CommonName,
				l.ThisUpdate.UTC().Format(time.RFC3339), l.NextUpdate.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
			continue
		}
		current = true
	}
	if !current {
		if v.cfg.RequireCRL {
			return failf(ReasonCRLMissing, "no current CRL for %q: %v", cert.Subject.CommonName, stale)
		}
		res.Warnings = append(res.Warnings, "crl-unavailable: "+stale.Error())
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
