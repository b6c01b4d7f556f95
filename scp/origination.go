package scp

import (
	"time"

	"callgate/policy"
	"callgate/scp/ain"
	"callgate/sigtran/tcap"
)

// The originating triggers: a switch asks at Info_Analyzed (infoAnalyzed)
// or Info_Collected (infoCollected) whether a line's outgoing call may
// proceed. The engine decides (policy's originating chain: the toll-fraud
// lockdown); this file only translates, in both directions:
//
//	infoAnalyzed / infoCollected -> policy.Call{Direction: originating,
//	    Calling: the line (CallingPartyID, else — absent or unreadable —
//	    the UserID directory number), Called: the dialled number
//	    (infoAnalyzed: CalledPartyID, else CollectedAddressInfo;
//	    infoCollected: CollectedAddressInfo)}
//
// A 7-digit number (the line's own, or a local number dialled) is
// completed with the home area code as for a terminationAttempt (see
// HomeArea; the line's area, there being no called subscriber): left
// unread, a locked line that the switch names by 7 digits would escape the
// toll-fraud lockdown (no calling number, so no line to lock), and a local
// premium number (NXX 976) dialled from it would pass as unclassifiable.
//	Allow                         -> continue {}
//	Block, BlockWithAnnouncement  -> disconnect {}
//	anything else                 -> the safe answer (unencodable)
//
// The safe answer to an originating trigger is always continue: a query
// the engine cannot decide in time, or at all, lets the call proceed, as a
// switch does when its SCP does not answer.

// callFromOrigination builds the engine's view of an originating trigger;
// npa completes 7-digit numbers. The dialled number is otherwise read as
// dialled (ain.Digits.Dialled): a carrier access code or an operator
// prefix in front of it is no way around a lockdown. A dialled number that
// is still not E.164 (a service code such as 911, a 7-digit number with no
// area known) is left 0: the engine reads that as "cannot classify".
func callFromOrigination(user *ain.UserID, calling, dialled *ain.Opt[ain.Digits], npa ain.NPA) policy.Call {
	c := policy.Call{Origin: policy.OriginAIN, Direction: policy.DirectionOriginating}
	if calling.Set {
		c.Calling, _ = calling.V.E164InArea(npa)
	}
	if c.Calling == 0 && user.Kind == ain.UserIDDN {
		c.Calling, _ = user.DN.E164()
	}
	if dialled.Set {
		if dialled.V.Local() {
			c.Called, _ = dialled.V.E164InArea(npa)
		} else {
			c.Called, _ = dialled.V.Dialled()
		}
	}
	return c
}

// origination answers infoAnalyzed / infoCollected.
func (q *request) origination(op ain.OpCode) {
	s, w, inv := q.s, q.w, q.inv
	in := inInfoAnalyzed
	var call policy.Call
	if op == ain.OpInfoAnalyzed {
		if err := w.ia.Unmarshal(inv.Params); err != nil {
			q.reject(tcap.InvokeIncorrectParameter, in)
			return
		}
		dialled := w.ia.CalledPartyID
		if !dialled.Set {
			dialled = w.ia.CollectedAddressInfo
		}
		call = callFromOrigination(&w.ia.UserID, &w.ia.CallingPartyID, &dialled, s.cfg.lineHomeNPA(&w.ia.UserID))
	} else {
		in = inInfoCollected
		if err := w.ic.Unmarshal(inv.Params); err != nil {
			q.reject(tcap.InvokeIncorrectParameter, in)
			return
		}
		call = callFromOrigination(&w.ic.UserID, &w.ic.CallingPartyID, &w.ic.CollectedAddressInfo, s.cfg.lineHomeNPA(&w.ic.UserID))
	}
	call.Peer = w.peer(q.pd.OPC, s.cfg.Variant)

	why := q.shed
	var d policy.Decision
	if why == safeNone {
		d, why = s.decide(w, &call, q.arrived.Add(s.cfg.TimeBudget))
		if why == safeDeferred {
			q.deferQuery()
			return
		}
	}
	ans := ain.OpContinue
	if why == safeNone {
		switch d.Action {
		case policy.ActionAllow:
		case policy.ActionBlock, policy.ActionBlockWithAnnouncement:
			ans = ain.OpDisconnect
		default:
			why = safeUnencoded
		}
	}
	if why != safeNone {
		q.safeAnswered(why, &call, time.Now(), false)
	}
	if ans == ain.OpDisconnect {
		w.ans = (&ain.DisconnectArg{}).Marshal(w.ans[:0])
	} else {
		w.ans = (&ain.ContinueArg{}).Marshal(w.ans[:0])
	}
	q.answer(ans, nil, in)
}
