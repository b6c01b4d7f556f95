//go:build !linux

package admin

import (
	"errors"
	"net"
)

// peerUID needs Linux's SO_PEERCRED; elsewhere the socket admits nobody.
func peerUID(net.Conn) (uint32, error) {
	return 0, errors.New("peer credentials (SO_PEERCRED) are only read on Linux")
}
