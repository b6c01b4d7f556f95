package transport

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"callgate/internal/sctptest"
)

func msg(n int, fill byte) []byte {
	b := make([]byte, n)
	b[0], b[2], b[3] = 1, 3, 3
	b[4], b[5], b[6], b[7] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	for i := 8; i < n; i++ {
		b[i] = fill
	}
	return b
}

func pair(t *testing.T, cfg Config) (client, server Conn) {
	t.Helper()
	ln, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
			close(accepted)
			return
		}
		accepted <- c
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dcfg := cfg
	dcfg.Address = ln.Addr().String()
	client, err = Dial(ctx, dcfg)
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.FailNow()
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func exchange(t *testing.T, client, server Conn, stream uint16) {
	t.Helper()
	msgs := [][]byte{msg(8, 0), msg(16, 0xaa), msg(1000, 0x55), msg(40000, 0x11)}
	go func() {
		for _, m := range msgs {
			if err := client.WriteMsg(m, stream); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	buf := make([]byte, DefaultMaxMessage)
	for i, m := range msgs {
		n, st, err := server.ReadMsg(buf)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(buf[:n], m) {
			t.Fatalf("message %d: got %d octets, want %d", i, n, len(m))
		}
		if server.Network() == "sctp" && st != stream {
			t.Fatalf("message %d on stream %d, sent on %d", i, st, stream)
		}
	}
}

func TestTCPMessages(t *testing.T) {
	client, server := pair(t, Config{Network: "tcp", Address: "127.0.0.1:0"})
	if client.Streams() != 1 || client.Network() != "tcp" {
		t.Fatalf("streams %d network %s", client.Streams(), client.Network())
	}
	exchange(t, client, server, 0)
	// Peer close: clean EOF at a message boundary.
	client.Close()
	if _, _, err := server.ReadMsg(make([]byte, 64)); err != io.EOF {
		t.Fatalf("after peer close: %v, want EOF", err)
	}
}

func TestTCPFramingErrorIsFatal(t *testing.T) {
	for _, c := range []struct {
		name string
		hdr  []byte
		want string
	}{
		{"short length", []byte{1, 0, 3, 1, 0, 0, 0, 4}, "shorter than the header"},
		{"too long", []byte{1, 0, 3, 1, 0, 1, 0, 1}, "over the 65536-octet maximum"},
	} {
		t.Run(c.name, func(t *testing.T) {
			client, server := pair(t, Config{Network: "tcp", Address: "127.0.0.1:0"})
			if err := client.WriteMsg(append(msg(12, 1), c.hdr...), 0); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, DefaultMaxMessage)
			if n, _, err := server.ReadMsg(buf); err != nil || n != 12 {
				t.Fatalf("first message: %d %v", n, err)
			}
			_, _, err := server.ReadMsg(buf)
			var fe *FrameError
			if !errors.As(err, &fe) || fe.Offset < 12 || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
				t.Fatalf("error %v, want FrameError at offset >= 12 with %q", err, c.want)
			}
			var tl *MessageTooLongError
			if tooLong := errors.As(err, &tl); tooLong != (c.name == "too long") {
				t.Fatalf("MessageTooLongError found: %v, for %s", tooLong, c.name)
			} else if tooLong && (tl.Length != 65537 || tl.Max != DefaultMaxMessage || tl.Header != [8]byte(c.hdr)) {
				t.Fatalf("too long: %+v", tl)
			}
			// Sticky: the stream cannot be resynchronised.
			if _, _, err2 := server.ReadMsg(buf); err2 != err {
				t.Fatalf("second read after a framing error: %v", err2)
			}
		})
	}
}

// TestTCPOtherVersionIsFramed: a message of another M3UA version is still
// framed by its length and delivered, for the M3UA layer to answer with
// ERR Invalid Version (RFC 4666 §3.8.1) while the connection carries on.
func TestTCPOtherVersionIsFramed(t *testing.T) {
	client, server := pair(t, Config{Network: "tcp", Address: "127.0.0.1:0"})
	v2 := msg(16, 2)
	v2[0] = 2
	if err := client.WriteMsg(append(v2, msg(12, 1)...), 0); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, DefaultMaxMessage)
	for i, want := range [][]byte{v2, msg(12, 1)} {
		n, _, err := server.ReadMsg(buf)
		if err != nil || !bytes.Equal(buf[:n], want) {
			t.Fatalf("message %d: %x %v, want %x", i, buf[:n], err, want)
		}
	}
}

func TestFrameReaderTruncated(t *testing.T) {
	buf := make([]byte, 64)
	fr := NewFrameReader(bytes.NewReader(msg(16, 1)[:12]), 64)
	if _, err := fr.ReadFrame(buf); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated body: %v", err)
	}
	fr = NewFrameReader(bytes.NewReader([]byte{1, 0, 3}), 64)
	if _, err := fr.ReadFrame(buf); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated header: %v", err)
	}
	fr = NewFrameReader(bytes.NewReader(msg(32, 1)), 64)
	if _, err := fr.ReadFrame(buf[:16]); err == nil {
		t.Fatal("message larger than the buffer accepted")
	}
}

func TestUnknownNetwork(t *testing.T) {
	if _, err := Dial(context.Background(), Config{Network: "udp", Address: "127.0.0.1:1"}); !errors.Is(err, ErrUnknownNetwork) {
		t.Fatal(err)
	}
	if _, err := Listen(Config{Network: "", Address: "127.0.0.1:0"}); !errors.Is(err, ErrUnknownNetwork) {
		t.Fatal(err)
	}
}

func TestTCPDialRefusedAndCancelled(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := Dial(ctx, Config{Network: "tcp", Address: addr}); err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
}

// TestSCTPAvailableExplains checks the probe gives a usable reason when
// SCTP is missing, and that SCTP dial/listen fail with that reason.
func TestSCTPAvailableExplains(t *testing.T) {
	err := SCTPAvailable()
	if err == nil {
		t.Skip("kernel has SCTP; the unavailable path is not reachable here")
	}
	if !errors.Is(err, ErrSCTPUnavailable) {
		t.Fatalf("%v does not wrap ErrSCTPUnavailable", err)
	}
	t.Logf("SCTPAvailable: %v", err)
	if _, lerr := Listen(Config{Network: "sctp", Address: "127.0.0.1:0"}); !errors.Is(lerr, ErrSCTPUnavailable) {
		t.Fatalf("listen: %v", lerr)
	}
	if _, derr := Dial(context.Background(), Config{Network: "sctp", Address: "127.0.0.1:2905"}); !errors.Is(derr, ErrSCTPUnavailable) {
		t.Fatalf("dial: %v", derr)
	}
}

func TestSCTPMessages(t *testing.T) {
	sctptest.Need(t, SCTPAvailable)
	client, server := pair(t, Config{Network: "sctp", Address: "127.0.0.1:0", OutStreams: 8, InStreams: 8})
	if client.Streams() < 2 || client.Network() != "sctp" {
		t.Fatalf("streams %d network %s", client.Streams(), client.Network())
	}
	exchange(t, client, server, 0)
	exchange(t, client, server, 5)
	if err := client.WriteMsg(msg(8, 0), client.Streams()); !errors.Is(err, ErrStream) {
		t.Fatalf("write on stream %d: %v", client.Streams(), err)
	}
}

// TestSCTPMessageTooLong: a message longer than the reader's buffer is
// read out and reported as a *MessageTooLongError with its full length;
// the association goes on with the next message intact.
func TestSCTPMessageTooLong(t *testing.T) {
	sctptest.Need(t, SCTPAvailable)
	client, server := pair(t, Config{Network: "sctp", Address: "127.0.0.1:0"})
	big := msg(3000, 7)
	go func() {
		for _, m := range [][]byte{big, msg(12, 1)} {
			if err := client.WriteMsg(m, 1); err != nil {
				t.Error(err)
			}
		}
	}()
	buf := make([]byte, 1024)
	_, _, err := server.ReadMsg(buf)
	var tl *MessageTooLongError
	if !errors.As(err, &tl) || tl.Length != 3000 || tl.Max != 1024 || tl.Header != [8]byte(big[:8]) {
		t.Fatalf("oversize message: %v (%+v)", err, tl)
	}
	if n, st, err := server.ReadMsg(buf); err != nil || !bytes.Equal(buf[:n], msg(12, 1)) || st != 1 {
		t.Fatalf("next message: %x on stream %d, %v", buf[:n], st, err)
	}
}

func FuzzFrameReader(f *testing.F) {
	f.Add(append(msg(8, 0), msg(12, 1)...), 64)
	f.Add([]byte{1, 0, 3, 1, 0, 0, 0, 200}, 64)
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 8}, 64)
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 7, 1, 1}, 16)
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		if max < 0 || max > 1<<20 {
			max = DefaultMaxMessage
		}
		fr := NewFrameReader(bytes.NewReader(in), max)
		buf := make([]byte, 512)
		total := 0
		for {
			n, err := fr.ReadFrame(buf)
			if err != nil {
				break
			}
			if n < 8 || n > len(buf) || n != int(binary.BigEndian.Uint32(buf[4:8])) {
				t.Fatalf("bad frame accepted: %d octets, header %x", n, buf[:8])
			}
			if !bytes.Equal(buf[:n], in[total:total+n]) {
				t.Fatal("frame does not match the input")
			}
			total += n
		}
	})
}
