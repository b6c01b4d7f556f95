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
//	    Calling: the line (CallingPartyID, else the UserID directory
//	    number), Called: the dialled number (infoAnalyzed: CalledPartyID,
//	    else CollectedAddressInfo; infoCollected: CollectedAddressInfo)}
//	Allow                         -> continue {}
//	Block, BlockWithAnnouncement  -> disconnect {}
//	anything else                 -> the safe answer (unencodable)
//
// The safe answer to an originating trigger is always continue: a query
// the engine cannot decide in time, or at all, lets the call proceed, as a
// switch does when its SCP does not answer.

// callFromOrigination builds the engine's view of an originating trigger.
// The dialled number is read as dialled (ain.Digits.Dialled): a carrier
// access code or an operator prefix in front of it is no way around a
// lockdown. A number that is not E.164 even so (a service code, a 7-digit
// local number) is left 0: the engine reads that as "cannot classify".
func callFromOrigination(user ain.UserID, calling, dialled ain.Opt[ain.Digits]) policy.Call {
	c := policy.Call{Origin: policy.OriginAIN, Direction: policy.DirectionOriginating}
	if calling.Set {
		c.Calling, _ = calling.V.E164()
	} else if user.Kind == ain.UserIDDN {
		c.Calling, _ = user.DN.E164()
	}
	if dialled.Set {
		c.Called, _ = dialled.V.Dialled()
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
		call = callFromOrigination(w.ia.UserID, w.ia.CallingPartyID, dialled)
	} else {
		in = inInfoCollected
		if err := w.ic.Unmarshal(inv.Params); err != nil {
			q.reject(tcap.InvokeIncorrectParameter, in)
			return
		}
		call = callFromOrigination(w.ic.UserID, w.ic.CallingPartyID, w.ic.CollectedAddressInfo)
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
