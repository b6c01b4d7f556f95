package transport

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"
)

// TestTCPWriteWaitsForRoom: a write bigger than the socket buffers is
// written whole once the peer reads (the send buffer full, the writer
// waits for the poller instead of failing or spinning), and the messages
// around it arrive intact and in order; Buffered tells whole messages in
// the read-ahead buffer from a partial one.
func TestTCPWriteWaitsForRoom(t *testing.T) {
	client, server := pair(t, Config{Network: "tcp", Address: "127.0.0.1:0"})
	var batch []byte
	var want [][]byte
	for i := range 300 { // 300 x 60,000 octets: far more than loopback buffers hold
		m := msg(60000, byte(i))
		batch = append(batch, m...)
		want = append(want, m)
	}
	done := make(chan error, 1)
	go func() { done <- client.WriteMsg(batch, 0) }()
	select {
	case err := <-done:
		t.Fatalf("18 MB written before the peer read anything (%v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	buf := make([]byte, DefaultMaxMessage)
	for i, m := range want {
		n, _, err := server.ReadMsg(buf)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(buf[:n], m) {
			t.Fatalf("message %d differs", i)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ra, ok := server.(ReadAhead); !ok || ra.Buffered() {
		t.Fatalf("read-ahead: %v, want nothing buffered", ok)
	}
	small := append(msg(16, 1), msg(16, 2)...)
	if err := client.WriteMsg(append(small, msg(40, 3)[:20]...), 0); err != nil {
		t.Fatal(err)
	}
	ra := server.(ReadAhead)
	for _, fill := range []byte{1, 2} {
		if _, _, err := server.ReadMsg(buf); err != nil || buf[8] != fill {
			t.Fatalf("message %d: %v", fill, err)
		}
		if fill == 1 {
			if !ra.Buffered() {
				t.Fatal("the second whole message is in the buffer: Buffered should say so")
			}
		}
	}
	if ra.Buffered() {
		t.Fatal("half a message buffered: the next read would wait, Buffered must be false")
	}
}

// TestTCPClosedErrors: reading or writing a connection closed here fails
// with net.ErrClosed, as with the net package's own I/O.
func TestTCPClosedErrors(t *testing.T) {
	client, _ := pair(t, Config{Network: "tcp", Address: "127.0.0.1:0"})
	client.Close()
	if _, _, err := client.ReadMsg(make([]byte, 64)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after Close: %v, want net.ErrClosed", err)
	}
	if err := client.WriteMsg(msg(8, 0), 0); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close: %v, want net.ErrClosed", err)
	}
}
