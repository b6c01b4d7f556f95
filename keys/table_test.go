package keys

import (
	"errors"
	"math/rand/v2"
	"testing"

	"callgate/e164"
)

// tent is the enterprise of the table tests' keys.
const tent = 7

func TestTableWindowAndIdempotence(t *testing.T) {
	tb := newTable(100, 4, false, 0, false)
	a, b := e164.Number(15125550100), e164.Number(13035550100)
	if added, err := tb.add(a, b, tent, 100, 160, 90); !added || err != nil {
		t.Fatalf("add: %v %v", added, err)
	}
	if added, err := tb.add(a, b, tent, 100, 160, 90); added || err != nil {
		t.Fatalf("the same key again: added=%v err=%v, want a no-op", added, err)
	}
	for _, c := range []struct {
		now  uint32
		want bool
	}{{99, false}, {100, true}, {130, true}, {160, true}, {161, false}} {
		if got := tb.check(a, b, tent, c.now, true); got != c.want {
			t.Errorf("check at %d = %v, want %v (window 100..160)", c.now, got, c.want)
		}
	}
	if tb.check(b, a, tent, 130, true) || tb.check(a, b+1, tent, 130, true) {
		t.Error("a key matched other numbers")
	}
}

func TestTableSingleUseGrace(t *testing.T) {
	tb := newTable(100, 1, true, 5, true)
	a, b := e164.Number(15125550100), e164.Number(13035550100)
	tb.add(a, b, tent, 100, 200, 100)
	if !tb.check(a, b, tent, 110, true) {
		t.Fatal("first call did not match")
	}
	if !tb.check(a, b, tent, 115, true) {
		t.Error("a retransmission within the grace did not match")
	}
	if tb.check(a, b, tent, 116, true) {
		t.Error("a second call after the grace matched a used single-use key")
	}
	// The use is logged (add, then use).
	s := &tb.shards[0]
	if len(s.pend) != 2*recordSize || s.pend[recordSize] != recUse {
		t.Errorf("pending log: %d bytes, want an add and a use record", len(s.pend))
	}
	// A second key for the same numbers serves a second call.
	tb.add(a, b, tent, 100, 201, 116)
	if !tb.check(a, b, tent, 120, true) {
		t.Error("a second registered key did not match")
	}
}

func TestTableFullSweepsEnded(t *testing.T) {
	tb := newTable(8, 1, false, 0, false)
	s := &tb.shards[0]
	var n int
	for i := 0; ; i++ {
		_, err := tb.add(e164.Number(15125550000+i), 13035550100, tent, 10, 20, 10)
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
	if _, err := tb.add(15125559999, 13035550100, tent, 21, 40, 21); err != nil {
		t.Fatalf("after every key ended: %v", err)
	}
	if !tb.check(15125559999, 13035550100, tent, 22, true) {
		t.Fatal("the new key does not match")
	}
	// The add reused an ended key's slot, or swept the shard to make room.
	if tb.sweepAll(21); s.used != 1 {
		t.Errorf("used = %d after the sweep, want 1", s.used)
	}
	if !tb.check(15125559999, 13035550100, tent, 22, true) {
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
			if _, err := tb.add(key.a, key.b, tent, 0, na, now); err != nil {
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
			if got := tb.check(key.a, key.b, tent, now, true); got != want {
				t.Fatalf("step %d: check %v at %d = %v, model says %v", step, key, now, got, want)
			}
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	s := slot{calling: 15125550100, called: 13035550100, notBefore: 7, notAfter: 9, usedEnd: 8, ent: 42}
	b := appendRecord(nil, recUse, &s)
	if len(b) != recordSize {
		t.Fatalf("record of %d bytes, want %d", len(b), recordSize)
	}
	kind, got, err := decodeRecord(b)
	if err != nil || kind != recUse || got != s {
		t.Fatalf("round trip: %c %+v %v", kind, got, err)
	}
	b[5] ^= 1
	if _, _, err := decodeRecord(b); err == nil {
		t.Fatal("a flipped bit was not caught by the checksum")
	}
	// A version 1 record (33 bytes, no enterprise) reads as the same
	// change with enterprise 0, for the loader to bind.
	v1 := appendRecord(nil, recUseV1, &s)
	if len(v1) != recordSizeV1 {
		t.Fatalf("version 1 record of %d bytes, want %d", len(v1), recordSizeV1)
	}
	kind, got, err = decodeRecord(v1)
	want := s
	want.ent = 0
	if err != nil || kind != recUse || got != want {
		t.Fatalf("version 1: %c %+v %v, want a use of %+v", kind, got, err, want)
	}
	// A version 2 record without an enterprise is damage, not a legacy key.
	s.ent = 0
	if _, _, err := decodeRecord(appendRecord(nil, recAdd, &s)); err == nil {
		t.Fatal("a version 2 record naming no enterprise decoded")
	}
}

// TestTableEnterprise: a key matches only the enterprise that registered
// it; the same numbers and window registered by another enterprise are
// another key; revocation takes one enterprise's keys (one pair or all)
// and a revoked key is not revived by registering it again.
func TestTableEnterprise(t *testing.T) {
	tb := newTable(100, 4, false, 0, true)
	a, b, c := e164.Number(15125550100), e164.Number(13035550100), e164.Number(13035550101)
	const other = tent + 1
	tb.add(a, b, tent, 100, 160, 90)
	if tb.check(a, b, other, 120, true) {
		t.Fatal("a key matched for another enterprise than the one that registered it")
	}
	if added, err := tb.add(a, b, other, 100, 160, 90); !added || err != nil {
		t.Fatalf("the same numbers and window by another enterprise: added=%v %v, want a key of its own", added, err)
	}
	tb.add(a, c, tent, 100, 160, 90)
	tb.add(a, b, tent, 150, 200, 90) // a second window of the pair
	tb.add(a, b, tent, 10, 50, 10)   // ended: nothing to revoke

	got, n := tb.revokePair(a, b, tent, 120, nil)
	if n != 2 || len(got) != 2 || got[0].usedEnd != revokedEnd || got[0].ent != tent {
		t.Fatalf("revokePair: %d revoked, %+v; want the pair's two live windows", n, got)
	}
	if tb.check(a, b, tent, 120, true) || tb.check(a, b, tent, 170, true) {
		t.Error("a revoked key matched")
	}
	if !tb.check(a, b, other, 120, true) || !tb.check(a, c, tent, 120, true) {
		t.Error("revoking one enterprise's pair took another enterprise's key or another pair")
	}
	if _, err := tb.add(a, b, tent, 100, 160, 120); !errors.Is(err, ErrRevoked) {
		t.Errorf("registering a revoked key again: %v, want ErrRevoked", err)
	}
	if got, n := tb.revokePair(a, b, tent, 120, nil); n != 0 || len(got) != 2 {
		t.Errorf("revoking again: %d revoked (want 0), %d to publish again (want 2)", n, len(got))
	}
	got, n = tb.revokeAll(tent, 120, nil)
	if n != 1 || len(got) != 3 || tb.check(a, c, tent, 120, true) {
		t.Errorf("revokeAll: %d revoked, %d listed; want the other pair's key revoked, 3 listed", n, len(got))
	}
	if !tb.check(a, b, other, 121, true) {
		t.Error("revokeAll took another enterprise's key")
	}
	// Each revocation is logged as a use ending at revokedEnd.
	var uses int
	for i := range tb.shards {
		p := tb.shards[i].pend
		for len(p) > 0 {
			kind, s, err := decodeRecord(p)
			if err != nil {
				t.Fatal(err)
			}
			if kind == recUse && s.usedEnd == revokedEnd {
				uses++
			}
			p = p[recordSize:]
		}
	}
	if uses != 3 {
		t.Errorf("%d revocations logged, want 3", uses)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	s := slot{calling: 15125550100, called: 13035550100, notBefore: 7, notAfter: 9, ent: 3}
	f.Add(appendRecord(nil, recAdd, &s))
	f.Add(appendRecord(nil, recAddV1, &s))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, s, err := decodeRecord(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes, in its own version, to the same bytes.
		if out := appendRecord(nil, b[0], &s); string(out) != string(b[:recordLen(b[0])]) {
			t.Fatalf("re-encoding differs")
		}
	})
}
