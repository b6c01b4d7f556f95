//go:build !linux

package sip

import (
	"errors"
	"net/netip"
	"time"
)

// stampedConn reads RTP with kernel receive times: Linux only (see
// rtpstamp_linux.go); elsewhere the receiver's clock is the only one.
type stampedConn struct{}

func openStamped(netip.AddrPort) (*stampedConn, error) {
	return nil, errors.New("kernel receive timestamps (SO_TIMESTAMPNS) are read on Linux only")
}

func (*stampedConn) read([]byte) (int, time.Time, error) {
	return 0, time.Time{}, errors.New("no stamped socket")
}

func (*stampedConn) close() error { return nil }
