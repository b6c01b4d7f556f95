package etcdkv_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"callgate/store/etcdkv"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/kv"
	"callgate/store/kv/kvtest"
)

var prefixes atomic.Int64

// openNode opens a backend on the cluster under prefix with its own
// replica; it is closed when the test ends.
func openNode(t testing.TB, c *etcdtest.Cluster, prefix, replica string) *etcdkv.Backend {
	t.Helper()
	b, err := etcdkv.Open(nodeConfig(c, prefix, replica))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func nodeConfig(c *etcdtest.Cluster, prefix, replica string) etcdkv.Config {
	return etcdkv.Config{Endpoints: c.Endpoints(), Prefix: prefix, ReplicaPath: replica, NoSync: true,
		ProbeInterval: 200 * time.Millisecond, StaleAfter: time.Second, RequestTimeout: 2 * time.Second, DialTimeout: 2 * time.Second}
}

func TestConformance(t *testing.T) {
	c := etcdtest.Start(t, 3)
	kvtest.Run(t, func(t *testing.T) kv.Backend {
		p := fmt.Sprintf("conf%d/", prefixes.Add(1))
		return openNode(t, c, p, filepath.Join(t.TempDir(), "replica.db"))
	})
}
