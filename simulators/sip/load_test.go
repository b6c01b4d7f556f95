package sip

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// A small load run against the in-process answering side: every call is
// answered and held, RTP flows both ways, jitter and loss are measured,
// sipsim's own CPU and memory are reported.
func TestLoadAgainstItself(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sum, err := Load(ctx, LoadConfig{
		Calls: 6, Concurrency: 3, Hold: 1500 * time.Millisecond,
		Call:   CallConfig{From: "+17195551212", Behaviour: Behaviour{Probe: Probe{Off: true}}},
		Answer: &AnswerConfig{Behaviour: Behaviour{Probe: Probe{Off: true}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Started != 6 || sum.Completed != 6 || sum.Failed != 0 || sum.Answered != 6 {
		t.Fatalf("started %d completed %d failed %d answered %d, want 6 6 0 6: %+v", sum.Started, sum.Completed, sum.Failed, sum.Answered, sum)
	}
	if sum.MaxActive < 2 || sum.MaxActive > 3 {
		t.Errorf("at most %d calls at once, want 2-3 (concurrency 3)", sum.MaxActive)
	}
	if sum.RTP.Packets == 0 || sum.AnswerRTP == nil || sum.AnswerRTP.Packets == 0 {
		t.Errorf("RTP received: callers %d packets, answering side %+v; want some each way", sum.RTP.Packets, sum.AnswerRTP)
	}
	if sum.RTP.Jitter.Count == 0 || sum.RTP.Jitter.MaxMs <= 0 {
		t.Errorf("no jitter measured: %+v", sum.RTP.Jitter)
	}
	// On Linux the same pairs are measured by kernel receive times too.
	if k := sum.RTP.KernelJitter; runtime.GOOS == "linux" && k.Count != sum.RTP.Jitter.Count {
		t.Errorf("kernel-time jitter of %d pairs, want the %d of the receiver's clock", k.Count, sum.RTP.Jitter.Count)
	}
	if sum.Resources.CPUUserS+sum.Resources.CPUSysS <= 0 || sum.Resources.PeakRSSMiB <= 0 {
		t.Errorf("resources not measured: %+v", sum.Resources)
	}
}
