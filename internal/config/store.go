package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// ReplicaFile is the etcd replica's name inside the data directory.
const ReplicaFile = "callgate-replica.db"

// Store backends.
const (
	BackendBBolt = "bbolt" // one file, one node: the default
	BackendEtcd  = "etcd"  // etcd shared by many nodes, a local replica on each
)

// StoreEtcd is the store on etcd (store.backend: etcd): etcd is the shared
// system of record; each node reads from a local bbolt replica kept in
// step by a watch, and answers from it while etcd is unreachable (stale,
// shown in /readyz and /metrics).
type StoreEtcd struct {
	// Endpoints are the etcd members' client URLs (http:// or https://).
	Endpoints []string `yaml:"endpoints"`
	// Prefix is the key prefix of this platform's data in etcd; it ends
	// in '/'. Platforms sharing one etcd use different prefixes.
	Prefix string `yaml:"prefix"`
	// Replica is the local bbolt replica; "" means
	// DATA_DIR/callgate-replica.db.
	Replica string `yaml:"replica"`
	// CAFile verifies the members' certificates (https endpoints);
	// CertFile and KeyFile authenticate this node to them.
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Username and PasswordFile (a file holding the password, so the
	// password is not in the configuration) for etcd authentication.
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	// DialTimeout bounds connecting, RequestTimeout one request.
	DialTimeout    time.Duration `yaml:"dial_timeout"`
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// StaleAfter: without an answer from a quorum for this long, the node
	// reports its replica stale.
	StaleAfter time.Duration `yaml:"stale_after"`
}

// DefaultStore is the store section's default: bbolt, and etcd settings
// ready for when backend is switched to etcd.
func DefaultStore() Store {
	return Store{
		Backend:     BackendBBolt,
		LockTimeout: time.Second,
		Etcd: StoreEtcd{
			Prefix:         "callgate/",
			DialTimeout:    5 * time.Second,
			RequestTimeout: 5 * time.Second,
			StaleAfter:     3 * time.Second,
		},
	}
}

// ReplicaPath is where the etcd replica lives: store.etcd.replica, else
// DATA_DIR/callgate-replica.db.
func (c *Config) ReplicaPath() string {
	if c.Store.Etcd.Replica != "" {
		return c.Store.Etcd.Replica
	}
	return filepath.Join(c.DataDir, ReplicaFile)
}

// storePaths are the store's file settings that a config file gives
// relative to its folder.
func (s *Store) storePaths() []*string {
	e := &s.Etcd
	return []*string{&s.Path, &e.Replica, &e.CAFile, &e.CertFile, &e.KeyFile, &e.PasswordFile}
}

func (s *Store) validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("store.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if s.LockTimeout <= 0 {
		bad("lock_timeout", "%s is not positive", s.LockTimeout)
	}
	switch s.Backend {
	case BackendBBolt:
		return errs
	case BackendEtcd:
	default:
		bad("backend", "%q is not %s or %s", s.Backend, BackendBBolt, BackendEtcd)
		return errs
	}
	e := &s.Etcd
	if len(e.Endpoints) == 0 {
		bad("etcd.endpoints", "empty; list the etcd members' client URLs (https://10.0.0.1:2379, ...)")
	}
	tls := e.CAFile != "" || e.CertFile != "" || e.KeyFile != ""
	for i, ep := range e.Endpoints {
		u, err := url.Parse(ep)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
			bad(fmt.Sprintf("etcd.endpoints[%d]", i), "%q is not an http:// or https:// URL with a host:port", ep)
		case tls && u.Scheme == "http":
			bad(fmt.Sprintf("etcd.endpoints[%d]", i), "%q is http:// but TLS files are set; use https://", ep)
		}
	}
	if !strings.HasSuffix(e.Prefix, "/") || strings.Trim(e.Prefix, "/") == "" {
		bad("etcd.prefix", "%q must be a name ending in '/' (callgate/)", e.Prefix)
	}
	if (e.CertFile == "") != (e.KeyFile == "") {
		bad("etcd", "cert_file and key_file go together (have %q and %q)", e.CertFile, e.KeyFile)
	}
	if e.PasswordFile != "" && e.Username == "" {
		bad("etcd.password_file", "set, but no username")
	}
	for name, d := range map[string]time.Duration{"dial_timeout": e.DialTimeout, "request_timeout": e.RequestTimeout, "stale_after": e.StaleAfter} {
		if d <= 0 {
			bad("etcd."+name, "%s is not positive", d)
		}
	}
	return errs
}
