package keys

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"callgate/e164"
	"callgate/store"
)

// SIP enrolment: an enterprise that cannot call the REST API before each
// call sends its outbound INVITE to the enrolment address instead. The
// SIP tier recognises the address, asks Enrol (here the work is done: the
// trunk check, the key, the onward URI) and answers 302 with the URI as
// Contact; the call comes back into the network onward and, at its
// destination, finds its key. The tier only translates.

// ErrWrongTrunk is returned when an enrolment INVITE does not come from
// the enterprise's configured trunk.
var ErrWrongTrunk = errors.New("keys: enrolment from outside the enterprise's trunk")

// ErrNoEnrolment is returned when the enterprise has no SIP enrolment set
// up (no trunk or onward route).
var ErrNoEnrolment = errors.New("keys: SIP enrolment is not set up for the enterprise")

// Enrolment is what an enrolment INVITE registered.
type Enrolment struct {
	Enterprise string
	Key        Key
	Onward     string // the 302 Contact URI
}

// Enrol registers the key of a call calling -> called sent from src to the
// enrolment address, for a window of keys.default_window from now, and
// returns where the call goes on. The calling number says which
// enterprise it is; src must lie in that enterprise's trunk.
func (r *Registry) Enrol(src netip.Addr, calling, called e164.Number) (Enrolment, error) {
	id, ok := r.ents.Enterprise(calling)
	if !ok {
		return Enrolment{}, fmt.Errorf("%w: %s is enrolled by no enterprise", ErrNotEnrolled, calling)
	}
	e, ok := r.ents.EnterpriseInfo(id)
	if !ok {
		return Enrolment{}, fmt.Errorf("%w: %s is enrolled by no enterprise", ErrNotEnrolled, calling)
	}
	if e.Signals.Trunk == "" || e.Signals.Onward == "" {
		return Enrolment{}, fmt.Errorf("%w: %s (set it with 'callgate enterprise enrolment %s --trunk ADDR --onward URI')", ErrNoEnrolment, e.Name, e.Name)
	}
	trunk, err := store.ParseTrunk(e.Signals.Trunk)
	if err != nil {
		return Enrolment{}, err
	}
	if !trunk.Contains(src.Unmap()) {
		return Enrolment{}, fmt.Errorf("%w: %s sent an INVITE from %s for enterprise %s, whose trunk is %s", ErrWrongTrunk, calling, src, e.Name, e.Signals.Trunk)
	}
	k, err := r.Register(id, Key{Calling: calling, Called: called})
	if err != nil {
		return Enrolment{}, err
	}
	return Enrolment{Enterprise: e.Name, Key: k, Onward: expandOnward(e.Signals.Onward, calling, called)}, nil
}

// expandOnward fills {called} and {calling} (E.164 with '+'); any other
// text, a '{' that opens neither included, is copied as it is. It runs for
// every enrolment, so it makes one allocation, the URI itself (a
// strings.Replacer built per call cost a seventh of the SIP tier's CPU per
// enrolment, bench/keys/README.md).
func expandOnward(tpl string, calling, called e164.Number) string {
	var buf [256]byte
	b := buf[:0]
	for {
		i := strings.IndexByte(tpl, '{')
		if i < 0 {
			break
		}
		b = append(b, tpl[:i]...)
		tpl = tpl[i:]
		switch {
		case strings.HasPrefix(tpl, "{called}"):
			b = called.AppendTo(b)
			tpl = tpl[len("{called}"):]
		case strings.HasPrefix(tpl, "{calling}"):
			b = calling.AppendTo(b)
			tpl = tpl[len("{calling}"):]
		default:
			b = append(b, '{')
			tpl = tpl[1:]
		}
	}
	return string(append(b, tpl...))
}
