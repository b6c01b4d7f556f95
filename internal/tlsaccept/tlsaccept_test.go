package tlsaccept

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/internal/selfsigned"
)

// A client that trusts the certificate gets its bytes echoed; one that
// does not, and one that connects and says nothing, are each reported
// once, the silent one after the timeout.
func TestHandshakeFailuresReported(t *testing.T) {
	c, err := selfsigned.New("127.0.0.1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var failures []error
	ln := Listener(raw, &tls.Config{Certificates: []tls.Certificate{c.TLS}}, 300*time.Millisecond, func(_ net.Addr, err error) {
		mu.Lock()
		failures = append(failures, err)
		mu.Unlock()
	})
	defer ln.Close()
	echoAll(ln)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(c.CertPEM)
	good, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := good.Write([]byte("OPTIONS")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := io.ReadFull(good, buf); err != nil || string(buf) != "OPTIONS" {
		t.Fatalf("echo %q %v", buf, err)
	}
	good.Close()
	if _, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "127.0.0.1"}); err == nil {
		t.Fatal("an untrusting client completed its handshake")
	}
	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(failures)
		mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d handshake failures reported, want 2 (the untrusting client, the silent one): %v", n, failures)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(400 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(failures) != 2 || !errors.Is(failures[1], context.DeadlineExceeded) {
		t.Errorf("failures %v: want the untrusting client's, then the silent one's deadline", failures)
	}
}

// With RequireClients, a client that presents a certificate from the
// authority gets through, and one that presents none is reported.
func TestRequireClients(t *testing.T) {
	c, err := selfsigned.New("127.0.0.1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certFile, _, _, err := c.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	conf := &tls.Config{Certificates: []tls.Certificate{c.TLS}}
	if err := RequireClients(conf, certFile); err != nil {
		t.Fatal(err)
	}
	if err := RequireClients(&tls.Config{}, "/nonexistent.pem"); err == nil {
		t.Error("a missing CA file was taken")
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	failed := make(chan error, 4)
	ln := Listener(raw, conf, time.Second, func(_ net.Addr, err error) { failed <- err })
	defer ln.Close()
	echoAll(ln)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(c.CertPEM)
	echo := func(client *tls.Config) error {
		conn, err := tls.Dial("tcp", ln.Addr().String(), client)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.Write([]byte("x")); err != nil {
			return err
		}
		_, err = io.ReadFull(conn, make([]byte, 1))
		return err
	}
	if err := echo(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: []tls.Certificate{c.TLS}}); err != nil {
		t.Fatalf("a client with a trusted certificate: %v", err)
	}
	if err := echo(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}); err == nil {
		t.Fatal("a client without a certificate got through")
	}
	select {
	case err := <-failed:
		if !strings.Contains(err.Error(), "certificate") {
			t.Errorf("reported %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client without a certificate was not reported")
	}
}

// echoAll echoes what every connection ln accepts sends, until ln closes.
func echoAll(ln net.Listener) {
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(conn, conn); conn.Close() }()
		}
	}()
}
