package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"callgate/e164"
	"callgate/policy"
	"callgate/store"
)

const (
	testSubs   = 300
	testPerSub = 40
)

// openSmall builds a small data set with gendata itself and opens the store.
func openSmall(t *testing.T) (*store.Store, string) {
	t.Helper()
	dir := t.TempDir()
	o := options{storeDir: dir, kamailio: filepath.Join(dir, "htable.sqlite"), calls: filepath.Join(dir, "calls.csv"),
		subs: testSubs, perSub: testPerSub, nCalls: 3000, mix: defaultMix, seed: 7}
	if _, err := exec.LookPath("sqlite3"); err != nil {
		t.Logf("no sqlite3: Kamailio database not built (%v)", err)
		o.kamailio = ""
	}
	if err := run(o, io.Discard); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(filepath.Join(dir, "callgate.db"), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// The expected answer written into the injection file is what callgate's
// engine decides for that call over the generated store: the benchmark's
// answer check relies on it.
func TestCallsMatchEngine(t *testing.T) {
	s, dir := openSmall(t)
	eng := policy.New(s)
	calls := readCalls(t, filepath.Join(dir, "calls.csv"))
	if len(calls) != 3000 {
		t.Fatalf("%d calls, want 3000", len(calls))
	}
	seen := map[string]int{}
	for _, c := range calls {
		d := eng.Decide(context.Background(), policy.Call{Calling: c.calling, Called: c.called})
		var got string
		switch d.Action {
		case policy.ActionBlock:
			got = "603"
		case policy.ActionAllow:
			got = "302-continue"
		case policy.ActionScreen:
			got = "302-screen"
		default:
			got = d.Action.String()
		}
		if got != c.expect {
			t.Fatalf("call %s -> %s: engine says %s, injection file says %s", c.calling, c.called, got, c.expect)
		}
		seen[c.expect]++
	}
	// With the default mix every answer occurs, roughly in proportion.
	for ans, share := range map[string]float64{"603": 0.45, "302-continue": 0.30, "302-screen": 0.25} {
		if got := float64(seen[ans]) / float64(len(calls)); got < share-0.04 || got > share+0.04 {
			t.Errorf("answer %s: share %.3f, want about %.2f", ans, got, share)
		}
	}
}

// Every Kamailio row has its twin in the callgate store, and the counts are
// equal, so the two servers screen against the same data.
func TestKamailioTablesMatchStore(t *testing.T) {
	s, _ := openSmall(t)
	subIDs := map[string]uint32{}
	count := map[string]int{}
	for _, tb := range kamTables(testSubs, testPerSub) {
		err := tb.rows(func(key, value string) error {
			count[tb.name]++
			switch tb.name {
			case "sub":
				sv, ok := s.Subscriber(mustNum(t, key))
				if !ok {
					t.Fatalf("sub %s: not a subscriber in the store", key)
				}
				subIDs[key] = sv.ID
			case "vip", "blk":
				called, calling, _ := strings.Cut(key, ":")
				id, ok := subIDs[called]
				if !ok {
					t.Fatalf("%s %s: called number not in table sub", tb.name, key)
				}
				in := s.InBlocked
				if tb.name == "vip" {
					in = s.InVIP
				}
				if !in(id, mustNum(t, calling)) {
					t.Fatalf("%s %s: not on the subscriber's list in the store", tb.name, key)
				}
			case "pblk":
				_, calling, _ := strings.Cut(key, ":")
				sv, _ := s.Subscriber(mustNum(t, "+12122000000"))
				if !s.ProviderBlocked(sv.Provider, mustNum(t, calling)) {
					t.Fatalf("pblk %s: not on the provider's list in the store", key)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int{"sub": testSubs, "vip": testSubs, "blk": testSubs * testPerSub, "pblk": 1000}
	for name, n := range want {
		if count[name] != n {
			t.Errorf("table %s: %d rows, want %d", name, count[name], n)
		}
	}
}

func TestParseMix(t *testing.T) {
	w, err := parseMix("blocked=3, vip=1,blocked=2")
	if err != nil || w[kindBlocked] != 5 || w[kindVIP] != 1 || w[kindUnknown] != 0 {
		t.Fatalf("parseMix: %v %v", w, err)
	}
	for _, bad := range []string{"", "blocked", "blocked=-1", "bogus=1", "blocked=0,vip=0", "vip=x"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("parseMix(%q): no error", bad)
		}
	}
}

func TestWriteCallsDeterministic(t *testing.T) {
	mix, _ := parseMix(defaultMix)
	var a, b, c bytes.Buffer
	for _, x := range []struct {
		buf  *bytes.Buffer
		seed uint64
	}{{&a, 1}, {&b, 1}, {&c, 2}} {
		if err := writeCalls(x.buf, 500, 100, 10, mix, x.seed); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("same seed, different files")
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Error("different seeds, same file")
	}
	if err := writeCalls(io.Discard, 0, 100, 10, mix, 1); err == nil {
		t.Error("zero calls accepted")
	}
}

type call struct {
	calling, called e164.Number
	expect          string
}

func readCalls(t *testing.T, path string) []call {
	t.Helper()
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	if !sc.Scan() || sc.Text() != "SEQUENTIAL" {
		t.Fatalf("%s: first line %q, want SEQUENTIAL", path, sc.Text())
	}
	var calls []call
	for sc.Scan() {
		f := strings.Split(sc.Text(), ";")
		if len(f) != 3 {
			t.Fatalf("%s: line %q: want calling;called;expected", path, sc.Text())
		}
		calls = append(calls, call{mustNum(t, f[0]), mustNum(t, f[1]), f[2]})
	}
	return calls
}

func mustNum(t *testing.T, s string) e164.Number {
	t.Helper()
	n, err := e164.Parse(s)
	if err != nil {
		t.Fatalf("number %q: %v", s, err)
	}
	return n
}
