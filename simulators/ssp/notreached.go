package ssp

import (
	"net"
	"strings"
)

// notReached returns the --connect addresses (Config.Connect) to which no
// association carried a query in peers: an SCP of a mated pair that was
// down (or unreachable) for the whole run. Without it the run looked like
// a load over the pair while the other SCP took it all, and said nothing.
func notReached(connect []string, peers []PeerStats) []string {
	var out []string
	for _, c := range connect {
		if !reached(c, peers) {
			out = append(out, c)
		}
	}
	return out
}

// reached says whether a peer's remote address is connect's: the same
// host:port, or (a host name, a multi-homed SCTP address list) the same
// port on one of the addresses it resolves to.
func reached(connect string, peers []PeerStats) bool {
	host, port, err := net.SplitHostPort(connect)
	if err != nil {
		return true // not ours to judge: Dial refused it already
	}
	ips := []string{host}
	if addrs, err := net.LookupHost(host); err == nil {
		ips = append(ips, addrs...)
	}
	for _, p := range peers {
		if p.Sent == 0 {
			continue
		}
		ph, pp, err := net.SplitHostPort(p.Address)
		if err != nil || pp != port {
			continue
		}
		for _, ip := range ips {
			for h := range strings.SplitSeq(ph, "/") {
				if h == ip {
					return true
				}
			}
		}
	}
	return false
}
