package config

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRelativeDataPathsFollowTheFile: relative data paths in a config file
// are relative to the file's folder, whatever the working directory (they
// used to be relative to it, so the CLI run from another folder opened a
// new, empty store there).
func TestRelativeDataPathsFollowTheFile(t *testing.T) {
	etc := filepath.Join(t.TempDir(), "etc")
	if err := os.MkdirAll(etc, 0o750); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) string {
		p := filepath.Join(etc, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	elsewhere := t.TempDir()
	t.Chdir(elsewhere)
	cases := []struct {
		name, body         string
		dataDir, store, dl string
	}{
		{"relative.yaml", "data_dir: var/data\n",
			filepath.Join(etc, "var/data"), filepath.Join(etc, "var/data/callgate.db"), filepath.Join(etc, "var/data/decisions.db")},
		{"default.yaml", "log: {level: info}\n", // data_dir defaults to "data", next to the file
			filepath.Join(etc, "data"), filepath.Join(etc, "data/callgate.db"), filepath.Join(etc, "data/decisions.db")},
		{"paths.yaml", "data_dir: /srv/cg\nstore: {path: lists.db}\ndecision_log: {path: ../log/d.db}\n",
			"/srv/cg", filepath.Join(etc, "lists.db"), filepath.Join(filepath.Dir(etc), "log/d.db")},
		{"absolute.yaml", "data_dir: /var/lib/callgate\n",
			"/var/lib/callgate", "/var/lib/callgate/callgate.db", "/var/lib/callgate/decisions.db"},
	}
	for _, tc := range cases {
		// Given by a path relative to the working directory, too.
		for _, path := range []string{write(tc.name, tc.body), mustRel(t, elsewhere, filepath.Join(etc, tc.name))} {
			c, err := Load(path)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if c.DataDir != tc.dataDir || c.StorePath() != tc.store || c.DecisionLogPath() != tc.dl {
				t.Errorf("%s: data_dir %q store %q decision log %q, want %q %q %q",
					path, c.DataDir, c.StorePath(), c.DecisionLogPath(), tc.dataDir, tc.store, tc.dl)
			}
		}
	}
	// Without a file, the defaults stay relative to the working directory.
	if c := Default(); c.DataDir != "data" {
		t.Errorf("default data_dir %q", c.DataDir)
	}
}

func mustRel(t *testing.T, base, target string) string {
	t.Helper()
	r, err := filepath.Rel(base, target)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRelativeFilesFollowTheFile: the certificate, key and secret files a
// configuration names are relative to its folder too (the SIP tier's TLS
// files were read from the working directory, the B2BUA's from the
// file's folder).
func TestRelativeFilesFollowTheFile(t *testing.T) {
	etc := t.TempDir()
	body := `sip:
  tls: 127.0.0.1:5061
  tls_cert_file: tls/sip.pem
  tls_key_file: tls/sip.key
  token_keys: [{id: 1, secret_file: secrets/tok}]
  stir: {trust_anchors: sti/ca.pem, intermediates: sti/inter.pem, crl_file: sti/crl.pem, sign_key_file: sti/sign.key}
b2bua:
  tls: 127.0.0.1:5071
  tls_cert_file: tls/b2bua.pem
  tls_key_file: /etc/tls/b2bua.key
  tls_ca_file: tls/ca.pem
fraud: {webhook: {secret_file: secrets/hook}}
`
	p := filepath.Join(etc, "callgate.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	c, err := Load(p)
	if err != nil {
		if _, ok := err.(*Problems); !ok {
			t.Fatal(err)
		}
	}
	in := func(rel string) string { return filepath.Join(etc, rel) }
	for _, f := range []struct{ field, got, want string }{
		{"sip.tls_cert_file", c.SIP.TLSCertFile, in("tls/sip.pem")},
		{"sip.tls_key_file", c.SIP.TLSKeyFile, in("tls/sip.key")},
		{"sip.token_keys[0].secret_file", c.SIP.TokenKeys[0].SecretFile, in("secrets/tok")},
		{"sip.stir.trust_anchors", c.SIP.Stir.TrustAnchors, in("sti/ca.pem")},
		{"sip.stir.intermediates", c.SIP.Stir.Intermediates, in("sti/inter.pem")},
		{"sip.stir.crl_file", c.SIP.Stir.CRLFile, in("sti/crl.pem")},
		{"sip.stir.sign_key_file", c.SIP.Stir.SignKeyFile, in("sti/sign.key")},
		{"b2bua.tls_cert_file", c.B2BUA.TLSCertFile, in("tls/b2bua.pem")},
		{"b2bua.tls_key_file", c.B2BUA.TLSKeyFile, "/etc/tls/b2bua.key"},
		{"b2bua.tls_ca_file", c.B2BUA.TLSCAFile, in("tls/ca.pem")},
		{"fraud.webhook.secret_file", c.Fraud.Webhook.SecretFile, in("secrets/hook")},
	} {
		if f.got != f.want {
			t.Errorf("%s = %q, want %q", f.field, f.got, f.want)
		}
	}
}
