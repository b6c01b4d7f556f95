package store_test

import (
	"testing"

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
