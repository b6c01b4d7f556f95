package config

import "fmt"

// API is the management API (package admin): /api/v1 for the platform
// owner, service providers and subscribers, authenticated by API tokens
// (create the first with `callgate admin bootstrap`). It has its own
// listener: the admin listener's /metrics, /healthz and /readyz stay
// unauthenticated for monitoring, the API answers only with a token.
type API struct {
	// Enabled starts the API tier (default off).
	Enabled bool `yaml:"enabled"`
	// Listen is host:port; the default is loopback (127.0.0.1:8480). Put it
	// on another address only with TLS.
	Listen string `yaml:"listen"`
	// TLSCert and TLSKey (PEM files, both or neither) serve the API over
	// TLS; relative paths are relative to the configuration file.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
}

func defaultAPI() API { return API{Listen: "127.0.0.1:8480"} }

func (a *API) validate() []error {
	var errs []error
	if !a.Enabled {
		return nil
	}
	if err := checkAddr(a.Listen); err != nil {
		errs = append(errs, fmt.Errorf("api.listen: %v", err))
	}
	if (a.TLSCert == "") != (a.TLSKey == "") {
		errs = append(errs, fmt.Errorf("api.tls_cert: give tls_cert and tls_key together, or neither"))
	}
	return errs
}
