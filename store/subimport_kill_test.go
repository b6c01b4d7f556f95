package store_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/store"
)

// The subscriber import's kill test: a child process (this test binary
// again) imports subscribers into a store holding earlier subscribers and
// is SIGKILLed while it stages them, or as it commits. The store must then
// open with the earlier subscribers intact and the import absent (or, if
// the commit landed, complete), and garbage collection must leave the key
// space exactly as the index sees it; the same file then imports.
const (
	subKillEnvPath = "CALLGATE_SUBKILL_CHILD_STORE"
	subKillEnvMode = "CALLGATE_SUBKILL_CHILD_MODE"
)

func subKillRows() int {
	if raceEnabled || testing.Short() {
		return 30000
	}
	return 100000
}

func TestKillDuringSubscriberImport(t *testing.T) {
	if path := os.Getenv(subKillEnvPath); path != "" {
		subKillChild(path, os.Getenv(subKillEnvMode))
		return
	}
	for _, mode := range []string{"staging", "committing"} {
		t.Run(mode, func(t *testing.T) { subKillOnce(t, mode) })
	}
}

// subKillChild imports and says how far it got: STAGED after the first
// batch is written (and in staging mode waits there to be killed),
// COMMITTING when every batch is written.
func subKillChild(path, mode string) {
	s, err := store.Open(path, store.Options{GCInterval: -1})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	in := subscriberCSV(subKillRows())
	out := bufio.NewWriter(os.Stdout)
	say := func(s string) { out.WriteString(s + "\n"); out.Flush() }
	staged := false
	rep, err := s.ImportSubscribers(bytes.NewReader(in), store.SubscriberImportOptions{Actor: store.Operator, Size: int64(len(in)),
		Progress: func(p store.ImportProgress) {
			switch {
			case p.Phase == store.PhaseWrite && p.Done > 0 && !staged:
				staged = true
				say("STAGED")
				if mode == "staging" {
					time.Sleep(time.Minute) // killed here
				}
			case p.Phase == store.PhaseCommit:
				say("COMMITTING")
			}
		}})
	if err != nil || rep.Refused {
		say(fmt.Sprintf("ERR %v %+v", err, rep.Errors))
		os.Exit(2)
	}
	say("DONE")
	os.Exit(0)
}

func subKillOnce(t *testing.T, mode string) {
	path := filepath.Join(t.TempDir(), "callgate.db")
	s, err := store.Open(path, store.Options{GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	bulkProvider(t, s)
	// Earlier subscribers, outside the file's numbers.
	for i := range 3 {
		if _, err := s.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: fmt.Sprintf("early%d", i), Provider: "bulk",
			Numbers: []string{fmt.Sprintf("+131229000%02d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	before := s.Counts()
	s.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringSubscriberImport$")
	cmd.Env = append(os.Environ(), subKillEnvPath+"="+path, subKillEnvMode+"="+mode)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	trigger := map[string]string{"staging": "STAGED", "committing": "COMMITTING"}[mode]
	lines := bufio.NewScanner(stdout)
	var seen []string
	for lines.Scan() {
		seen = append(seen, lines.Text())
		if lines.Text() == trigger || lines.Text() == "DONE" || strings.HasPrefix(lines.Text(), "ERR") {
			break
		}
	}
	cmd.Process.Kill() // SIGKILL: no deferred code, no Close in the child
	cmd.Wait()
	if len(seen) == 0 || strings.HasPrefix(seen[len(seen)-1], "ERR") {
		t.Fatalf("child did not get to the import: %v", seen)
	}

	s, err = store.Open(path, store.Options{GCInterval: -1})
	if err != nil {
		t.Fatalf("store does not open after the kill: %v", err)
	}
	defer s.Close()
	rows := subKillRows()
	after := s.Counts()
	switch after.Subscribers {
	case before.Subscribers:
		t.Logf("%s: child said %v; the import is absent", mode, seen)
		if _, ok := s.Subscriber(mustNum("+13122000000")); ok {
			t.Fatal("a subscriber of the killed import is in the index")
		}
		// What it staged is in the key space until collected.
		if recs, _, _, _ := store.SubscriberKeys(s); recs <= before.Subscribers {
			t.Fatalf("%d records after the kill: the child staged nothing?", recs)
		}
	case before.Subscribers + rows:
		t.Logf("%s: child said %v; the import had committed: complete", mode, seen)
		if mode == "staging" {
			t.Fatal("import visible although the child was killed while staging")
		}
		if v, ok := s.Subscriber(mustNum(fmt.Sprintf("+1312%07d", 2000000+rows-1))); !ok || v.Name != fmt.Sprintf("s%07d", rows-1) {
			t.Fatalf("last subscriber of the import: %+v %v", v, ok)
		}
	default:
		t.Fatalf("half an import visible: %d subscribers, before %d, the import %d", after.Subscribers, before.Subscribers, rows)
	}
	for i := range 3 {
		if _, err := s.GetSubscriber(store.Operator, fmt.Sprintf("early%d", i)); err != nil {
			t.Fatalf("an earlier subscriber lost: %v", err)
		}
	}
	st, err := s.CollectGarbage()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("garbage collected: %+v", st)
	keysMatchIndex(t, s)
	if after.Subscribers == before.Subscribers {
		in := subscriberCSV(rows)
		if rep, err := s.ImportSubscribers(bytes.NewReader(in), store.SubscriberImportOptions{Actor: store.Operator}); err != nil || rep.Written != rows {
			t.Fatalf("the file again after the kill: %+v %v", rep, err)
		}
	}
}
