package b2bua

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"callgate/internal/tlsaccept"
)

// SIP over TLS, and the SRTP that only rides on it.
//
// The TLS listener takes calls as UDP and TCP do. Its calls may offer
// SDES-SRTP (RTP/SAVP with a=crypto, RFC 4568), which diago encrypts and
// decrypts below the B2BUA's media code: the prompts, the key detector
// and the bridge see plain RTP either way, and a bridge between an SRTP
// leg and an RTP leg relays one into the other. Over UDP or TCP an SRTP
// offer is refused (488): its keys would have crossed the network in the
// clear (RFC 4568 §8.3).

// tlsHandshakeTimeout bounds a TLS handshake on the listener: a peer that
// connects and says nothing holds a reader no longer.
const tlsHandshakeTimeout = 10 * time.Second

// tlsFailed counts a failed handshake on the listener and logs it (one
// line a second at most): a peer that does not trust our certificate, or
// whose we refuse, would otherwise show only as calls that never come.
func (s *Server) tlsFailed(remote net.Addr, err error) {
	s.m.tlsFailures.Inc()
	if s.tlsLog.allow() {
		s.log.Warn("b2bua: TLS handshake failed", "peer", remote.String(), "error", err.Error())
	}
}

// loadTLS returns the TLS configuration of cfg (nil without a TLS
// listener): the listener's certificate, and the authorities the peers
// that outbound TLS legs reach are verified against.
func loadTLS(cfg *Config) (*tls.Config, error) {
	if cfg.TLS == "" {
		return nil, nil
	}
	if cfg.TLSConfig != nil {
		return cfg.TLSConfig, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("b2bua: TLS certificate %s / key %s: %w", cfg.TLSCertFile, cfg.TLSKeyFile, err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.TLSClientCAFile != "" {
		if err := tlsaccept.RequireClients(c, cfg.TLSClientCAFile); err != nil {
			return nil, fmt.Errorf("b2bua: TLSClientCAFile: %w", err)
		}
	}
	if cfg.TLSCAFile != "" {
		if c.RootCAs, err = tlsaccept.CertPool(cfg.TLSCAFile); err != nil {
			return nil, fmt.Errorf("b2bua: TLSCAFile: %w", err)
		}
	}
	return c, nil
}

// srtpUse says whether req's offer may set up SRTP (parseOffer).
func (s *Server) srtpUse(req *sip.Request) srtpUse {
	switch {
	case req.Transport() != "TLS":
		return srtpNeedsTLS
	case s.cfg.TLSNoSRTP:
		return srtpOff
	}
	return srtpOn
}

// legTransport is the transport an outbound leg to uri goes out on: TLS
// for a sips: URI or transport=tls (an error when there is no TLS
// listener), TCP for transport=tcp when there is a TCP listener, else
// UDP, else TCP.
func (s *Server) legTransport(uri sip.Uri) (string, error) {
	want := ""
	if uri.UriParams != nil {
		if t, ok := uri.UriParams.Get("transport"); ok {
			want = strings.ToLower(t)
		}
	}
	if strings.EqualFold(uri.Scheme, "sips") || want == "tls" {
		if s.tlsLn == nil {
			return "", fmt.Errorf("%s needs TLS and the B2BUA has no TLS listener (b2bua.tls)", uri.String())
		}
		return "tls", nil
	}
	if (want == "tcp" || s.udpConn == nil) && s.tcpLn != nil {
		return "tcp", nil
	}
	if s.udpConn != nil {
		return "udp", nil
	}
	return "", fmt.Errorf("%s: the B2BUA has no UDP or TCP listener to reach it on (b2bua.udp, b2bua.tcp)", uri.String())
}
