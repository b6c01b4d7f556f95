package decisionlog

import (
	"sync"
	"testing"

	"callgate/e164"
)

func TestRingFullAndEmpty(t *testing.T) {
	q := newRing(5) // rounds up to 8
	if q.cap() != 8 {
		t.Fatalf("cap = %d", q.cap())
	}
	var r Record
	if q.pop(&r) {
		t.Fatal("pop from empty ring")
	}
	for i := range 8 {
		if pos, ok := q.push(&Record{Calling: e164.Number(i + 1)}); !ok || pos != uint64(i) {
			t.Fatalf("push %d: pos %d ok %v", i, pos, ok)
		}
	}
	if _, ok := q.push(&Record{Calling: 99}); ok {
		t.Fatal("push into full ring")
	}
	if q.len() != 8 {
		t.Fatalf("len = %d", q.len())
	}
	// FIFO, and a popped slot is free again (the ring wraps).
	for round := range 3 {
		if !q.pop(&r) || r.Calling != e164.Number(round+1) {
			t.Fatalf("pop %d = %v", round, r.Calling)
		}
		if _, ok := q.push(&Record{Calling: e164.Number(100 + round)}); !ok {
			t.Fatalf("push after pop %d failed", round)
		}
	}
	var got []e164.Number
	for q.pop(&r) {
		got = append(got, r.Calling)
	}
	want := []e164.Number{4, 5, 6, 7, 8, 100, 101, 102}
	if len(got) != len(want) {
		t.Fatalf("drained %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("drained %v, want %v", got, want)
		}
	}
	if q.len() != 0 || q.slots[0].r.Peer != "" {
		t.Fatal("ring not empty/cleared after draining")
	}
}

// TestRingConcurrent: many producers, one consumer; every accepted record
// arrives exactly once and every refused one is reported to its producer.
func TestRingConcurrent(t *testing.T) {
	const producers, each = 4, 20000
	q := newRing(64)
	var accepted [producers]int
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := Record{Calling: e164.Number(p*each + i + 1), Subscriber: uint32(p)}
				if _, ok := q.push(&r); ok {
					accepted[p]++
				}
			}
		}()
	}
	seen := make(map[e164.Number]bool)
	lastPerProducer := [producers]e164.Number{}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var r Record
	for finished := false; ; {
		for q.pop(&r) {
			if seen[r.Calling] {
				t.Fatalf("record %d popped twice", r.Calling)
			}
			seen[r.Calling] = true
			// Each producer's records come out in its order.
			if r.Calling <= lastPerProducer[r.Subscriber] {
				t.Fatalf("producer %d out of order: %d after %d", r.Subscriber, r.Calling, lastPerProducer[r.Subscriber])
			}
			lastPerProducer[r.Subscriber] = r.Calling
		}
		if finished {
			break
		}
		select {
		case <-done:
			finished = true // one more pass for what was published last
		default:
		}
	}
	total := 0
	for _, n := range accepted {
		total += n
	}
	if len(seen) != total {
		t.Fatalf("popped %d, producers had %d accepted", len(seen), total)
	}
}
