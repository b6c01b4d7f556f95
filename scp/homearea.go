package scp

import (
	"fmt"

	"callgate/scp/ain"
)

// HomeArea says where the SCP takes the home numbering area (NPA) that
// completes the 7-digit numbers of a query, as the switch that sent them
// would: a NANP switch signals a local number as its 7 digits (NXX-XXXX,
// nature of address "subscriber", or "unknown" as dialled), meaning the
// numbering area of the line the call is at. Without completion a 7-digit
// caller would have no number (and get the anonymous treatment) and a
// 7-digit called number would never be screened.
//
// Whatever the source, Config.HomeNPA is the fallback when the query
// carries nothing to take an area from; a 7-digit number that still has
// no area, or any number whose digits cannot be read, gets the safe
// answer (reason "unreadable_number", logged and counted), never the
// anonymous treatment. Ten-digit national and international numbers are
// read as they are.
type HomeArea uint8

// Home area sources.
const (
	// HomeAreaLine (the default) takes the area code of the UserID
	// directory number: the line the query is about (for a
	// Termination_Attempt, the called subscriber's line), as the switch
	// that serves the line does.
	HomeAreaLine HomeArea = iota
	// HomeAreaCalled takes the area code of the called subscriber's own
	// number as the switch sent it in full (a 10-digit CalledPartyID),
	// else of the line: for networks whose UserID names a line in another
	// area than the number dialled (a hunt group pilot, a remote line).
	HomeAreaCalled
	// HomeAreaFixed always takes Config.HomeNPA: one SCP per numbering
	// area, or switches whose UserID is a trunk group rather than a DN.
	HomeAreaFixed
)

var homeAreaNames = [...]string{"line", "called", "fixed"}

func (h HomeArea) String() string {
	if int(h) < len(homeAreaNames) {
		return homeAreaNames[h]
	}
	return fmt.Sprintf("home-area(%d)", uint8(h))
}

// ParseHomeArea reads "line", "called" or "fixed" ("" is line).
func ParseHomeArea(s string) (HomeArea, error) {
	if s == "" {
		return HomeAreaLine, nil
	}
	for i, n := range homeAreaNames {
		if s == n {
			return HomeArea(i), nil
		}
	}
	return 0, fmt.Errorf("scp: home area %q is not line, called or fixed", s)
}

// homeNPA returns the area code that completes the query's 7-digit
// numbers; 0 when none is known.
func (c *Config) homeNPA(ta *ain.TerminationAttemptArg) ain.NPA {
	if c.HomeArea == HomeAreaCalled {
		if d := &ta.CalledPartyID; d.Set && !d.V.Local() {
			if n, err := d.V.E164(); err == nil {
				if a, ok := ain.NPAOf(n); ok {
					return a
				}
			}
		}
	}
	return c.lineHomeNPA(&ta.UserID)
}

// lineHomeNPA is homeNPA for a query about the line u, with no called
// subscriber's number to take the area from: an originating trigger,
// where the called number is what the line dialled (HomeAreaCalled
// then reads the line, as its fallback does).
func (c *Config) lineHomeNPA(u *ain.UserID) ain.NPA {
	if c.HomeArea != HomeAreaFixed {
		if a, ok := lineNPA(u); ok {
			return a
		}
	}
	return c.HomeNPA
}

func lineNPA(u *ain.UserID) (ain.NPA, bool) {
	if u.Kind != ain.UserIDDN {
		return 0, false
	}
	return u.DN.NPA()
}
