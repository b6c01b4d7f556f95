package daemon

import (
	"log/slog"

	"callgate/internal/config"
	"callgate/redirect"
)

// sipSpec is the SIP redirect server (package redirect), from the sip:
// section.
var sipSpec = tierSpec{
	name:    "sip",
	section: "sip",
	reads:   []string{"fraud"}, // fraud.sip_outbound_sources: the originating trunks
	enabled: func(c *config.Config) bool { return c.SIP.Enabled },
	listeners: func(c *config.Config) []listener {
		return []listener{
			{"udp", c.SIP.UDP, "sip.udp"},
			{"tcp", c.SIP.TCP, "sip.tcp"},
			{"tcp", c.SIP.TLS, "sip.tls"},
		}
	},
	build: func(c *config.Config, d *Deps) (Tier, error) {
		rc, err := sipConfig(&c.SIP, d.Logger)
		if err != nil {
			return nil, err
		}
		if err := stirConfig(&c.SIP.Stir, d.View, &rc); err != nil {
			return nil, err
		}
		if c.Fraud.Enabled {
			// Outgoing calls from the originating trunks (see daemon/fraud.go).
			if rc.OriginatingSources, err = c.Fraud.OutboundSources(); err != nil {
				return nil, err
			}
		}
		opts := append([]redirect.Option{redirect.WithRegisterer(d.Registerer), redirect.WithFailFunc(d.Fail)}, sipEnrolment(c, d)...)
		return redirect.New(rc, d.Decider, opts...)
	},
}

// sipConfig maps the sip: section onto redirect.Config: the one place the
// section is translated. It reads the token keys' secret files.
func sipConfig(c *config.SIP, log *slog.Logger) (redirect.Config, error) {
	keys, err := screeningKeys(c, log)
	if err != nil {
		return redirect.Config{}, err
	}
	return redirect.Config{
		UDP: c.UDP, TCP: c.TCP, TLS: c.TLS, TLSCertFile: c.TLSCertFile, TLSKeyFile: c.TLSKeyFile, TLSClientCAFile: c.TLSClientCAFile,
		ContinueRoute: c.ContinueRoute, RouteOverrides: c.RouteOverrides, ScreeningURI: c.ScreeningURI,
		SecureContinueRoute: c.SecureContinueRoute, SecureScreeningURI: c.SecureScreeningURI,
		Reject608: c.Reject608, RejectInfoURL: c.RejectInfoURL,
		TokenKeys: keys, TokenKeyID: c.TokenKeyID, TokenLifetime: c.TokenLifetime,
		MaxInFlight: c.MaxInFlight, MaxRate: c.MaxRate, RateBurst: c.RateBurst, RetryAfter: c.RetryAfter,
		DecideTimeout: c.DecideTimeout, ServerName: c.ServerName,
		Stateful: c.Stateful, UDPReaders: c.UDPReaders,
		Logger: log.With("tier", "sip"),
	}, nil
}
