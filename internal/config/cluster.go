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
