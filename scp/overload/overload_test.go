package overload

import (
	"testing"
	"time"
)

func TestTopKFindsHeavyHitters(t *testing.T) {
	tk := NewTopK(64)
	// 3 heavy keys among 10,000 keys seen once each.
	for i := 0; i < 10000; i++ {
		tk.Add(uint64(1000 + i))
		if i%10 == 0 {
			tk.Add(1)
		}
		if i%20 == 0 {
			tk.Add(2)
		}
		if i%40 == 0 {
			tk.Add(3)
		}
	}
	top := tk.Top()
	if len(top) != 64 {
		t.Fatalf("%d entries, want the fixed 64", len(top))
	}
	for i, k := range []uint64{1, 2, 3} {
		if top[i].Key != k {
			t.Fatalf("rank %d is %d, want %d (%v)", i, top[i].Key, k, top[:4])
		}
		if top[i].Count-top[i].Err > uint32(10000/(10<<i)+1) {
			t.Errorf("key %d guaranteed count %d exceeds its true count", k, top[i].Count-top[i].Err)
		}
	}
	tk.Decay()
	if got := tk.Top()[0].Count; got > top[0].Count/2+1 {
		t.Errorf("decay left %d of %d", got, top[0].Count)
	}
}

func TestControllerHysteresisAndRate(t *testing.T) {
	c := New(Config{Capacity: 100, Tick: 100 * time.Millisecond, Window: time.Second})
	feed := func(n int) {
		for range n {
			c.Arrive()
			c.Observe(0, 7)
		}
		c.Tick()
	}
	feed(20) // 200/s over one tick
	if over, r := c.Overloaded(); !over || r < 1.9 {
		t.Fatalf("not overloaded at %v", r)
	}
	if _, ok := c.Control(7, 1, 0); !ok {
		t.Fatal("busy code not controlled")
	}
	// The window fills with quiet ticks: 20 per second is 0.2x.
	for range 9 {
		feed(0)
	}
	if over, r := c.Overloaded(); over {
		t.Errorf("still overloaded at %v", r)
	}
	if c.Rate() != 20 {
		t.Errorf("rate %v, want 20/s", c.Rate())
	}
	if _, ok := c.Control(7, 1, int64(time.Hour)); ok {
		t.Error("controlled while not overloaded")
	}
}

// Overload spread evenly over many codes (no single code reaches
// MinShare) must still be gapped: the busiest codes are controlled until
// they carry the excess load, within MaxCodes.
func TestControllerEvenlySpreadOverload(t *testing.T) {
	feed := func(c *Controller, perCode, codes int) {
		for range perCode {
			for k := range codes {
				c.Arrive()
				c.Observe(0, uint64(1000+k))
			}
		}
		c.Tick()
	}
	c := New(Config{Capacity: 1000, Tick: 100 * time.Millisecond, Window: 100 * time.Millisecond, K: 256, MaxCodes: 8})
	feed(c, 3, 100) // 300 queries in one tick: 3,000/s, 3x capacity, 1 % per code
	over, _ := c.Overloaded()
	if !over || len(c.Controlled()) != 8 {
		t.Fatalf("3x overload over 100 codes: overloaded %v, controlled %d codes, want 8", over, len(c.Controlled()))
	}
	// Slightly over capacity with few codes: as many codes as carry the
	// excess, not all of them.
	c = New(Config{Capacity: 1000, Tick: 100 * time.Millisecond, Window: 100 * time.Millisecond, K: 256, MaxCodes: 8, MinShare: 0.5})
	feed(c, 11, 10) // 1,100/s over 10 codes: 10 % each; excess share 9 %
	if n := len(c.Controlled()); n != 1 {
		t.Errorf("1.1x overload over 10 codes: %d codes controlled, want 1", n)
	}
	// Under capacity nothing is controlled.
	c = New(Config{Capacity: 1000, Tick: 100 * time.Millisecond, Window: 100 * time.Millisecond})
	feed(c, 5, 10)
	if over, _ := c.Overloaded(); over || len(c.Controlled()) != 0 {
		t.Errorf("under capacity: overloaded %v, %d codes", over, len(c.Controlled()))
	}
}

func TestBook(t *testing.T) {
	var b book
	const sec = int64(time.Second)
	if !b.send(5, 1, 0, 100, sec) || b.send(5, 1, 50, 100, sec) || !b.send(5, 1, 150, 100, sec) {
		t.Error("per-pair resend interval not applied")
	}
	if !b.send(5, 2, 60, 100, sec) {
		t.Error("another peer was limited by the first")
	}
	// The gap of (5, 1) was renewed at 150: it runs until 150+sec.
	if !b.remove(5, 1, sec) || b.remove(5, 1, sec+1) {
		t.Error("a running gap is removed exactly once")
	}
	if b.remove(5, 2, 60+sec) {
		t.Error("a gap that ran out was removed")
	}
	if b.remove(6, 1, 10) {
		t.Error("a gap never sent was removed")
	}
	// After its removal a new overload gaps the pair again at once.
	if !b.send(5, 1, sec+2, 100, sec) {
		t.Error("resend interval applied after a removal")
	}
}

// A full bucket gives up the gap that ends first, and counts it when it
// still runs.
func TestBookEviction(t *testing.T) {
	var b book
	const sec = int64(time.Second)
	// Pairs that land in one bucket.
	var same []uint64
	want := b.bucket(bookKey(1, 9))
	for code := uint64(1); len(same) < bookWays+1; code++ {
		if b.bucket(bookKey(code, 9)) == want {
			same = append(same, code)
		}
	}
	for i, code := range same[:bookWays] {
		b.send(code, 9, 0, 100, int64(i+1)*sec) // same[0] ends first
	}
	b.send(same[bookWays], 9, 10, 100, 8*sec)
	if b.evicted.Load() != 1 {
		t.Errorf("evicted %d, want 1", b.evicted.Load())
	}
	if b.remove(same[0], 9, 20) {
		t.Error("the evicted pair was still recorded")
	}
	for _, code := range same[1:] {
		if !b.remove(code, 9, 20) {
			t.Errorf("code %d lost its record", code)
		}
	}
}

func TestDurationAndInterval(t *testing.T) {
	if DurationFor(4*time.Second) != 3 || DurationFor(5*time.Second) != 4 || DurationFor(time.Hour) != 12 || DurationFor(0) != 1 {
		t.Error("DurationFor")
	}
	if NationalIntervalFor(time.Second) != 5 || NationalIntervalFor(1500*time.Millisecond) != 6 || NationalIntervalFor(time.Hour) != 14 {
		t.Error("NationalIntervalFor")
	}
}

// BenchmarkObserve is the per-query cost of the heavy-hitter sketch with
// mostly distinct keys (the common, not overloaded, case).
func BenchmarkObserve(b *testing.B) {
	c := New(Config{Capacity: 1000})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.Arrive()
		c.Observe(0, uint64(i)|1)
	}
}
