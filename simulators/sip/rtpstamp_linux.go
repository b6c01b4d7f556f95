package sip

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// stampedConn is a second handle on a media session's RTP socket (diago
// keeps the first, unexported) that reads each datagram with the time the
// kernel received it (SO_TIMESTAMPNS, a control message of recvmsg).
//
// Why: the receiver's own time.Now() is taken after its goroutine has been
// scheduled, on the same two cores as everything else, so the jitter it
// measures includes sipsim's scheduling delay. On loopback the kernel
// stamps a datagram as the sender's sendmsg hands it over, so the jitter
// of kernel times is the sender's pacing alone, and the difference between
// the two figures is the receiver's part.
//
// The socket is shared with diago (same open file): the receiver is its
// only reader, and close must be called when the media ends (diago closing
// its own handle does not end reads on this one).
type stampedConn struct {
	conn *net.UDPConn
	oob  [128]byte
}

// openStamped finds the UDP socket of this process bound to laddr, opens a
// second handle on it and turns kernel receive timestamps on.
func openStamped(laddr netip.AddrPort) (*stampedConn, error) {
	fd, err := dupBoundSocket(laddr)
	if err != nil {
		return nil, err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("SO_TIMESTAMPNS on the RTP socket %s: %w", laddr, err)
	}
	f := os.NewFile(uintptr(fd), "rtp "+laddr.String())
	pc, err := net.FilePacketConn(f)
	f.Close() // FilePacketConn has its own copy
	if err != nil {
		return nil, fmt.Errorf("RTP socket %s: %w", laddr, err)
	}
	uc, ok := pc.(*net.UDPConn)
	if !ok {
		pc.Close()
		return nil, fmt.Errorf("RTP socket %s is not UDP", laddr)
	}
	return &stampedConn{conn: uc}, nil
}

// dupBoundSocket returns a close-on-exec duplicate of the descriptor of
// the datagram socket bound to laddr, found among the process's open
// descriptors (newest first: the media session was just opened).
func dupBoundSocket(laddr netip.AddrPort) (int, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1, fmt.Errorf("finding the RTP socket %s: %w", laddr, err)
	}
	fds := make([]int, 0, len(ents))
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			fds = append(fds, n)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(fds)))
	for _, fd := range fds {
		if !boundTo(fd, laddr) {
			continue
		}
		dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			continue // closed meanwhile
		}
		// The descriptor may have been closed and reused between the two
		// calls: check the copy is still that socket.
		if boundTo(dup, laddr) {
			return dup, nil
		}
		unix.Close(dup)
	}
	return -1, fmt.Errorf("no UDP socket of this process is bound to %s", laddr)
}

// boundTo reports whether fd is a datagram socket bound to laddr.
func boundTo(fd int, laddr netip.AddrPort) bool {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return false
	}
	var got netip.AddrPort
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		got = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		got = netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	default:
		return false
	}
	if got != laddr && (got.Port() != laddr.Port() || !got.Addr().IsUnspecified()) {
		return false
	}
	t, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	return err == nil && t == unix.SOCK_DGRAM
}

// read reads one datagram into buf and returns its length and the kernel's
// receive time (zero when the datagram came without one).
func (c *stampedConn) read(buf []byte) (int, time.Time, error) {
	n, oobn, _, _, err := c.conn.ReadMsgUDPAddrPort(buf, c.oob[:])
	if err != nil {
		return 0, time.Time{}, err
	}
	return n, kernelStamp(c.oob[:oobn]), nil
}

// kernelStamp finds the SCM_TIMESTAMPNS control message in oob (without
// allocating, unlike unix.ParseSocketControlMessage).
func kernelStamp(oob []byte) time.Time {
	for len(oob) >= unix.SizeofCmsghdr {
		var l, level, typ int
		if unix.SizeofCmsghdr == 16 { // 64-bit: Len is a size_t
			l = int(binary.NativeEndian.Uint64(oob[0:8]))
			level, typ = int(int32(binary.NativeEndian.Uint32(oob[8:12]))), int(int32(binary.NativeEndian.Uint32(oob[12:16])))
		} else {
			l = int(binary.NativeEndian.Uint32(oob[0:4]))
			level, typ = int(int32(binary.NativeEndian.Uint32(oob[4:8]))), int(int32(binary.NativeEndian.Uint32(oob[8:12])))
		}
		if l < unix.CmsgLen(0) || l > len(oob) {
			return time.Time{}
		}
		data := oob[unix.CmsgLen(0):l]
		if level == unix.SOL_SOCKET && typ == unix.SCM_TIMESTAMPNS {
			switch len(data) {
			case 16: // struct timespec, 64-bit
				return time.Unix(int64(binary.NativeEndian.Uint64(data[0:8])), int64(binary.NativeEndian.Uint64(data[8:16])))
			case 8:
				return time.Unix(int64(int32(binary.NativeEndian.Uint32(data[0:4]))), int64(int32(binary.NativeEndian.Uint32(data[4:8]))))
			}
			return time.Time{}
		}
		next := unix.CmsgSpace(l - unix.CmsgLen(0))
		if next >= len(oob) {
			return time.Time{}
		}
		oob = oob[next:]
	}
	return time.Time{}
}

func (c *stampedConn) close() error { return c.conn.Close() }
