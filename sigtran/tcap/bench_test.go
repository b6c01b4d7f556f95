package tcap

import (
	"testing"

	"callgate/sigtran/sccp"
)

// The SCP's hot path at SCCP+TCAP level: decode the P-01Q query (SCCP UDT,
// then the TCAP package inside), and encode the P-01R response.

func BenchmarkDecodeQuerySCCPTCAP(b *testing.B) {
	raw := mustHex(b, vector(b, "P-01Q").Hex.SCCP)
	var s sccp.Message
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if err := s.Decode(raw, sccp.ANSI); err != nil {
			b.Fatal(err)
		}
		if err := m.Decode(s.Data); err != nil {
			b.Fatal(err)
		}
	}
	if m.Components[0].Op.Code != 0x6405 {
		b.Fatal("wrong decode")
	}
}

func BenchmarkEncodeResponseSCCPTCAP(b *testing.B) {
	want := mustHex(b, vector(b, "P-01R").Hex.SCCP)
	var q sccp.Message
	if err := q.Decode(mustHex(b, vector(b, "P-01Q").Hex.SCCP), sccp.ANSI); err != nil {
		b.Fatal(err)
	}
	params := mustHex(b, "8a0521436587099f2109204a414e4520444f45")
	comps := make([]Component, 1)
	tcapBuf := make([]byte, 0, 256)
	out := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		comps[0] = Component{Type: InvokeLast, HasInvokeID: true, InvokeID: 2, HasCorrelationID: true, CorrelationID: 1,
			Op: PrivateOp(0x6502), ParamTag: ParamSet, Params: params}
		r := Message{Type: Response, RespTID: NewTID(0x101), Components: comps}
		var err error
		if tcapBuf, err = r.AppendTo(tcapBuf[:0]); err != nil {
			b.Fatal(err)
		}
		s := sccp.Message{Variant: sccp.ANSI, Type: sccp.UDT, Class: q.Class, Called: q.Calling, Calling: q.Called, Data: tcapBuf}
		if out, err = s.AppendTo(out[:0]); err != nil {
			b.Fatal(err)
		}
	}
	if string(out) != string(want) {
		b.Fatalf("encoded %x", out)
	}
}

func BenchmarkDecodeResponseSCCPTCAP(b *testing.B) {
	raw := mustHex(b, vector(b, "P-01R").Hex.SCCP)
	var s sccp.Message
	var m Message
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Decode(raw, sccp.ANSI); err != nil {
			b.Fatal(err)
		}
		if err := m.Decode(s.Data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeQuerySCCPTCAP(b *testing.B) {
	raw := mustHex(b, vector(b, "P-01Q").Hex.SCCP)
	var s sccp.Message
	var m Message
	if err := s.Decode(raw, sccp.ANSI); err != nil {
		b.Fatal(err)
	}
	if err := m.Decode(s.Data); err != nil {
		b.Fatal(err)
	}
	tcapBuf := make([]byte, 0, 256)
	out := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if tcapBuf, err = m.AppendTo(tcapBuf[:0]); err != nil {
			b.Fatal(err)
		}
		s.Data = tcapBuf
		if out, err = s.AppendTo(out[:0]); err != nil {
			b.Fatal(err)
		}
	}
	if string(out) != string(raw) {
		b.Fatal("mismatch")
	}
}

// BenchmarkSCPRoundTrip is the SCP's whole SCCP/TCAP work for one call:
// decode the query, open the dialogue, build and encode the Response,
// release the dialogue.
func BenchmarkSCPRoundTrip(b *testing.B) {
	raw := mustHex(b, vector(b, "P-01Q").Hex.SCCP)
	params := mustHex(b, "8a0521436587099f2109204a414e4520444f45")
	tx := NewTransactions(Config{})
	var s sccp.Message
	var m Message
	comps := make([]Component, 1)
	tcapBuf := make([]byte, 0, 256)
	out := make([]byte, 0, 512)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		// The SCP sweeps the table every tick; do it here too, or the
		// timer wheel grows for the whole run.
		if n++; n%1024 == 0 {
			tx.Sweep(nil)
		}
		if err := s.Decode(raw, sccp.ANSI); err != nil {
			b.Fatal(err)
		}
		err := m.Decode(s.Data)
		v := tx.Receive(PeerKey(s.Calling.PC)<<8|PeerKey(s.Calling.SSN), &m, err)
		if v.Action != Deliver {
			b.Fatal(v)
		}
		comps[0] = Component{Type: InvokeLast, HasInvokeID: true, InvokeID: 2, HasCorrelationID: true,
			CorrelationID: m.Components[0].InvokeID, Op: PrivateOp(0x6502), ParamTag: ParamSet, Params: params}
		r := Message{Type: Response, Components: comps}
		if err := tx.Send(v.Dialogue, &r); err != nil {
			b.Fatal(err)
		}
		if tcapBuf, err = r.AppendTo(tcapBuf[:0]); err != nil {
			b.Fatal(err)
		}
		resp := sccp.Message{Variant: sccp.ANSI, Type: sccp.UDT, Class: s.Class, Called: s.Calling, Calling: s.Called, Data: tcapBuf}
		if out, err = resp.AppendTo(out[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
