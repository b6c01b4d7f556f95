package store_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"callgate/store"
	"callgate/store/storetest"
)

func TestFixtureView(t *testing.T) {
	s := storetest.Fixture(t)
	var _ store.View = s
	alice, ok := s.Subscriber(mustNum(storetest.AliceNumber))
	if !ok || alice.Name != storetest.Alice {
		t.Fatalf("Subscriber(alice) = %+v %v", alice, ok)
	}
	if a2, _ := s.Subscriber(mustNum(storetest.AliceNumber2)); a2 != alice {
		t.Fatalf("second number gives %+v", a2)
	}
	if _, ok := s.Subscriber(mustNum(storetest.UnknownCaller)); ok {
		t.Fatal("non-subscriber found")
	}
	bob, _ := s.Subscriber(mustNum(storetest.BobNumber))
	carol, _ := s.Subscriber(mustNum(storetest.CarolNumber))
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"alice VIP", s.InVIP(alice.ID, mustNum(storetest.VIPCaller)), true},
		{"alice VIP miss", s.InVIP(alice.ID, mustNum(storetest.BlockedCaller)), false},
		{"alice blocked", s.InBlocked(alice.ID, mustNum(storetest.BlockedCaller)), true},
		{"alice blocked miss", s.InBlocked(alice.ID, mustNum(storetest.UnknownCaller)), false},
		{"bob not alice's lists", s.InVIP(bob.ID, mustNum(storetest.VIPCaller)), false},
		{"provider blocked", s.ProviderBlocked(alice.Provider, mustNum(storetest.ProviderBlocked)), true},
		{"provider blocked is per provider", s.ProviderBlocked(carol.Provider, mustNum(storetest.ProviderBlocked)), false},
		{"unknown subscriber id", s.InBlocked(12345, mustNum(storetest.BlockedCaller)), false},
		{"unknown provider id", s.ProviderBlocked(12345, mustNum(storetest.ProviderBlocked)), false},
		{"zero caller", s.InBlocked(alice.ID, 0), false},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	// Effective settings of the fixture subscribers.
	wantViews := []struct {
		v    store.SubscriberView
		want store.SubscriberView
	}{
		{alice, store.SubscriberView{ID: alice.ID, Provider: alice.Provider, Name: storetest.Alice,
			Unknown: store.TreatScreen, Anonymous: store.TreatScreen, HasPIN: true}},
		{bob, store.SubscriberView{ID: bob.ID, Provider: bob.Provider, Name: storetest.Bob,
			Unknown: store.TreatBlock, Anonymous: store.TreatAnnounceVoicemail, RejectWithMedia: true,
			Voicemail: storetest.BobVM, Announcement: storetest.BobAnn}},
		// Carol's own unknown=allow, her own choice, is ignored: her
		// provider locked everything since.
		{carol, store.SubscriberView{ID: carol.ID, Provider: carol.Provider, Name: storetest.Carol,
			Unknown: store.TreatScreen, Anonymous: store.TreatScreen, RejectWithMedia: true}},
	}
	for _, w := range wantViews {
		if w.v != w.want {
			t.Errorf("view %s =\n %+v, want\n %+v", w.want.Name, w.v, w.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestEffectiveSettings(t *testing.T) {
	s := storetest.Fixture(t)
	tests := []struct {
		name     string
		provider store.SettingsUpdate
		perm     store.Permission
		own      store.SettingsUpdate
		want     store.SubscriberView // only the settings fields are compared
		// byProvider: the provider writes own for the subscriber (else the
		// subscriber does, while it may change everything).
		byProvider bool
	}{
		{"platform defaults", store.SettingsUpdate{}, store.PermAll, store.SettingsUpdate{},
			store.SubscriberView{Unknown: store.TreatScreen, Anonymous: store.TreatScreen}, false},
		{"provider defaults", store.SettingsUpdate{Unknown: ptr(store.TreatAnnounceVoicemail), Anonymous: ptr(store.TreatBlock),
			RejectWithMedia: ptr(store.ToggleOn), Voicemail: ptr("303 555 0199"), Announcement: ptr(uint32(4))},
			store.PermAll, store.SettingsUpdate{},
			store.SubscriberView{Unknown: store.TreatAnnounceVoicemail, Anonymous: store.TreatBlock, RejectWithMedia: true,
				Voicemail: "+13035550199", Announcement: 4}, false},
		{"own values win where allowed", store.SettingsUpdate{Unknown: ptr(store.TreatAnnounceVoicemail), RejectWithMedia: ptr(store.ToggleOn), Announcement: ptr(uint32(4))},
			store.PermAll, store.SettingsUpdate{Unknown: ptr(store.TreatAllow), RejectWithMedia: ptr(store.ToggleOff), Voicemail: ptr("sip:vm@x"), Announcement: ptr(uint32(9))},
			store.SubscriberView{Unknown: store.TreatAllow, Anonymous: store.TreatScreen, RejectWithMedia: false, Voicemail: "sip:vm@x", Announcement: 9}, false},
		{"locked settings fall to provider", store.SettingsUpdate{Unknown: ptr(store.TreatAnnounceVoicemail), RejectWithMedia: ptr(store.ToggleOn)},
			store.PermAnonymous | store.PermVoicemail, store.SettingsUpdate{Unknown: ptr(store.TreatAllow), Anonymous: ptr(store.TreatBlock), RejectWithMedia: ptr(store.ToggleOff), Voicemail: ptr("sip:vm@x"), Announcement: ptr(uint32(9))},
			store.SubscriberView{Unknown: store.TreatAnnounceVoicemail, Anonymous: store.TreatBlock, RejectWithMedia: true, Voicemail: "sip:vm@x"}, false},
		{"locked with no provider default falls to platform", store.SettingsUpdate{},
			store.PermNone, store.SettingsUpdate{Unknown: ptr(store.TreatAllow), Anonymous: ptr(store.TreatAllow)},
			store.SubscriberView{Unknown: store.TreatScreen, Anonymous: store.TreatScreen}, false},
		{"own 'none' turns off the provider's voicemail", store.SettingsUpdate{Voicemail: ptr("+13035550199")},
			store.PermAll, store.SettingsUpdate{Voicemail: ptr("NONE")},
			store.SubscriberView{Unknown: store.TreatScreen, Anonymous: store.TreatScreen}, false},
		{"locked 'none' leaves the provider's voicemail", store.SettingsUpdate{Voicemail: ptr("+13035550199")},
			store.PermNone, store.SettingsUpdate{Voicemail: ptr("none")},
			store.SubscriberView{Unknown: store.TreatScreen, Anonymous: store.TreatScreen, Voicemail: "+13035550199"}, false},
		{"provider 'none'", store.SettingsUpdate{Voicemail: ptr("none")},
			store.PermAll, store.SettingsUpdate{},
			store.SubscriberView{Unknown: store.TreatScreen, Anonymous: store.TreatScreen}, false},
		{"cleared own value inherits", store.SettingsUpdate{Unknown: ptr(store.TreatBlock)},
			store.PermAll, store.SettingsUpdate{Unknown: ptr(store.TreatUnset)},
			store.SubscriberView{Unknown: store.TreatBlock, Anonymous: store.TreatScreen}, false},
		{"provider-set values apply though locked", store.SettingsUpdate{Unknown: ptr(store.TreatAnnounceVoicemail), RejectWithMedia: ptr(store.ToggleOff)},
			store.PermNone, store.SettingsUpdate{Unknown: ptr(store.TreatBlock), Anonymous: ptr(store.TreatAllow), RejectWithMedia: ptr(store.ToggleOn), Voicemail: ptr("sip:vm@x"), Announcement: ptr(uint32(7))},
			store.SubscriberView{Unknown: store.TreatBlock, Anonymous: store.TreatAllow, RejectWithMedia: true, Voicemail: "sip:vm@x", Announcement: 7}, true},
		{"provider-set 'none' turns off the provider's voicemail though locked", store.SettingsUpdate{Voicemail: ptr("+13035550199")},
			store.PermNone, store.SettingsUpdate{Voicemail: ptr("none")},
			store.SubscriberView{Unknown: store.TreatScreen, Anonymous: store.TreatScreen}, true},
		{"provider clearing its value for the subscriber inherits", store.SettingsUpdate{Unknown: ptr(store.TreatBlock)},
			store.PermNone, store.SettingsUpdate{Unknown: ptr(store.TreatUnset)},
			store.SubscriberView{Unknown: store.TreatBlock, Anonymous: store.TreatScreen}, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prov := fmt.Sprintf("prov%d", i)
			if _, err := s.CreateProvider(store.Operator, store.ProviderSpec{Name: prov}); err != nil {
				t.Fatal(err)
			}
			num := fmt.Sprintf("+1720555%04d", 1000+i)
			if err := s.AllocateNumbers(store.Operator, prov, mustRange(t, num)); err != nil {
				t.Fatal(err)
			}
			sub := fmt.Sprintf("sub%d", i)
			if _, err := s.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: sub, Provider: prov, Numbers: []string{num}}); err != nil {
				t.Fatal(err)
			}
			// Own values first, then permissions, then provider defaults:
			// the view must reflect the final combination whatever the order.
			by := store.SubscriberActor(sub)
			if tc.byProvider {
				by = store.ProviderActor(prov)
			}
			if _, err := s.SetTreatments(by, sub, tc.own); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SetPermissions(store.Operator, sub, tc.perm); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SetProviderDefaults(store.Operator, prov, tc.provider); err != nil {
				t.Fatal(err)
			}
			v, ok := s.Subscriber(mustNum(num))
			if !ok {
				t.Fatal("subscriber not found")
			}
			got := store.SubscriberView{Unknown: v.Unknown, Anonymous: v.Anonymous, RejectWithMedia: v.RejectWithMedia, Voicemail: v.Voicemail, Announcement: v.Announcement}
			if got != tc.want {
				t.Errorf("effective =\n %+v, want\n %+v", got, tc.want)
			}
			if ev, err := s.EffectiveSettings(store.Operator, sub); err != nil || ev != v {
				t.Errorf("EffectiveSettings = %+v, %v", ev, err)
			}
		})
	}
}

func TestSetTreatmentsPermissions(t *testing.T) {
	s := storetest.Fixture(t)
	if _, err := s.SetPermissions(store.Operator, storetest.Bob, store.PermVIP|store.PermUnknown); err != nil {
		t.Fatal(err)
	}
	bob := store.SubscriberActor(storetest.Bob)
	tests := []struct {
		name  string
		actor store.Actor
		u     store.SettingsUpdate
		err   error
		say   []string
	}{
		{"allowed", bob, store.SettingsUpdate{Unknown: ptr(store.TreatAllow)}, nil, nil},
		{"locked", bob, store.SettingsUpdate{Anonymous: ptr(store.TreatAllow)}, store.ErrLocked, []string{"anonymous"}},
		{"one locked field fails all", bob, store.SettingsUpdate{Unknown: ptr(store.TreatBlock), Voicemail: ptr("sip:x@y")}, store.ErrLocked, []string{"voicemail"}},
		{"provider may write locked", store.ProviderActor(storetest.Provider), store.SettingsUpdate{Anonymous: ptr(store.TreatAllow)}, nil, nil},
		{"other provider may not", store.ProviderActor(storetest.OtherProvider), store.SettingsUpdate{Anonymous: ptr(store.TreatAllow)}, store.ErrNotFound, nil},
		{"other subscriber may not", store.SubscriberActor(storetest.Alice), store.SettingsUpdate{Unknown: ptr(store.TreatAllow)}, store.ErrNotFound, nil},
		{"bad treatment", store.Operator, store.SettingsUpdate{Unknown: ptr(store.Treatment(42))}, store.ErrInvalid, nil},
		{"bad voicemail", store.Operator, store.SettingsUpdate{Voicemail: ptr("sip:has space@x")}, store.ErrInvalid, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.SetTreatments(tc.actor, storetest.Bob, tc.u)
			wantErr(t, "SetTreatments", err, tc.err, tc.say...)
		})
	}
	v, _ := s.Subscriber(mustNum(storetest.BobNumber))
	// Unknown: Bob's own (allowed). Anonymous: locked to Bob, but his
	// provider wrote allow for him: that applies. Voicemail: the value the
	// operator gave at creation applies though Bob may not change it.
	if v.Unknown != store.TreatAllow || v.Anonymous != store.TreatAllow || v.Voicemail != storetest.BobVM {
		t.Fatalf("bob's view = %+v", v)
	}
	sub, _ := s.GetSubscriber(store.Operator, storetest.Bob)
	if sub.Settings.Anonymous != store.TreatAllow || sub.Settings.Unknown != store.TreatAllow {
		t.Fatalf("bob's own settings = %+v", sub.Settings)
	}
}

func TestViewZeroAlloc(t *testing.T) {
	s := storetest.Fixture(t)
	alice, _ := s.Subscriber(mustNum(storetest.AliceNumber))
	called, caller := mustNum(storetest.AliceNumber), mustNum(storetest.BlockedCaller)
	var sink bool
	allocs := testing.AllocsPerRun(1000, func() {
		v, ok := s.Subscriber(called)
		sink = ok && s.InVIP(v.ID, caller) || s.InBlocked(v.ID, caller) || s.ProviderBlocked(v.Provider, caller)
		r, _ := s.EgressRoute(alice.Provider)
		sink = sink && r.Name != ""
		_, _ = s.Enterprise(caller)
		sink = sink || s.LookupCall(called, caller).Blocked
	})
	if allocs != 0 {
		t.Fatalf("View lookups allocate %v times per call", allocs)
	}
	_ = sink
}

// TestConcurrentReadersDuringWrites runs readers against every View method
// (and LookupCall) while writers change lists, settings, numbers and routes; run with -race.
// Invariants that no write touches must hold on every read.
func TestConcurrentReadersDuringWrites(t *testing.T) {
	s := storetest.Fixture(t)
	alice, _ := s.Subscriber(mustNum(storetest.AliceNumber))
	vip, blocked := mustNum(storetest.VIPCaller), mustNum(storetest.BlockedCaller)
	var stop atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				v, ok := s.Subscriber(mustNum(storetest.AliceNumber))
				if !ok || v.ID != alice.ID {
					errs <- "alice vanished"
					return
				}
				if !s.InVIP(v.ID, vip) || !s.InBlocked(v.ID, blocked) {
					errs <- "untouched rows vanished"
					return
				}
				s.ProviderBlocked(v.Provider, blocked)
				if _, ok := s.EgressRoute(v.Provider); !ok {
					errs <- "route vanished"
					return
				}
				s.Subscriber(mustNum("+13035550150"))
				if c := s.LookupCall(mustNum(storetest.AliceNumber), blocked); !c.Found || c.Subscriber.ID != alice.ID || !c.Blocked || c.VIP || !c.RouteOK {
					errs <- "LookupCall lost untouched answers"
					return
				}
				s.LookupCall(mustNum("+13035550150"), vip)
				reads.Add(1)
			}
		}()
	}
	for i := 0; i < 60; i++ {
		num := fmt.Sprintf("+1202555%04d", i)
		if _, err := s.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{num}, ""); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := s.RemoveFromList(store.Operator, storetest.Alice, store.ListBlocked, []string{num}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.SetTreatments(store.Operator, storetest.Alice, store.SettingsUpdate{Announcement: ptr(uint32(i))}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Import(stringsReader(fmt.Sprintf("provider:%s,blocked,+1900555%04d\n", storetest.Provider, i)), store.ImportOptions{Actor: store.Operator}); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			name := fmt.Sprintf("tmp%d", i)
			if _, err := s.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: name, Provider: storetest.Provider, Numbers: []string{"+13035550150"}}); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteSubscriber(store.Operator, name); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SetRoute(store.Operator, store.RouteSpec{Name: storetest.Route, SIPURI: fmt.Sprintf("sip:b2bua%d@example.net", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if reads.Load() == 0 {
		t.Fatal("readers never ran")
	}
}
