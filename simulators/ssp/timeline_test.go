package ssp_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"callgate/scp/ain"
	"callgate/simulators/ssp"
	"callgate/simulators/ssp/ssptest"
)

// TestLoadTimeline: the timeline accounts for every answer once, in the
// slice it came in, and counts as slow exactly the answers the SCP held
// back past the threshold.
func TestLoadTimeline(t *testing.T) {
	var n atomic.Int64
	scp := startSCP(t, func(*ain.TerminationAttemptArg) ssptest.Reply {
		if n.Add(1)%10 == 0 {
			return ssptest.Reply{Delay: 8 * time.Millisecond} // one query in ten is slow
		}
		return ssptest.Reply{}
	})
	c := dial(t, scp.Addr(), nil)
	cr, _ := ssp.ParseRange("+1303555xxxx")
	sum, err := c.Load(context.Background(), ssp.LoadConfig{
		Rate: 2000, Concurrency: 64, Duration: 500 * time.Millisecond,
		TimelineStep: 50 * time.Millisecond, TimelineSlow: 4 * time.Millisecond,
		Scenarios: []ssp.Scenario{{TA: ssp.TA{}, Called: &cr}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Timeline) < 10 || len(sum.Timeline) > 12 {
		t.Fatalf("%d slices of 50 ms for a 500 ms run", len(sum.Timeline))
	}
	var answers, slow int64
	for i, s := range sum.Timeline {
		if s.Start != time.Duration(i)*50*time.Millisecond {
			t.Fatalf("slice %d starts at %v", i, s.Start)
		}
		answers += s.Answers
		slow += s.Slow
		if s.Slow > 0 && s.MaxDelay < 8*time.Millisecond {
			t.Errorf("slice %d: %d slow answers, slowest %v", i, s.Slow, s.MaxDelay)
		}
	}
	if answers != sum.Answered {
		t.Errorf("timeline has %d answers, the run %d", answers, sum.Answered)
	}
	// Every tenth query waited 8 ms; the others are fast on loopback (a
	// busy machine may slow a few more).
	if want := sum.Answered / 10; slow < want || slow > want+sum.Answered/20 {
		t.Errorf("%d slow answers of %d, want about %d", slow, sum.Answered, want)
	}
	sum, err = c.Load(context.Background(), ssp.LoadConfig{Rate: 500, Duration: 100 * time.Millisecond,
		Scenarios: []ssp.Scenario{{TA: ssp.TA{}, Called: &cr}}})
	if err != nil || sum.Timeline != nil {
		t.Fatalf("no TimelineStep: timeline %v, err %v", sum.Timeline, err)
	}
}
