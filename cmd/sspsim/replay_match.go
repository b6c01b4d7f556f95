package main

import (
	"callgate/scp/ain"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/pcap"
	"callgate/sigtran/sccp"
	"callgate/sigtran/tcap"
	"callgate/simulators/ssp"
)

// captureQuery is a query found in a capture, with the answer to it found
// there (nil when none).
type captureQuery struct {
	frame  int
	op     ain.OpCode
	tid    tcap.TID
	params []byte

	answer      *ssp.Answer
	answerFrame int
}

// transaction names a TCAP transaction in a capture from the switch's side:
// the transport ports of the association (the switch's and the SCP side's;
// not the IP addresses, which SCTP multi-homing may change within one
// association), the switch's point code and its originating TID. A TID is
// unique only among the switch's open transactions: two runs of
// `sspsim call`, or a switch after a restart, use the same TIDs again, each
// run on its own association; and a switch reuses a TID once its
// transaction has ended.
type transaction struct {
	sspPort, scpPort uint16
	sspPC            uint32
	tid              tcap.TID
}

// loose is a transaction without its association, for an answer that came
// back on another association than its query (an SG load-sharing the
// answers over its links).
type loose struct {
	sspPC uint32
	tid   tcap.TID
}

// queriesOf finds the AIN queries of a capture (Query packages with a
// private-op Invoke), in capture order, and the answer to each: the first
// package from the SCP side whose responding TID is the query's
// originating TID, paired with the latest query of that transaction before
// it that has no answer yet (on the same association, else on any).
func queriesOf(msgs []pcap.Message) []captureQuery {
	var (
		qs    []captureQuery
		txs   []transaction           // of each query
		open  = map[transaction]int{} // the latest unanswered query of each transaction
		openL = map[loose]int{}
		d     m3ua.Data
		udt   sccp.Message
		t     tcap.Message
	)
	for _, pm := range msgs {
		if d.UnmarshalBinary(pm.Payload) != nil || d.ProtocolData.SI != m3ua.SISCCP {
			continue
		}
		if udt.Decode(d.ProtocolData.Data, sccp.ANSI) != nil || udt.Type.IsService() {
			continue
		}
		err := t.Decode(udt.Data)
		switch {
		case t.Type.IsQuery() && err == nil:
			for _, c := range t.Components {
				if c.Type.IsInvoke() && c.Op.Class == tcap.Private {
					tx := transaction{sspPort: pm.Src.Port(), scpPort: pm.Dst.Port(), sspPC: d.ProtocolData.OPC, tid: t.OrigTID}
					// A query reusing an open TID ends the older transaction
					// (its answer, if any, was not captured).
					open[tx] = len(qs)
					openL[loose{tx.sspPC, tx.tid}] = len(qs)
					txs = append(txs, tx)
					qs = append(qs, captureQuery{frame: pm.Frame, op: ain.OpCode(c.Op.Code), tid: t.OrigTID,
						params: append([]byte(nil), c.Params...)})
					break
				}
			}
		case t.Type != 0 && !t.RespTID.IsZero():
			tx := transaction{sspPort: pm.Dst.Port(), scpPort: pm.Src.Port(), sspPC: d.ProtocolData.DPC, tid: t.RespTID}
			i, ok := open[tx]
			if !ok {
				i, ok = openL[loose{tx.sspPC, tx.tid}]
			}
			if !ok {
				continue // no open query of this transaction before it
			}
			a, derr := ssp.DecodeAnswer(append([]byte(nil), udt.Data...))
			if derr != nil {
				continue
			}
			// The first answer package is the one compared: the query
			// takes no other.
			qs[i].answer, qs[i].answerFrame = &a, pm.Frame
			qt := txs[i]
			if open[qt] == i {
				delete(open, qt)
			}
			if lk := (loose{qt.sspPC, qt.tid}); openL[lk] == i {
				delete(openL, lk)
			}
		}
	}
	return qs
}
