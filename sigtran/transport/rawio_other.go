//go:build !linux

package transport

import (
	"io"
	"net"
)

// newRawIO is the connection itself where raw socket I/O is not
// implemented (see rawio_linux.go).
func newRawIO(c *net.TCPConn) io.ReadWriter { return c }
