package store_test

import (
	"path/filepath"
	"strings"
	"testing"

	"callgate/store"
)

// TestProviderVIPListPersists: a provider's VIP list is imported from CSV
// (owner provider:NAME, list vip), kept apart from its Blocked list,
// exported back in the same form, and rebuilt from the key space when the
// store is opened again; deleting the list's rows works like any list.
func TestProviderVIPListPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pvip.db")
	s := openAt(t, path)
	for _, step := range []func() error{
		func() error { _, err := s.CreateProvider(store.Operator, store.ProviderSpec{Name: "acme"}); return err },
		func() error {
			_, err := s.CreateProvider(store.Operator, store.ProviderSpec{Name: "globex"})
			return err
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	csv := "owner,list,number,note\n" +
		"provider:acme,vip,+12025550911,PSAP call-back\n" +
		"provider:acme,vip,+12025550912,\n" +
		"provider:acme,blocked,+19005550111,\n"
	rep, err := s.Import(strings.NewReader(csv), store.ImportOptions{Actor: store.Operator})
	if err != nil || rep.ErrorCount != 0 || rep.Added != 3 {
		t.Fatalf("import: %+v, %v", rep, err)
	}
	page, err := s.ListEntries(store.Operator, "provider:acme", store.ListVIP, 0, 10)
	if err != nil || page.Total != 2 || page.Entries[0].Note != "PSAP call-back" {
		t.Fatalf("provider VIP list = %+v, %v", page, err)
	}
	if _, err := s.ListEntries(store.Actor{Role: store.RoleProvider, Name: "globex"}, "provider:acme", store.ListVIP, 0, 10); err == nil {
		t.Fatal("another provider read acme's VIP list")
	}
	before := exportAll(t, s)
	if !strings.Contains(before, "provider:acme,vip,+12025550911,PSAP call-back") {
		t.Fatalf("export lacks the provider VIP row:\n%s", before)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path)
	defer s.Close()
	if got := exportAll(t, s); got != before {
		t.Fatalf("after reopen export differs:\n%s\nwant\n%s", got, before)
	}
	c := s.Counts()
	if c.ProviderVIPEntries != 2 || c.ProviderBlockedEntries != 1 {
		t.Fatalf("counts after reopen: %+v", c)
	}
}
