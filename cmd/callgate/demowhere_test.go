package main

import (
	"strings"
	"testing"

	"callgate/internal/config"
)

// demo on a node of many names the store every node shares (etcd and
// prefix), not the node's replica file, which is only its copy; on bbolt
// it names the store file.
func TestDemoNamesTheSharedStore(t *testing.T) {
	c := config.Default()
	c.DataDir = "/srv/cg"
	if got := storeWhere(&c); got != "/srv/cg/callgate.db" {
		t.Errorf("bbolt: %q, want the store file", got)
	}
	c.Store.Backend = config.BackendEtcd
	c.Store.Etcd.Endpoints = []string{"http://10.0.0.1:2379", "http://10.0.0.2:2379"}
	got := storeWhere(&c)
	if !strings.HasPrefix(got, "etcd http://10.0.0.1:2379,http://10.0.0.2:2379, prefix callgate/") || strings.Contains(got, "replica") {
		t.Errorf("etcd: %q, want the endpoints and prefix, not the replica file", got)
	}
}
