package boltkv_test

import (
	"path/filepath"
	"testing"
	"time"

	"callgate/store/boltkv"
)

// Rev answers while a replica's full Replace is being written (on a large
// store that takes tens of seconds): the etcd backend's Health, so /readyz,
// /metrics and `cluster status`, read it, and must not hang meanwhile.
func TestRevAnswersDuringReplace(t *testing.T) {
	d, err := boltkv.Open(filepath.Join(t.TempDir(), "replica.db"), boltkv.Options{NoSync: true, Replica: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	filling, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- d.Replace(7, func(put func(key, value []byte, modRev int64) error) error {
			close(filling)
			<-release
			return put([]byte("s/a"), []byte("x"), 7)
		})
	}()
	<-filling
	got := make(chan int64, 1)
	go func() { got <- d.Rev() }()
	select {
	case r := <-got:
		if r != 0 {
			t.Errorf("Rev during the Replace: %d, want 0 (not committed yet)", r)
		}
	case <-time.After(2 * time.Second):
		close(release)
		t.Fatal("Rev waits for the Replace in progress")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r := d.Rev(); r != 7 {
		t.Fatalf("Rev after the Replace: %d, want 7", r)
	}
}
