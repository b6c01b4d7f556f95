package m3ua

import (
	"callgate/internal/benchcpu"
	"context"
	"log/slog"
	"testing"
)

// BenchmarkSendData is the cost of queueing one answer on an active
// association while its reader is in a batch (the answers of an inline
// decision, written at the batch's end): SendData's checks and the DATA
// encoded into the outbox under its mutex. The outbox is emptied every 64
// messages, as the batch's write would.
func BenchmarkSendData(b *testing.B) {
	var q Data
	if err := q.UnmarshalBinary(p01q(b)); err != nil {
		b.Fatal(err)
	}
	e, err := NewEndpoint(Config{Role: RoleSG, Network: "tcp", Listen: "127.0.0.1:0", RoutingContexts: []uint32{10},
		HeartbeatInterval: -1, Logger: slog.New(slog.DiscardHandler), Handler: func(*Association, *Data) {}})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	c := newBatchConn()
	a := e.attach(c, false)
	a.state.Store(int32(ASPStateActive))
	a.setRC(10)
	a.readerBusy.Store(true)
	pd := q.ProtocolData.Reply(q.ProtocolData.Data)
	b.ReportAllocs()
	n, clk := 0, benchcpu.Start(b)
	for b.Loop() {
		if err := a.SendData(pd); err != nil {
			b.Fatal(err)
		}
		if n++; n%64 == 0 {
			ob := &a.out
			ob.mu.Lock()
			ob.buf, ob.msgs, ob.data = ob.buf[:0], ob.msgs[:0], 0
			ob.mu.Unlock()
		}
	}
	clk.Stop(b, n)
}
