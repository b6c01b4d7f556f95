package redirect

import (
	"errors"
	"net/netip"
	"time"

	"callgate/e164"
	"callgate/keys"
)

// SIP enrolment of call keys: an enterprise sends its outbound INVITE to
// the enrolment address (Request-URI user EnrolmentUser, e.g.
// sip:enrol@callgate.example) with the number it calls in To; the
// Enroller (the daemon's keys.Registry) checks the trunk, registers the
// key and names the onward route, and the INVITE is answered
//
//	302 Moved Temporarily, Contact: <onward route>   key registered
//	480 + Warning 380 "SIPS Not Allowed"             key registered, but the INVITE is
//	                                                 sips: and the onward route is not (sips.go)
//	403 Forbidden                                    not from the enterprise's trunk, a number
//	                                                 no enterprise enrolled, or no enrolment set up
//	503 Service Unavailable + Retry-After            the key table is full
//	500 Server Internal Error                        anything else
//
// The tier only translates: which INVITEs may enrol, and what a key is, is
// package keys' business. Refusals are logged (at most one line a second).

// Enroller registers the key of an enrolment INVITE from src for calling
// -> called (*keys.Registry implements it).
type Enroller interface {
	Enrol(src netip.Addr, calling, called e164.Number) (keys.Enrolment, error)
}

// WithEnroller turns SIP enrolment on: INVITEs whose Request-URI user is
// user go to e instead of the engine.
func WithEnroller(user string, e Enroller) Option {
	return func(s *Server) { s.enrolUser, s.enroller, s.enrolSeen = user, e, newEnrolSeen() }
}

// isEnrolment reports whether v is addressed to the enrolment address.
func (s *Server) isEnrolment(v *reqView) bool {
	return s.enroller != nil && v.ruri.user == s.enrolUser
}

// enrol answers an enrolment INVITE.
func (s *Server) enrol(v *reqView, peer string, a *answer) {
	c, _ := callFromView(v, peer, false)
	var called e164.Number
	if v.hasTo {
		called = uriNumber(&v.to)
	}
	src, err := netip.ParseAddrPort(peer)
	if err != nil || c.Calling == 0 || called == 0 {
		a.set(403, "Forbidden")
		s.enrolWarn("SIP enrolment refused: no source address, calling number (P-Asserted-Identity or From) or called number (To)", peer, c.Calling, called, nil)
		return
	}
	now, id := time.Now(), s.enrolSeen.id(v)
	if onward, ok := s.enrolSeen.get(id, now); ok {
		// A retransmission (enrolseen.go): the same answer, no new key.
		s.enrolAnswer(a, v, onward)
		s.stats.enrolRepeats.Add(1)
		return
	}
	en, err := s.enroller.Enrol(src.Addr(), c.Calling, called)
	switch {
	case err == nil:
		s.enrolSeen.put(id, en.Onward, now)
		s.enrolAnswer(a, v, en.Onward)
		if a.code == 480 {
			s.enrolWarn("SIP enrolment of a sips: INVITE answered 480 (the key is kept until its window ends): the enterprise's onward route is not sips:", peer, c.Calling, called, nil)
		}
	case errors.Is(err, keys.ErrFull):
		s.overloaded(a)
		s.enrolWarn("SIP enrolment refused: the key table is full (keys.max_keys)", peer, c.Calling, called, err)
	case errors.Is(err, keys.ErrWrongTrunk), errors.Is(err, keys.ErrNotEnrolled), errors.Is(err, keys.ErrNoEnrolment), errors.Is(err, keys.ErrInvalid):
		a.set(403, "Forbidden")
		s.enrolWarn("SIP enrolment refused", peer, c.Calling, called, err)
	default:
		s.stats.decideErrors.Add(1)
		a.set(500, "Server Internal Error")
		s.enrolWarn("SIP enrolment failed", peer, c.Calling, called, err)
	}
}

// enrolAnswer sets a's 302 to onward; a sips: INVITE whose onward route
// is not sips: gets 480 instead (sips.go).
func (s *Server) enrolAnswer(a *answer, v *reqView, onward string) {
	if sipsRequest(v) && !isSIPS(onward) {
		s.refuseSIPS(a)
		return
	}
	start := len(a.buf)
	a.buf = append(a.buf, '<')
	a.buf = append(a.buf, onward...)
	a.buf = append(a.buf, '>')
	a.contact = a.buf[start:len(a.buf):len(a.buf)]
	a.set(302, "Moved Temporarily")
	s.stats.redirects.Add(1)
}

func (s *Server) enrolWarn(msg, peer string, calling, called e164.Number, err error) {
	if ok, n := s.enrolLimit.Allow(time.Now(), time.Second); ok {
		args := []any{"peer", peer, "calling", calling.String(), "called", called.String(), "suppressed_since_last", n}
		if err != nil {
			args = append(args, "error", err.Error())
		}
		s.log.Warn(msg, args...)
	}
}
