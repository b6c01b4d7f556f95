package fraud

import (
	"testing"

	"callgate/e164"
)

// The calls in progress of one key (a trunk's number to one destination)
// are matched oldest first, whatever order they close in; a chain keeps
// its tail right through removals from the middle and the end.
func TestOpenCallsChain(t *testing.T) {
	var tab openCalls
	tab.init(1000)
	k := callKey{e164.MustParse("+13125550103"), e164.MustParse("+19005550100")}
	for i := range 5 {
		if !tab.open(k, 1, int64(100*(i+1)), Money(i+1)) {
			t.Fatal("table full")
		}
	}
	// A CDR ending at 250 matches the oldest call started by then (100).
	if c, ok := tab.close(k, 250); !ok || c.price != 1 {
		t.Fatalf("close(250) = %v %v", c, ok)
	}
	if c, ok := tab.close(k, 250); !ok || c.price != 2 { // started at 200
		t.Fatalf("second close(250) = %v %v", c, ok)
	}
	if _, ok := tab.close(k, 250); ok {
		t.Fatal("a call that started after the CDR's end was matched")
	}
	// Drop the newest (the tail) through expiry, then append: the chain
	// still ends where it should.
	open, expired := tab.value(550, 100, func(GroupID, Money) {}) // 300 and 400 are older than 100 ns
	if open != 1 || expired != 2 {
		t.Fatalf("value: open %d expired %d", open, expired)
	}
	tab.open(k, 1, 600, 6)
	for _, want := range []Money{5, 6} {
		if c, ok := tab.close(k, 1000); !ok || c.price != want {
			t.Fatalf("close = %v %v, want %v", c, ok, want)
		}
	}
	if tab.len() != 0 || len(tab.shards[k.shard()].head) != 0 {
		t.Fatalf("left %d calls", tab.len())
	}
	// Bounded: a full table refuses, and says so.
	var small openCalls
	small.init(callShards)
	if !small.open(k, 1, 1, 1) || small.open(k, 1, 2, 1) {
		t.Fatal("the bound was not kept")
	}
}
