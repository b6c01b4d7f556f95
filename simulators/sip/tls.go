package sip

import (
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"callgate/internal/selfsigned"
	"callgate/internal/tlsaccept"
)

// tlsConfig is a phone's TLS set-up (PhoneConfig.Transport "tls"): its
// certificate for its listener (cfg's, else a self-signed one for host,
// made now), and how peers' certificates are checked.
func tlsConfig(cfg *PhoneConfig, host string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.TLSInsecure} //nolint:gosec // a test tool's --tls-insecure, off by default
	switch {
	case cfg.TLSCertFile != "" || cfg.TLSKeyFile != "":
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("TLS certificate %q / key %q: %w", cfg.TLSCertFile, cfg.TLSKeyFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	default:
		// A phone that places calls over TLS needs one for its
		// listener, and nobody checks it unless it is called.
		cert, err := selfsigned.New(host, 24*time.Hour)
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{cert.TLS}
	}
	if cfg.TLSCAFile != "" {
		var err error
		if c.RootCAs, err = tlsaccept.CertPool(cfg.TLSCAFile); err != nil {
			return nil, fmt.Errorf("TLS CA file: %w", err)
		}
	}
	return c, nil
}

// SDESMedia names the transport of an SDP's first audio stream:
// "RTP/AVP", or for SRTP its profile and the first SDES crypto suite
// ("RTP/SAVP AES_CM_128_HMAC_SHA1_80"); "" without one.
func SDESMedia(sdp []byte) string {
	proto, suite := "", ""
	for _, line := range strings.Split(string(sdp), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "m="):
			if proto != "" {
				return strings.TrimSpace(proto + " " + suite)
			}
			if f := strings.Fields(line[2:]); len(f) >= 3 && f[0] == "audio" {
				proto = f[2]
			}
		case proto != "" && suite == "" && strings.HasPrefix(line, "a=crypto:"):
			if f := strings.Fields(line); len(f) >= 2 {
				suite = f[1]
			}
		}
	}
	return strings.TrimSpace(proto + " " + suite)
}
