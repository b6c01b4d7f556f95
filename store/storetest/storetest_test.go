package storetest_test

import (
	"testing"

	"callgate/e164"
	"callgate/store"
	"callgate/store/storetest"
)

func TestFixtureMatchesConstants(t *testing.T) {
	s := storetest.Fixture(t)
	alice, ok := s.Subscriber(e164.MustParse(storetest.AliceNumber))
	if !ok || alice.Name != storetest.Alice || !alice.HasPIN || !s.CheckPIN(alice.ID, storetest.AlicePIN) {
		t.Fatalf("alice = %+v", alice)
	}
	if !s.InVIP(alice.ID, e164.MustParse(storetest.VIPCaller)) || !s.InBlocked(alice.ID, e164.MustParse(storetest.BlockedCaller)) ||
		!s.ProviderBlocked(alice.Provider, e164.MustParse(storetest.ProviderBlocked)) {
		t.Fatal("alice's lists not as documented")
	}
	bob, _ := s.Subscriber(e164.MustParse(storetest.BobNumber))
	if bob.Unknown != store.TreatBlock || bob.Anonymous != store.TreatAnnounceVoicemail || !bob.RejectWithMedia ||
		bob.Voicemail != storetest.BobVM || bob.Announcement != storetest.BobAnn {
		t.Fatalf("bob = %+v", bob)
	}
	carol, _ := s.Subscriber(e164.MustParse(storetest.CarolNumber))
	if r, ok := s.EgressRoute(carol.Provider); !ok || r.Name != storetest.OtherRoute || !carol.RejectWithMedia || carol.Unknown != store.TreatScreen {
		t.Fatalf("carol = %+v route %+v", carol, r)
	}
	unknown := e164.MustParse(storetest.UnknownCaller)
	for _, v := range []store.SubscriberView{alice, bob, carol} {
		if s.InVIP(v.ID, unknown) || s.InBlocked(v.ID, unknown) || s.ProviderBlocked(v.Provider, unknown) {
			t.Fatal("UnknownCaller is listed")
		}
	}
}

func TestLargeSmall(t *testing.T) {
	const subs, per = 300, 40
	for round := 0; round < 2; round++ { // second round reuses the cached file
		s := storetest.Large(t, subs, per)
		if _, err := s.AddToList(store.Operator, "sub0000000", store.ListBlocked, []string{"+12025550100"}, ""); err == nil {
			t.Fatal("Large store is writable")
		}
		for _, i := range []int{0, 1, subs / 2, subs - 1} {
			v, ok := s.Subscriber(storetest.LargeSubscriberNumber(i))
			if !ok {
				t.Fatalf("subscriber %d missing", i)
			}
			for j := 0; j < per; j++ {
				if !s.InBlocked(v.ID, storetest.LargeBlocked(i, j)) {
					t.Fatalf("subscriber %d row %d missing", i, j)
				}
			}
			if !s.InVIP(v.ID, storetest.LargeVIP(i, per)) || s.InBlocked(v.ID, storetest.LargeVIP(i, per)) ||
				s.InBlocked(v.ID, storetest.LargeUnlisted(i, per)) || s.InVIP(v.ID, storetest.LargeUnlisted(i, per)) {
				t.Fatalf("subscriber %d VIP/unlisted wrong", i)
			}
			if !s.ProviderBlocked(v.Provider, storetest.LargeProviderBlocked(storetest.LargeProviderBlockedRows-1)) {
				t.Fatal("provider list missing")
			}
			if _, ok := s.EgressRoute(v.Provider); !ok {
				t.Fatal("no route")
			}
		}
		page, err := s.ListEntries(store.Operator, "sub0000007", store.ListBlocked, 0, 1)
		if err != nil || page.Total != per {
			t.Fatalf("list total %d %v", page.Total, err)
		}
		s.Close()
	}
	if _, ok := storetest.Large(t, subs, per).Subscriber(storetest.LargeSubscriberNumber(subs)); ok {
		t.Fatal("one subscriber too many")
	}
}
