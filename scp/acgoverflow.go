package scp

import (
	"encoding/hex"
	"time"
)

// acgOverflow takes a switch's acgOverflow (GR-1299, family Network
// Management; in w.ovf): the switch could not place one of our acg
// controls because its table of controls is full, so that code is not
// gapped there and the overload control is weaker than the SCP thinks.
// It is the switch's report on our own acg, so it is not rejected as an
// operation we do not serve: it is counted
// (callgate_scp_acg_overflow_total), logged (rate-limited, naming the
// switch and the code) and, the operation having no result, the
// transaction is ended like close ends it.
func (q *request) acgOverflow() {
	s, w := q.s, q.w
	s.met.acgOverflow.Inc()
	if ok, n := s.ovfLog.Allow(time.Now(), time.Minute); ok {
		s.log.Warn("scp: a switch reports its ACG table full: it does not gap this code (fix: fewer codes under control, scp.acg with 6-digit codes, or a larger table on the switch)",
			"opc", w.peer(q.pd.OPC, s.cfg.Variant), "code_bcd", hex.EncodeToString(w.ovf.GlobalTitleAddress),
			"translation_type", w.ovf.TranslationType, "suppressed_since_last", n)
	}
	q.endQuietly(inOther)
}

// endQuietly ends the transaction of a package that needs no answer
// component (close, acgOverflow): with an empty Response when the switch
// left us permission to end it, else locally, so it does not wait for us.
func (q *request) endQuietly(in inOp) {
	v := &q.v
	if v.HasDialogue && !v.Ended {
		if v.CanEnd {
			q.respond(in, outNone)
			return
		}
		q.s.tx.End(v.Dialogue)
	}
	q.w.cnt.queries[in][outNone].Add(1)
}
