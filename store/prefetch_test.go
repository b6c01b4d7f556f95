package store_test

import (
	"testing"

	"callgate/e164"
	"callgate/store/storetest"
)

// TestPrefetchCallChangesNothing: prefetching (PrefetchCall,
// PrefetchLookup) on an empty store (no number table yet), for number 0,
// for a subscriber's number and for a number nobody has, answers nothing
// and changes no look-up.
func TestPrefetchCallChangesNothing(t *testing.T) {
	empty := storetest.Open(t)
	empty.PrefetchCall(e164.MustParse(storetest.AliceNumber))
	empty.PrefetchCall(0)
	empty.PrefetchLookup(e164.MustParse(storetest.AliceNumber), 0)

	s := storetest.Fixture(t)
	alice, stranger := e164.MustParse(storetest.AliceNumber), e164.MustParse("+19995550123")
	before := s.LookupCall(alice, stranger)
	for _, n := range []e164.Number{0, alice, stranger} {
		s.PrefetchCall(n)
		s.PrefetchLookup(n, stranger)
		s.PrefetchLookup(n, 0)
	}
	if after := s.LookupCall(alice, stranger); after != before || !after.Found {
		t.Errorf("look-up after prefetching %+v, before %+v", after, before)
	}
}
