// Package tlsaccept is a TLS listener that says when a handshake fails.
//
// crypto/tls's listener hands out connections whose handshake runs on
// their first read, inside the SIP stack's reader, which logs a failure
// as a read error and counts nothing. Here the handshake runs first, with
// a deadline (a peer that connects and says nothing holds a reader for
// at most that long), and a failure is passed to the tier, which counts
// it and logs it: a peer that does not trust our certificate, or whose
// certificate or protocol version we refuse, shows up on a dashboard
// instead of only as calls that never arrive. RequireClients turns on
// mutual TLS.
package tlsaccept

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// Listener wraps ln: every accepted connection is a TLS server connection
// with conf, whose handshake runs at its first read or write and must end
// within timeout; failed is called with the peer's address and the error
// of each handshake that does not.
func Listener(ln net.Listener, conf *tls.Config, timeout time.Duration, failed func(remote net.Addr, err error)) net.Listener {
	return &listener{Listener: ln, conf: conf, timeout: timeout, failed: failed}
}

type listener struct {
	net.Listener
	conf    *tls.Config
	timeout time.Duration
	failed  func(net.Addr, error)
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: tls.Server(c, l.conf), l: l}, nil
}

// conn is one accepted connection: its handshake once, then TLS.
type conn struct {
	*tls.Conn
	l    *listener
	once sync.Once
	err  error
}

func (c *conn) handshake() error {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.l.timeout)
		defer cancel()
		if c.err = c.Conn.HandshakeContext(ctx); c.err != nil && c.l.failed != nil {
			c.l.failed(c.RemoteAddr(), c.err)
		}
	})
	return c.err
}

func (c *conn) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *conn) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// RequireClients makes conf's listener accept only clients whose
// certificate chains to one of the authorities in caFile (PEM): mutual
// TLS, as carriers' SBCs authenticate their trunks. A client without one
// fails its handshake, which the listener reports.
func RequireClients(conf *tls.Config, caFile string) error {
	pool, err := CertPool(caFile)
	if err != nil {
		return fmt.Errorf("TLS client CA file: %w", err)
	}
	conf.ClientCAs, conf.ClientAuth = pool, tls.RequireAndVerifyClientCert
	return nil
}

// CertPool reads the authorities of a PEM file, for a tier's clients
// (RequireClients) or the peers it calls (tls.Config.RootCAs); a file
// without a certificate is an error naming it.
func CertPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", file)
	}
	return pool, nil
}
