package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedKey is the screening-token key every node of a test cluster shares.
const sharedKey = `sip: {token_keys: [{id: 1, secret: "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="}]}`

func TestStoreBackendValidation(t *testing.T) {
	cases := []struct {
		yaml string
		want string // "" = valid
	}{
		{"store: {backend: bbolt}", ""},
		{"store: {backend: etcd, etcd: {endpoints: [http://127.0.0.1:2379]}}\n" + sharedKey, ""},
		// Nodes share routes to one another's B2BUAs: a per-run random
		// screening-token key would have every other node refuse the
		// tokens. A node without either SIP tier signs and checks none.
		{"store: {backend: etcd, etcd: {endpoints: [http://127.0.0.1:2379]}}", "sip.token_keys: empty with store.backend etcd"},
		{"store: {backend: etcd, etcd: {endpoints: [http://127.0.0.1:2379]}}\nsip: {enabled: false}", "sip.token_keys: empty with store.backend etcd"},
		{"store: {backend: etcd, etcd: {endpoints: [http://127.0.0.1:2379]}}\nsip: {enabled: false}\nb2bua: {enabled: false}", ""},
		{"store: {backend: bbolt}\nsip: {token_keys: []}", ""},
		{"store: {backend: sqlite}", `store.backend: "sqlite" is not bbolt or etcd`},
		{"store: {backend: etcd}", "store.etcd.endpoints: empty"},
		{"store: {backend: etcd, etcd: {endpoints: [10.0.0.1:2379]}}", "is not an http:// or https:// URL"},
		{"store: {backend: etcd, etcd: {endpoints: [http://10.0.0.1:2379], ca_file: ca.pem}}", "is http:// but TLS files are set"},
		{"store: {backend: etcd, etcd: {endpoints: [https://10.0.0.1:2379], cert_file: c.pem}}", "cert_file and key_file go together"},
		{"store: {backend: etcd, etcd: {endpoints: [https://10.0.0.1:2379], prefix: callgate}}", "store.etcd.prefix"},
		{"store: {backend: etcd, etcd: {endpoints: [https://10.0.0.1:2379], password_file: pw}}", "no username"},
		{"store: {backend: etcd, etcd: {endpoints: [https://10.0.0.1:2379], stale_after: 0s}}", "store.etcd.stale_after"},
		{"store: {backend: etcd, etcd: {endpoint: [https://10.0.0.1:2379]}}", `unknown field "endpoint" in store.etcd`},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.yaml), "test.yaml")
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.yaml, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one containing %q", c.yaml, err, c.want)
		}
	}
}

// The replica and the TLS and password files, given relative in a config
// file, are relative to the file's folder like the other data paths.
func TestStorePathsRelativeToTheFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "callgate.yaml")
	yaml := "store:\n  backend: etcd\n  etcd:\n    endpoints: [https://10.0.0.1:2379]\n    replica: r.db\n    ca_file: tls/ca.pem\n    cert_file: tls/n.pem\n    key_file: tls/n.key\n    username: u\n    password_file: pw\n" + sharedKey + "\n"
	if err := os.WriteFile(f, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	e := c.Store.Etcd
	for got, want := range map[string]string{c.ReplicaPath(): "r.db", e.CAFile: "tls/ca.pem", e.CertFile: "tls/n.pem", e.KeyFile: "tls/n.key", e.PasswordFile: "pw"} {
		if got != filepath.Join(dir, want) {
			t.Errorf("%q, want %q", got, filepath.Join(dir, want))
		}
	}
	if d := Default(); d.ReplicaPath() != filepath.Join("data", ReplicaFile) || d.Store.Backend != BackendBBolt {
		t.Errorf("defaults: replica %q backend %q", d.ReplicaPath(), d.Store.Backend)
	}
}

// cluster.peers are base URLs of admin listeners; anything else is named.
func TestClusterPeersValidated(t *testing.T) {
	c := Default()
	c.Cluster.Peers = []string{"http://10.0.0.2:9464", "10.0.0.3:9464", "http://10.0.0.4:9464/metrics", "https://b.example:9464/"}
	err := c.Validate()
	if err == nil {
		t.Fatal("bad peers accepted")
	}
	for _, want := range []string{`cluster.peers[1]: "10.0.0.3:9464" is not the base URL`, `cluster.peers[2]: "http://10.0.0.4:9464/metrics"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v: does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "peers[0]") || strings.Contains(err.Error(), "peers[3]") {
		t.Errorf("good peers refused: %v", err)
	}
}
