package redirect

import "net/netip"

// Outgoing calls (Config.OriginatingSources). An INVITE from an
// originating trunk is a call its customer places: the engine is asked
// about it as an originating call (policy.DirectionOriginating), as the
// AIN SCP asks at Info_Analyzed, with Calling the line placing it
// (P-Asserted-Identity, else From) and Called the number dialled (the
// Request-URI). The originating chain answers Allow or Block, carried as
// for any call:
//
//	Allow  302 to the continue route: the call goes on to its destination
//	Block  603 Decline (608 with Reject608): the call is refused, e.g. a
//	       fraud-locked group's international or premium call
//
// Whether a call is outgoing is a fact of the transport (which trunk it
// arrived on), so it is translated here; what to do with it is the
// engine's.

// originating reports whether peer ("ip:port") is an originating trunk.
// It does not allocate.
func (s *Server) originating(peer string) bool {
	if len(s.cfg.OriginatingSources) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(peer)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, p := range s.cfg.OriginatingSources {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
