package store_test

import (
	"testing"
	"time"

	"callgate/e164"
	"callgate/store"
	"callgate/store/storetest"
)

// BenchmarkViewColdAtOnce is BenchmarkViewCold's unknown-caller chain
// through LookupCall (store.CallViewer: one read lock, the subscriber's
// view and lists read together), as the engine asks the Store.
func BenchmarkViewColdAtOnce(b *testing.B) {
	s := storetest.Large(b, benchSubs, benchPerSub)
	order := coldOrder()
	b.Run("unknown-caller", func(b *testing.B) {
		var k, dep int
		serial(b, func(int) {
			i := int(order[k]) + dep
			dep = lookupDep(s, storetest.LargeSubscriberNumber(i), storetest.LargeUnlisted(i, benchPerSub))
			if k++; k == benchSubs {
				k = 0
			}
		})
		if dep != 0 {
			b.Fatal("unknown caller found on a list")
		}
	})
}

// BenchmarkFilterRepack is what the applier pays when the filter arena of
// the large store (store/filterarena.go) has no room left: packing the
// live Blocked filters into a new arena (outside the index lock) and
// installing it (under the lock: readers wait that long).
func BenchmarkFilterRepack(b *testing.B) {
	s := storetest.Large(b, benchSubs, benchPerSub)
	var pack, install time.Duration
	for b.Loop() {
		p, i := store.RepackFilters(s)
		pack += p
		install += i
	}
	b.ReportMetric(float64(pack.Microseconds())/1000/float64(b.N), "pack-ms/op")
	b.ReportMetric(float64(install.Microseconds())/1000/float64(b.N), "install-ms/op")
	if stale, outside := store.StaleHints(s); stale != 0 || outside != 0 {
		b.Fatalf("%d stale hints, %d filters outside the arena", stale, outside)
	}
}

// BenchmarkViewColdPrefetched is BenchmarkViewColdAtOnce as the SCP asks:
// the called number is known some work before the look-up (the rest of
// the query's decoding, then the decision chain's stages, stood in for by
// otherWork), with no prefetch (none), PrefetchCall when the number is
// known (slot), and PrefetchLookup as well when the chain starts (lookup).
// All run the same other work, so the differences are what the prefetches
// hide.
func BenchmarkViewColdPrefetched(b *testing.B) {
	s := storetest.Large(b, benchSubs, benchPerSub)
	order := coldOrder()
	for _, stages := range []int{0, 1, 2} {
		b.Run([]string{"none", "slot", "lookup"}[stages], func(b *testing.B) {
			var k, dep int
			var acc uint64
			serial(b, func(int) {
				i := int(order[k]) + dep
				called, caller := storetest.LargeSubscriberNumber(i), storetest.LargeUnlisted(i, benchPerSub)
				if stages >= 1 {
					s.PrefetchCall(called)
				}
				acc = otherWork(acc, 100) // decoding, overload bookkeeping
				if stages >= 2 {
					s.PrefetchLookup(called, caller)
				}
				acc = otherWork(acc, 200) // the chain's stages before the engine
				dep = lookupDep(s, called, caller)
				if k++; k == benchSubs {
					k = 0
				}
			})
			if dep != 0 {
				b.Fatal("unknown caller found on a list")
			}
		})
	}
}

// lookupDep looks the call up and returns what the next look-up's index
// depends on: 0 for a found subscriber whose caller is on no list (the
// benchmarks' callers), so that each look-up waits for the one before
// instead of overlapping it.
func lookupDep(s *store.Store, called, caller e164.Number) int {
	c := s.LookupCall(called, caller)
	listed := c.ProviderVIP || c.VIP || c.Blocked || c.ProviderBlocked
	return int(c.Route.RoutingNumber>>63) + b2i(listed) + b2i(!c.Found)
}

// otherWork is n steps of dependent arithmetic on registers (some
// 1.3 ns each), standing in for the SCP's work between the prefetches and
// the engine's look-up.
func otherWork(x uint64, n int) uint64 {
	for range n {
		x = x*0x9E3779B97F4A7C15 + 1
	}
	return x
}
