//go:build linux

package redirect

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMmsgAddresses: sources read as the net package reads them, and
// destinations written as the socket's family takes them.
func TestMmsgAddresses(t *testing.T) {
	v6 := &mmsgIO{family: unix.AF_INET6}
	v4 := &mmsgIO{family: unix.AF_INET}
	for _, tc := range []struct {
		io       *mmsgIO
		dst, got string // got: dst read back as a source
	}{
		{v6, "[2001:db8::1]:5060", "[2001:db8::1]:5060"},
		{v6, "[fe80::1%7]:5060", "[fe80::1%7]:5060"},      // no interface 7 here: the zone stays a number
		{v6, "192.0.2.1:5061", "[::ffff:192.0.2.1]:5061"}, // IPv4 on a dual-stack socket: mapped
		{v4, "192.0.2.1:5061", "192.0.2.1:5061"},
		{v4, "[::ffff:192.0.2.1]:5062", "192.0.2.1:5062"},
	} {
		var sa unix.RawSockaddrInet6
		if _, err := tc.io.putAddr(&sa, netip.MustParseAddrPort(tc.dst)); err != nil {
			t.Errorf("%s: %v", tc.dst, err)
			continue
		}
		if got := tc.io.addrPort(&sa).String(); got != tc.got {
			t.Errorf("%s read back as %s, want %s", tc.dst, got, tc.got)
		}
	}
	var sa unix.RawSockaddrInet6
	if _, err := v4.putAddr(&sa, netip.MustParseAddrPort("[2001:db8::1]:5060")); err == nil {
		t.Error("an IPv6 destination on an IPv4 socket: no error")
	}
}

// TestStatelessBatchNoAllocs: reading a batch with recvmmsg, answering it
// and sending the responses with sendmmsg allocates nothing, deferring
// allowed (deferred.go) as on a serving reader.
func TestStatelessBatchNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's own allocations would be counted")
	}
	s := benchServer(t)
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cli, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	b := newUDPBatch(s, 8)
	if b.io, err = newBatchIO(srv, b.in); err != nil {
		t.Fatal(err)
	}
	b.deferTo(srv) // as the serving readers: decisions may be deferred (none here)
	to := srv.LocalAddr().(*net.UDPAddr).AddrPort()
	var msgs [][]byte
	for _, name := range []string{"allow", "block", "screen", "allow", "block", "screen"} {
		msgs = append(msgs, []byte(benchInvites[name]))
	}
	buf := make([]byte, 4096)
	cli.SetReadDeadline(time.Now().Add(time.Minute))
	cycle := func() {
		for _, m := range msgs {
			if _, err := cli.WriteToUDPAddrPort(m, to); err != nil {
				t.Fatal(err)
			}
		}
		got := 0
		for got < len(msgs) {
			n, err := b.io.read(b.in)
			if err != nil {
				t.Fatal(err)
			}
			s.answerBatch(b, n)
			got += n
		}
		for range msgs {
			if _, _, err := cli.ReadFromUDPAddrPort(buf); err != nil {
				t.Fatal(err)
			}
		}
	}
	cycle() // warm up: buffers grow to their size
	if a := testing.AllocsPerRun(50, cycle); a != 0 {
		t.Errorf("%.1f allocations per batch of %d, want 0", a, len(msgs))
	}
	if st := s.Stats(); st.SendErrors != 0 || st.Fallback != 0 {
		t.Errorf("stats %+v", st)
	}
}
