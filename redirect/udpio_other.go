//go:build !linux

package redirect

import "net"

// singleIO is batchIO one datagram at a time, for systems without
// recvmmsg and sendmmsg.
type singleIO struct{ c *net.UDPConn }

func newBatchIO(conn *net.UDPConn, _ []datagram) (batchIO, error) { return singleIO{conn}, nil }

func (s singleIO) read(in []datagram) (int, error) {
	n, src, err := s.c.ReadFromUDPAddrPort(in[0].buf)
	if err != nil {
		return 0, err
	}
	in[0].n, in[0].src = n, src
	return 1, nil
}

func (s singleIO) write(out []outgoing) (int, error) {
	if _, err := s.c.WriteToUDPAddrPort(out[0].data, out[0].dst); err != nil {
		return 0, err
	}
	return 1, nil
}
