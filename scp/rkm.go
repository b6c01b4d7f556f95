package scp

import (
	"slices"

	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
)

// registrar is the SCP's routing-key policy for switches that register
// their routing key dynamically (M3UA RKM, RFC 4666 §3.6) instead of
// having it provisioned on both sides. The SCP serves one application
// server, so a key is accepted only when it describes that AS: SCCP
// traffic to our point code, with our network appearance and traffic
// mode, on one of our configured routing contexts. It never creates an
// RC: an unprovisioned one is refused, so dynamic registration cannot
// open traffic the operator did not configure.
//
// Checks run in a fixed order (destination, service, network appearance,
// traffic mode, routing context), so a key wrong in several ways gets the
// status of its most basic mismatch.
func (s *Service) registrar() m3ua.Registrar {
	pc := uint32(s.cfg.PointCode)
	na := s.cfg.NetworkAppearance
	tm := s.cfg.TrafficMode
	if tm == m3ua.TrafficModeNone {
		tm = m3ua.TrafficModeLoadshare // the m3ua default the endpoint runs with
	}
	rcs := slices.Clone(s.cfg.RoutingContexts)
	log, variant := s.log, s.cfg.Variant
	return func(a *m3ua.Association, k m3ua.RoutingKey) (uint32, m3ua.RegStatus) {
		rc, st := decideRegistration(k, pc, na, tm, rcs)
		si := make([]int, len(k.ServiceIndicators)) // numbers, not a string of octets, in the log
		for i, v := range k.ServiceIndicators {
			si[i] = int(v)
		}
		log.Info("m3ua routing key registration", "remote", a.RemoteAddr().String(), "local_rk_id", k.LocalRKID,
			"dpc", sccp.PointCode(k.DPC).Format(variant), "si", si, "requested_rc", k.RoutingContext, "rc", rc, "status", st.String())
		return rc, st
	}
}

// decideRegistration applies the policy to one key. Like the DATA path, pc
// 0 accepts any DPC (Config.PointCode) and a nil na any network
// appearance (m3ua.Config.NetworkAppearance).
func decideRegistration(k m3ua.RoutingKey, pc uint32, na *uint32, tm m3ua.TrafficMode, rcs []uint32) (uint32, m3ua.RegStatus) {
	switch {
	case pc != 0 && k.DPC != pc:
		return 0, m3ua.RegStatusInvalidDPC
	case k.ServiceIndicators != nil && !slices.Contains(k.ServiceIndicators, m3ua.SISCCP):
		// The SCP is an SCCP user only: a key for ISUP etc. cannot be
		// served here.
		return 0, m3ua.RegStatusInvalidRoutingKey
	case k.HasNetworkAppearance && na != nil && k.NetworkAppearance != *na:
		return 0, m3ua.RegStatusInvalidNetworkAppearance
	case k.TrafficMode != m3ua.TrafficModeNone && k.TrafficMode != tm:
		return 0, m3ua.RegStatusInvalidTrafficMode
	case len(rcs) == 0:
		return 0, m3ua.RegStatusNotProvisioned
	case k.HasRoutingContext && !slices.Contains(rcs, k.RoutingContext):
		return 0, m3ua.RegStatusNotProvisioned
	case k.HasRoutingContext:
		return k.RoutingContext, m3ua.RegStatusSuccess
	}
	return rcs[0], m3ua.RegStatusSuccess
}

// routingKey is the key the SCP registers when it dials its SG with
// Config.Register: SCCP traffic (SI 3) to its point code, with its network
// appearance and traffic mode, asking for the configured routing context
// if there is one (the SG picks one otherwise).
func (c *Config) routingKey() m3ua.RoutingKey {
	k := m3ua.RoutingKey{LocalRKID: 1, DPC: uint32(c.PointCode), ServiceIndicators: []uint8{m3ua.SISCCP},
		TrafficMode: c.TrafficMode}
	if len(c.RoutingContexts) > 0 {
		k.RoutingContext, k.HasRoutingContext = c.RoutingContexts[0], true
	}
	if c.NetworkAppearance != nil {
		k.NetworkAppearance, k.HasNetworkAppearance = *c.NetworkAppearance, true
	}
	return k
}
