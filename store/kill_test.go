package store_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"callgate/store"

	bolt "go.etcd.io/bbolt"
)

// The kill test re-executes this test binary as a child that imports a
// 1,000,000-row CSV into a store holding earlier data, and SIGKILLs it in
// the middle. The child reports its progress on stdout; the parent kills at
// the chosen moment, then checks the file opens cleanly, the interrupted
// import is entirely absent or entirely present, the earlier data is
// intact, and what the import staged is collected as garbage.
const (
	killEnvPath = "CALLGATE_KILL_CHILD_STORE"
	killEnvMode = "CALLGATE_KILL_CHILD_MODE"
	killSubs    = 100
)

func killRows() int {
	if raceEnabled || testing.Short() {
		return 100000 // the race detector makes a million rows take minutes
	}
	return 1000000
}

// killCSV is the import the child runs: rows spread over killSubs
// subscribers, numbers disjoint from the earlier data.
func killCSV(rows int) []byte {
	b := make([]byte, 0, rows*30)
	per := rows / killSubs
	for i := 0; i < rows; i++ {
		b = append(b, "kill"...)
		b = append(b, byte('0'+i/per/100), byte('0'+i/per/10%10), byte('0'+i/per%10))
		b = append(b, ",blocked,+1212"...)
		b = strconv.AppendInt(b, int64(3000000+i%per), 10)
		b = append(b, '\n')
	}
	return b
}

func TestKillDuringImport(t *testing.T) {
	if path := os.Getenv(killEnvPath); path != "" {
		killChild(path, os.Getenv(killEnvMode))
		return
	}
	for _, mode := range []string{"mid-transaction", "during-commit"} {
		t.Run(mode, func(t *testing.T) { killOnce(t, mode) })
	}
}

// killChild runs in the child process: import and announce progress. In
// mid-transaction mode it stops inside the write transaction after every
// row is written (just before commit) and waits to be killed.
func killChild(path, mode string) {
	s, err := store.Open(path, store.Options{})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	csv := killCSV(killRows())
	out := bufio.NewWriter(os.Stdout)
	say := func(s string) { out.WriteString(s + "\n"); out.Flush() }
	writing := false
	_, err = s.Import(bytes.NewReader(csv), store.ImportOptions{Actor: store.Operator, Size: int64(len(csv)),
		Progress: func(p store.ImportProgress) {
			switch {
			case p.Phase == store.PhaseWrite && !writing:
				writing = true
				say("WRITING")
			case p.Phase == store.PhaseCommit:
				say("COMMITTING")
				if mode == "mid-transaction" {
					time.Sleep(time.Minute) // killed here
				}
			}
		}})
	if err != nil {
		say("ERR " + err.Error())
		os.Exit(2)
	}
	say("DONE")
	s.Close()
	os.Exit(0)
}

func killOnce(t *testing.T, mode string) {
	path := filepath.Join(t.TempDir(), "callgate.db")
	// Earlier data: tenants, a first import and single edits, all committed
	// with fsync.
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateProvider(store.Operator, store.ProviderSpec{Name: "kp"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AllocateNumbers(store.Operator, "kp", mustRange(t, "+13125550000..+13125550999")); err != nil {
		t.Fatal(err)
	}
	err = s.BulkLoad(func(l *store.BulkLoader) error {
		for i := 0; i < killSubs; i++ {
			if _, err := l.CreateSubscriber(store.SubscriberSpec{Name: fmt.Sprintf("kill%03d", i), Provider: "kp",
				Numbers: []string{fmt.Sprintf("+1312555%04d", i)}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var before strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&before, "kill%03d,blocked,+1646%07d,earlier %d\n", i%killSubs, 2000000+i, i)
	}
	if rep, err := s.Import(strings.NewReader(before.String()), store.ImportOptions{Actor: store.Operator}); err != nil || rep.Added != 20000 {
		t.Fatalf("earlier import: %+v %v", rep, err)
	}
	if _, err := s.AddToList(store.Operator, "kill007", store.ListVIP, []string{"+14155550100"}, "single edit"); err != nil {
		t.Fatal(err)
	}
	want := exportAll(t, s)
	s.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringImport$")
	cmd.Env = append(os.Environ(), killEnvPath+"="+path, killEnvMode+"="+mode)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	trigger := "WRITING"
	if mode == "mid-transaction" || mode == "during-commit" {
		trigger = "COMMITTING"
	}
	lines := bufio.NewScanner(stdout)
	var seen []string
	for lines.Scan() {
		seen = append(seen, lines.Text())
		if lines.Text() == trigger || lines.Text() == "DONE" || strings.HasPrefix(lines.Text(), "ERR") {
			break
		}
	}
	killedAt := time.Now()
	cmd.Process.Kill() // SIGKILL: no deferred code, no Close in the child
	cmd.Wait()
	if len(seen) == 0 || strings.HasPrefix(seen[len(seen)-1], "ERR") {
		t.Fatalf("child did not get to the import: %v", seen)
	}
	t.Logf("%s: child said %v, killed %v later", mode, seen, time.Since(killedAt))

	// The file must be consistent as bbolt sees it...
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("bbolt cannot open the file after the kill: %v", err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatalf("bbolt consistency check: %v", err)
	}
	// ...and open cleanly as a store.
	s, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("store does not open after the kill: %v", err)
	}
	defer s.Close()
	// Earlier data intact, notes included.
	have := make(map[string]bool)
	for _, line := range strings.Split(exportAll(t, s), "\n") {
		have[line] = true
	}
	for _, line := range strings.Split(strings.TrimSpace(want), "\n") {
		if !have[line] {
			t.Fatalf("earlier row lost after the kill: %q", line)
		}
	}
	// Interrupted import: none or all of it.
	rows := killRows()
	per := rows / killSubs
	present := 0
	for i := 0; i < killSubs; i++ {
		page, err := s.ListEntries(store.Operator, fmt.Sprintf("kill%03d", i), store.ListBlocked, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		present += page.Total - 20000/killSubs
	}
	switch {
	case present == 0:
		t.Logf("%s: interrupted import absent", mode)
	case present == rows:
		t.Logf("%s: import had committed before the kill: complete", mode)
		if mode == "mid-transaction" {
			t.Fatal("import visible although the child was killed before commit")
		}
		sub, _ := s.Subscriber(mustNum("+13125550042"))
		if !s.InBlocked(sub.ID, mustNum(fmt.Sprintf("+1212%07d", 3000000+per-1))) {
			t.Fatal("complete import not in the index")
		}
	default:
		t.Fatalf("half-written import visible: %d of %d rows", present, rows)
	}
	exportBefore := exportAll(t, s)
	// What the killed import staged is garbage, collected without touching
	// what is live.
	if _, err := s.CollectGarbage(); err != nil {
		t.Fatal(err)
	}
	if n, err := store.GarbageRows(s); err != nil || n != 0 {
		t.Fatalf("garbage left after collection: %d rows (%v)", n, err)
	}
	if after := exportAll(t, s); after != exportBefore {
		t.Fatal("garbage collection changed the lists")
	}
}
