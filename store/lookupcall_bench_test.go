package store_test

import (
	"testing"
	"time"

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
			c := s.LookupCall(storetest.LargeSubscriberNumber(i), storetest.LargeUnlisted(i, benchPerSub))
			listed := c.ProviderVIP || c.VIP || c.Blocked || c.ProviderBlocked
			dep = int(c.Route.RoutingNumber>>63) + b2i(listed) + b2i(!c.Found)
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
