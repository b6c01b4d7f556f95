package selfsigned

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
	"time"
)

// A TLS handshake to 127.0.0.1 with the certificate on the server and its
// written cert.pem as the client's only authority succeeds; with no
// authority it fails; a name that is not an IP is refused.
func TestHandshake(t *testing.T) {
	c, err := New("127.0.0.1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, both, err := c.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(both); err != nil || len(b) != len(c.CertPEM)+len(c.KeyPEM) {
		t.Fatalf("both.pem: %d bytes, %v", len(b), err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{c.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	roots := x509.NewCertPool()
	pem, _ := os.ReadFile(certFile)
	roots.AppendCertsFromPEM(pem)
	for _, tc := range []struct {
		roots *x509.CertPool
		ok    bool
	}{{roots, true}, {x509.NewCertPool(), false}} {
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: tc.roots, ServerName: "127.0.0.1"})
		if (err == nil) != tc.ok {
			t.Errorf("trusted %v: dial error %v", tc.ok, err)
		}
		if conn != nil {
			conn.Close()
		}
	}
	if _, err := New("callgate.test", time.Hour); err == nil {
		t.Error("a host name was taken")
	}
}
