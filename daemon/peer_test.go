package daemon

import (
	"net"
	"net/netip"
	"os"
	"testing"
)

// Addresses are written as /proc/net/tcp writes them.
func TestProcHex(t *testing.T) {
	for _, tc := range []struct{ in, v4, v6 string }{
		{"127.0.0.1:8080", "0100007F:1F90", "0000000000000000FFFF00000100007F:1F90"},
		{"[::1]:1", "", "00000000000000000000000001000000:0001"},
	} {
		ap := netip.MustParseAddrPort(tc.in)
		if got := procHex4(ap); got != tc.v4 {
			t.Errorf("procHex4(%s) = %q, want %q", tc.in, got, tc.v4)
		}
		if got := procHex6(ap); got != tc.v6 {
			t.Errorf("procHex6(%s) = %q, want %q", tc.in, got, tc.v6)
		}
	}
}

// The kernel names the owner of the client's end of a loopback connection.
func TestSocketOwner(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Fatalf("this test needs Linux's /proc/net/tcp: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	uid, ok := socketOwner(s.RemoteAddr().String(), s.LocalAddr().String())
	if !ok || int(uid) != os.Getuid() {
		t.Errorf("socketOwner = %d, %v; want %d", uid, ok, os.Getuid())
	}
	if _, ok := socketOwner("127.0.0.1:1", s.LocalAddr().String()); ok {
		t.Error("an address with no socket has an owner")
	}
}
