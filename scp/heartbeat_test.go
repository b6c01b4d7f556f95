package scp

import (
	"context"
	"testing"
	"time"

	"callgate/sigtran/m3ua"
	"callgate/sigtran/transport"
)

// TestHeartbeatTimeoutConfigured: Config.HeartbeatTimeout reaches the M3UA
// endpoint. With BEATs an hour apart and a 100 ms timeout, a switch that
// never answers the first BEAT loses its association at once; with the
// timeout left to the interval (the old wiring) it would hold for an hour.
func TestHeartbeatTimeoutConfigured(t *testing.T) {
	cfg := testConfig()
	cfg.HeartbeatInterval, cfg.HeartbeatTimeout = time.Hour, 100*time.Millisecond
	h := newHarness(t, cfg, &recorder{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer h.s.Shutdown(context.Background())
	c, err := transport.Dial(ctx, transport.Config{Network: "tcp", Address: h.s.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	up, _ := (&m3ua.ASPUp{}).MarshalBinary()
	if err := c.WriteMsg(up, 0); err != nil {
		t.Fatal(err)
	}
	closed := make(chan int)
	go func() {
		beats := 0
		buf := make([]byte, 4096)
		for {
			n, _, err := c.ReadMsg(buf)
			if err != nil {
				closed <- beats
				return
			}
			if m, err := m3ua.Decode(buf[:n]); err == nil {
				if _, ok := m.(*m3ua.Beat); ok {
					beats++ // never answered
				}
			}
		}
	}()
	select {
	case beats := <-closed:
		if beats != 1 {
			t.Fatalf("%d BEATs before the association went, want 1", beats)
		}
	case <-ctx.Done():
		t.Fatal("the association outlived an unanswered BEAT by far more than the 100 ms heartbeat timeout")
	}
}
