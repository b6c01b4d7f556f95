package policy

import (
	"context"
	"testing"
	"time"
)

type deciderFunc func(ctx context.Context, c Call) Decision

func (f deciderFunc) Decide(ctx context.Context, c Call) Decision { return f(ctx, c) }

func TestGuardFaults(t *testing.T) {
	cases := []struct {
		name string
		d    deciderFunc
		want Fault
	}{
		{"good", func(context.Context, Call) Decision { return Decision{Action: ActionBlock} }, FaultNone},
		{"panic", func(context.Context, Call) Decision { panic("rule exploded") }, FaultPanic},
		{"invalid", func(context.Context, Call) Decision { return Decision{} }, FaultInvalid},
		{"out of range", func(context.Context, Call) Decision { return Decision{Action: ActionVoicemail + 1} }, FaultInvalid},
		{"late", func(ctx context.Context, _ Call) Decision {
			<-ctx.Done() // a signal that waits for its budget
			return Decision{Action: ActionAllow}
		}, FaultLate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGuard(tc.d, nil)
			var b Budget
			c := Call{Calling: 17195551212, Called: 13035550100}
			_, f := g.Decide(&b, &c, time.Now().Add(20*time.Millisecond))
			if f != tc.want {
				t.Fatalf("fault %v, want %v", f, tc.want)
			}
			if b.Err() == nil {
				t.Fatal("the budget is still live after the decision")
			}
		})
	}
}

// A Budget is reused call after call; a channel handed out for one decision
// is closed when it ends, and the next decision starts live.
func TestBudgetReuse(t *testing.T) {
	var b Budget
	b.Start(time.Now().Add(time.Hour))
	ch := b.Done()
	b.Finish()
	select {
	case <-ch:
	default:
		t.Fatal("Done channel not closed by Finish")
	}
	b.Start(time.Now().Add(time.Hour))
	if b.Err() != nil {
		t.Fatalf("reused budget: %v", b.Err())
	}
	b.Finish()
}

// A zero deadline is no budget: never late, no deadline, and Done closes
// only when the decision ends.
func TestGuardNoDeadline(t *testing.T) {
	var seen bool
	var ch <-chan struct{}
	g := NewGuard(deciderFunc(func(ctx context.Context, c Call) Decision {
		_, seen = ctx.Deadline()
		ch = ctx.Done()
		select {
		case <-ch:
			t.Error("Done closed during the decision")
		case <-time.After(5 * time.Millisecond):
		}
		if ctx.Err() != nil {
			t.Errorf("Err = %v during the decision", ctx.Err())
		}
		return Decision{Action: ActionAllow}
	}), nil)
	var b Budget
	c := Call{Called: 13035550100}
	if _, f := g.Decide(&b, &c, time.Time{}); f != FaultNone {
		t.Fatalf("fault %v without a budget", f)
	}
	if seen {
		t.Error("Deadline reported one")
	}
	select {
	case <-ch:
	default:
		t.Error("Done not closed when the decision ended")
	}
}

// A signal may leave a goroutine behind that still uses the Budget while
// the next decisions run: every Done channel it is handed must be closed
// once its decision has ended, and nothing may race (run with -race). The
// check is on the channels, not on how long the goroutine waited: under a
// loaded machine a timer may fire late, and the test used to say "open
// for a second" then.
func TestBudgetStaleUser(t *testing.T) {
	var b Budget
	stop := make(chan struct{})
	done := make(chan struct{})
	var seen []<-chan struct{} // every distinct channel handed out, in order
	go func() {
		defer close(done)
		for {
			_ = b.Err()
			_, _ = b.Deadline()
			ch := b.Done()
			if len(seen) == 0 || seen[len(seen)-1] != ch {
				seen = append(seen, ch)
			}
			select {
			case <-ch:
			case <-stop:
				return
			}
		}
	}()
	for i := 0; i < 2000; i++ {
		b.Start(time.Now().Add(time.Duration(i%3) * time.Millisecond))
		if i%2 == 0 {
			<-b.Done() // fires at the deadline
		}
		b.Finish()
	}
	close(stop)
	<-done
	// The last decision has ended: no channel may still be open.
	for i, ch := range seen {
		select {
		case <-ch:
		default:
			t.Fatalf("Done channel %d of %d still open after every decision ended", i+1, len(seen))
		}
	}
	if len(seen) < 2 {
		t.Fatalf("the stale user saw %d channels: the test exercised nothing", len(seen))
	}
}

func BenchmarkBudget(b *testing.B) {
	var bud Budget
	dl := time.Now().Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		bud.Start(dl)
		bud.Finish()
	}
}

func BenchmarkGuardDecide(b *testing.B) {
	g := NewGuard(New(nil), nil)
	var bud Budget
	c := Call{Calling: 17195551212, Called: 13035550100}
	b.ReportAllocs()
	for b.Loop() {
		g.Decide(&bud, &c, time.Now().Add(time.Second))
	}
}

// TestGuardDeferred: a stage that would wait defers the decision only
// under a Budget that allows it; the Guard then reports FaultDeferred,
// and the next decision under the same Budget starts undeferred.
func TestGuardDeferred(t *testing.T) {
	deferring := deciderFunc(func(ctx context.Context, _ Call) Decision {
		if CanDefer(ctx) {
			Defer(ctx)
			return Decision{}
		}
		return Decision{Action: ActionBlock}
	})
	g := NewGuard(deferring, nil)
	c := Call{Calling: 17195551212, Called: 13035550100}
	var b Budget
	if d, f := g.Decide(&b, &c, time.Now().Add(time.Second)); f != FaultNone || d.Action != ActionBlock {
		t.Fatalf("a Budget not allowing it: %v %v, want the decision", d.Action, f)
	}
	b.AllowDefer(true)
	if _, f := g.Decide(&b, &c, time.Now().Add(time.Second)); f != FaultDeferred || !Deferred(&b) {
		t.Fatalf("a Budget allowing it: fault %v, want deferred", f)
	}
	b.AllowDefer(false)
	if d, f := g.Decide(&b, &c, time.Now().Add(time.Second)); f != FaultNone || d.Action != ActionBlock || Deferred(&b) {
		t.Fatalf("asked again: %v %v deferred=%v, want the decision", d.Action, f, Deferred(&b))
	}
	Defer(context.Background()) // any other context: nothing to mark, no panic
	if CanDefer(context.Background()) || Deferred(context.Background()) {
		t.Error("a plain context allows deferring")
	}
}

// TestBudgetStarted: stages under a Guard read when the decision began
// from its Budget; a plain context has no start.
func TestBudgetStarted(t *testing.T) {
	before := time.Now()
	var seen time.Time
	g := NewGuard(deciderFunc(func(ctx context.Context, _ Call) Decision {
		var ok bool
		if seen, ok = Started(ctx); !ok {
			t.Error("no start under a Guard")
		}
		return Decision{Action: ActionAllow}
	}), nil)
	var b Budget
	c := Call{Calling: 17195551212, Called: 13035550100}
	g.Decide(&b, &c, time.Time{})
	if seen.Before(before) || seen.After(time.Now()) {
		t.Errorf("start %v outside the decision", seen)
	}
	if _, ok := Started(context.Background()); ok {
		t.Error("a plain context has a start")
	}
}

// TestElapsedReadOnce: the stages that time a decision after the engine
// returned share one clock reading (Elapsed), which the next decision
// under the same Budget reads afresh; without a Budget each reads its own.
func TestElapsedReadOnce(t *testing.T) {
	var first, second time.Duration
	engineTime := 2 * time.Millisecond
	inner := deciderFunc(func(ctx context.Context, _ Call) Decision {
		time.Sleep(engineTime)
		return Decision{Action: ActionAllow}
	})
	// Two timing stages around the engine, as metrics and the decision
	// log are, the outer one reading after a pause of its own.
	timed := deciderFunc(func(ctx context.Context, c Call) Decision {
		start, _ := Started(ctx)
		d := inner.Decide(ctx, c)
		first = Elapsed(ctx, start)
		time.Sleep(2 * time.Millisecond)
		second = Elapsed(ctx, start)
		return d
	})
	g := NewGuard(timed, nil)
	var b Budget
	c := Call{Calling: 17195551212, Called: 13035550100}
	if _, f := g.Decide(&b, &c, time.Now().Add(time.Hour)); f != FaultNone {
		t.Fatalf("fault %v", f)
	}
	if first < engineTime || second != first {
		t.Fatalf("elapsed %v then %v: want one reading of at least %v, shared", first, second, engineTime)
	}
	engineTime = 10 * time.Millisecond
	g.Decide(&b, &c, time.Time{})
	if first < engineTime || second != first {
		t.Fatalf("next decision: elapsed %v then %v, want a new reading of at least %v, shared", first, second, engineTime)
	}
	start := time.Now()
	time.Sleep(time.Millisecond)
	if d := Elapsed(context.Background(), start); d < time.Millisecond {
		t.Fatalf("Elapsed without a Budget = %v, want the time since start", d)
	}
}

// TestDoneBeforeFirstStartIsClosed: a Done channel handed out before the
// Budget's first decision is closed once decisions run. Start used to
// drop it unclosed, and whoever waited on it waited for good.
func TestDoneBeforeFirstStartIsClosed(t *testing.T) {
	var b Budget
	ch := b.Done()
	b.Start(time.Now().Add(time.Hour))
	b.Finish()
	select {
	case <-ch:
	default:
		t.Fatal("the channel handed out before the first decision is still open")
	}
}

// TestExpiredAtStart: a decision whose deadline had passed when it began
// is cancelled by the engine (it reads the Budget's start, not the clock);
// one with time left, or with no deadline, is decided; a Budget that is
// not started is asked through Err.
func TestExpiredAtStart(t *testing.T) {
	g := NewGuard(New(fixture()), nil)
	var b Budget
	c := Call{Calling: nPest, Called: nAlice}
	d, _ := g.Decide(&b, &c, time.Now().Add(-time.Millisecond))
	check(t, d, want{action: ActionAllow, trace: "cancelled=yes"})
	d, f := g.Decide(&b, &c, time.Now().Add(time.Hour))
	if f != FaultNone {
		t.Fatalf("fault %v with an hour left", f)
	}
	check(t, d, want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes provider-vip=no vip=no blocked=yes"})
	d, _ = g.Decide(&b, &c, time.Time{})
	check(t, d, want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes provider-vip=no vip=no blocked=yes"})
	if Expired(&Budget{}) {
		t.Error("a Budget never started is expired")
	}
	b.Finish()
	if !Expired(&b) {
		t.Error("a finished Budget is not expired")
	}
}

// TestEnded: after a guarded decision the Budget says when it ended, on
// the monotonic clock, between its start and now; a fresh Budget does not.
func TestEnded(t *testing.T) {
	var b Budget
	if _, ok := b.Ended(); ok {
		t.Fatal("a fresh Budget has an end")
	}
	g := NewGuard(deciderFunc(func(ctx context.Context, _ Call) Decision {
		time.Sleep(time.Millisecond)
		return Decision{Action: ActionAllow}
	}), nil)
	c := Call{Calling: 17195551212, Called: 13035550100}
	before := time.Now()
	g.Decide(&b, &c, time.Now().Add(time.Hour))
	after := time.Now()
	end, ok := b.Ended()
	if !ok {
		t.Fatal("no end after a guarded decision")
	}
	if end.Sub(before) < time.Millisecond || end.After(after) {
		t.Fatalf("end %v after start, %v before now: want at least 1ms, and not after now", end.Sub(before), after.Sub(end))
	}
}
