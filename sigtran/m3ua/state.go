package m3ua

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Role selects which side of RFC 4666 an Endpoint plays.
type Role int

// Roles. An ASP dials SGs; an SG accepts ASPs; an IPSP (single exchange,
// RFC 4666 §4.3.4.x) dials when Connect is set and accepts when Listen is
// set, managing ASP state like an ASP or SG respectively.
const (
	RoleASP Role = iota + 1
	RoleSG
	RoleIPSP
)

func (r Role) String() string {
	switch r {
	case RoleASP:
		return "ASP"
	case RoleSG:
		return "SG"
	case RoleIPSP:
		return "IPSP"
	}
	return fmt.Sprintf("role(%d)", int(r))
}

// ASPState is the state of an ASP on one association, as both ends see it.
type ASPState int32

// ASP states (RFC 4666 §4.3.1).
const (
	ASPStateDown ASPState = iota
	ASPStateInactive
	ASPStateActive
)

func (s ASPState) String() string {
	switch s {
	case ASPStateDown:
		return "ASP-DOWN"
	case ASPStateInactive:
		return "ASP-INACTIVE"
	case ASPStateActive:
		return "ASP-ACTIVE"
	}
	return fmt.Sprintf("asp-state(%d)", int32(s))
}

// ASState is the state of the Application Server as the SG side sees it
// (RFC 4666 §4.3.2).
type ASState int32

// AS states.
const (
	ASStateDown ASState = iota
	ASStateInactive
	ASStateActive
	ASStatePending
)

func (s ASState) String() string {
	switch s {
	case ASStateDown:
		return "AS-DOWN"
	case ASStateInactive:
		return "AS-INACTIVE"
	case ASStateActive:
		return "AS-ACTIVE"
	case ASStatePending:
		return "AS-PENDING"
	}
	return fmt.Sprintf("as-state(%d)", int32(s))
}

// Stats are cumulative counters of an Endpoint, for metrics.
type Stats struct {
	// MessagesIn and MessagesOut count messages by class (index = class
	// 0..4: MGMT, Transfer, SSNM, ASPSM, ASPTM); other classes go to
	// OtherIn.
	MessagesIn  [5]uint64
	MessagesOut [5]uint64
	OtherIn     uint64
	// ErrorsIn and ErrorsOut count ERR messages.
	ErrorsIn, ErrorsOut uint64
	// DecodeErrors counts messages that could not be decoded.
	DecodeErrors uint64
	// SendDropped counts DATA refused because a send queue was full or no
	// association was active.
	SendDropped uint64
	// Connects counts associations established; Losses those lost
	// without an orderly ASP Down; HeartbeatLosses those lost because a
	// BEAT went unanswered.
	Connects, Losses, HeartbeatLosses uint64
	// TooLong counts messages over Config.MaxMessage (also counted in
	// DecodeErrors).
	TooLong uint64
}

type counters struct {
	in, out                         [5]atomic.Uint64
	otherIn                         atomic.Uint64
	errIn, errOut, decodeErr, drop  atomic.Uint64
	connects, losses, heartbeatLoss atomic.Uint64
	tooLong                         atomic.Uint64
}

func (c *counters) countIn(cl Class) {
	if cl <= ClassASPTM {
		c.in[cl].Add(1)
	} else {
		c.otherIn.Add(1)
	}
}

func (c *counters) snapshot() Stats {
	var s Stats
	for i := range s.MessagesIn {
		s.MessagesIn[i] = c.in[i].Load()
		s.MessagesOut[i] = c.out[i].Load()
	}
	s.OtherIn = c.otherIn.Load()
	s.ErrorsIn, s.ErrorsOut = c.errIn.Load(), c.errOut.Load()
	s.DecodeErrors, s.SendDropped = c.decodeErr.Load(), c.drop.Load()
	s.Connects, s.Losses, s.HeartbeatLosses = c.connects.Load(), c.losses.Load(), c.heartbeatLoss.Load()
	s.TooLong = c.tooLong.Load()
	return s
}

// DestinationState is what SSNM messages told us about a point code.
type DestinationState struct {
	Available  bool
	Restricted bool  // DRST: available, but avoid if there is a choice
	Congestion uint8 // SCON congestion level, 0 = none
	// UnavailableUsers lists MTP3 users (service indicators) reported
	// unavailable at the destination by DUPU.
	UnavailableUsers []uint8
}

// destTable tracks destination availability from DUNA/DAVA/DRST/SCON/DUPU.
// Unknown destinations are available: RFC 4666 §4.5 has the ASP assume
// every destination reachable through an active SG unless told otherwise.
// A dialling endpoint keeps one per association (what that SG reported,
// forgotten with the association); the SG side one for the endpoint (its
// own network's state, SetAvailable).
type destTable struct {
	mu    sync.RWMutex
	exact map[uint32]*DestinationState
	wild  []wildEntry // masked (wildcard) reports, newest last
	// avoid is set while some entry is unavailable or restricted, so that
	// routing (reach) skips the lock when nothing was reported against a
	// destination, the usual case.
	avoid atomic.Bool
}

// reach is how good a path to a destination an SG's reports make it.
type reach uint8

const (
	reachOK         reach = iota
	reachRestricted       // DRST: usable, but another SG is better
	reachNone             // DUNA: this SG cannot reach it
)

// reach says how pc may be reached according to what was reported.
func (t *destTable) reach(pc uint32) reach {
	if !t.avoid.Load() {
		return reachOK
	}
	s, _ := t.lookup(pc)
	switch {
	case !s.Available:
		return reachNone
	case s.Restricted:
		return reachRestricted
	}
	return reachOK
}

type wildEntry struct {
	apc AffectedPC
	st  DestinationState
}

func (t *destTable) lookup(pc uint32) (DestinationState, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if s, ok := t.exact[pc]; ok {
		return *s, true
	}
	for i := len(t.wild) - 1; i >= 0; i-- {
		if t.wild[i].apc.Covers(pc) {
			return t.wild[i].st, true
		}
	}
	return DestinationState{Available: true}, false
}

// update applies f to the state of every destination an APC covers. A
// wildcard report replaces what was known about the point codes inside it.
func (t *destTable) update(apcs []AffectedPC, f func(*DestinationState)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.exact == nil {
		t.exact = make(map[uint32]*DestinationState)
	}
	for _, a := range apcs {
		if a.Mask == 0 {
			s := t.exact[a.PC]
			if s == nil {
				s = &DestinationState{Available: true}
				for i := len(t.wild) - 1; i >= 0; i-- {
					if t.wild[i].apc.Covers(a.PC) {
						*s = t.wild[i].st
						break
					}
				}
				t.exact[a.PC] = s
			}
			f(s)
			continue
		}
		st := DestinationState{Available: true}
		f(&st)
		for pc := range t.exact {
			if a.Covers(pc) {
				delete(t.exact, pc)
			}
		}
		kept := t.wild[:0]
		for _, w := range t.wild {
			if !(w.apc.Mask <= a.Mask && a.Covers(w.apc.PC)) {
				kept = append(kept, w)
			}
		}
		t.wild = append(kept, wildEntry{apc: a, st: st})
	}
	avoid := false
	for _, s := range t.exact {
		avoid = avoid || !s.Available || s.Restricted
	}
	for _, w := range t.wild {
		avoid = avoid || !w.st.Available || w.st.Restricted
	}
	t.avoid.Store(avoid)
}
