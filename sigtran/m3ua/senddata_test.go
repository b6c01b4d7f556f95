package m3ua

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
)

// SendData queues exactly the DATA message Data.AppendTo encodes for the
// label, the association's routing context and the endpoint's network
// appearance (with and without one), and refuses once the association
// has failed.
func TestSendDataQueuesData(t *testing.T) {
	var q Data
	if err := q.UnmarshalBinary(p01q(t)); err != nil {
		t.Fatal(err)
	}
	na := uint32(7)
	for _, withNA := range []bool{false, true} {
		cfg := Config{Role: RoleSG, Network: "tcp", Listen: "127.0.0.1:0", RoutingContexts: []uint32{10},
			HeartbeatInterval: -1, Logger: slog.New(slog.DiscardHandler), Handler: func(*Association, *Data) {}}
		if withNA {
			cfg.NetworkAppearance = &na
		}
		e, err := NewEndpoint(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		a := e.attach(newBatchConn(), false)
		a.state.Store(int32(ASPStateActive))
		a.setRC(10)
		a.readerBusy.Store(true) // keep it in the outbox
		pd := q.ProtocolData.Reply(q.ProtocolData.Data)
		if err := a.SendData(pd); err != nil {
			t.Fatal(err)
		}
		want, err := (&Data{ProtocolData: pd, RoutingContext: 10, HasRoutingContext: true,
			NetworkAppearance: na, HasNetworkAppearance: withNA}).AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		a.out.mu.Lock()
		got := bytes.Clone(a.out.buf)
		a.out.mu.Unlock()
		if !bytes.Equal(got, want) {
			t.Errorf("network appearance %v: queued\n%x\nwant\n%x", withNA, got, want)
		}
		a.fail(errors.New("test: association lost"))
		if err := a.SendData(pd); err != ErrNotActive {
			t.Errorf("SendData on a failed association: %v, want ErrNotActive", err)
		}
		e.Close()
	}
}
