package daemon

import (
	"fmt"
	"net"
	"strconv"

	"callgate/internal/config"
)

// checkRTPRange reports every UDP listener whose port lies in the B2BUA's
// RTP range (b2bua.rtp_port_min..rtp_port_max) on a host the B2BUA's
// media binds to. diago binds each call's RTP and RTCP sockets on the
// B2BUA's SIP hosts (on a wildcard host, on an interface address), taking
// ports from the range in turn: once it reaches a port SIP (or anything
// else of ours) holds, that call's media fails to bind and the call is
// lost, hours after start-up. RTP is UDP only, so TCP, TLS and SCTP
// listeners (the SCP, the API, the admin listener) have ports of their own
// and are not reported; port 0 (a free port) is not either.
func checkRTPRange(cfg *config.Config) []error {
	b := &cfg.B2BUA
	if !b.Enabled || b.RTPPortMin == 0 || b.RTPPortMax < b.RTPPortMin {
		return nil // no range (the kernel chooses), or config.Validate's to report
	}
	var mediaHosts []string
	for _, a := range []string{b.UDP, b.TCP, b.TLS} {
		if host, _, err := net.SplitHostPort(a); a != "" && err == nil {
			mediaHosts = append(mediaHosts, normalHost(host))
		}
	}
	var ls []listener
	for _, spec := range tierList {
		if spec.enabled(cfg) {
			ls = append(ls, spec.listeners(cfg)...)
		}
	}
	var errs []error
	for _, l := range ls {
		if l.network != "udp" || l.addr == "" {
			continue
		}
		host, portStr, err := net.SplitHostPort(l.addr)
		port, perr := strconv.Atoi(portStr)
		if err != nil || perr != nil || port == 0 || port < b.RTPPortMin || port > b.RTPPortMax {
			continue
		}
		if !hostsOverlap(normalHost(host), mediaHosts) {
			continue
		}
		errs = append(errs, fmt.Errorf("b2bua.rtp_port_min..rtp_port_max (%d-%d) includes UDP port %d of %s (%s): the B2BUA's RTP would bind it and the call that gets it loses its media; move %s out of the range, or narrow the range",
			b.RTPPortMin, b.RTPPortMax, port, l.field, l.addr, l.field))
	}
	return errs
}

// hostsOverlap reports whether a socket on host (normalHost form) and one
// on any of hosts would take the same address: the same host, or either
// a wildcard.
func hostsOverlap(host string, hosts []string) bool {
	for _, h := range hosts {
		if h == host || h == "*" || host == "*" {
			return true
		}
	}
	return false
}
