package keys

import (
	"errors"
	"math/rand/v2"
	"testing"

	"callgate/e164"
)

func TestTableWindowAndIdempotence(t *testing.T) {
	tb := newTable(100, 4, false, 0, false)
	a, b := e164.Number(15125550100), e164.Number(13035550100)
	if added, err := tb.add(a, b, 100, 160, 90); !added || err != nil {
		t.Fatalf("add: %v %v", added, err)
	}
	if added, err := tb.add(a, b, 100, 160, 90); added || err != nil {
		t.Fatalf("the same key again: added=%v err=%v, want a no-op", added, err)
	}
	for _, c := range []struct {
		now  uint32
		want bool
	}{{99, false}, {100, true}, {130, true}, {160, true}, {161, false}} {
		if got := tb.check(a, b, c.now, true); got != c.want {
			t.Errorf("check at %d = %v, want %v (window 100..160)", c.now, got, c.want)
		}
	}
	if tb.check(b, a, 130, true) || tb.check(a, b+1, 130, true) {
		t.Error("a key matched other numbers")
	}
}

func TestTableSingleUseGrace(t *testing.T) {
	tb := newTable(100, 1, true, 5, true)
	a, b := e164.Number(15125550100), e164.Number(13035550100)
	tb.add(a, b, 100, 200, 100)
	if !tb.check(a, b, 110, true) {
		t.Fatal("first call did not match")
	}
	if !tb.check(a, b, 115, true) {
		t.Error("a retransmission within the grace did not match")
	}
	if tb.check(a, b, 116, true) {
		t.Error("a second call after the grace matched a used single-use key")
	}
	// The use is logged (add, then use).
	s := &tb.shards[0]
	if len(s.pend) != 2*recordSize || s.pend[recordSize] != recUse {
		t.Errorf("pending log: %d bytes, want an add and a use record", len(s.pend))
	}
	// A second key for the same numbers serves a second call.
	tb.add(a, b, 100, 201, 116)
	if !tb.check(a, b, 120, true) {
		t.Error("a second registered key did not match")
	}
}

func TestTableFullSweepsEnded(t *testing.T) {
	tb := newTable(8, 1, false, 0, false)
	s := &tb.shards[0]
	var n int
	for i := 0; ; i++ {
		_, err := tb.add(e164.Number(15125550000+i), 13035550100, 10, 20, 10)
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != s.max {
		t.Fatalf("held %d keys, want the bound %d", n, s.max)
	}
	// At second 21 they have all ended: a new key takes an ended one's slot.
	if _, err := tb.add(15125559999, 13035550100, 21, 40, 21); err != nil {
		t.Fatalf("after every key ended: %v", err)
	}
	if !tb.check(15125559999, 13035550100, 22, true) {
		t.Fatal("the new key does not match")
	}
	// The add reused an ended key's slot, or swept the shard to make room.
	if tb.sweepAll(21); s.used != 1 {
		t.Errorf("used = %d after the sweep, want 1", s.used)
	}
	if !tb.check(15125559999, 13035550100, 22, true) {
		t.Error("the live key was lost by the sweep")
	}
}

// TestTableModel drives the table with random adds, checks and sweeps and
// compares it with a plain map: backward-shift deletion must never lose a
// live key or break a probe chain.
func TestTableModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tb := newTable(512, 2, false, 0, false)
	type k struct{ a, b e164.Number }
	model := map[k]uint32{} // key -> notAfter (window starts at 0)
	now := uint32(1)
	for step := 0; step < 200000; step++ {
		key := k{e164.Number(15125550000 + rng.IntN(300)), e164.Number(13035550000 + rng.IntN(3))}
		switch rng.IntN(10) {
		case 0:
			now++
		case 1, 2, 3:
			if end, ok := model[key]; ok && end >= now {
				continue // a second key of the same numbers is allowed, but the model keeps one
			}
			na := now + uint32(rng.IntN(20))
			if _, err := tb.add(key.a, key.b, 0, na, now); err != nil {
				if errors.Is(err, ErrFull) {
					continue
				}
				t.Fatal(err)
			}
			model[key] = na
		case 4:
			if rng.IntN(50) == 0 {
				tb.sweepAll(now)
			}
		default:
			end, ok := model[key]
			want := ok && end >= now
			if got := tb.check(key.a, key.b, now, true); got != want {
				t.Fatalf("step %d: check %v at %d = %v, model says %v", step, key, now, got, want)
			}
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	s := slot{calling: 15125550100, called: 13035550100, notBefore: 7, notAfter: 9, usedEnd: 8}
	b := appendRecord(nil, recUse, &s)
	kind, got, err := decodeRecord(b)
	if err != nil || kind != recUse || got != s {
		t.Fatalf("round trip: %c %+v %v", kind, got, err)
	}
	b[5] ^= 1
	if _, _, err := decodeRecord(b); err == nil {
		t.Fatal("a flipped bit was not caught by the checksum")
	}
}

func FuzzDecodeRecord(f *testing.F) {
	s := slot{calling: 15125550100, called: 13035550100, notBefore: 7, notAfter: 9}
	f.Add(appendRecord(nil, recAdd, &s))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, s, err := decodeRecord(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes.
		if out := appendRecord(nil, kind, &s); string(out) != string(b[:recordSize]) {
			t.Fatalf("re-encoding differs")
		}
	})
}
