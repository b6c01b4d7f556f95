package store

import (
	"fmt"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// A subscriber record written before the SetByProvider mark has none: its
// own values apply only with the permission, as they always did, until a
// manager sets them again.
func TestRecordWithoutSetByMark(t *testing.T) {
	s, err := Open(t.TempDir()+"/old.db", Options{NoSync: true, PINCost: bcrypt.MinCost, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateProvider(Operator, ProviderSpec{Name: "acme", Defaults: Settings{Unknown: TreatBlock}}); err != nil {
		t.Fatal(err)
	}
	r, err := ParseRange("+13035550100..+13035550199")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AllocateNumbers(Operator, "acme", r); err != nil {
		t.Fatal(err)
	}
	sub, err := s.CreateSubscriber(Operator, SubscriberSpec{Name: "dave", Provider: "acme", Numbers: []string{"+13035550100"}})
	if err != nil {
		t.Fatal(err)
	}
	// As an older release stored it: own unknown=allow, no mark, locked.
	old := fmt.Sprintf(`{"id":%d,"name":"dave","provider_id":%d,"numbers":["+13035550100"],"settings":{"unknown":"allow"},"permissions":"none","created":"2025-01-01T00:00:00Z"}`,
		sub.ID, sub.ProviderID)
	if err := s.write(func(t *txn) error {
		t.cmp(idKey(bSubscribers, sub.ID), s.ix.sub(sub.ID).mod)
		t.put(idKey(bSubscribers, sub.ID), []byte(old))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	v, _ := s.Subscriber(sub.Numbers[0])
	if v.Unknown != TreatBlock {
		t.Fatalf("old record, locked own allow: unknown %s, want the provider's block", v.Unknown)
	}
	if _, err := s.SetPermissions(Operator, "dave", PermUnknown); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Subscriber(sub.Numbers[0]); v.Unknown != TreatAllow {
		t.Fatalf("old record, permitted own allow: unknown %s, want allow", v.Unknown)
	}
}
