package redirect

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/token"
	"callgate/stir"
)

// Config is everything the redirect server needs. The zero value of every
// optional field is a usable default (see the field comments).
type Config struct {
	// Listen addresses ("host:port"); an empty address opens no listener of
	// that kind. At least one of UDP, TCP and TLS must be set.
	UDP string
	TCP string
	// TLS listens for SIP over TLS (sips) when set; it needs TLSConfig, or
	// TLSCertFile and TLSKeyFile (PEM).
	TLS       string
	TLSConfig *tls.Config
	// TLSClientCAFile (PEM), with TLSCertFile, requires every TLS client
	// to present a certificate from one of these authorities (mutual
	// TLS); a client without one fails its handshake (counted).
	TLSClientCAFile string
	TLSCertFile     string
	TLSKeyFile      string

	// Stateful answers UDP through sipgo's transaction layer (an INVITE
	// server transaction per call: 100 Trying for slow decisions, the final
	// response retransmitted until the ACK, 487 for a CANCEL of a pending
	// INVITE). The default (false) is the stateless UDP path of RFC 3261
	// §8.2.7 (see stateless.go): no per-call state, an order of magnitude
	// faster. TCP and TLS are always served by sipgo.
	Stateful bool
	// UDPReaders is the number of goroutines reading the UDP socket on the
	// stateless path, each doing read, decide and write in turn (0 =
	// GOMAXPROCS, at least 4, so that a slow decision does not stall the
	// socket).
	UDPReaders int

	// ContinueRoute is the platform's template for Allow: the Contact of the
	// 302 that lets the call continue to the called party, e.g.
	// "sip:{called}@gw.carrier.example;user=phone". Placeholders: {called},
	// {calling}, {original} (see template). Required.
	ContinueRoute string
	// RouteOverrides replaces ContinueRoute for calls whose decision names an
	// egress route (policy.Decision.Route.Name, the route of the called
	// subscriber's service provider): route name -> template.
	RouteOverrides map[string]string

	// ScreeningURI is the B2BUA's screening URI template, used when the
	// decision's route carries none (policy.Decision.Route.SIPURI takes
	// precedence and may use the same placeholders). The token is added as
	// the URI parameter token.URIParam. Optional: without it, a call whose
	// route has no SIP URI gets the engine's no-route fallback (the server
	// tells the engine through policy.Call.DefaultRoute), and New warns.
	ScreeningURI string

	// SecureContinueRoute and SecureScreeningURI, when set, replace
	// ContinueRoute and ScreeningURI for INVITEs to a sips: Request-URI,
	// whose targets must be sips: (RFC 5630; see sips.go). Both must be
	// sips: templates. Empty: ContinueRoute or ScreeningURI serves them
	// when it is sips:, else such INVITEs get 480 with Warning 380.
	SecureContinueRoute string
	SecureScreeningURI  string

	// Reject608 answers Block with 608 Rejected (RFC 8688) instead of 603
	// Decline. RejectInfoURL, when set, is sent in the 608's
	// Call-Info;purpose=jwscard (the signed jCard of the rejecting party,
	// RFC 8688 §3.2); it must be an https URL.
	Reject608     bool
	RejectInfoURL string

	// TokenKeys are the screening-token keys; TokenKeyID selects the one
	// that signs (the others are only there so Verify-side rotation can be
	// configured from the same list). TokenLifetime defaults to 60s: long
	// enough for the upstream proxy to follow the 302 with retransmissions
	// (Timer B is 32s), short enough that a captured token is of little use.
	TokenKeys     []token.Key
	TokenKeyID    uint8
	TokenLifetime time.Duration

	// Overload limits. MaxInFlight bounds the INVITEs being decided at once
	// (default 10000); MaxRate bounds accepted INVITEs per second with a
	// burst of RateBurst (0 = no rate limit; burst defaults to MaxRate/10,
	// at least 1). Refused calls get 503 Service Unavailable with
	// Retry-After: RetryAfter (default 5s, RFC 3261 §21.5.4).
	MaxInFlight int
	MaxRate     float64
	RateBurst   int
	RetryAfter  time.Duration

	// DecideTimeout is the time budget of one decision (policy.Guard): a
	// decision made later is not used, the INVITE gets 503 with
	// Retry-After. 0 = no budget (the engine never waits).
	DecideTimeout time.Duration

	// Tagger, when set, adds headers to the 302 of an allowed call (display
	// name tagging from STIR/SHAKEN results); nil = off. See Tagger.
	Tagger Tagger

	// Verifier is the STIR/SHAKEN verification service (nil = off): the
	// Identity headers of every INVITE that has them are verified before
	// the engine runs (see stir.go). Keep its MissWait inside DecideTimeout:
	// a reader waits for it.
	Verifier *stir.Verifier
	// Signer, Originators and NumberOwner are the authentication service:
	// an INVITE without Identity from an Originator's address is signed with
	// Signer (attestation per stir.AttestationFor, using NumberOwner to tell
	// whether the calling number is the originator's customer's).
	Signer      *stir.Signer
	Originators []Originator
	NumberOwner func(e164.Number) (customer string, ok bool)

	// OriginatingSources are the addresses of the originating trunks (an
	// enterprise PBX, the carrier's outbound SBC): an INVITE from one is an
	// outgoing call, asked of the engine as an originating call (see
	// originating.go). Empty: every INVITE is an incoming call.
	OriginatingSources []netip.Prefix

	// ServerName is sent in the Server header (RFC 3261 §20.35); default
	// "callgate". "-" sends none.
	ServerName string

	// Logger receives operational logs (listener errors, overload). nil =
	// slog.Default(). sipgo's own logs go to the same logger.
	Logger *slog.Logger
}

// Tagger returns the headers an allowed call's 302 should carry for a
// downstream proxy to apply (e.g. a display-name prefix). It runs on the hot
// path and must not block.
type Tagger func(c *policy.Call, d *policy.Decision) []Header

// Header is one extra header field for a response.
type Header struct{ Name, Value string }

// Defaults.
const (
	DefaultTokenLifetime = 60 * time.Second
	DefaultMaxInFlight   = 10000
	DefaultRetryAfter    = 5 * time.Second
	minUDPReaders        = 4
)

func (c *Config) withDefaults() Config {
	cfg := *c
	if cfg.TokenLifetime == 0 {
		cfg.TokenLifetime = DefaultTokenLifetime
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = DefaultRetryAfter
	}
	if cfg.MaxRate > 0 && cfg.RateBurst == 0 {
		cfg.RateBurst = int(cfg.MaxRate / 10)
		if cfg.RateBurst < 1 {
			cfg.RateBurst = 1
		}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = "callgate"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if len(cfg.Originators) > 0 {
		cfg.Originators = append([]Originator(nil), cfg.Originators...)
		for i := range cfg.Originators {
			if cfg.Originators[i].OrigID == "" {
				cfg.Originators[i].OrigID = stir.NewOrigID()
			}
		}
	}
	return cfg
}

func (c *Config) validate() error {
	var errs []error
	if c.UDP == "" && c.TCP == "" && c.TLS == "" {
		errs = append(errs, errors.New("no listen address (UDP, TCP or TLS)"))
	}
	if c.TLS != "" && c.TLSConfig == nil && (c.TLSCertFile == "" || c.TLSKeyFile == "") {
		errs = append(errs, errors.New("TLS listener needs TLSConfig or TLSCertFile and TLSKeyFile"))
	}
	if c.ContinueRoute == "" {
		errs = append(errs, errors.New("ContinueRoute is required"))
	}
	if c.RejectInfoURL != "" {
		u, err := url.Parse(c.RejectInfoURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("RejectInfoURL %q is not an https URL", c.RejectInfoURL))
		}
	}
	if c.TokenLifetime < time.Second {
		errs = append(errs, fmt.Errorf("TokenLifetime %s is under one second (tokens carry whole seconds)", c.TokenLifetime))
	}
	if c.UDPReaders < 0 {
		errs = append(errs, fmt.Errorf("UDPReaders %d is negative", c.UDPReaders))
	}
	if len(c.Originators) > 0 && c.Signer == nil {
		errs = append(errs, errors.New("Originators need a Signer (the SP certificate's key and x5u URL)"))
	}
	for i, o := range c.Originators {
		if len(o.Sources) == 0 {
			errs = append(errs, fmt.Errorf("originator %d (%q) has no source address", i+1, o.Name))
		}
	}
	if c.MaxInFlight < 0 || c.MaxRate < 0 || c.RateBurst < 0 || c.RetryAfter < 0 || c.DecideTimeout < 0 {
		errs = append(errs, errors.New("overload limits and timeouts cannot be negative"))
	}
	return errors.Join(errs...)
}
