package transport

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

type tcpConn struct {
	c   *net.TCPConn
	io  io.ReadWriter // c, through raw system calls where available (rawio_linux.go)
	fr  *FrameReader
	wmu sync.Mutex
}

func newTCPConn(c *net.TCPConn, cfg Config) *tcpConn {
	// Signalling is latency-bound, small messages: no Nagle.
	_ = c.SetNoDelay(true)
	rw := newRawIO(c)
	return &tcpConn{c: c, io: rw, fr: NewFrameReader(rw, cfg.MaxMessage)}
}

func dialTCP(ctx context.Context, cfg Config) (Conn, error) {
	d := net.Dialer{KeepAlive: 15 * time.Second}
	if _, ok := ctx.Deadline(); !ok {
		d.Timeout = dialTimeoutFallback
	}
	if cfg.LocalAddress != "" {
		la, err := net.ResolveTCPAddr(cfg.Network, cfg.LocalAddress)
		if err != nil {
			return nil, fmt.Errorf("transport: tcp local address %q: %w", cfg.LocalAddress, err)
		}
		d.LocalAddr = la
	}
	c, err := d.DialContext(ctx, cfg.Network, cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("transport: tcp dial %s: %w", cfg.Address, err)
	}
	return newTCPConn(c.(*net.TCPConn), cfg), nil
}

// ReadMsg reads one M3UA message. Framing errors are permanent.
func (t *tcpConn) ReadMsg(buf []byte) (int, uint16, error) {
	n, err := t.fr.ReadFrame(buf)
	return n, 0, err
}

// Buffered implements ReadAhead: a whole message is in the read-ahead
// buffer. Like ReadMsg, only for the reading goroutine.
func (t *tcpConn) Buffered() bool { return t.fr.Buffered() }

// WriteMsg writes b whole; concurrent writers do not interleave. The
// stream is ignored (TCP has one).
func (t *tcpConn) WriteMsg(b []byte, stream uint16) error {
	t.wmu.Lock()
	_, err := t.io.Write(b)
	t.wmu.Unlock()
	return err
}

func (t *tcpConn) Close() error         { return t.c.Close() }
func (t *tcpConn) LocalAddr() net.Addr  { return t.c.LocalAddr() }
func (t *tcpConn) RemoteAddr() net.Addr { return t.c.RemoteAddr() }
func (t *tcpConn) Streams() uint16      { return 1 }
func (t *tcpConn) Network() string      { return "tcp" }

type tcpListener struct {
	l   *net.TCPListener
	cfg Config
}

func listenTCP(cfg Config) (Listener, error) {
	l, err := net.Listen(cfg.Network, cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("transport: tcp listen %s: %w", cfg.Address, err)
	}
	return &tcpListener{l: l.(*net.TCPListener), cfg: cfg}, nil
}

func (l *tcpListener) Accept() (Conn, error) {
	c, err := l.l.AcceptTCP()
	if err != nil {
		return nil, err
	}
	return newTCPConn(c, l.cfg), nil
}

func (l *tcpListener) Close() error   { return l.l.Close() }
func (l *tcpListener) Addr() net.Addr { return l.l.Addr() }
