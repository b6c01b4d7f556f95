package store

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// This file holds what the signal packages (keys/) need of an enterprise
// beyond its numbers: the brand shown on its verified calls, the hash of
// its API token, and the trunk and onward route of SIP enrolment. It is
// kept apart from tenants.go so the store's own restructuring does not
// have to carry it; the fields live in Enterprise.Signals (one JSON value
// with the enterprise, no schema change).

// Brand is what a called party is shown for an enterprise's call that
// carried a matching call key.
type Brand struct {
	Name    string `json:"name,omitempty"`     // display name (SIP display-name, AIN GenericName/DisplayText)
	LogoURL string `json:"logo_url,omitempty"` // optional https URL of a logo (SIP Call-Info purpose=icon)
	Reason  string `json:"reason,omitempty"`   // optional call reason
}

// IsZero reports whether no brand is set.
func (b Brand) IsZero() bool { return b.Name == "" && b.LogoURL == "" && b.Reason == "" }

// EnterpriseSignals is an enterprise's spoof-protection settings.
type EnterpriseSignals struct {
	Brand Brand `json:"brand,omitzero"`
	// TokenHash is SHA-256 of the secret half of the enterprise's API
	// token (see IssueToken); nil = no token, the REST API refuses it.
	// The secret is 32 random bytes, so a fast hash is enough: there is
	// nothing to guess.
	TokenHash []byte `json:"token_hash,omitempty"`
	// Trunk is the address (IP, or CIDR prefix) INVITEs for SIP
	// enrolment come from; "" = SIP enrolment is off for the enterprise.
	Trunk string `json:"trunk,omitempty"`
	// Onward is the SIP URI an enrolled INVITE is redirected to (302
	// Contact), with {called} and {calling} filled in.
	Onward string `json:"onward,omitempty"`
}

// Validate checks the settings, naming the field and the fix.
func (g *EnterpriseSignals) Validate() error {
	if len(g.Brand.Name) > 64 {
		return fmt.Errorf("brand name %q: %w (longer than 64 characters)", g.Brand.Name, ErrInvalid)
	}
	for _, c := range g.Brand.Name + g.Brand.Reason {
		if c < 0x20 || c == 0x7f || c == '"' || c == '\\' {
			return fmt.Errorf("brand %q: %w (control characters, quotes and backslashes cannot be shown)", g.Brand.Name+" "+g.Brand.Reason, ErrInvalid)
		}
	}
	if len(g.Brand.Reason) > 128 {
		return fmt.Errorf("brand reason: %w (longer than 128 characters)", ErrInvalid)
	}
	if u := g.Brand.LogoURL; u != "" && (!strings.HasPrefix(u, "https://") || strings.ContainsAny(u, " <>\"")) {
		return fmt.Errorf("brand logo URL %q: %w (want an https:// URL without spaces, quotes or angle brackets)", u, ErrInvalid)
	}
	if g.TokenHash != nil && len(g.TokenHash) != sha256.Size {
		return fmt.Errorf("token hash: %w (%d bytes, want %d)", ErrInvalid, len(g.TokenHash), sha256.Size)
	}
	if g.Trunk != "" {
		if _, err := ParseTrunk(g.Trunk); err != nil {
			return err
		}
	}
	if o := g.Onward; o != "" && !(strings.HasPrefix(o, "sip:") || strings.HasPrefix(o, "sips:")) {
		return fmt.Errorf("onward route %q: %w (want a sip: or sips: URI, e.g. sip:{called}@carrier.example)", o, ErrInvalid)
	}
	if (g.Trunk == "") != (g.Onward == "") {
		return fmt.Errorf("SIP enrolment needs both a trunk and an onward route (trunk %q, onward %q): %w", g.Trunk, g.Onward, ErrInvalid)
	}
	return nil
}

// ParseTrunk reads a trunk: an IP address or a CIDR prefix.
func ParseTrunk(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("trunk %q: %w (want an IP address such as 192.0.2.10 or a prefix such as 192.0.2.0/24)", s, ErrInvalid)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// TokenMatches reports, in constant time, whether secret is the secret of
// the enterprise's API token.
func (g *EnterpriseSignals) TokenMatches(secret []byte) bool {
	if len(g.TokenHash) != sha256.Size {
		return false
	}
	h := sha256.Sum256(secret)
	return subtle.ConstantTimeCompare(h[:], g.TokenHash) == 1
}

// UpdateEnterpriseSignals changes an enterprise's signal settings: fn
// edits a copy, which is validated and written in one transaction. fn may
// run more than once (a concurrent change to the enterprise makes the
// store plan again); the last run's result is what is stored.
func (s *Store) UpdateEnterpriseSignals(actor Actor, name string, fn func(*EnterpriseSignals) error) (Enterprise, error) {
	var out Enterprise
	err := s.write(func(t *txn) error {
		st, err := s.ix.enterpriseByNameAs(actor, name)
		if err != nil {
			return err
		}
		id := st.rec.ID
		if err := actor.checkRevision("enterprise "+name, st.mod); err != nil {
			return err
		}
		out = st.rec
		out.Numbers = slices.Clone(out.Numbers)
		out.Signals.TokenHash = slices.Clone(out.Signals.TokenHash)
		if err := fn(&out.Signals); err != nil {
			return err
		}
		if err := out.Signals.Validate(); err != nil {
			return fmt.Errorf("enterprise %s: %w", name, err)
		}
		t.cmp(idKey(bEnterprises, id), st.mod)
		if err := t.putJSON(idKey(bEnterprises, id), &out); err != nil {
			return err
		}
		return t.audit(actor, "enterprise.signals", "enterprise/"+name, entScope(out), entAudit(st.rec), entAudit(out))
	})
	if err != nil {
		return Enterprise{}, fmt.Errorf("update enterprise: %w", err)
	}
	return out, nil
}

// EnterpriseInfo returns the enterprise with internal ID id, sharing its
// slices with the index (callers must not modify them; the index never
// changes a published record in place). Hot-path safe: one read lock, no
// allocation; the call path reads the brand here.
func (s *Store) EnterpriseInfo(id uint32) (*Enterprise, bool) {
	s.ix.mu.RLock()
	var e *Enterprise
	if int(id) < len(s.ix.ents) && s.ix.ents[id] != nil {
		e = &s.ix.ents[id].rec
	}
	s.ix.mu.RUnlock()
	return e, e != nil
}
