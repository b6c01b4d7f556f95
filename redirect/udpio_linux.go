//go:build linux

package redirect

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsgIO is batchIO over recvmmsg and sendmmsg, with every header, buffer
// and address reused: a batch allocates nothing.
//
// The calls go through the socket's syscall.RawConn, so the runtime's
// poller parks the reader while nothing is queued, and are made as raw
// system calls. The socket is non-blocking, so neither call can block; a
// raw call just does not tell the scheduler it entered the kernel. An
// ordinary one (what golang.org/x/net's ipv4.PacketConn ReadBatch and
// WriteBatch make) wakes the runtime's sysmon thread each time the process
// comes out of idle, and sysmon then polls every 20 µs for a while: on a
// server pinned to one core that polling preempts the reader on the same
// core. x/net also allocates a net.UDPAddr per datagram read. Measured on
// the benchmark at 20,000 calls/s, x/net's batch calls cost about a fifth
// more server CPU per call than these (bench/sip/README.md).
type mmsgIO struct {
	rc     syscall.RawConn
	family uint16 // the socket's: AF_INET or AF_INET6

	rh  []unix.Mmsghdr // reads, bound to the datagrams' buffers once
	riv []unix.Iovec
	rsa []unix.RawSockaddrInet6 // the sources (an IPv4 one fits too)
	wh  []unix.Mmsghdr          // writes
	wiv []unix.Iovec
	wsa []unix.RawSockaddrInet6

	// The call in progress; the RawConn callbacks are bound once.
	hs     []unix.Mmsghdr
	n      int
	errno  syscall.Errno
	recvFn func(fd uintptr) bool
	sendFn func(fd uintptr) bool

	zones map[uint32]string // IPv6 scope IDs seen -> zone names
}

func newBatchIO(conn *net.UDPConn, in []datagram) (batchIO, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	var domain int
	var derr error
	if err := rc.Control(func(fd uintptr) {
		domain, derr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, os.NewSyscallError("getsockopt SO_DOMAIN", derr)
	}
	n := len(in)
	m := &mmsgIO{
		rc: rc, family: uint16(domain),
		rh: make([]unix.Mmsghdr, n), riv: make([]unix.Iovec, n), rsa: make([]unix.RawSockaddrInet6, n),
		wh: make([]unix.Mmsghdr, n), wiv: make([]unix.Iovec, n), wsa: make([]unix.RawSockaddrInet6, n),
	}
	for i := range n {
		m.riv[i].Base = &in[i].buf[0]
		m.riv[i].SetLen(len(in[i].buf))
		m.rh[i].Hdr.Name = (*byte)(unsafe.Pointer(&m.rsa[i]))
		m.rh[i].Hdr.Iov = &m.riv[i]
		m.rh[i].Hdr.SetIovlen(1)
		m.wh[i].Hdr.Name = (*byte)(unsafe.Pointer(&m.wsa[i]))
		m.wh[i].Hdr.Iov = &m.wiv[i]
		m.wh[i].Hdr.SetIovlen(1)
	}
	m.recvFn, m.sendFn = m.recv, m.send
	return m, nil
}

func (m *mmsgIO) read(in []datagram) (int, error) {
	k := min(len(in), len(m.rh))
	for i := range k {
		m.rh[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		m.rh[i].Hdr.Flags = 0
		m.rh[i].Len = 0
	}
	m.hs = m.rh[:k]
	if err := m.rc.Read(m.recvFn); err != nil {
		return 0, err
	}
	if m.errno != 0 {
		return 0, os.NewSyscallError("recvmmsg", m.errno)
	}
	for i := range m.n {
		in[i].n = int(m.rh[i].Len)
		in[i].src = m.addrPort(&m.rsa[i])
	}
	return m.n, nil
}

func (m *mmsgIO) write(out []outgoing) (int, error) {
	k := min(len(out), len(m.wh))
	for i := range k {
		namelen, err := m.putAddr(&m.wsa[i], out[i].dst)
		if err != nil {
			if i == 0 {
				return 0, err
			}
			k = i // send those before it; the next write reports it
			break
		}
		m.wh[i].Hdr.Namelen = namelen
		m.wh[i].Len = 0
		if d := out[i].data; len(d) > 0 {
			m.wiv[i].Base = &d[0]
		} else {
			m.wiv[i].Base = nil
		}
		m.wiv[i].SetLen(len(out[i].data))
	}
	m.hs = m.wh[:k]
	if err := m.rc.Write(m.sendFn); err != nil {
		return 0, err
	}
	if m.errno != 0 {
		// sendmmsg fails only when its first message does.
		return 0, os.NewSyscallError("sendmmsg", m.errno)
	}
	return m.n, nil
}

// recv and send are the RawConn callbacks: false means "nothing to read"
// or "no room to write", and the poller waits for the socket.
func (m *mmsgIO) recv(fd uintptr) bool {
	return m.call(unix.SYS_RECVMMSG, fd)
}

func (m *mmsgIO) send(fd uintptr) bool {
	return m.call(unix.SYS_SENDMMSG, fd)
}

func (m *mmsgIO) call(trap, fd uintptr) bool {
	for {
		r, _, e := unix.RawSyscall6(trap, fd, uintptr(unsafe.Pointer(&m.hs[0])), uintptr(len(m.hs)), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		m.n, m.errno = int(r), e
		if e != 0 {
			m.n = 0
		}
		return e != unix.EAGAIN
	}
}

// addrPort reads a source address as the net package's
// ReadFromUDPAddrPort gives it: IPv4 from an IPv4 socket; from an IPv6
// socket IPv6, IPv4 peers mapped, with the zone of a scoped address.
func (m *mmsgIO) addrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), getPort(&sa4.Port))
	case unix.AF_INET6:
		ip := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			ip = ip.WithZone(m.zone(sa.Scope_id))
		}
		return netip.AddrPortFrom(ip, getPort(&sa.Port))
	}
	return netip.AddrPort{}
}

// putAddr writes dst as the socket's family takes it (an IPv4 address
// mapped for an IPv6 socket) and returns its length.
func (m *mmsgIO) putAddr(sa *unix.RawSockaddrInet6, dst netip.AddrPort) (uint32, error) {
	ip := dst.Addr()
	if m.family == unix.AF_INET {
		ip = ip.Unmap()
		if !ip.Is4() {
			return 0, fmt.Errorf("destination %s is not an IPv4 address (the UDP socket is IPv4)", dst)
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ip.As4()}
		putPort(&sa4.Port, dst.Port())
		return unix.SizeofSockaddrInet4, nil
	}
	if !ip.IsValid() {
		return 0, fmt.Errorf("destination %s is not an IP address", dst)
	}
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ip.As16(), Scope_id: m.zoneIndex(ip.Zone())}
	putPort(&sa.Port, dst.Port())
	return unix.SizeofSockaddrInet6, nil
}

// zone names an IPv6 scope ID as the net package does (the interface's
// name, else the number), once per ID.
func (m *mmsgIO) zone(id uint32) string {
	if z, ok := m.zones[id]; ok {
		return z
	}
	z := strconv.FormatUint(uint64(id), 10)
	if ifi, err := net.InterfaceByIndex(int(id)); err == nil {
		z = ifi.Name
	}
	if m.zones == nil {
		m.zones = make(map[uint32]string)
	}
	m.zones[id] = z
	return z
}

func (m *mmsgIO) zoneIndex(z string) uint32 {
	if z == "" {
		return 0
	}
	for id, name := range m.zones {
		if name == z {
			return id
		}
	}
	if n, err := strconv.ParseUint(z, 10, 32); err == nil {
		return uint32(n)
	}
	if ifi, err := net.InterfaceByName(z); err == nil {
		return uint32(ifi.Index)
	}
	return 0
}

// Ports are in network byte order in a sockaddr.
func getPort(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

func putPort(p *uint16, v uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(v>>8), byte(v)
}
