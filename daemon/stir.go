package daemon

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"callgate/e164"
	"callgate/internal/config"
	"callgate/redirect"
	"callgate/stir"
	"callgate/store"
)

// stirConfig maps sip.stir onto the redirect server's STIR/SHAKEN fields:
// the verification service (trust anchors, intermediates and CRLs read
// from their files, a certificate cache under the fetcher's limits) and the
// authentication service (the signing key, the originators, and the store
// telling which enterprise a calling number belongs to). Every problem is
// reported at once.
func stirConfig(c *config.SIPStir, view store.View, rc *redirect.Config) error {
	var errs []error
	read := func(field, path string) []byte {
		if path == "" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("sip.stir.%s: %w", field, err))
		}
		return b
	}
	if c.Verify {
		cache := stir.NewCache(stir.CacheConfig{Fetch: stir.FetchConfig{AllowHTTP: c.AllowHTTPX5U, AllowPrivate: c.AllowHTTPX5U}})
		vc := stir.Config{Freshness: c.Freshness, Skew: c.Skew, MissWait: c.MissWait, RequireCRL: c.RequireCRL}
		if b := read("trust_anchors", c.TrustAnchors); b != nil {
			var err error
			if vc.Anchors, err = stir.ParseCertificates(b); err != nil {
				errs = append(errs, fmt.Errorf("sip.stir.trust_anchors: %s: %w", c.TrustAnchors, err))
			}
		}
		if b := read("intermediates", c.Intermediates); b != nil {
			var err error
			if vc.Intermediates, err = stir.ParseCertificates(b); err != nil {
				errs = append(errs, fmt.Errorf("sip.stir.intermediates: %s: %w", c.Intermediates, err))
			}
		}
		if b := read("crl_file", c.CRLFile); b != nil {
			if err := cache.AddCRLs(b); err != nil {
				errs = append(errs, fmt.Errorf("sip.stir.crl_file: %s: %w", c.CRLFile, err))
			}
		}
		if len(errs) == 0 {
			v, err := stir.NewVerifier(vc, cache)
			if err != nil {
				errs = append(errs, fmt.Errorf("sip.stir: %w", err))
			}
			rc.Verifier = v
		}
	}
	if c.SignKeyFile != "" {
		if b := read("sign_key_file", c.SignKeyFile); b != nil {
			key, err := stir.ParseECKey(b)
			if err != nil {
				errs = append(errs, fmt.Errorf("sip.stir.sign_key_file: %s: %w", c.SignKeyFile, err))
			} else if rc.Signer, err = stir.NewSigner(key, c.SignX5U); err != nil {
				errs = append(errs, fmt.Errorf("sip.stir.sign_x5u: %w", err))
			}
		}
	}
	owners, hasStore := view.(enterpriseStore)
	for i, o := range c.Originators {
		ro := redirect.Originator{Name: o.Name, OrigID: o.OrigID}
		for _, src := range o.Sources {
			p, err := config.ParsePrefix(src)
			if err != nil {
				errs = append(errs, fmt.Errorf("sip.stir.originators[%d].sources: %w", i, err))
				continue
			}
			ro.Sources = append(ro.Sources, p)
		}
		if o.Customer != "" {
			// The customer is an enterprise; its ID is what NumberOwner
			// returns. Without a store (config check) the name stands.
			ro.Customer = o.Customer
			if hasStore {
				ent, err := owners.GetEnterprise(store.Operator, o.Customer)
				if err != nil {
					errs = append(errs, fmt.Errorf("sip.stir.originators[%d].customer: enterprise %q: %w (create it with callgate enterprise create)", i, o.Customer, err))
				}
				ro.Customer = strconv.FormatUint(uint64(ent.ID), 10)
			}
		}
		rc.Originators = append(rc.Originators, ro)
	}
	if hasStore && len(c.Originators) > 0 {
		rc.NumberOwner = func(n e164.Number) (string, bool) {
			id, ok := owners.Enterprise(n)
			if !ok {
				return "", false
			}
			return strconv.FormatUint(uint64(id), 10), true
		}
	}
	return errors.Join(errs...)
}

// enterpriseStore is what the authentication service reads from the store
// (the daemon's *store.Store has it; config check's stand-in does not).
type enterpriseStore interface {
	Enterprise(calling e164.Number) (uint32, bool)
	GetEnterprise(actor store.Actor, name string) (store.Enterprise, error)
}
