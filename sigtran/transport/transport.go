// Package transport carries M3UA messages between signalling endpoints
// over kernel SCTP (RFC 4960, the transport RFC 4666 specifies) or over TCP
// (framed by the M3UA common header's length field, for networks and test
// rigs without SCTP).
//
// Both implementations present the same message-oriented Conn: one call to
// ReadMsg returns one whole M3UA message and the SCTP stream it came on;
// WriteMsg sends one message on a caller-chosen stream (M3UA: stream 0 for
// management, data streams by SLS). TCP has a single stream, 0.
package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// M3UAPPID is the SCTP payload protocol identifier of M3UA (RFC 4666 §1.4.7).
const M3UAPPID = 3

// Defaults applied by Config.withDefaults.
const (
	DefaultStreams    = 16
	DefaultMaxMessage = 64 * 1024
)

// Config selects and parameterises a transport.
type Config struct {
	// Network is "tcp" or "sctp" (also "tcp4", "tcp6", "sctp4", "sctp6").
	Network string
	// Address is the peer for Dial and the local address for Listen,
	// "host:port". SCTP accepts several addresses of a multi-homed peer
	// as "ip1/ip2:port".
	Address string
	// LocalAddress optionally binds the dialling side.
	LocalAddress string
	// OutStreams and InStreams are the SCTP stream counts requested at
	// association set-up (default 16 each); the peer may grant fewer, see
	// Conn.Streams. Ignored by TCP.
	OutStreams, InStreams uint16
	// MaxMessage bounds one M3UA message, common header included
	// (default 64 KiB; ReadMsg's buffer should hold as much). A longer
	// message is reported by ReadMsg as a *MessageTooLongError: over SCTP
	// it has been discarded and the association goes on; over TCP it comes
	// inside a *FrameError and the connection is lost (the length that
	// frames the stream is what is in doubt).
	MaxMessage int
}

func (c Config) withDefaults() Config {
	if c.OutStreams == 0 {
		c.OutStreams = DefaultStreams
	}
	if c.InStreams == 0 {
		c.InStreams = DefaultStreams
	}
	if c.MaxMessage <= 0 {
		c.MaxMessage = DefaultMaxMessage
	}
	return c
}

// Conn is one association (SCTP) or connection (TCP) carrying M3UA
// messages. ReadMsg must be called from one goroutine at a time; WriteMsg
// is safe for concurrent use; Close unblocks a pending ReadMsg.
type Conn interface {
	// ReadMsg reads one whole message into buf and reports its length and
	// the stream it arrived on. buf should hold Config.MaxMessage octets;
	// a longer message gives a *MessageTooLongError (see Config.MaxMessage).
	ReadMsg(buf []byte) (n int, stream uint16, err error)
	// WriteMsg sends b as one message on stream (PPID 3 on SCTP).
	WriteMsg(b []byte, stream uint16) error
	Close() error
	LocalAddr() net.Addr
	RemoteAddr() net.Addr
	// Streams is the number of outbound streams usable (1 on TCP).
	Streams() uint16
	// Network is "tcp" or "sctp".
	Network() string
}

// ReadAhead is implemented by a Conn whose reads take whatever the
// network has delivered, many messages at once (TCP: one read system call
// fills a buffer). Buffered reports whether the next ReadMsg returns at
// once, from that buffer, without waiting for the network. The M3UA
// association uses it to write the answers to a whole batch of queries
// with one write, just before it waits for more. Kernel SCTP delivers
// one message per receive and does not implement it.
type ReadAhead interface {
	Buffered() bool
}

// Listener accepts associations.
type Listener interface {
	Accept() (Conn, error)
	Close() error
	Addr() net.Addr
}

// ErrUnknownNetwork is returned for a Config.Network other than tcp/sctp.
var ErrUnknownNetwork = errors.New("transport: unknown network")

// ErrSCTPUnavailable is wrapped by every error caused by the host lacking
// kernel SCTP (no sctp module, or an OS the SCTP binding does not support).
var ErrSCTPUnavailable = errors.New("transport: kernel SCTP unavailable")

// ErrStream is returned by WriteMsg for a stream the association does not
// have.
var ErrStream = errors.New("transport: no such stream")

// Dial connects to cfg.Address.
func Dial(ctx context.Context, cfg Config) (Conn, error) {
	cfg = cfg.withDefaults()
	switch cfg.Network {
	case "tcp", "tcp4", "tcp6":
		return dialTCP(ctx, cfg)
	case "sctp", "sctp4", "sctp6":
		return dialSCTP(ctx, cfg)
	}
	return nil, fmt.Errorf("%w %q (want tcp or sctp)", ErrUnknownNetwork, cfg.Network)
}

// Listen listens on cfg.Address.
func Listen(cfg Config) (Listener, error) {
	cfg = cfg.withDefaults()
	switch cfg.Network {
	case "tcp", "tcp4", "tcp6":
		return listenTCP(cfg)
	case "sctp", "sctp4", "sctp6":
		return listenSCTP(cfg)
	}
	return nil, fmt.Errorf("%w %q (want tcp or sctp)", ErrUnknownNetwork, cfg.Network)
}

// dialTimeoutFallback bounds a dial whose context has no deadline.
const dialTimeoutFallback = 30 * time.Second
