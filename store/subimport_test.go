package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"callgate/store"
	"callgate/store/storetest"
)

// TestImportSubscribers: a valid file creates every subscriber with its
// numbers and permissions, and leaves one audit record for the whole
// import (counts and the file's digest).
func TestImportSubscribers(t *testing.T) {
	s := storetest.Fixture(t)
	in := "name,provider,numbers,permissions\n" +
		"# acme's new customers\n" +
		"dan,acme,+13035550120 +13035550121,\n" +
		"eve,acme,303-555-0122;+13035550123,vip,blocked\n" +
		"fay,globex,+17205550120,none\n"
	in = strings.Replace(in, "vip,blocked\n", "\"vip,blocked\"\n", 1)
	before := s.Counts().Subscribers
	rep, err := s.ImportSubscribers(strings.NewReader(in), store.SubscriberImportOptions{Actor: store.Operator})
	if err != nil || rep.Refused || rep.Valid != 3 || rep.Written != 3 || rep.Numbers != 5 || rep.Subscribers != before+3 {
		t.Fatalf("report %+v, %v", rep, err)
	}
	sum := sha256.Sum256([]byte(in))
	if rep.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("digest %s, want the file's", rep.SHA256)
	}
	eve, err := s.GetSubscriber(store.Operator, "+13035550122")
	if err != nil || eve.Name != "eve" || len(eve.Numbers) != 2 || eve.Permissions != store.PermVIP|store.PermBlocked {
		t.Fatalf("eve = %+v, %v", eve, err)
	}
	dan, _ := s.GetSubscriber(store.Operator, "dan")
	acme, _ := s.GetProvider(store.Operator, storetest.Provider)
	if dan.Permissions != acme.DefaultPermissions {
		t.Errorf("dan's permissions %v, want the provider default %v", dan.Permissions, acme.DefaultPermissions)
	}
	if v, ok := s.Subscriber(mustNum("+17205550120")); !ok || v.Name != "fay" {
		t.Error("fay's number does not reach the engine's view")
	}
	recs, err := s.SearchAudit(store.Operator, store.AuditQuery{Object: "subscribers (3)"})
	if err != nil || len(recs) != 1 || recs[0].Op != "subscriber.import" || !strings.Contains(string(recs[0].After), rep.SHA256) {
		t.Fatalf("audit = %+v, %v", recs, err)
	}
	if all, _ := s.SearchAudit(store.Operator, store.AuditQuery{Object: "subscriber/eve"}); len(all) != 0 {
		t.Errorf("per-subscriber audit records: %+v", all)
	}
}

// TestImportSubscribersAllOrNothing: any bad row refuses the file, every
// bad row is named by line with its reason, and nothing is written.
func TestImportSubscribersAllOrNothing(t *testing.T) {
	s := storetest.Fixture(t)
	in := strings.Join([]string{
		"name,provider,numbers,permissions",
		"dan,acme,+13035550120,",           // 2 ok
		"dan,acme,+13035550121,",           // 3 name twice in the file
		"gus,acme,+13035550120,",           // 4 number twice in the file
		"alice,acme,+13035550122,",         // 5 name exists
		"hal,acme,+13035550100,",           // 6 number belongs to alice
		"ida,acme,+12125550100,",           // 7 not allocated
		"joe,acme,+17205550121,",           // 8 globex's allocation
		"kim,nope,+13035550123,",           // 9 unknown provider
		"lou,acme,+13035550124,everything", // 10 bad permission
		"mae,acme",                         // 11 too few fields
		"ned,acme,call me,",                // 12 bad number
		"oz,acme,,",                        // 13 no numbers
		"pat,acme,+13035550125,",           // 14 ok
	}, "\n") + "\n"
	before := s.Counts()
	rep, err := s.ImportSubscribers(strings.NewReader(in), store.SubscriberImportOptions{Actor: store.Operator})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{3: "line 2", 4: "line 2", 5: "exists", 6: "alice", 7: "allocat", 8: "allocat", 9: "provider",
		10: "everything", 11: "2 fields", 12: "\"call\"", 13: "no numbers"}
	if !rep.Refused || rep.Written != 0 || rep.Rows != 13 || rep.Valid != 2 || rep.ErrorCount != len(want) {
		t.Fatalf("report %+v", rep)
	}
	for _, e := range rep.Errors {
		if say, ok := want[e.Line]; !ok || !strings.Contains(e.Err, say) {
			t.Errorf("line %d: %q, want it to say %q", e.Line, e.Err, say)
		}
	}
	if after := s.Counts(); after != before {
		t.Errorf("counts changed by a refused import: %+v -> %+v", before, after)
	}
	if _, err := s.GetSubscriber(store.Operator, "dan"); err == nil {
		t.Error("a good row of a refused file was written")
	}
}

// TestImportSubscribersScope: a provider imports only its own
// subscribers; a dry run writes nothing.
func TestImportSubscribersScope(t *testing.T) {
	s := storetest.Fixture(t)
	acme := store.ProviderActor(storetest.Provider)
	rep, err := s.ImportSubscribers(strings.NewReader("zed,globex,+17205550130,\n"), store.SubscriberImportOptions{Actor: acme})
	if err != nil || !rep.Refused || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Err, "not found") || strings.Contains(rep.Errors[0].Err, "globex") {
		t.Fatalf("provider importing another's subscribers: %+v, %v", rep, err)
	}
	rep, err = s.ImportSubscribers(strings.NewReader("zed,acme,+13035550130,\n"), store.SubscriberImportOptions{Actor: acme, DryRun: true})
	if err != nil || rep.Refused || rep.Valid != 1 || rep.Written != 0 {
		t.Fatalf("dry run: %+v, %v", rep, err)
	}
	if _, err := s.GetSubscriber(store.Operator, "zed"); err == nil {
		t.Fatal("a dry run wrote")
	}
	rep, err = s.ImportSubscribers(strings.NewReader("zed,acme,+13035550130,\n"), store.SubscriberImportOptions{Actor: acme})
	if err != nil || rep.Written != 1 {
		t.Fatalf("import: %+v, %v", rep, err)
	}
}

// subscriberCSV is n subscribers of provider "bulk", one number each.
func subscriberCSV(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 40)
	b.WriteString("name,provider,numbers,permissions\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "s%07d,bulk,+1312%07d,\n", i, 2000000+i)
	}
	return b.Bytes()
}

// BenchmarkSubscriberImport1M: 1,000,000 subscribers from CSV into an
// empty bbolt store (validation, write, the one audit record).
func BenchmarkSubscriberImport1M(b *testing.B) {
	benchmarkSubscriberImport(b, subscriberCSV(1_000_000))
}

// BenchmarkSubscriberImport1MShuffled: the same rows in random order, so
// names and numbers land all over the store's trees (bbolt then reads and
// rewrites a page per key rather than appending to one).
func BenchmarkSubscriberImport1MShuffled(b *testing.B) {
	in := subscriberCSV(1_000_000)
	lines := bytes.SplitAfter(in, []byte("\n"))
	head, rows := lines[0], lines[1:len(lines)-1]
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	benchmarkSubscriberImport(b, append(slices.Clone(head), bytes.Join(rows, nil)...))
}

func benchmarkSubscriberImport(b *testing.B, in []byte) {
	const n = 1_000_000
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := store.Open(filepath.Join(b.TempDir(), "subs.db"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.CreateProvider(store.Operator, store.ProviderSpec{Name: "bulk"}); err != nil {
			b.Fatal(err)
		}
		if err := s.AllocateNumbers(store.Operator, "bulk", store.Range{First: mustNum("+13122000000"), Last: mustNum("+13122999999")}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err := s.ImportSubscribers(bytes.NewReader(in), store.SubscriberImportOptions{Actor: store.Operator, Size: int64(len(in))})
		if err != nil || rep.Written != n {
			b.Fatalf("%+v, %v", rep, err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}
