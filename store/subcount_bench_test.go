package store_test

import (
	"testing"

	"callgate/store"
	"callgate/store/storetest"
)

// Counting and searching a provider's 100,000 subscribers (the cached
// large store): the count is O(1); a search with no match reads every
// subscriber's name and numbers, in chunks of the index's read lock; a
// first page stops as soon as it is full.
//
//	go test -run '^$' -bench 'CountSubscribers|SearchSubscribers' -benchmem ./store/
func BenchmarkCountSubscribers(b *testing.B) {
	s := storetest.Large(b, 100000, 100)
	a := store.ProviderActor(storetest.LargeProvider)
	for b.Loop() {
		if n, err := s.CountSubscribers(a, ""); err != nil || n != 100000 {
			b.Fatalf("count %d, %v", n, err)
		}
	}
}

func BenchmarkSearchSubscribers(b *testing.B) {
	s := storetest.Large(b, 100000, 100)
	a := store.ProviderActor(storetest.LargeProvider)
	for _, bc := range []struct {
		name string
		q    store.SubscriberQuery
		want int
	}{
		{"no-match-name", store.SubscriberQuery{Text: "nobody"}, 0},
		{"no-match-digits", store.SubscriberQuery{Text: "999999"}, 0},
		{"first-page", store.SubscriberQuery{Text: "sub", Limit: 50}, 50},
		{"whole-number", store.SubscriberQuery{Text: storetest.LargeSubscriberNumber(77777).String()}, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if subs, _, err := s.SearchSubscribers(a, bc.q); err != nil || len(subs) != bc.want {
					b.Fatalf("%d found, %v", len(subs), err)
				}
			}
		})
	}
}
