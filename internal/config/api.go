package config

import (
	"fmt"
	"path/filepath"
	"time"
)

// SocketFile is the owner's socket's name beside the store file.
const SocketFile = "callgate.sock"

// SocketPath is where the daemon serves the management API to the CLI:
// api.socket, else callgate.sock in the store file's folder (the data
// directory unless store.path says otherwise), so serve and the operator
// commands given the same --config or --data meet there. The path is
// absolute.
func (c *Config) SocketPath() string {
	p := c.API.Socket
	if p == "" {
		p = filepath.Join(filepath.Dir(c.StorePath()), SocketFile)
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs // a relative --data is relative to the working directory
	}
	return p
}

// API is the management API (package admin): /api/v1 for the platform
// owner, service providers and subscribers, authenticated by API tokens
// (create the first with `callgate admin bootstrap`). It has its own
// listener: the admin listener's /metrics, /healthz and /readyz stay
// unauthenticated for monitoring, the API answers only with a token. The
// daemon always serves it on the owner's unix socket too (Socket), which
// the CLI's operator commands use while a daemon holds the store.
type API struct {
	// Enabled starts the API's TCP listener (default off).
	Enabled bool `yaml:"enabled"`
	// Socket is the path of the owner's unix socket (mode 0600, the
	// daemon user's: whoever may connect acts as the platform owner).
	// "" = callgate.sock next to the store file. Relative paths are
	// relative to the configuration file.
	Socket string `yaml:"socket"`
	// Listen is host:port; the default is loopback (127.0.0.1:8480). Put it
	// on another address only with TLS.
	Listen string `yaml:"listen"`
	// TLSCert and TLSKey (PEM files, both or neither) serve the API over
	// TLS; relative paths are relative to the configuration file.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// SessionIdle ends a web UI session not used for this long (default
	// 15m).
	SessionIdle time.Duration `yaml:"session_idle"`
	// LoginBurst and LoginEvery limit web UI logins per client address: a
	// burst of LoginBurst attempts, then one per LoginEvery (defaults 10,
	// 6s). Apart from this, a user is locked for 15 minutes after 5 wrong
	// passwords in a row, on every node.
	LoginBurst int           `yaml:"login_burst"`
	LoginEvery time.Duration `yaml:"login_every"`
}

func defaultAPI() API {
	return API{Listen: "127.0.0.1:8480", SessionIdle: 15 * time.Minute, LoginBurst: 10, LoginEvery: 6 * time.Second}
}

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
	if a.SessionIdle < time.Second {
		errs = append(errs, fmt.Errorf("api.session_idle %v: at least 1s (e.g. 15m)", a.SessionIdle))
	}
	if a.LoginBurst < 1 {
		errs = append(errs, fmt.Errorf("api.login_burst %d: at least 1 (e.g. 10)", a.LoginBurst))
	}
	if a.LoginEvery <= 0 {
		errs = append(errs, fmt.Errorf("api.login_every %v: a positive duration (e.g. 6s)", a.LoginEvery))
	}
	return errs
}
