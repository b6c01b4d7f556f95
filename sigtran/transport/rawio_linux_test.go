//go:build linux

package transport

import (
	"testing"
)

// TestRawIODoesNotAllocate: a message written and read over TCP costs no
// heap. The read and write functions were closures over each call's
// locals, three small objects a system call: the garbage that brought a
// load generator's GC pauses into the middle of its runs.
func TestRawIODoesNotAllocate(t *testing.T) {
	client, server := pair(t, Config{Network: "tcp", Address: "127.0.0.1:0"})
	m := msg(120, 7)
	buf := make([]byte, DefaultMaxMessage)
	roundTrip := func() {
		if err := client.WriteMsg(m, 0); err != nil {
			t.Fatal(err)
		}
		if n, _, err := server.ReadMsg(buf); err != nil || n != len(m) {
			t.Fatalf("read %d bytes, %v; want %d", n, err, len(m))
		}
	}
	roundTrip() // the poller registration and first buffers
	if a := testing.AllocsPerRun(1000, roundTrip); a != 0 {
		t.Errorf("%.1f allocations per message written and read, want 0", a)
	}
}
