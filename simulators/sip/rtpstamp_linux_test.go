package sip

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/diago/media"
	"golang.org/x/sys/unix"

	"callgate/simulators/ssp/hist"
)

// The jitter by kernel receive times is the sender's spacing; the
// receiver's clock adds its own delay (here 0-15 ms) to the other figure.
func TestKernelJitterLeavesOutTheReceiver(t *testing.T) {
	rx := &receiver{counter: &rtpCounter{jitter: new(hist.Histogram), kjitter: new(hist.Histogram)}, eventPT: -1}
	payload := make([]byte, 160)
	t0 := time.Unix(1000, 0)
	late := []time.Duration{0, 15, 2, 9, 0, 12, 1, 7}
	for i, d := range late {
		kernel := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		rx.packetAt(ptPCMU, uint16(i), uint32(i)*160, 7, payload, kernel.Add(d*time.Millisecond), kernel)
	}
	s := rx.counter.stats()
	if s.KernelJitterSamples != 7 || s.KernelJitterMaxMs > 0.01 {
		t.Errorf("kernel jitter %+v, want 7 pairs, all 0", s)
	}
	if s.JitterSamples != 7 || s.JitterMaxMs < 12.9 {
		t.Errorf("receiver-clock jitter %+v, want 7 pairs up to 13-15 ms", s)
	}
	// Without kernel times (another OS, a socket not found) only the
	// receiver's clock is measured.
	rx2 := &receiver{counter: &rtpCounter{jitter: new(hist.Histogram), kjitter: new(hist.Histogram)}, eventPT: -1}
	for i := range 4 {
		rx2.packet(ptPCMU, uint16(i), uint32(i)*160, 7, payload, t0.Add(time.Duration(i)*20*time.Millisecond))
	}
	if s := rx2.counter.stats(); s.JitterSamples != 3 || s.KernelJitterSamples != 0 {
		t.Errorf("without kernel times: %d and %d pairs, want 3 and 0", s.JitterSamples, s.KernelJitterSamples)
	}
}

// kernelStamp finds SCM_TIMESTAMPNS among other control messages and
// rejects truncated ones.
func TestKernelStampParse(t *testing.T) {
	msg := func(level, typ int, data []byte) []byte {
		b := make([]byte, unix.CmsgSpace(len(data)))
		if unix.SizeofCmsghdr == 16 {
			binary.NativeEndian.PutUint64(b[0:8], uint64(unix.CmsgLen(len(data))))
			binary.NativeEndian.PutUint32(b[8:12], uint32(level))
			binary.NativeEndian.PutUint32(b[12:16], uint32(typ))
		} else {
			binary.NativeEndian.PutUint32(b[0:4], uint32(unix.CmsgLen(len(data))))
			binary.NativeEndian.PutUint32(b[4:8], uint32(level))
			binary.NativeEndian.PutUint32(b[8:12], uint32(typ))
		}
		copy(b[unix.CmsgLen(0):], data)
		return b
	}
	ts := make([]byte, 16)
	binary.NativeEndian.PutUint64(ts[0:8], 1700000000)
	binary.NativeEndian.PutUint64(ts[8:16], 123456789)
	other := msg(unix.SOL_IP, unix.IP_TTL, []byte{64, 0, 0, 0})
	oob := append(other, msg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts)...)
	if got, want := kernelStamp(oob), time.Unix(1700000000, 123456789); !got.Equal(want) {
		t.Errorf("kernelStamp = %v, want %v", got, want)
	}
	if got := kernelStamp(other); !got.IsZero() {
		t.Errorf("no timestamp message: got %v", got)
	}
	if got := kernelStamp(oob[:len(oob)-4]); !got.IsZero() {
		t.Errorf("truncated: got %v", got)
	}
}

// openStamped finds a socket of this process by its address (as it finds
// diago's RTP socket) and reads datagrams with the kernel's receive time.
func TestOpenStampedReadsKernelTimes(t *testing.T) {
	ms, err := media.NewMediaSession(net.IPv4(127, 0, 0, 1), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	sc, err := openStamped(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(ms.Laddr.Port)))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.close()
	if _, err := openStamped(netip.MustParseAddrPort("127.0.0.1:1")); err == nil {
		t.Error("a socket found for an address nothing is bound to")
	}
	tx, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ms.Laddr.Port})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	before := time.Now()
	if _, err := tx.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	n, at, err := sc.read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if at.IsZero() || at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
		t.Errorf("kernel time %v, want about %v", at, before)
	}
	// Closing our handle ends its reads although diago's stays open.
	done := make(chan error, 1)
	go func() { _, _, err := sc.read(buf); done <- err }()
	sc.close()
	if err := <-done; err == nil {
		t.Error("read on a closed handle: no error")
	}
}

// kernelStamp reads whatever control messages come, truncated or not,
// without panicking.
func FuzzKernelStamp(f *testing.F) {
	ts := make([]byte, unix.CmsgSpace(16))
	binary.NativeEndian.PutUint64(ts[0:8], uint64(unix.CmsgLen(16)))
	binary.NativeEndian.PutUint32(ts[8:12], uint32(unix.SOL_SOCKET))
	binary.NativeEndian.PutUint32(ts[12:16], uint32(unix.SCM_TIMESTAMPNS))
	f.Add(ts)
	f.Add([]byte{})
	f.Add(make([]byte, 15))
	f.Fuzz(func(t *testing.T, oob []byte) {
		_ = kernelStamp(oob)
	})
}
