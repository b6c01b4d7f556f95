package tcap

import (
	"testing"

	"callgate/internal/benchcpu"
)

// The decode side of the SCP's hot path, piece by piece: the TCAP package of
// the P-01Q query, and the transaction layer's classification of it.

func BenchmarkDecodeQueryTCAP(b *testing.B) {
	raw := mustHex(b, vector(b, "P-01Q").Hex.TCAP)
	var m Message
	b.ReportAllocs()
	n, clk := 0, benchcpu.Start(b)
	for b.Loop() {
		n++
		if err := m.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
	clk.Stop(b, n)
	if m.Components[0].Op.Code != 0x6405 {
		b.Fatal("wrong decode")
	}
}

// BenchmarkReceiveQuery is Transactions.Receive for a decoded Query (the
// dialogue it opens is ended again, as the SCP's answer would).
func BenchmarkReceiveQuery(b *testing.B) {
	raw := mustHex(b, vector(b, "P-01Q").Hex.TCAP)
	var m Message
	if err := m.Decode(raw); err != nil {
		b.Fatal(err)
	}
	tx := NewTransactions(Config{})
	const peer = PeerKey(0xf4010a<<8 | 0xf9)
	b.ReportAllocs()
	n, clk := 0, benchcpu.Start(b)
	for b.Loop() {
		if n++; n%1024 == 0 {
			tx.Sweep(nil)
		}
		v := tx.Receive(peer, &m, nil)
		if v.Action != Deliver {
			b.Fatal(v)
		}
		tx.End(v.Dialogue)
	}
	clk.Stop(b, n)
}
