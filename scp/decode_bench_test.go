package scp

import (
	"testing"

	"callgate/internal/benchcpu"
	"callgate/scp/ain"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
	"callgate/sigtran/tcap"
)

// BenchmarkDecodeQuery is the decode side of one query, as the reader does
// it before asking the engine: P-01Q's SCCP UDT, its TCAP package, the
// transaction layer's verdict and the terminationAttempt argument (the
// dialogue is then ended, as the answer would end it).
func BenchmarkDecodeQuery(b *testing.B) {
	var d m3ua.Data
	if err := d.UnmarshalBinary(vectorM3UA(b, "P-01Q")); err != nil {
		b.Fatal(err)
	}
	tx := tcap.NewTransactions(tcap.Config{})
	var (
		udt sccp.Message
		pkg tcap.Message
		ta  ain.TerminationAttemptArg
	)
	b.ReportAllocs()
	n, clk := 0, benchcpu.Start(b)
	for b.Loop() {
		if n++; n%1024 == 0 {
			tx.Sweep(nil)
		}
		if err := udt.Decode(d.ProtocolData.Data, sccp.ANSI); err != nil {
			b.Fatal(err)
		}
		peer := tcap.PeerKey(udt.Calling.PC)<<8 | tcap.PeerKey(udt.Calling.SSN)
		v := tx.Receive(peer, &pkg, pkg.Decode(udt.Data))
		if v.Action != tcap.Deliver {
			b.Fatal(v)
		}
		if err := ta.Unmarshal(pkg.Components[0].Params); err != nil {
			b.Fatal(err)
		}
		tx.End(v.Dialogue)
	}
	clk.Stop(b, n)
	if !ta.CallingPartyID.Set {
		b.Fatal("wrong decode")
	}
}
