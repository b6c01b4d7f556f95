package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"callgate/store"
	"callgate/store/storetest"
)

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

func TestImport(t *testing.T) {
	const good = `owner,list,number,note
` + storetest.AliceNumber + `,blocked,202-555-0100,robocaller
303 555 0100,BLOCKED,+1 202 555 0101
alice,vip,+442079460000,"Gran, in London"
# a comment line

provider:acme,blocked,19005550120
`
	s := storetest.Fixture(t)
	rep, err := s.Import(strings.NewReader(good), store.ImportOptions{Actor: store.Operator})
	if err != nil {
		t.Fatal(err)
	}
	want := store.ImportReport{Rows: 4, Valid: 4, Added: 4, Lists: 3}
	if fmt.Sprint(rep) != fmt.Sprint(want) {
		t.Fatalf("report = %+v, want %+v", rep, want)
	}
	alice, _ := s.Subscriber(mustNum(storetest.AliceNumber))
	if !s.InBlocked(alice.ID, mustNum("+12025550100")) || !s.InBlocked(alice.ID, mustNum("+12025550101")) ||
		!s.InVIP(alice.ID, mustNum("+442079460000")) || !s.ProviderBlocked(alice.Provider, mustNum("+19005550120")) {
		t.Fatal("imported rows not visible")
	}
	page, _ := s.ListEntries(store.Operator, storetest.Alice, store.ListVIP, 0, 10)
	if len(page.Entries) != 2 || page.Entries[1].Note != "Gran, in London" {
		t.Fatalf("VIP list = %+v", page.Entries)
	}
	// Importing the same again: all updates, nothing added.
	rep, _ = s.Import(strings.NewReader(good), store.ImportOptions{Actor: store.Operator})
	if rep.Added != 0 || rep.Updated != 4 {
		t.Fatalf("re-import report = %+v", rep)
	}
}

func TestImportBadRows(t *testing.T) {
	input := strings.Join([]string{
		"alice,blocked,2025550100",                             // 1 ok
		"alice,blocked",                                        // 2 too few fields
		"alice,blocked,2025550101,note,extra",                  // 3 too many
		"nobody,blocked,2025550102",                            // 4 unknown owner
		"+12025550199,blocked,2025550102",                      // 5 number without subscriber
		"alice,grey,2025550103",                                // 6 bad list
		"provider:acme,vip,2025550104",                         // 7 ok: provider VIP
		"alice,blocked,call me",                                // 8 bad number
		"alice,blocked,555-0100",                               // 9 too short
		`alice,blocked,2025550105,"bad "quote"`,                // 10 CSV syntax
		"alice,blocked,2025550106",                             // 11 ok after a syntax error
		"carol,blocked,2025550107",                             // 12 fine for the operator
		"provider:nope,blocked,2025550108",                     // 13 unknown provider
		"alice,blocked,2025550109," + strings.Repeat("x", 300), // 14 note too long
		"bob,vip,2025550110",                                   // 15 ok
	}, "\n") + "\n"
	s := storetest.Fixture(t)
	rep, err := s.Import(strings.NewReader(input), store.ImportOptions{Actor: store.Operator})
	if err != nil {
		t.Fatal(err)
	}
	wantLines := []int{2, 3, 4, 5, 6, 8, 9, 10, 13, 14}
	if rep.Rows != 15 || rep.Valid != 5 || rep.Added != 5 || rep.ErrorCount != len(wantLines) {
		t.Fatalf("report = %+v", rep)
	}
	wantSay := map[int]string{2: "2 fields", 3: "5 fields", 4: "nobody", 5: "+12025550199", 6: "grey",
		8: "call me", 9: "7 digits", 10: "quote", 13: "nope", 14: "longer than"}
	for i, e := range rep.Errors {
		if e.Line != wantLines[i] {
			t.Errorf("error %d at line %d, want %d (%s)", i, e.Line, wantLines[i], e.Err)
			continue
		}
		if !strings.Contains(e.Error(), wantSay[e.Line]) || !strings.HasPrefix(e.Error(), fmt.Sprintf("line %d: ", e.Line)) {
			t.Errorf("line %d error %q does not say %q", e.Line, e.Error(), wantSay[e.Line])
		}
	}
	alice, _ := s.Subscriber(mustNum(storetest.AliceNumber))
	if !s.InBlocked(alice.ID, mustNum("+12025550100")) || !s.InBlocked(alice.ID, mustNum("+12025550106")) {
		t.Fatal("good rows around bad ones not imported")
	}

	// Bounded error list, full count.
	var many strings.Builder
	for i := 0; i < 500; i++ {
		many.WriteString("alice,blocked,bad\n")
	}
	rep, _ = s.Import(strings.NewReader(many.String()), store.ImportOptions{Actor: store.Operator, MaxErrors: 10})
	if rep.ErrorCount != 500 || len(rep.Errors) != 10 || rep.Errors[9].Line != 10 {
		t.Fatalf("bounded errors: count %d, kept %d", rep.ErrorCount, len(rep.Errors))
	}
}

func TestImportActors(t *testing.T) {
	input := "alice,blocked,2025550100\nbob,blocked,2025550101\ncarol,blocked,2025550102\nprovider:acme,blocked,2025550103\n"
	tests := []struct {
		actor     store.Actor
		valid     int
		errLines  []int
		errSubstr string
	}{
		{store.Operator, 4, nil, ""},
		// Another tenant's owner reads as one that does not exist.
		{store.ProviderActor(storetest.Provider), 3, []int{3}, "not found"},
		{store.SubscriberActor(storetest.Alice), 1, []int{2, 3, 4}, "not found"},
		{store.SubscriberActor(storetest.Carol), 0, []int{1, 2, 3, 4}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.actor.String(), func(t *testing.T) {
			s := storetest.Fixture(t)
			rep, err := s.Import(strings.NewReader(input), store.ImportOptions{Actor: tc.actor})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Valid != tc.valid || rep.ErrorCount != len(tc.errLines) {
				t.Fatalf("report %+v", rep)
			}
			for i, e := range rep.Errors {
				if e.Line != tc.errLines[i] || !strings.Contains(e.Err, tc.errSubstr) {
					t.Errorf("error %v", e)
				}
			}
		})
	}
	s := storetest.Fixture(t)
	if _, err := s.Import(strings.NewReader(input), store.ImportOptions{}); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("import without actor: %v", err)
	}
}

func TestImportReplaceDryRunDuplicates(t *testing.T) {
	s := storetest.Fixture(t)
	alice, _ := s.Subscriber(mustNum(storetest.AliceNumber))
	if _, err := s.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{"+12025550100", "+12025550101"}, "old"); err != nil {
		t.Fatal(err)
	}
	in := "alice,blocked,2025550101,new\nalice,blocked,2025550102\nalice,blocked,+12025550102,last wins\n"
	rep, err := s.Import(strings.NewReader(in), store.ImportOptions{Actor: store.Operator, Replace: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Added != 1 || rep.Updated != 1 || rep.Removed != 2 || rep.Duplicates != 1 {
		t.Fatalf("dry-run report %+v", rep)
	}
	if !s.InBlocked(alice.ID, mustNum("+12025550100")) || s.InBlocked(alice.ID, mustNum("+12025550102")) {
		t.Fatal("dry run changed the store")
	}
	rep2, err := s.Import(strings.NewReader(in), store.ImportOptions{Actor: store.Operator, Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rep2) != fmt.Sprint(rep) {
		t.Fatalf("real report %+v differs from dry run %+v", rep2, rep)
	}
	page, _ := s.ListEntries(store.Operator, storetest.Alice, store.ListBlocked, 0, 10)
	got := fmt.Sprint(page.Entries)
	if want := "[{+12025550101 new} {+12025550102 last wins}]"; got != want {
		t.Fatalf("replaced list = %s, want %s", got, want)
	}
	// VIP list untouched by a Blocked replace.
	if !s.InVIP(alice.ID, mustNum(storetest.VIPCaller)) {
		t.Fatal("replace touched another list")
	}
}

func TestImportProgress(t *testing.T) {
	s := storetest.Fixture(t)
	var b strings.Builder
	const rows = 40000 // > 1 MiB: several read reports
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&b, "alice,blocked,+1202%07d\n", 2000000+i)
	}
	var phases []store.ImportPhase
	var lastRead, readTotal int64
	rep, err := s.Import(strings.NewReader(b.String()), store.ImportOptions{Actor: store.Operator, Size: int64(b.Len()),
		Progress: func(p store.ImportProgress) {
			if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
				phases = append(phases, p.Phase)
			}
			if p.Phase == store.PhaseRead {
				if p.Done < lastRead {
					t.Errorf("read progress went back: %d < %d", p.Done, lastRead)
				}
				lastRead, readTotal = p.Done, p.Total
			}
		}})
	if err != nil || rep.Added != rows {
		t.Fatalf("import: %+v %v", rep, err)
	}
	if fmt.Sprint(phases) != "[reading writing committing]" {
		t.Fatalf("phases %v", phases)
	}
	if lastRead != int64(b.Len()) || readTotal != int64(b.Len()) {
		t.Fatalf("read progress ended at %d/%d, want %d", lastRead, readTotal, b.Len())
	}
}

func TestExportRoundTrip(t *testing.T) {
	src := storetest.Fixture(t)
	var b strings.Builder
	for i := 0; i < 3000; i++ {
		note := ""
		if i%5 == 0 {
			note = fmt.Sprintf(`"note ""%d"", with comma"`, i)
		}
		fmt.Fprintf(&b, "bob,blocked,+1202555%04d,%s\n", i, note)
	}
	if _, err := src.Import(strings.NewReader(b.String()), store.ImportOptions{Actor: store.Operator}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	n, err := src.Export(&out, store.ExportOptions{})
	if err != nil || n != 3003 {
		t.Fatalf("export %d rows, %v", n, err)
	}
	// Same tenants, empty lists: the export re-imports to the same lists.
	dst := storetest.Open(t)
	if err := storetest.Populate(dst); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.Import(bytes.NewReader(out.Bytes()), store.ImportOptions{Actor: store.Operator, Replace: true}); err != nil {
		t.Fatal(err)
	}
	if again := exportAll(t, dst); again != out.String() {
		t.Fatalf("round trip differs")
	}
	// Filters.
	var one bytes.Buffer
	if n, err := src.Export(&one, store.ExportOptions{Owner: storetest.Alice, List: store.ListVIP}); err != nil || n != 1 {
		t.Fatalf("filtered export %d %v", n, err)
	}
	if want := "owner,list,number,note\n" + storetest.AliceNumber + ",vip," + storetest.VIPCaller + ",mum\n"; one.String() != want {
		t.Fatalf("filtered export %q, want %q", one.String(), want)
	}
	var prov bytes.Buffer
	if n, err := src.Export(&prov, store.ExportOptions{Owner: "provider:" + storetest.Provider}); err != nil || n != 1 {
		t.Fatalf("provider export %d %v: %s", n, err, prov.String())
	}
}

func FuzzImport(f *testing.F) {
	seeds := []string{
		"owner,list,number,note\nalice,blocked,2025550100,hi\n",
		"+13035550100,vip,+442079460000\n",
		"provider:acme,blocked,19005550120\n",
		"alice,blocked,\"2025550100\"\n",
		"alice,blocked,2025550100,\"multi\nline\"\n",
		"\ufeffowner,list,number\nbob,VIP,(202) 555-0101\n",
		"alice,blocked\n,,,,\n\"\n",
		"# comment\n\n alice , blocked , 2025550100 \n",
		"carol,blocked,2025550100\nalice,grey,1\n",
		"alice,blocked,2025550100,\x00\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	s := storetest.Fixture(f)
	f.Fuzz(func(t *testing.T, in string) {
		rep, err := s.Import(strings.NewReader(in), store.ImportOptions{Actor: store.Operator, MaxErrors: 5})
		if err != nil {
			t.Fatalf("import error (not a row error): %v", err)
		}
		if rep.Valid+rep.ErrorCount != rep.Rows || len(rep.Errors) > 5 || rep.Added+rep.Updated+rep.Duplicates != rep.Valid {
			t.Fatalf("inconsistent report %+v", rep)
		}
		for _, e := range rep.Errors {
			if e.Line < 1 || e.Err == "" {
				t.Fatalf("row error without line or reason: %+v", e)
			}
		}
		// Every valid row landed: validating the same input again finds
		// each of them already on its list.
		again, err := s.Import(strings.NewReader(in), store.ImportOptions{Actor: store.Operator, DryRun: true})
		if err != nil || again.Valid != rep.Valid || again.Added != 0 || again.Updated+again.Duplicates != rep.Valid {
			t.Fatalf("rows did not land: first %+v, again %+v, %v", rep, again, err)
		}
	})
}

// TestImportReplaceWithBadRowsChangesNothing: a --replace import with any
// bad row changes nothing, and says so (Refused), where it used to replace
// each list by its good rows, dropping the entries the bad rows named. A
// merge import of the same file still imports the good rows.
func TestImportReplaceWithBadRowsChangesNothing(t *testing.T) {
	in := "alice,blocked,2025550101\n" +
		"alice,blocked,202555O100\n" + // line 2: a typo for +12025550100, on the list now
		"bob,vip,2025550110\n"
	want := func(t *testing.T, s *store.Store, owner string, list store.List, nums ...string) {
		t.Helper()
		page, err := s.ListEntries(store.Operator, owner, list, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range page.Entries {
			got = append(got, e.Number.String())
		}
		if fmt.Sprint(got) != fmt.Sprint(nums) {
			t.Errorf("%s %s list = %v, want %v", owner, list, got, nums)
		}
	}
	for _, dry := range []bool{true, false} {
		s := storetest.Fixture(t)
		if _, err := s.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{"+12025550100", "+12025550101"}, ""); err != nil {
			t.Fatal(err)
		}
		rep, err := s.Import(strings.NewReader(in), store.ImportOptions{Actor: store.Operator, Replace: true, DryRun: dry})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Refused || rep.ErrorCount != 1 || rep.Errors[0].Line != 2 || rep.Valid != 2 ||
			rep.Added != 0 || rep.Updated != 0 || rep.Removed != 0 || rep.Lists != 0 {
			t.Fatalf("dry run %v: report %+v", dry, rep)
		}
		want(t, s, storetest.Alice, store.ListBlocked, "+12025550100", "+12025550101", storetest.BlockedCaller)
		want(t, s, storetest.Bob, store.ListVIP)
	}

	// Merging the same file imports its good rows.
	s := storetest.Fixture(t)
	rep, err := s.Import(strings.NewReader(in), store.ImportOptions{Actor: store.Operator})
	if err != nil || rep.Refused || rep.Added != 2 || rep.ErrorCount != 1 {
		t.Fatalf("merge: %v %+v", err, rep)
	}
	want(t, s, storetest.Bob, store.ListVIP, "+12025550110")

	// A row turning bad while the replace is written (its owner deleted
	// between reading and writing) refuses it too.
	s = storetest.Fixture(t)
	in = "alice,blocked,2025550101\nbob,vip,2025550110\n"
	rep, err = s.Import(strings.NewReader(in), store.ImportOptions{Actor: store.Operator, Replace: true,
		Progress: func(p store.ImportProgress) {
			if p.Phase == store.PhaseRead && p.Done == p.Total {
				if err := s.DeleteSubscriber(store.Operator, storetest.Bob); err != nil {
					t.Error(err)
				}
			}
		}})
	if err != nil || !rep.Refused || rep.ErrorCount != 1 || !strings.Contains(rep.Errors[0].Err, "deleted during the import") {
		t.Fatalf("owner deleted meanwhile: %v %+v", err, rep)
	}
	want(t, s, storetest.Alice, store.ListBlocked, storetest.BlockedCaller)
}
