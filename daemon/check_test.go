package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/internal/config"
	"callgate/internal/selfsigned"
)

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	c, err := selfsigned.New("127.0.0.1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if certFile, keyFile, _, err = c.Write(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// Check finds what serve would refuse, all at once, without opening a
// socket: the defaults pass; each case adds one problem and the report
// names it.
func TestCheck(t *testing.T) {
	if err := Check(ptr(config.Default())); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	cert, key := writeCert(t)
	tls := func(c *config.Config) { c.SIP.TLS, c.SIP.TLSCertFile, c.SIP.TLSKeyFile = "127.0.0.1:5061", cert, key }
	ok := config.Default()
	tls(&ok)
	if err := Check(&ok); err != nil {
		t.Fatalf("a readable certificate and key: %v", err)
	}
	cases := []struct {
		name string
		mod  func(*config.Config)
		want []string
	}{
		{"admin and sip tcp", func(c *config.Config) { c.Admin.Listen = "127.0.0.1:5060" },
			[]string{"admin.listen (127.0.0.1:5060) and sip.tcp (127.0.0.1:5060) both listen on TCP port 5060"}},
		{"udp and tcp do not clash", func(c *config.Config) { c.SIP.TCP = "" }, nil},
		{"wildcard clashes", func(c *config.Config) { c.SCP.Listen = []string{"0.0.0.0:9464"} },
			[]string{"admin.listen (127.0.0.1:9464) and scp.listen[0] (0.0.0.0:9464)"}},
		{"other hosts do not clash", func(c *config.Config) { c.SCP.Listen = []string{"127.0.0.2:9464"} }, nil},
		{"localhost is loopback", func(c *config.Config) { c.SIP.TLS, c.SIP.TLSCertFile, c.SIP.TLSKeyFile = "localhost:2905", cert, key },
			[]string{"sip.tls (localhost:2905) and scp.listen[0] (127.0.0.1:2905)"}},
		{"sctp has its own ports", func(c *config.Config) { c.SCP.Transport, c.SCP.Listen = "sctp", []string{"127.0.0.1:9464"} }, nil},
		{"multi-homed sctp is one socket", func(c *config.Config) {
			c.SCP.Transport, c.SCP.Listen = "sctp", []string{"127.0.0.1:2905", "0.0.0.0:2905"}
		}, nil},
		{"disabled tier has no sockets", func(c *config.Config) { c.SCP.Enabled, c.SCP.Listen = false, []string{"127.0.0.1:9464"} }, nil},
		{"tls files missing", func(c *config.Config) {
			tls(c)
			c.SIP.TLSCertFile = "/nonexistent/cert.pem"
		}, []string{"sip tier (config section sip:)", "TLS certificate /nonexistent/cert.pem", "no such file"}},
		{"tls key does not parse", func(c *config.Config) {
			tls(c)
			c.SIP.TLSKeyFile = c.SIP.TLSCertFile
		}, []string{"TLS certificate", "key"}},
		{"template", func(c *config.Config) { c.SIP.ContinueRoute = "sip:{calld}@gw" }, []string{"unknown placeholder {calld}"}},
		{"override template", func(c *config.Config) { c.SIP.RouteOverrides = map[string]string{"east": "sip:{x}@e"} }, []string{"RouteOverrides[east]"}},
		{"token key file", func(c *config.Config) {
			c.SIP.TokenKeys = []config.TokenKey{{ID: 1, SecretFile: "/nonexistent/token.key"}}
		}, []string{"sip.token_keys[0].secret_file", "no such file"}},
		// The B2BUA's RTP (UDP, on its SIP hosts) would take a port a UDP
		// listener holds; TCP/SCTP listeners have ports of their own.
		{"sip.udp in the rtp range", func(c *config.Config) { c.SIP.UDP = "127.0.0.1:20000" },
			[]string{"b2bua.rtp_port_min..rtp_port_max (16384-32767) includes UDP port 20000 of sip.udp (127.0.0.1:20000)", "move sip.udp out of the range, or narrow the range"}},
		{"b2bua.udp in its own rtp range", func(c *config.Config) { c.B2BUA.UDP = "127.0.0.1:16384" },
			[]string{"UDP port 16384 of b2bua.udp (127.0.0.1:16384)"}},
		{"rtp range on a wildcard host", func(c *config.Config) {
			c.B2BUA.UDP, c.B2BUA.TCP, c.B2BUA.Advertise, c.SIP.UDP = "0.0.0.0:5070", "", "192.0.2.10", "127.0.0.1:32767"
		}, []string{"UDP port 32767 of sip.udp (127.0.0.1:32767)"}},
		{"sip.udp on another host than the media", func(c *config.Config) { c.SIP.UDP = "127.0.0.2:20000" }, nil},
		{"sip.udp just outside the rtp range", func(c *config.Config) {
			c.B2BUA.RTPPortMin, c.B2BUA.RTPPortMax, c.SIP.UDP = 20000, 29999, "127.0.0.1:30000"
		}, nil},
		{"tcp listeners in the rtp range do not clash", func(c *config.Config) {
			c.SIP.TCP, c.Admin.Listen, c.SCP.Listen = "127.0.0.1:20000", "127.0.0.1:20001", []string{"127.0.0.1:20002"}
		}, nil},
		{"no rtp range", func(c *config.Config) { c.B2BUA.RTPPortMin, c.B2BUA.RTPPortMax, c.SIP.UDP = 0, 0, "127.0.0.1:20000" }, nil},
		{"b2bua off", func(c *config.Config) { c.B2BUA.Enabled, c.SIP.UDP = false, "127.0.0.1:20000" }, nil},
		{"ipsp listening", func(c *config.Config) { c.SCP.Role, c.SCP.Connect = "ipsp", nil }, nil},
		// serve reads the API's certificate before it serves; so must check.
		{"api tls files readable", func(c *config.Config) { c.API.Enabled, c.API.TLSCert, c.API.TLSKey = true, cert, key }, nil},
		{"api tls files missing", func(c *config.Config) {
			c.API.Enabled, c.API.TLSCert, c.API.TLSKey = true, "/nonexistent/api.pem", "/nonexistent/api.key"
		}, []string{"api tier (config section api:)", "api.tls_cert /nonexistent/api.pem", "no such file"}},
		// serve reads the fraud webhook's secret at start-up; so must check.
		{"webhook secret file missing", func(c *config.Config) {
			c.Fraud.Webhook.URL, c.Fraud.Webhook.SecretFile = "https://alerts.example/hook", "/nonexistent/hook.secret"
		}, []string{"fraud.webhook.secret_file", "/nonexistent/hook.secret", "no such file"}},
		{"webhook secret too short", func(c *config.Config) {
			c.Fraud.Webhook.URL, c.Fraud.Webhook.SecretFile = "https://alerts.example/hook", writeFile(t, "short\n")
		}, []string{"fraud.webhook", "5 bytes; want at least 16"}},
		{"webhook secret long enough", func(c *config.Config) {
			c.Fraud.Webhook.URL, c.Fraud.Webhook.SecretFile = "https://alerts.example/hook", writeFile(t, "0123456789abcdef\n")
		}, nil},
		// serve reads store.etcd's files before it dials; so must check.
		{"etcd ca file missing", func(c *config.Config) {
			c.Store.Backend, c.Store.Etcd.Endpoints, c.Store.Etcd.CAFile = config.BackendEtcd, []string{"https://10.0.0.1:2379"}, "/nonexistent/etcd-ca.pem"
		}, []string{"store.etcd.ca_file", "/nonexistent/etcd-ca.pem", "no such file"}},
		{"etcd client certificate missing", func(c *config.Config) {
			c.Store.Backend, c.Store.Etcd.Endpoints = config.BackendEtcd, []string{"https://10.0.0.1:2379"}
			c.Store.Etcd.CertFile, c.Store.Etcd.KeyFile = "/nonexistent/etcd.pem", "/nonexistent/etcd.key"
		}, []string{"store.etcd.cert_file /nonexistent/etcd.pem", "no such file"}},
		{"etcd password file missing", func(c *config.Config) {
			c.Store.Backend, c.Store.Etcd.Endpoints = config.BackendEtcd, []string{"http://10.0.0.1:2379"}
			c.Store.Etcd.Username, c.Store.Etcd.PasswordFile = "callgate", "/nonexistent/etcd-password"
		}, []string{"store.etcd.password_file", "no such file"}},
		{"etcd files readable", func(c *config.Config) {
			c.Store.Backend, c.Store.Etcd.Endpoints = config.BackendEtcd, []string{"https://10.0.0.1:2379"}
			c.Store.Etcd.CAFile, c.Store.Etcd.CertFile, c.Store.Etcd.KeyFile = cert, cert, key
			c.SIP.TokenKeys = []config.TokenKey{{ID: 1, Secret: "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="}}
		}, nil},
		{"api tls key does not match", func(c *config.Config) { c.API.Enabled, c.API.TLSCert, c.API.TLSKey = true, cert, cert },
			[]string{"api.tls_cert", "api.tls_key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			tc.mod(&c)
			err := Check(&c)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no problem found, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("report %q lacks %q", err, w)
				}
			}
		})
	}
}

// Every problem is reported at once, one per line; a section with
// problems of its own (config.Validate) is not handed to its tier, so
// nothing is reported twice.
func TestCheckReportsAllOnce(t *testing.T) {
	c := config.Default()
	c.Admin.Listen = "127.0.0.1:2905"
	c.SIP.ContinueRoute = "sip:{calld}@gw"
	c.SIP.ScreeningURI = "sip:{nope}@b2bua"
	c.SCP.SSN = 0 // config.Validate's to report; the SCP tier is not built
	// The B2BUA (on by default) inherits sip.continue_route and would
	// name the same template again; this test is about the SIP tier's.
	c.B2BUA.Enabled = false
	err := Check(&c)
	if err == nil {
		t.Fatal("no problems")
	}
	list := unjoin(err)
	if len(list) != 3 {
		t.Fatalf("%d problems, want the clash and the two templates:\n%v", len(list), err)
	}
	if strings.Contains(err.Error(), "ssn") {
		t.Errorf("the SCP's ssn reported again by Check:\n%v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// A problem in a section another tier reads (the SIP tier takes
// fraud.sip_outbound_sources; the API's decide the engine's fallback and
// the platform's signal defaults) is reported once, by config.Validate in
// its own words: it was reported again by that tier, keys.on_missing as a
// "reputation action".
func TestCheckReportsReadSectionsOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*config.Config)
		key  string
	}{
		{"fraud", func(c *config.Config) { c.Fraud.SIPOutboundSources = []string{"not-an-ip"} }, "fraud.sip_outbound_sources"},
		{"keys", func(c *config.Config) { c.Keys.OnMissing = "drop" }, "keys.on_missing"},
		{"reputation", func(c *config.Config) { c.Reputation.Actions.Low = "permit" }, "reputation.actions.low"},
		{"engine", func(c *config.Config) { c.Engine.NoRouteFallback = "maybe" }, "engine.no_route_fallback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			tc.mod(&c)
			verr := c.Validate()
			if verr == nil || !strings.Contains(verr.Error(), tc.key) {
				t.Fatalf("Validate = %v, want the %s problem", verr, tc.key)
			}
			if err := Check(&c); err != nil {
				t.Errorf("Check repeats a problem Validate reports: %v", err)
			}
		})
	}
}

// writeFile writes text to a new file and returns its path.
func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A problem in the sip: section is config.Validate's to report; the
// B2BUA, which takes sip.continue_route when its own is empty, must not
// report it a second time in its own words.
func TestCheckReportsInheritedProblemOnce(t *testing.T) {
	c := config.Default()
	c.B2BUA.Enabled, c.B2BUA.ContinueRoute = true, ""
	c.SIP.ContinueRoute = "gw.example"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "sip.continue_route") {
		t.Fatalf("Validate = %v, want the sip.continue_route problem", err)
	}
	if err := Check(&c); err != nil {
		t.Fatalf("Check repeats a problem Validate reports: %v", err)
	}
}
