package daemon

import (
	"context"
	"testing"
	"time"

	"callgate/e164"
	"callgate/internal/benchcpu"
	"callgate/internal/config"
	"callgate/policy"
	"callgate/store/storetest"
)

// BenchmarkDecideChain is one guarded decision through the decider chain
// as `callgate serve` builds it (Daemon.Start): the Guard, the metrics,
// the signal stage, the fraud hook and the decision log (on, NoSync, in a
// temporary directory) around the engine over the demo store. The call is
// an AIN query to a subscriber from a caller on no list, under a Budget
// reused from call to call as a tier's worker does. No tier is started.
// The log's queue is flushed outside the timer every half queue, so every
// record is kept.
//
//	go test -run '^$' -bench DecideChain -benchmem -cpu 1 ./daemon/
func BenchmarkDecideChain(b *testing.B) {
	saved := tierList
	tierList = nil
	defer func() { tierList = saved }()
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.DecisionLog.NoSync = true
	d := New(cfg, Options{Logger: quietLogger()})
	if err := d.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer d.Shutdown()
	if err := storetest.Populate(d.Store()); err != nil {
		b.Fatal(err)
	}
	if d.dlog == nil {
		b.Fatal("decision log off")
	}
	call := policy.Call{Calling: e164.MustParse(storetest.UnknownCaller), Called: e164.MustParse(storetest.AliceNumber),
		Origin: policy.OriginAIN, Peer: "244-1-10"}
	var bud policy.Budget
	deadline := time.Now().Add(time.Hour)
	check := func() {
		c := call
		dec, f := d.guard.Decide(&bud, &c, deadline)
		if f != policy.FaultNone || dec.Subscriber == 0 {
			b.Fatalf("fault %v, decision %+v", f, dec)
		}
	}
	check()
	b.Logf("outermost stage: %T", d.decider)
	half := int(cfg.DecisionLog.QueueSize / 2)
	b.ReportAllocs()
	n, clk := 0, benchcpu.Start(b)
	for b.Loop() {
		c := call
		_, _ = d.guard.Decide(&bud, &c, deadline)
		if n++; n%half == 0 {
			b.StopTimer()
			_ = d.dlog.Flush()
			b.StartTimer()
		}
	}
	clk.Stop(b, n)
	check()
}
