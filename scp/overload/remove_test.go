package overload

import (
	"testing"
	"time"

	"callgate/scp/ain"
)

// overloadedController is 3x over capacity on code 7 with a 100 ms tick
// and a window of one tick (the rate is the last tick's count, so each
// tick's load is exact), RemoveAfter 500 ms (5 ticks).
func overloadedController(t *testing.T, removeAfter time.Duration) *Controller {
	t.Helper()
	c := New(Config{Capacity: 100, GapDuration: 16 * time.Second, RemoveAfter: removeAfter,
		Tick: 100 * time.Millisecond, Window: 100 * time.Millisecond})
	for range 30 {
		c.Arrive()
		c.Observe(0, 7)
	}
	c.Tick()
	if over, _ := c.Overloaded(); !over {
		t.Fatal("not overloaded")
	}
	return c
}

// quietTicks ticks n times with no arrivals.
func quietTicks(c *Controller, n int) {
	for range n {
		c.Tick()
	}
}

// A gap is removed once per (code, switch), only after the quiet period,
// and only while it still runs at the switch.
func TestRemoveAfterOverload(t *testing.T) {
	c := overloadedController(t, 500*time.Millisecond)
	const sec = int64(time.Second)
	now := 100 * sec
	for _, peer := range []uint64{1, 2, 3} {
		if g, ok := c.Control(7, peer, now); !ok || g.Removes() {
			t.Fatalf("switch %d: no gap", peer)
		}
	}
	if _, ok := c.Remove(7, 1, now); ok {
		t.Fatal("removal while overloaded")
	}
	// 4 quiet ticks: not yet 500 ms.
	quietTicks(c, 4)
	if over, _ := c.Overloaded(); over {
		t.Fatal("still overloaded")
	}
	if _, ok := c.Remove(7, 1, now+sec); ok {
		t.Fatal("removal before the quiet period")
	}
	c.Tick()
	g, ok := c.Remove(7, 1, now+sec)
	if !ok || !g.Removes() || g.Interval.Private || g.Interval.Value != ain.NationalGapRemove || g.Duration != ain.GapDuration16s {
		t.Fatalf("removal %v %v ok=%v, want national interval 0 (remove) for 16 s", g.Interval, g.Duration, ok)
	}
	if _, ok := c.Remove(7, 1, now+sec+1); ok {
		t.Error("second removal to the same switch")
	}
	if _, ok := c.Remove(7, 2, now+sec); !ok {
		t.Error("no removal to the second switch")
	}
	if _, ok := c.Remove(8, 3, now+sec); ok {
		t.Error("removal of a code never gapped")
	}
	// Switch 3's gap (16 s from now) has run out: nothing to remove.
	if _, ok := c.Remove(7, 3, now+16*sec); ok {
		t.Error("removal of a gap that ran out")
	}
}

// A shed query (the SCP short of capacity) and a rate between 90 % and
// 100 % of capacity are not quiet: the quiet period starts again.
func TestRemoveWaitsForQuiet(t *testing.T) {
	c := overloadedController(t, 500*time.Millisecond)
	now := int64(100 * time.Second)
	c.Control(7, 1, now)
	quietTicks(c, 4)
	if _, ok := c.Shed(9, 1, now); !ok {
		t.Fatal("shed query without acg")
	}
	quietTicks(c, 5)
	if _, ok := c.Remove(7, 1, now); ok {
		t.Fatal("removal with a query shed within the quiet period")
	}
	c.Tick()
	if _, ok := c.Remove(7, 1, now); !ok {
		t.Fatal("no removal 5 quiet ticks after the shed query")
	}

	c = overloadedController(t, 500*time.Millisecond)
	c.Control(7, 1, now)
	quietTicks(c, 1)
	for range 20 {
		// 90/s and 100/s by turns: not over capacity, not below 90 %.
		for i := range 2 {
			for range 9 + i {
				c.Arrive()
			}
			c.Tick()
		}
	}
	if over, _ := c.Overloaded(); over {
		t.Fatal("overloaded at 90-100 %")
	}
	if _, ok := c.Remove(7, 1, now); ok {
		t.Error("removal at 90-100 % of capacity")
	}
}

// When the overload comes back right after removals, the quiet period
// doubles: removing and gapping do not alternate every RemoveAfter.
func TestRemoveBacksOff(t *testing.T) {
	c := overloadedController(t, 500*time.Millisecond)
	now := int64(100 * time.Second)
	c.Control(7, 1, now)
	quietTicks(c, 5)
	if _, ok := c.Remove(7, 1, now); !ok {
		t.Fatal("no removal")
	}
	// The demand held back comes back at once.
	for range 30 {
		c.Arrive()
		c.Observe(0, 7)
	}
	c.Tick()
	if _, ok := c.Control(7, 1, now+1); !ok {
		t.Fatal("no new gap after the removal")
	}
	quietTicks(c, 5)
	if _, ok := c.Remove(7, 1, now+2); ok {
		t.Fatal("removal after the base quiet period right after a relapse")
	}
	quietTicks(c, 5)
	if _, ok := c.Remove(7, 1, now+2); !ok {
		t.Fatal("no removal after twice the quiet period")
	}
}

func TestRemoveOff(t *testing.T) {
	c := overloadedController(t, -1)
	now := int64(100 * time.Second)
	c.Control(7, 1, now)
	quietTicks(c, 100)
	if _, ok := c.Remove(7, 1, now); ok {
		t.Error("removal with RemoveAfter < 0")
	}
}

// Control, Shed and Remove run on the answer path: no allocation.
func TestAnswerPathDoesNotAllocate(t *testing.T) {
	c := overloadedController(t, 100*time.Millisecond)
	var peer uint64
	now := int64(100 * time.Second)
	if n := testing.AllocsPerRun(500, func() {
		peer++
		c.Control(7, peer, now)
		c.Shed(7, peer+1<<32, now)
	}); n != 0 {
		t.Errorf("Control+Shed: %v allocations", n)
	}
	quietTicks(c, 15)
	peer = 0
	if n := testing.AllocsPerRun(500, func() {
		peer++
		if _, ok := c.Remove(7, peer, now); !ok {
			t.Fatal("no removal")
		}
	}); n != 0 {
		t.Errorf("Remove: %v allocations", n)
	}
}
