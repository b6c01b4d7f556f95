package demo

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"callgate/e164"
	"callgate/policy"
	"callgate/store"
)

func TestSeedIdempotentAndDecisionsHold(t *testing.T) {
	s, err := store.Open(filepath.Join(t.TempDir(), "callgate.db"), store.Options{PINCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := StoreAs(s, store.Operator.By("cli:tester", "cli"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := Seed(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Created) != 6 || len(first.Updated) != 0 {
		t.Errorf("first seed: %+v", first)
	}
	// An operator's own entry survives a re-seed; demo settings come back.
	if _, err := s.AddToList(store.Operator, Alice, store.ListVIP, []string{"+17195550077"}, ""); err != nil {
		t.Fatal(err)
	}
	allow := store.TreatAllow
	if _, err := s.SetTreatments(store.Operator, Alice, store.SettingsUpdate{Unknown: &allow}); err != nil {
		t.Fatal(err)
	}
	second, err := Seed(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Created) != 0 || len(second.Updated) != 5 {
		t.Errorf("second seed: %+v", second)
	}
	page, err := s.ListEntries(store.Operator, Alice, store.ListVIP, 0, 10)
	if err != nil || page.Total != 2 {
		t.Errorf("alice's VIP list after re-seed: %+v %v", page, err)
	}

	eng := policy.New(s)
	for _, try := range Decisions {
		c := policy.Call{Calling: e164.MustParse(try.Calling), Called: e164.MustParse(try.Called), Origin: policy.OriginSIP}
		if try.Presentation == "restricted" {
			c.Presentation = policy.PresentationRestricted
		}
		if d := eng.Decide(context.Background(), c); d.Action.String() != try.Expect {
			t.Errorf("%s: %s", try.What, d.String())
		}
	}
	if !s.CheckPIN(mustSub(t, s, Alice), AlicePIN) {
		t.Error("alice's demo PIN does not check")
	}
}

// The demo data is audited as whoever seeded it (the CLI's cli:USER via
// cli, as its other writes), never as an unnamed library caller; StoreAs
// refuses an actor that would leave the audit log without a name.
func TestSeedAuditedAsItsSeeder(t *testing.T) {
	s, err := store.Open(filepath.Join(t.TempDir(), "callgate.db"), store.Options{PINCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := StoreAs(s, store.Operator); err == nil || !strings.Contains(err.Error(), "store.Operator.By") {
		t.Fatalf("an unnamed seeder: %v", err)
	}
	if _, err := StoreAs(s, store.ProviderActor(Provider).By("p", "api")); err == nil {
		t.Fatal("a provider seeded the demo platform")
	}
	p, err := StoreAs(s, store.Operator.By("cli:tester", "cli"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Seed(p); err != nil {
		t.Fatal(err)
	}
	recs, err := s.SearchAudit(store.Operator, store.AuditQuery{Limit: 1000})
	if err != nil || len(recs) == 0 {
		t.Fatalf("audit: %d records, %v", len(recs), err)
	}
	for _, r := range recs {
		if r.Principal != "cli:tester" || r.Via != "cli" || r.Role != "operator" {
			t.Errorf("%s %s audited as %q via %q (%s), want cli:tester via cli", r.Op, r.Object, r.Principal, r.Via, r.Role)
		}
	}
}

func mustSub(t *testing.T, s *store.Store, ref string) uint32 {
	sub, err := s.GetSubscriber(store.Operator, ref)
	if err != nil {
		t.Fatal(err)
	}
	return sub.ID
}

func TestTryLines(t *testing.T) {
	text := TryLines("bin/callgate", Defaults)
	for _, try := range Decisions {
		if !strings.Contains(text, DecideCommand("bin/callgate", "", try)) {
			t.Errorf("what-to-try lacks %q", try.What)
		}
	}
	if strings.Contains(text, "--data") || strings.Contains(text, "--config") {
		t.Errorf("default data dir should not be spelled out:\n%s", text)
	}
	for _, want := range []string{"--connect 127.0.0.1:2905", "-nostdin 127.0.0.1:5060", "http://127.0.0.1:9464/metrics"} {
		if !strings.Contains(text, want) {
			t.Errorf("defaults: no %q in\n%s", want, text)
		}
	}
	if !strings.Contains(TryLines("callgate", Where{Flags: " --data /tmp/x"}), "--data /tmp/x") {
		t.Error("a non-default data dir must be in the commands")
	}
	// A configuration that moves the listeners: every line points at them
	// and names the file, so capture (which asks the admin listener) and
	// the operator commands reach that daemon.
	moved := TryLines("callgate", Where{Flags: " --config lab.yaml", Admin: "127.0.0.1:16464", SIP: "127.0.0.1:16060", SCP: "127.0.0.1:16905"})
	for _, stale := range []string{":2905", ":5060", ":9464"} {
		if strings.Contains(moved, stale) {
			t.Errorf("moved listeners: %q still suggested:\n%s", stale, moved)
		}
	}
	for _, want := range []string{"--connect 127.0.0.1:16905", "-nostdin 127.0.0.1:16060", "capture --seconds 10 --output scp.pcap --config lab.yaml",
		"log search --number " + AliceNumber + " --since 1h --config lab.yaml"} {
		if !strings.Contains(moved, want) {
			t.Errorf("moved listeners: no %q in\n%s", want, moved)
		}
	}
	// A tier that is off is not suggested.
	if off := TryLines("callgate", Where{Admin: "127.0.0.1:9464"}); strings.Contains(off, "sspsim") || strings.Contains(off, "sipp") {
		t.Errorf("SCP and SIP off, yet suggested:\n%s", off)
	}
}
