package store_test

import (
	"fmt"
	"testing"

	"callgate/e164"
	"callgate/store"
	"callgate/store/storetest"
)

func TestAddRemoveList(t *testing.T) {
	s := storetest.Fixture(t)
	alice := store.SubscriberActor(storetest.Alice)
	carol := store.SubscriberActor(storetest.Carol)
	acme := store.ProviderActor(storetest.Provider)
	tests := []struct {
		name    string
		actor   store.Actor
		owner   string
		list    store.List
		numbers []string
		remove  bool
		want    int // added / removed
		err     error
		say     []string
	}{
		{"operator adds", store.Operator, storetest.Alice, store.ListBlocked, []string{"2025550100", "+1 202 555 0101", "202-555-0100"}, false, 2, nil, nil},
		{"again is idempotent", store.Operator, storetest.AliceNumber2, store.ListBlocked, []string{"+12025550100"}, false, 0, nil, nil},
		{"subscriber adds own", alice, storetest.AliceNumber, store.ListVIP, []string{"+442079460000"}, false, 1, nil, nil},
		{"subscriber adds to other", alice, storetest.Bob, store.ListVIP, []string{"+442079460000"}, false, 0, store.ErrNotFound, []string{`subscriber "bob": not found`}},
		{"subscriber with locked lists", carol, storetest.Carol, store.ListBlocked, []string{"+442079460000"}, false, 0, store.ErrLocked, []string{"blocked"}},
		{"provider adds for its subscriber", acme, storetest.Bob, store.ListBlocked, []string{"+442079460001"}, false, 1, nil, nil},
		{"provider adds for another's", acme, storetest.Carol, store.ListBlocked, []string{"+442079460001"}, false, 0, store.ErrNotFound, []string{`subscriber "carol": not found`}},
		{"provider list", acme, "provider:" + storetest.Provider, store.ListBlocked, []string{"+19005550112"}, false, 1, nil, nil},
		{"provider list case-insensitive prefix", store.Operator, "Provider:" + storetest.Provider, store.ListBlocked, []string{"+19005550113"}, false, 1, nil, nil},
		{"other provider's list", acme, "provider:" + storetest.OtherProvider, store.ListBlocked, []string{"+19005550112"}, false, 0, store.ErrNotFound, nil},
		{"provider VIP list", acme, "provider:" + storetest.Provider, store.ListVIP, []string{"+12025550911"}, false, 1, nil, nil},
		{"other provider's VIP list", acme, "provider:" + storetest.OtherProvider, store.ListVIP, []string{"+12025550911"}, false, 0, store.ErrNotFound, nil},
		{"subscriber edits its provider's VIP list", alice, "provider:" + storetest.Provider, store.ListVIP, []string{"+12025550912"}, false, 0, store.ErrNotFound, []string{"not found"}},
		{"no actor", store.Actor{}, storetest.Alice, store.ListBlocked, []string{"+19005550112"}, false, 0, store.ErrForbidden, []string{"no actor"}},
		{"bad numbers all named, nothing written", store.Operator, storetest.Alice, store.ListBlocked, []string{"+12025550102", "x", "12"}, false, 0, store.ErrInvalid, []string{"#2", "#3"}},
		{"unknown owner", store.Operator, "+12025550199", store.ListBlocked, []string{"+12025550102"}, false, 0, store.ErrNotFound, []string{"+12025550199"}},
		{"unknown provider", store.Operator, "provider:nope", store.ListBlocked, []string{"+12025550102"}, false, 0, store.ErrNotFound, []string{"nope"}},
		{"bad list", store.Operator, storetest.Alice, store.List(9), []string{"+12025550102"}, false, 0, store.ErrInvalid, nil},
		{"remove", store.Operator, storetest.Alice, store.ListBlocked, []string{"2025550100", "2025550177"}, true, 1, nil, nil},
		{"subscriber removes own", alice, storetest.Alice, store.ListVIP, []string{"+442079460000"}, true, 1, nil, nil},
		{"locked remove", carol, storetest.Carol, store.ListVIP, []string{"+442079460000"}, true, 0, store.ErrLocked, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n int
			var err error
			if tc.remove {
				n, err = s.RemoveFromList(tc.actor, tc.owner, tc.list, tc.numbers)
			} else {
				n, err = s.AddToList(tc.actor, tc.owner, tc.list, tc.numbers, "")
			}
			wantErr(t, "list change", err, tc.err, tc.say...)
			if n != tc.want {
				t.Errorf("count = %d, want %d", n, tc.want)
			}
		})
	}
	v, _ := s.Subscriber(mustNum(storetest.AliceNumber))
	for num, want := range map[string]bool{"+12025550100": false, "+12025550101": true, "+12025550102": false, storetest.BlockedCaller: true} {
		if got := s.InBlocked(v.ID, mustNum(num)); got != want {
			t.Errorf("InBlocked(alice, %s) = %v, want %v", num, got, want)
		}
	}
	if s.InVIP(v.ID, mustNum("+442079460000")) {
		t.Error("removed VIP still listed")
	}
	if !s.ProviderBlocked(v.Provider, mustNum("+19005550112")) || !s.ProviderBlocked(v.Provider, mustNum("+19005550113")) {
		t.Error("provider list rows missing")
	}
	if !s.ProviderVIP(v.Provider, mustNum("+12025550911")) || s.ProviderBlocked(v.Provider, mustNum("+12025550911")) {
		t.Error("provider VIP row missing or on the wrong list")
	}
	if c, _ := s.Subscriber(mustNum(storetest.CarolNumber)); s.ProviderVIP(c.Provider, mustNum("+12025550911")) {
		t.Error("provider VIP row leaked to another provider")
	}
	if got := s.Counts().ProviderVIPEntries; got != 1 {
		t.Errorf("Counts().ProviderVIPEntries = %d, want 1", got)
	}
}

func TestListEntriesPagingAndNotes(t *testing.T) {
	s := storetest.Fixture(t)
	// 1,200 rows: several chunks. Notes on every 7th.
	var nums []string
	for i := range 1200 {
		nums = append(nums, fmt.Sprintf("+1202555%04d", i*3))
	}
	if n, err := s.AddToList(store.Operator, storetest.Bob, store.ListBlocked, nums, ""); err != nil || n != 1200 {
		t.Fatalf("add: %d %v", n, err)
	}
	for i := 0; i < 1200; i += 7 {
		if _, err := s.AddToList(store.Operator, storetest.Bob, store.ListBlocked, []string{nums[i]}, fmt.Sprintf("note %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Clearing a note: re-add without one.
	if _, err := s.AddToList(store.Operator, storetest.Bob, store.ListBlocked, []string{nums[7]}, ""); err != nil {
		t.Fatal(err)
	}
	// Remove a stretch in the middle (touches chunk boundaries).
	if n, err := s.RemoveFromList(store.Operator, storetest.Bob, store.ListBlocked, nums[250:520]); err != nil || n != 270 {
		t.Fatalf("remove: %d %v", n, err)
	}
	want := append(append([]string{}, nums[:250]...), nums[520:]...)
	var got []store.Entry
	var after e164.Number
	pages := 0
	for {
		page, err := s.ListEntries(store.Operator, storetest.BobNumber, store.ListBlocked, after, 100)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != len(want) {
			t.Fatalf("Total = %d, want %d", page.Total, len(want))
		}
		got = append(got, page.Entries...)
		pages++
		if page.Next == 0 {
			break
		}
		after = page.Next
	}
	if len(got) != len(want) || pages != (len(want)+99)/100 {
		t.Fatalf("%d rows in %d pages, want %d", len(got), pages, len(want))
	}
	for i, e := range got {
		if e.Number != mustNum(want[i]) {
			t.Fatalf("row %d = %v, want %s", i, e.Number, want[i])
		}
		idx := 0
		fmt.Sscanf(want[i][8:], "%d", &idx)
		idx /= 3
		wantNote := ""
		if idx%7 == 0 && idx != 7 {
			wantNote = fmt.Sprintf("note %d", idx)
		}
		if e.Note != wantNote {
			t.Fatalf("row %d (%v) note %q, want %q", i, e.Number, e.Note, wantNote)
		}
	}
	// Starting in the middle of a chunk.
	page, _ := s.ListEntries(store.Operator, storetest.Bob, store.ListBlocked, mustNum(want[599]), 3)
	if len(page.Entries) != 3 || page.Entries[0].Number != mustNum(want[600]) {
		t.Fatalf("mid-chunk page = %+v", page)
	}
	// Index agrees with the file after the edits.
	v, _ := s.Subscriber(mustNum(storetest.BobNumber))
	for i, n := range nums {
		inList := i < 250 || i >= 520
		if s.InBlocked(v.ID, mustNum(n)) != inList {
			t.Fatalf("InBlocked(%s) != %v", n, inList)
		}
	}
	_, err := s.AddToList(store.Operator, storetest.Bob, store.ListBlocked, []string{nums[0]}, "bad\nnote")
	wantErr(t, "control char note", err, store.ErrInvalid, "control")
}

func TestPIN(t *testing.T) {
	s := storetest.Fixture(t)
	alice, _ := s.Subscriber(mustNum(storetest.AliceNumber))
	bob, _ := s.Subscriber(mustNum(storetest.BobNumber))
	carol, _ := s.Subscriber(mustNum(storetest.CarolNumber))
	if !s.CheckPIN(alice.ID, storetest.AlicePIN) || s.CheckPIN(alice.ID, "2469") || s.CheckPIN(alice.ID, "") {
		t.Fatal("Alice's PIN check wrong")
	}
	if bob.HasPIN || s.CheckPIN(bob.ID, storetest.AlicePIN) || s.CheckPIN(9999, "1234") {
		t.Fatal("PIN accepted where none is set")
	}
	for _, bad := range []string{"123", "123456789", "12a4", "", " 1234"} {
		wantErr(t, "SetPIN "+bad, s.SetPIN(store.Operator, storetest.Bob, bad), store.ErrInvalid, "digits")
	}
	wantErr(t, "subscriber sets own", s.SetPIN(store.SubscriberActor(storetest.Bob), storetest.Bob, "13579"), nil)
	if v, _ := s.Subscriber(mustNum(storetest.BobNumber)); !v.HasPIN || !s.CheckPIN(v.ID, "13579") {
		t.Fatal("Bob's new PIN not effective")
	}
	wantErr(t, "locked PIN", s.SetPIN(store.SubscriberActor(storetest.Carol), storetest.Carol, "1234"), store.ErrLocked, "pin")
	wantErr(t, "provider sets PIN of its subscriber", s.SetPIN(store.ProviderActor(storetest.OtherProvider), storetest.Carol, "1234"), nil)
	if !s.CheckPIN(carol.ID, "1234") {
		t.Fatal("Carol's PIN set by provider not effective")
	}
	wantErr(t, "clear", s.ClearPIN(store.Operator, storetest.Alice), nil)
	if v, _ := s.Subscriber(mustNum(storetest.AliceNumber)); v.HasPIN || s.CheckPIN(v.ID, storetest.AlicePIN) {
		t.Fatal("cleared PIN still works")
	}
	// The hash is not exposed through the record.
	sub, _ := s.GetSubscriber(store.Operator, storetest.Bob)
	if !sub.HasPIN {
		t.Fatal("HasPIN not reported")
	}
}
