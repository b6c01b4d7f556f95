package daemon

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"

	"callgate/b2bua"
	"callgate/e164"
	"callgate/internal/config"
	"callgate/policy/token"
	"callgate/store"
)

// b2buaSpec is the SIP B2BUA (package b2bua), from the b2bua: section.
var b2buaSpec = tierSpec{
	name:    "b2bua",
	section: "b2bua",
	reads:   []string{"sip"},
	enabled: func(c *config.Config) bool { return c.B2BUA.Enabled },
	listeners: func(c *config.Config) []listener {
		return []listener{
			{"udp", c.B2BUA.UDP, "b2bua.udp"},
			{"tcp", c.B2BUA.TCP, "b2bua.tcp"},
			{"tcp", c.B2BUA.TLS, "b2bua.tls"},
		}
	},
	build: func(c *config.Config, d *Deps) (Tier, error) {
		bc, err := b2buaConfig(&c.B2BUA, &c.SIP)
		if err != nil {
			return nil, err
		}
		keys, err := screeningKeys(&c.SIP, d.Logger)
		if err != nil {
			return nil, err
		}
		opts := []b2bua.Option{
			b2bua.WithGuard(d.Guard), b2bua.WithTokenKeys(keys),
			b2bua.WithRoutingNumbers(routingNumbers(d.View)),
			b2bua.WithDecisionLog(d.DecisionLog), b2bua.WithRegisterer(d.Registerer),
			b2bua.WithLogger(d.Logger.With("tier", "b2bua")), b2bua.WithFail(d.Fail),
		}
		if p, ok := d.View.(b2bua.PINChecker); ok {
			opts = append(opts, b2bua.WithPINChecker(p))
		}
		if st, ok := d.View.(b2bua.IVRStore); ok {
			opts = append(opts, b2bua.WithIVR(st))
		}
		return b2bua.New(bc, opts...)
	},
}

// b2buaConfig maps the b2bua: section onto b2bua.Config: the one place the
// section is translated (b2bua.New checks the result). An empty
// continue_route is the SIP tier's.
func b2buaConfig(c *config.B2BUA, sip *config.SIP) (b2bua.Config, error) {
	cont := c.ContinueRoute
	if cont == "" {
		cont = sip.ContinueRoute
	}
	ann := make(map[uint32]string, len(c.Announcements))
	for key, f := range c.Announcements {
		id, err := c.AnnouncementID(key)
		if err != nil {
			return b2bua.Config{}, fmt.Errorf("b2bua.announcements: %w", err)
		}
		ann[id] = f
	}
	return b2bua.Config{
		UDP: c.UDP, TCP: c.TCP, Advertise: c.Advertise,
		TLS: c.TLS, TLSCertFile: c.TLSCertFile, TLSKeyFile: c.TLSKeyFile, TLSCAFile: c.TLSCAFile,
		TLSClientCAFile: c.TLSClientCAFile,
		TLSNoSRTP:       !c.TLSSRTP,
		RTPPortMin:      c.RTPPortMin, RTPPortMax: c.RTPPortMax,
		MaxSessions: c.MaxSessions, RetryAfter: c.RetryAfter,
		ContinueRoute: cont, VoicemailRoute: c.VoicemailRoute,
		NotForUs: c.NotForUs, RejectMode: c.RejectMode,
		PromptDir: c.PromptDir, Announcements: ann,
		PINMaxDigits: c.PINMaxDigits, PINTries: c.PINTries,
		PINLockFailures: c.PINLockFailures, PINLockWindow: c.PINLockWindow, PINLockPeriod: c.PINLockPeriod,
		ChallengeDigits: c.ChallengeDigits, ChallengeTime: c.ChallengeTime,
		ChallengeTries: c.ChallengeTries, ChallengeSeed: c.ChallengeSeed,
		NameMax: c.NameMax, NameSilence: c.NameSilence,
		DecideTimeout: c.DecideTimeout, PINFirstDigit: c.PINFirstDigit, DigitTimeout: c.DigitTimeout,
		RingTimeout: c.RingTimeout, DecisionTimeout: c.DecisionTimeout, RTPTimeout: c.RTPTimeout,
		PINWorkers: c.PINWorkers, PINQueue: c.PINQueue,
		IVRNumber: c.IVRNumber, IVRUser: c.IVRUser,
	}, nil
}

// routingNumbers tells the B2BUA which numbers are egress routes' routing
// numbers (a gateway INVITE to one, diverted from a subscriber, is
// screened), as the live store has them.
func routingNumbers(v store.View) func(e164.Number) bool {
	if rs, ok := v.(interface {
		Routes() ([]store.Route, string)
	}); ok {
		return func(n e164.Number) bool {
			routes, _ := rs.Routes()
			for _, r := range routes {
				if r.RoutingNumber == n {
					return true
				}
			}
			return false
		}
	}
	return func(n e164.Number) bool { r, ok := v.EgressRoute(0); return ok && r.RoutingNumber == n }
}

// runKeys holds the per-run screening-token key made when sip.token_keys
// is empty, so the SIP tier signs and the B2BUA verifies with the same one
// (both are built from the same configuration).
var runKeys sync.Map // *config.SIP -> []token.Key

// screeningKeys are the screening-token keys of sip.token_keys, or one
// random per-run key (made once per configuration) when none is set.
func screeningKeys(c *config.SIP, log *slog.Logger) ([]token.Key, error) {
	secrets, err := c.TokenSecrets()
	if err != nil {
		return nil, err
	}
	var keys []token.Key
	for id, s := range secrets {
		keys = append(keys, token.Key{ID: id, Secret: s})
	}
	if len(keys) > 0 {
		return keys, nil
	}
	if k, ok := runKeys.Load(c); ok {
		return k.([]token.Key), nil
	}
	secret := make([]byte, token.MinSecretLen)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("make a screening-token key: %w", err)
	}
	k, loaded := runKeys.LoadOrStore(c, []token.Key{{ID: c.TokenKeyID, Secret: secret}})
	if !loaded {
		log.Info("sip: no token_keys configured; screening tokens are signed with a random per-run key (set sip.token_keys when the B2BUA runs in another process)")
	}
	return k.([]token.Key), nil
}
