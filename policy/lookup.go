package policy

import "callgate/store"

// The store look-ups of an incoming call. When the view answers them all
// at once (store.CallViewer: the Store does, under one read lock, with the
// cache misses of the subscriber's data overlapped) the subscriber step asks
// once and the later steps read the answers; any other view is asked one
// look-up at a time, as the steps need them. The answers are the same
// either way (the CallViewer contract), so are the decisions
// (TestLookupCallSameDecisions).

// lookUp finds the called subscriber (s.sub, s.found) and, from a
// CallViewer, every list and route answer of the call.
func (e *Engine) lookUp(s *state) {
	if e.calls == nil {
		s.sub, s.found = e.view.Subscriber(s.call.Called)
		return
	}
	s.look = e.calls.LookupCall(s.call.Called, s.call.Calling)
	s.looked = true
	s.sub, s.found = s.look.Subscriber, s.look.Found
}

func (e *Engine) inProviderVIP(s *state) bool {
	if s.looked {
		return s.look.ProviderVIP
	}
	return e.view.ProviderVIP(s.sub.Provider, s.call.Calling)
}

func (e *Engine) inVIP(s *state) bool {
	if s.looked {
		return s.look.VIP
	}
	return e.view.InVIP(s.sub.ID, s.call.Calling)
}

func (e *Engine) inBlocked(s *state) bool {
	if s.looked {
		return s.look.Blocked
	}
	return e.view.InBlocked(s.sub.ID, s.call.Calling)
}

func (e *Engine) inProviderBlocked(s *state) bool {
	if s.looked {
		return s.look.ProviderBlocked
	}
	return e.view.ProviderBlocked(s.sub.Provider, s.call.Calling)
}

func (e *Engine) egressRoute(s *state) (store.Route, bool) {
	if s.looked {
		return s.look.Route, s.look.RouteOK
	}
	return e.view.EgressRoute(s.sub.Provider)
}
