package config

import (
	"fmt"
	"net/url"
	"strings"
)

// Cluster names this node among the platform's nodes and lists the others,
// for `callgate cluster status` (every node on one etcd: store.backend
// etcd). Nothing on the call path uses it.
type Cluster struct {
	// Name is this node's name in `callgate cluster status`; "" means the
	// host name.
	Name string `yaml:"name"`
	// Peers are the admin listeners of the platform's other nodes
	// ("http://10.0.0.2:9464"): `callgate cluster status` asks each for
	// its state (GET /cluster/node) and shows it next to this node's.
	Peers []string `yaml:"peers"`
}

// DefaultCluster is the cluster section's default: no name (the host
// name), no peers.
func DefaultCluster() Cluster { return Cluster{Peers: []string{}} }

func (c *Cluster) validate() []error {
	var errs []error
	for i, p := range c.Peers {
		u, err := url.Parse(p)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || strings.Trim(u.Path, "/") != "" {
			errs = append(errs, fmt.Errorf("cluster.peers[%d]: %q is not the base URL of a node's admin listener (http://10.0.0.2:9464)", i, p))
		}
	}
	return errs
}

// validateSharedTokenKeys: with store.backend etcd the nodes share the
// egress routes, so a SIP tier on one node sends screened calls to the
// B2BUA of another (the route's SIP URI); without sip.token_keys each node
// signs and verifies with a random key of its own, and every such call is
// refused 403 Screening Token Invalid by the other node's B2BUA.
func (c *Config) validateSharedTokenKeys() []error {
	if c.Store.Backend != BackendEtcd || len(c.SIP.TokenKeys) > 0 || (!c.SIP.Enabled && !c.B2BUA.Enabled) {
		return nil
	}
	return []error{fmt.Errorf("sip.token_keys: empty with store.backend etcd: each node would sign screening tokens with a random key of its own, " +
		"and another node's B2BUA refuses them (403 Screening Token Invalid); give every node the same key " +
		"(token_keys: [{id: 1, secret_file: /etc/callgate/token-1.key}], made with: openssl rand -base64 32), " +
		"or set sip.enabled and b2bua.enabled false on a node that runs neither")}
}
