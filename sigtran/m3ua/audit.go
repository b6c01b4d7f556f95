package m3ua

// Destination state on a new ASP-ACTIVE association (RFC 4666 §4.5).
//
// An ASP assumes every destination reachable through an SG it is active
// towards until that SG says otherwise (§4.5.2), and what one SG said is
// forgotten with its association (destTable). So whatever the SG learnt
// while this ASP was not active with it (before a first connect, during
// a reconnect) must reach it again once it is active, or the ASP would
// route to a destination the SG cannot reach:
//   - the SG side tells an ASP that has just gone active about every
//     destination it holds unavailable (DUNA) or restricted (DRST), since
//     §4.5.1 has the SGP inform its active ASPs of that state and this ASP
//     missed the reports sent when it changed (available destinations
//     need no report, being what the ASP assumes; see reportDestinations);
//   - the ASP side audits the point codes it sends to (Config.Audit) with
//     one DAUD once ASP Active is acknowledged (§4.5.3: an ASP may audit
//     destinations, for instance on becoming active), so that it learns
//     their state from an SG that does not report on activation.
//
// The SG answers a DAUD per point code (§4.5.3): DUNA, DRST or DAVA from
// what SetAvailable recorded, ERR Destination Status Unknown for one it
// has no record of; the ASP applies the DUNA/DAVA/DRST as it applies
// unsolicited ones (association.go).

// audit sends the DAUD for Config.Audit on an association that has just
// gone ASP-ACTIVE (dialling ASP only; validate refuses Audit otherwise).
func (a *Association) audit() {
	pcs := a.ep.cfg.Audit
	if len(pcs) == 0 {
		return
	}
	apcs := make([]AffectedPC, len(pcs))
	for i, pc := range pcs {
		apcs[i] = AffectedPC{PC: pc}
	}
	a.ep.log.Debug("m3ua auditing destinations (DAUD)", "assoc", a.id, "apc", apcs)
	a.sendMgmt(&DAUD{RoutingContexts: a.aspActive().RoutingContexts, AffectedPCs: apcs})
}

// reportDestinations (SG side) sends an ASP that has just gone active the
// destinations this SG holds unavailable or restricted. When there are
// any, the available ones recorded are reported too (DAVA), in the
// table's order, so that one inside a masked unavailable report is not
// taken for unavailable; when there are none, nothing is sent.
func (a *Association) reportDestinations() {
	t := &a.ep.dest
	if !t.avoid.Load() {
		return
	}
	t.each(func(apc AffectedPC, s DestinationState) {
		one := []AffectedPC{apc}
		switch {
		case !s.Available:
			a.sendMgmt(&DUNA{RoutingContexts: a.rcList(), AffectedPCs: one})
		case s.Restricted:
			a.sendMgmt(&DRST{RoutingContexts: a.rcList(), AffectedPCs: one})
		default:
			a.sendMgmt(&DAVA{RoutingContexts: a.rcList(), AffectedPCs: one})
		}
	})
}

func (a *Association) onDAUD(m *DAUD, b []byte) {
	e := a.ep
	if e.cfg.Role != RoleSG {
		a.sendErr(CodeUnexpectedMessage, b, nil)
		return
	}
	for _, apc := range m.AffectedPCs {
		st, known := e.dest.lookup(apc.PC)
		one := []AffectedPC{apc}
		switch {
		case !known:
			a.sendMgmt(&Err{Code: CodeDestinationStatusUnknown, RoutingContexts: m.RoutingContexts, AffectedPCs: one})
		case !st.Available:
			a.sendMgmt(&DUNA{RoutingContexts: m.RoutingContexts, AffectedPCs: one})
		case st.Restricted:
			a.sendMgmt(&DRST{RoutingContexts: m.RoutingContexts, AffectedPCs: one})
		default:
			a.sendMgmt(&DAVA{RoutingContexts: m.RoutingContexts, AffectedPCs: one})
		}
	}
}

// each calls f for every destination with a report, in the order that
// rebuilds the same table at a receiver applying them as update does:
// the masked reports oldest first (a later one overrides an earlier one
// where they overlap), then the exact point codes (an exact report made
// before a masked one covering it was removed by it).
func (t *destTable) each(f func(AffectedPC, DestinationState)) {
	type entry struct {
		apc AffectedPC
		st  DestinationState
	}
	t.mu.RLock()
	all := make([]entry, 0, len(t.exact)+len(t.wild))
	for _, w := range t.wild {
		all = append(all, entry{w.apc, w.st})
	}
	for pc, s := range t.exact {
		all = append(all, entry{AffectedPC{PC: pc}, *s})
	}
	t.mu.RUnlock()
	for _, e := range all {
		f(e.apc, e.st)
	}
}
