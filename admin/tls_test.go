package admin

import (
	"context"
	"crypto/tls"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/internal/selfsigned"
	"callgate/store"
	"callgate/store/boltkv"

	"golang.org/x/crypto/bcrypt"
)

// The API's certificate is read by New, so `config check` (which builds
// the tier and never starts it) refuses what serve would, naming the
// files; a good one is what Start serves HTTPS with.
func TestTLSCertificateReadByNew(t *testing.T) {
	if _, err := New(Config{Listen: "127.0.0.1:0", TLSCert: "/nonexistent/api.pem", TLSKey: "/nonexistent/api.key"}, nil); err == nil ||
		!strings.Contains(err.Error(), "api.tls_cert /nonexistent/api.pem") || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("New with missing certificate files = %v, want an error naming api.tls_cert and the file", err)
	}
	c, err := selfsigned.New("127.0.0.1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, key, _, err := c.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Listen: "127.0.0.1:0", TLSCert: cert, TLSKey: cert}, nil); err == nil || !strings.Contains(err.Error(), "api.tls_key") {
		t.Fatalf("New with the certificate as its own key = %v, want an error naming api.tls_key", err)
	}

	db, err := boltkv.Open(filepath.Join(t.TempDir(), "kv.db"), boltkv.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := store.New(db, store.Options{PINCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tier, err := New(Config{Listen: "127.0.0.1:0", TLSCert: cert, TLSKey: key}, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := tier.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tier.Stop(context.Background()) })
	if d := tier.Describe(); !strings.HasPrefix(d, "https://") {
		t.Errorf("Describe = %q, want an https:// URL", d)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get(strings.TrimSuffix(tier.Describe(), "/api/v1") + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("GET openapi.json over TLS: %d (tls %v), want 200 over TLS", resp.StatusCode, resp.TLS != nil)
	}
}
