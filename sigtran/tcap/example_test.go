package tcap_test

import (
	"encoding/hex"
	"fmt"

	"callgate/sigtran/sccp"
	"callgate/sigtran/tcap"
)

// The SCP's path for one Termination_Attempt: SCCP UDT in, TCAP Query With
// Permission classified by the transaction layer, AIN answer in a Response,
// UDT out with the addresses swapped.
func ExampleTransactions() {
	in, _ := hex.DecodeString("098003080d05c3f81402f405c3f90a01f434e232c70400000101e82ae928cf0101d1026405f21fbf3507810503535510008d01008f0703100353551000920703131759552121")
	tx := tcap.NewTransactions(tcap.Config{})

	// Per worker, reused for every message: no allocation in steady state.
	var udt sccp.Message
	var q tcap.Message
	comps := make([]tcap.Component, 0, 4)
	out := make([]byte, 0, 272)
	tcapBuf := make([]byte, 0, 256)

	if err := udt.Decode(in, sccp.ANSI); err != nil {
		return // not SCCP: drop (or count)
	}
	peer := tcap.PeerKey(udt.Calling.PC)<<8 | tcap.PeerKey(udt.Calling.SSN)
	v := tx.Receive(peer, &q, q.Decode(udt.Data))
	switch v.Action {
	case tcap.Deliver:
		inv := q.Components[0] // the AIN layer decodes inv.Params
		fmt.Printf("%v %v invoke %d op %v, dialogue may end: %v\n", q.Type, q.OrigTID, inv.InvokeID, inv.Op, v.CanEnd)
		ainParams, _ := hex.DecodeString("8a0521436587099f2109204a414e4520444f45") // authorizeTermination args from the AIN codec
		r := tcap.Message{Type: tcap.Response, Components: append(comps[:0], tcap.Component{
			Type: tcap.InvokeLast, HasInvokeID: true, InvokeID: 2, HasCorrelationID: true, CorrelationID: inv.InvokeID,
			Op: tcap.PrivateOp(0x6502), ParamTag: tcap.ParamSet, Params: ainParams})}
		if err := tx.Send(v.Dialogue, &r); err != nil { // sets the TIDs, ends the dialogue
			return
		}
		tcapBuf, _ = r.AppendTo(tcapBuf[:0])
	case tcap.SendAbort, tcap.SendReject:
		tcapBuf, _ = tx.AppendReply(tcapBuf[:0], &v)
	default:
		return
	}
	var resp sccp.Message
	udt.Answer(&resp, tcapBuf) // same class, addresses swapped
	out, _ = resp.AppendTo(out[:0])
	fmt.Printf("%x\n", out)
	fmt.Println("open dialogues:", tx.Len())
	// Output:
	// queryWithPerm 00000101 invoke 1 op private 0x6405, dialogue may end: true
	// 098003080d05c3f90a01f405c3f81402f429e427c70400000101e81fe91dcf020201d1026502f2138a0521436587099f2109204a414e4520444f45
	// open dialogues: 0
}
