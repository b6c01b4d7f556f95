//go:build linux && !386

package transport

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/ishidawataru/sctp"
)

// SCTPAvailable reports whether the kernel can open SCTP sockets. It
// returns nil, or an error wrapping ErrSCTPUnavailable and the errno
// (EPROTONOSUPPORT when the sctp module is not loaded).
func SCTPAvailable() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, syscall.IPPROTO_SCTP)
	if err != nil {
		return fmt.Errorf("%w: socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP): %w (is the sctp kernel module loaded? try modprobe sctp)", ErrSCTPUnavailable, err)
	}
	syscall.Close(fd)
	return nil
}

// sctpEventsDataIO is struct sctp_event_subscribe with only
// sctp_data_io_event set, so every read carries sctp_sndrcvinfo (the
// stream) and no notification is mixed into the data.
var sctpEventsDataIO = string([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0})

func subscribeDataIO(fd int) error {
	return syscall.SetsockoptString(fd, sctp.SOL_SCTP, sctp.SCTP_EVENTS, sctpEventsDataIO)
}

func socketConfig(cfg Config) *sctp.SocketConfig {
	return &sctp.SocketConfig{
		InitMsg: sctp.InitMsg{NumOstreams: cfg.OutStreams, MaxInstreams: cfg.InStreams},
		// Only DATA_IO is subscribed, but should the kernel deliver a
		// notification anyway it must not surface as an M3UA message.
		NotificationHandler: func([]byte) error { return nil },
		Control: func(network, address string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) { serr = subscribeDataIO(int(fd)) }); err != nil {
				return err
			}
			return serr
		},
	}
}

func sctpNet(network string) string {
	switch network {
	case "sctp4", "sctp6":
		return network
	}
	return "sctp"
}

type sctpConn struct {
	c             *sctp.SCTPConn
	streams       uint16
	local, remote net.Addr  // cached: the binding returns nil once closed
	oob           [256]byte // control data of the last read (ReadMsg is single-caller)
}

// unknownAddr stands in for an address the kernel would not report.
type unknownAddr struct{}

func (unknownAddr) Network() string { return "sctp" }
func (unknownAddr) String() string  { return "?" }

func addrOr(a net.Addr) net.Addr {
	if a == nil {
		return unknownAddr{}
	}
	return a
}

func newSCTPConn(c *sctp.SCTPConn, requested uint16) (*sctpConn, error) {
	if err := c.SubscribeEvents(sctp.SCTP_EVENT_DATA_IO); err != nil {
		c.Close()
		return nil, fmt.Errorf("transport: sctp subscribe data io events: %w", err)
	}
	n := requested
	// The peer may grant fewer outbound streams than requested.
	if st, err := c.GetStatus(); err == nil && st.Ostreams > 0 && st.Ostreams < n {
		n = st.Ostreams
	}
	return &sctpConn{c: c, streams: n, local: addrOr(c.LocalAddr()), remote: addrOr(c.RemoteAddr())}, nil
}

func dialSCTP(ctx context.Context, cfg Config) (Conn, error) {
	if err := SCTPAvailable(); err != nil {
		return nil, err
	}
	nw := sctpNet(cfg.Network)
	raddr, err := sctp.ResolveSCTPAddr(nw, cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("transport: sctp address %q: %w", cfg.Address, err)
	}
	var laddr *sctp.SCTPAddr
	if cfg.LocalAddress != "" {
		if laddr, err = sctp.ResolveSCTPAddr(nw, cfg.LocalAddress); err != nil {
			return nil, fmt.Errorf("transport: sctp local address %q: %w", cfg.LocalAddress, err)
		}
	}
	type result struct {
		c   *sctp.SCTPConn
		err error
	}
	// The binding's connect is a blocking syscall that ignores contexts:
	// run it aside and abandon (then close) it if ctx ends first.
	done := make(chan result, 1)
	go func() {
		c, err := socketConfig(cfg).Dial(nw, laddr, raddr)
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("transport: sctp dial %s: %w", cfg.Address, r.err)
		}
		return newSCTPConn(r.c, cfg.OutStreams)
	case <-ctx.Done():
		go func() {
			if r := <-done; r.err == nil {
				r.c.Close()
			}
		}()
		return nil, fmt.Errorf("transport: sctp dial %s: %w", cfg.Address, ctx.Err())
	}
}

// ReadMsg reads one whole message. The kernel may hand a message over in
// pieces (partial delivery, for large messages or under memory pressure),
// only the last one marked MSG_EOR, and before any other message of the
// association: they are gathered in buf. A message longer than buf is read
// out to its end and discarded: the result is a *MessageTooLongError and
// the association can carry on, its message boundaries being intact.
func (s *sctpConn) ReadMsg(buf []byte) (int, uint16, error) {
	total := 0
	for {
		n, stream, eor, err := s.recv(buf[total:])
		if err != nil {
			return 0, stream, err
		}
		total += n
		if eor {
			return total, stream, nil
		}
		if total < len(buf) {
			continue // the next piece of the same message
		}
		tl := &MessageTooLongError{Length: int64(total), Max: len(buf)}
		copy(tl.Header[:], buf)
		for !eor {
			if n, _, eor, err = s.recv(buf); err != nil {
				return 0, stream, err
			}
			tl.Length += int64(n)
		}
		return 0, stream, tl
	}
}

// recv reads the next piece of a data message into buf: its length, its
// stream, and whether it ends the message (MSG_EOR). Notifications are
// skipped (only DATA_IO is subscribed, so none are expected). The binding's
// SCTPRead cannot be used: it does not report MSG_EOR.
func (s *sctpConn) recv(buf []byte) (n int, stream uint16, eor bool, err error) {
	for {
		rc, err := s.c.SyscallConn()
		if err != nil {
			return 0, 0, false, fmt.Errorf("transport: sctp read: %w", net.ErrClosed)
		}
		var oobn, flags int
		var rerr error
		cerr := rc.Control(func(fd uintptr) {
			n, oobn, flags, _, rerr = syscall.Recvmsg(int(fd), buf, s.oob[:], 0)
		})
		if rerr == nil {
			rerr = cerr
		}
		if rerr != nil {
			return 0, 0, false, rerr
		}
		if flags&sctp.MSG_NOTIFICATION != 0 && n > 0 {
			continue
		}
		if n == 0 {
			return 0, 0, false, io.EOF // the peer shut the association down
		}
		return n, sndRcvStream(s.oob[:oobn]), flags&syscall.MSG_EOR != 0, nil
	}
}

// sndRcvStream returns the stream of the struct sctp_sndrcvinfo in a
// received control message (its first field, in host order), 0 if absent.
func sndRcvStream(oob []byte) uint16 {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.IPPROTO_SCTP && m.Header.Type == sctp.SCTP_CMSG_SNDRCV && len(m.Data) >= 2 {
			return binary.NativeEndian.Uint16(m.Data[:2])
		}
	}
	return 0
}

func (s *sctpConn) WriteMsg(b []byte, stream uint16) error {
	if stream >= s.streams {
		return fmt.Errorf("%w: stream %d of %d", ErrStream, stream, s.streams)
	}
	_, err := s.c.SCTPWrite(b, &sctp.SndRcvInfo{Stream: stream, PPID: M3UAPPID})
	return err
}

func (s *sctpConn) Close() error         { return s.c.Close() }
func (s *sctpConn) LocalAddr() net.Addr  { return s.local }
func (s *sctpConn) RemoteAddr() net.Addr { return s.remote }
func (s *sctpConn) Streams() uint16      { return s.streams }
func (s *sctpConn) Network() string      { return "sctp" }

type sctpListener struct {
	l    *sctp.SCTPListener
	cfg  Config
	addr net.Addr
}

func listenSCTP(cfg Config) (Listener, error) {
	if err := SCTPAvailable(); err != nil {
		return nil, err
	}
	nw := sctpNet(cfg.Network)
	laddr, err := sctp.ResolveSCTPAddr(nw, cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("transport: sctp address %q: %w", cfg.Address, err)
	}
	l, err := socketConfig(cfg).Listen(nw, laddr)
	if err != nil {
		return nil, fmt.Errorf("transport: sctp listen %s: %w", cfg.Address, err)
	}
	return &sctpListener{l: l, cfg: cfg, addr: addrOr(l.Addr())}, nil
}

func (l *sctpListener) Accept() (Conn, error) {
	c, err := l.l.AcceptSCTP()
	if err != nil {
		return nil, fmt.Errorf("transport: sctp accept: %w", err)
	}
	return newSCTPConn(c, l.cfg.OutStreams)
}

func (l *sctpListener) Close() error   { return l.l.Close() }
func (l *sctpListener) Addr() net.Addr { return l.addr }
