package store_test

import (
	"encoding/json"
	"strings"
	"testing"

	"callgate/store"
	"callgate/store/storetest"
)

// What a provider sets for a subscriber applies whatever the subscriber
// may change itself; what the subscriber set applies only while it holds
// the permission. Bob's provider (acme) has no defaults: the platform's
// screen is what a setting falls back to.
func TestProviderSetSettingsApply(t *testing.T) {
	s := storetest.Fixture(t)
	prov, bob := store.ProviderActor(storetest.Provider), store.SubscriberActor(storetest.Bob)
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	want := func(what string, unknown store.Treatment, src store.Source) {
		t.Helper()
		v, _ := s.Subscriber(mustNum(storetest.BobNumber))
		got, err := s.SettingSources(bob, storetest.Bob)
		if err != nil {
			t.Fatal(err)
		}
		if v.Unknown != unknown || got.Unknown != src {
			t.Fatalf("%s: unknown-caller treatment %s from %s, want %s from %s", what, v.Unknown, got.Unknown, unknown, src)
		}
	}
	_, err := s.SetPermissions(store.Operator, storetest.Bob, store.PermVIP)
	step("lock bob's settings", err)
	want("created by the operator with unknown=block", store.TreatBlock, store.SourceProvider)

	_, err = s.SetTreatments(prov, storetest.Bob, store.SettingsUpdate{Unknown: ptr(store.TreatChallenge)})
	step("provider sets challenge", err)
	want("provider set challenge, bob locked", store.TreatChallenge, store.SourceProvider)
	if _, err := s.SetTreatments(bob, storetest.Bob, store.SettingsUpdate{Unknown: ptr(store.TreatAllow)}); err == nil {
		t.Fatal("bob changed a setting he may not change")
	}

	_, err = s.SetPermissions(prov, storetest.Bob, store.PermVIP|store.PermUnknown)
	step("open unknown to bob", err)
	_, err = s.SetTreatments(bob, storetest.Bob, store.SettingsUpdate{Unknown: ptr(store.TreatAllow)})
	step("bob sets allow", err)
	want("bob's own choice", store.TreatAllow, store.SourceSubscriber)

	_, err = s.SetPermissions(prov, storetest.Bob, store.PermVIP)
	step("lock unknown again", err)
	want("bob's choice after the lock: the default", store.TreatScreen, store.SourcePlatform)
	if rec, _ := s.GetSubscriber(store.Operator, storetest.Bob); rec.Settings.Unknown != store.TreatAllow || rec.SetByProvider&store.PermUnknown != 0 {
		t.Fatalf("bob's stored choice = %s, set by provider %s; want allow, his own", rec.Settings.Unknown, rec.SetByProvider)
	}
	_, err = s.SetProviderDefaults(store.Operator, storetest.Provider, store.SettingsUpdate{Unknown: ptr(store.TreatAnnounceVoicemail)})
	step("provider default", err)
	want("locked, with a provider default", store.TreatAnnounceVoicemail, store.SourceProviderDefault)

	_, err = s.SetPermissions(prov, storetest.Bob, store.PermAll)
	step("give everything back", err)
	want("bob's choice again", store.TreatAllow, store.SourceSubscriber)

	_, err = s.SetTreatments(store.Operator, storetest.Bob, store.SettingsUpdate{Unknown: ptr(store.TreatBlock)})
	step("operator sets block", err)
	_, err = s.SetPermissions(prov, storetest.Bob, store.PermNone)
	step("lock everything", err)
	want("the operator's value, bob locked", store.TreatBlock, store.SourceProvider)

	_, err = s.SetTreatments(prov, storetest.Bob, store.SettingsUpdate{Unknown: ptr(store.TreatUnset)})
	step("provider clears", err)
	want("cleared: the provider default", store.TreatAnnounceVoicemail, store.SourceProviderDefault)
	if rec, _ := s.GetSubscriber(store.Operator, storetest.Bob); rec.SetByProvider&store.PermUnknown != 0 {
		t.Fatalf("a cleared value keeps its mark: %s", rec.SetByProvider)
	}
	// The other settings kept the operator's mark from the creation
	// throughout: each write marks only what it touched.
	src, _ := s.SettingSources(store.Operator, storetest.Bob)
	if src.Anonymous != store.SourceProvider || src.Voicemail != store.SourceProvider || src.Announcement != store.SourceProvider {
		t.Fatalf("sources of bob's other settings = %+v", src)
	}
}

// Carol (fixture) chose allow herself and was locked: her choice is
// stored, the default applies and the sources say so; the API's JSON of
// the record names what the provider set.
func TestSettingSourcesOfLockedChoice(t *testing.T) {
	s := storetest.Fixture(t)
	src, err := s.SettingSources(store.ProviderActor(storetest.OtherProvider), storetest.Carol)
	if err != nil {
		t.Fatal(err)
	}
	want := store.SettingSources{Unknown: store.SourcePlatform, Anonymous: store.SourcePlatform,
		RejectWithMedia: store.SourceProviderDefault, Voicemail: store.SourcePlatform, Announcement: store.SourcePlatform}
	if src != want {
		t.Fatalf("carol's sources = %+v, want %+v", src, want)
	}
	if _, err := s.SettingSources(store.SubscriberActor(storetest.Alice), storetest.Carol); err == nil {
		t.Fatal("alice read carol's sources")
	}
	b, _ := json.Marshal(src)
	if !strings.Contains(string(b), `"reject_with_media":"provider-default"`) {
		t.Fatalf("sources as JSON: %s", b)
	}
	bob, _ := s.GetSubscriber(store.Operator, storetest.Bob)
	b, _ = json.Marshal(bob)
	if !strings.Contains(string(b), `"set_by_provider":"unknown,anonymous,reject-with-media,voicemail,announcement"`) {
		t.Fatalf("bob's record: %s", b)
	}
}
