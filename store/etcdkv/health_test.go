package etcdkv_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"callgate/store/etcdkv/etcdtest"
)

// After Close nothing watches: Health says so, and calls the node stale,
// instead of the last state of a loop that no longer runs.
func TestHealthAfterClose(t *testing.T) {
	c := etcdtest.Start(t, 1)
	b := openNode(t, c, fmt.Sprintf("closed%d/", prefixes.Add(1)), filepath.Join(t.TempDir(), "replica.db"))
	if !until(5*time.Second, func() bool { return b.Health().Watching }) {
		t.Fatalf("open node never watching: %+v", b.Health())
	}
	if h := b.Health(); h.Stale {
		t.Fatalf("open node: %+v", h)
	}
	b.Close()
	if h := b.Health(); h.Watching || !h.Stale {
		t.Fatalf("closed node: %+v, want not watching, stale", h)
	}
}
