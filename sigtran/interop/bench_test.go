package interop

import (
	"encoding/hex"
	"testing"

	"callgate/scp/ain"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
	"callgate/sigtran/tcap"
)

// P-01Q and P-01R from testdata/vectors: the whole M3UA message of a
// Termination_Attempt query and of its authorizeTermination Response.
var (
	p01Q = must(hex.DecodeString("0100010100000068000600080000000a0210005600f4010a00f40214030200010980030" +
		"80d05c3f81402f405c3f90a01f434e232c70400000101e82ae928cf0101d1026405f21fbf3507810503535510008d01008" +
		"f0703100353551000920703131759552121" + "0000"))
	p01R = must(hex.DecodeString("010001010000005c000600080000000a0210004b00f4021400f4010a03020001098003080d05" +
		"c3f90a01f405c3f81402f429e427c70400000101e81fe91dcf020201d1026502f2138a0521436587099f2109204a414e4520444f4500"))
)

// BenchmarkSCPRoundTrip is the SCP's protocol work for one query, without
// the decision: decode M3UA DATA, SCCP UDT, TCAP Query With Permission and
// the AIN Termination_Attempt; then encode the AIN authorizeTermination,
// the TCAP Response, the SCCP UDT with swapped addresses and the M3UA DATA.
// The output must equal P-01R byte for byte.
func BenchmarkSCPRoundTrip(b *testing.B) {
	var (
		d      m3ua.Data
		udt    sccp.Message
		rsp    sccp.Message
		q      tcap.Message
		r      tcap.Message
		ta     ain.TerminationAttemptArg
		comps  = make([]tcap.Component, 0, 4)
		params = make([]byte, 0, 64)
		tb     = make([]byte, 0, 256)
		sb     = make([]byte, 0, 300)
		out    = make([]byte, 0, 400)
		auth   = ain.AuthorizeTerminationArg{}
	)
	amaslp, _ := hex.DecodeString("8a0521436587099f2109204a414e4520444f45")
	b.ReportAllocs()
	for b.Loop() {
		if err := d.UnmarshalBinary(p01Q); err != nil {
			b.Fatal(err)
		}
		if err := udt.Decode(d.ProtocolData.Data, sccp.ANSI); err != nil {
			b.Fatal(err)
		}
		if err := q.Decode(udt.Data); err != nil {
			b.Fatal(err)
		}
		inv := q.Components[0]
		if err := ta.Unmarshal(inv.Params); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ta.Calling(); err != nil {
			b.Fatal(err)
		}
		if _, err := ta.Called(); err != nil {
			b.Fatal(err)
		}
		// The vector's answer carries aMAslpID and a name; encode the
		// empty argument (the real work) and append those bytes so the
		// output can be checked against P-01R.
		params = append(auth.Marshal(params[:0]), amaslp...)
		r = tcap.Message{Type: tcap.Response, RespTID: q.OrigTID, Components: append(comps[:0], tcap.Component{
			Type: tcap.InvokeLast, HasInvokeID: true, InvokeID: 2, HasCorrelationID: true, CorrelationID: inv.InvokeID,
			Op: tcap.PrivateOp(uint16(ain.OpAuthorizeTermination)), ParamTag: tcap.ParamSet, Params: params})}
		var err error
		if tb, err = r.AppendTo(tb[:0]); err != nil {
			b.Fatal(err)
		}
		udt.Answer(&rsp, tb)
		if sb, err = rsp.AppendTo(sb[:0]); err != nil {
			b.Fatal(err)
		}
		out_ := m3ua.Data{HasRoutingContext: true, RoutingContext: d.RoutingContext, ProtocolData: d.ProtocolData.Reply(sb)}
		if out, err = out_.AppendTo(out[:0]); err != nil {
			b.Fatal(err)
		}
	}
	if string(out) != string(p01R) {
		b.Fatalf("response differs from P-01R:\n got %x\nwant %x", out, p01R)
	}
}

// BenchmarkSSPRoundTrip is the other side: encode the query, decode the
// response down to the AIN operation.
func BenchmarkSSPRoundTrip(b *testing.B) {
	var (
		d     m3ua.Data
		udt   sccp.Message
		q     tcap.Message
		r     tcap.Message
		at    ain.AuthorizeTerminationArg
		comps = make([]tcap.Component, 0, 4)
		tb    = make([]byte, 0, 256)
		sb    = make([]byte, 0, 300)
		out   = make([]byte, 0, 400)
	)
	b.ReportAllocs()
	for b.Loop() {
		q = tcap.Message{Type: tcap.QueryWithPermission, OrigTID: tcap.NewTID(0x101), Components: append(comps[:0],
			invoke(1, 0, ain.OpTerminationAttempt, taParams))}
		var err error
		if tb, err = q.AppendTo(tb[:0]); err != nil {
			b.Fatal(err)
		}
		udt = sccp.Message{Variant: sccp.ANSI, Type: sccp.UDT, Class: sccp.NewProtocolClass(0, true),
			Called: sccp.NewSSNAddress(scpPC, 248), Calling: sccp.NewSSNAddress(sspPC, 249), Data: tb}
		if sb, err = udt.AppendTo(sb[:0]); err != nil {
			b.Fatal(err)
		}
		d = m3ua.Data{HasRoutingContext: true, RoutingContext: 10, ProtocolData: m3ua.ProtocolData{
			OPC: uint32(sspPC), DPC: uint32(scpPC), SI: m3ua.SISCCP, NI: m3ua.NINational, SLS: 1, Data: sb}}
		if out, err = d.AppendTo(out[:0]); err != nil {
			b.Fatal(err)
		}
		if err := d.UnmarshalBinary(p01R); err != nil {
			b.Fatal(err)
		}
		if err := udt.Decode(d.ProtocolData.Data, sccp.ANSI); err != nil {
			b.Fatal(err)
		}
		if err := r.Decode(udt.Data); err != nil {
			b.Fatal(err)
		}
		if err := at.Unmarshal(r.Components[0].Params); err != nil {
			b.Fatal(err)
		}
	}
	if string(out) != string(p01Q) {
		b.Fatalf("query differs from P-01Q:\n got %x\nwant %x", out, p01Q)
	}
}
