package tcap

import (
	"strconv"
	"testing"

	"callgate/internal/benchcpu"
)

// BenchmarkQueryResponseOpen is the SCP's dialogue cycle with the table as
// a load run keeps it: a Query in (Receive opens the dialogue) and a
// Response out (Send ends it), with the given number of dialogues open,
// answered in the order they came (each Response goes to the query that
// many before). Every query carries a new peer TID, as a switch's do.
func BenchmarkQueryResponseOpen(b *testing.B) {
	for _, open := range []int{1, 1000} {
		b.Run(strconv.Itoa(open), func(b *testing.B) { queryResponse(b, open) })
	}
}

func queryResponse(b *testing.B, open int) {
	raw := mustHex(b, vector(b, "P-01Q").Hex.TCAP)
	var m Message
	if err := m.Decode(raw); err != nil {
		b.Fatal(err)
	}
	tx := NewTransactions(Config{})
	const peer = PeerKey(0xf4010a<<8 | 0xf9)
	inFlight := make([]DialogueID, open)
	answer := func(id DialogueID) {
		r := Message{Type: Response}
		if err := tx.Send(id, &r); err != nil {
			b.Fatal(err)
		}
	}
	peerTID := uint32(0x100)
	query := func() DialogueID {
		peerTID++
		m.OrigTID = NewTID(peerTID)
		v := tx.Receive(peer, &m, nil)
		if v.Action != Deliver {
			b.Fatal(v)
		}
		return v.Dialogue
	}
	for i := range inFlight[1:] {
		inFlight[i+1] = query()
	}
	b.ReportAllocs()
	n, clk := 0, benchcpu.Start(b)
	for b.Loop() {
		if n%1024 == 0 {
			tx.Sweep(nil)
		}
		k := n % open
		n++
		id := query()
		if inFlight[k] != 0 {
			answer(inFlight[k])
		}
		inFlight[k] = id
	}
	clk.Stop(b, n)
	if tx.Len() > open {
		b.Fatalf("%d dialogues open, want at most %d", tx.Len(), open)
	}
}
