package decisionlog

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"callgate/policy"
)

// threadNices returns the nice value of each thread of this process
// (/proc/self/task/TID/stat, field 19).
func threadNices(t *testing.T) map[string]int {
	t.Helper()
	dirs, err := filepath.Glob("/proc/self/task/*/stat")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue // the thread ended
		}
		// The command name (field 2) may hold spaces: count from its ')'.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		n, err := strconv.Atoi(f[16]) // field 19 of the line
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		out[d] = n
	}
	return out
}

// TestWriterNice: with WriterNice the writer runs on a thread of its own
// at that nice value, and records are written as usual; without it no
// thread of the process is reniced.
func TestWriterNice(t *testing.T) {
	for _, n := range threadNices(t) {
		if n == 7 {
			t.Fatal("a thread already runs at nice 7")
		}
	}
	opts := testOptions()
	opts.WriterNice = 7
	l := openTest(t, opts)
	at7 := func() int {
		found := 0
		for _, n := range threadNices(t) {
			if n == 7 {
				found++
			}
		}
		return found
	}
	waitFor(t, "a thread at nice 7", func() bool { return at7() > 0 })
	if n := at7(); n != 1 {
		t.Fatalf("%d threads at nice 7, want the writer's alone", n)
	}
	l.Record(Record{Calling: nC, Called: nA, Action: policy.ActionAllow})
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := l.Stats().Written; got != 1 {
		t.Errorf("written %d, want 1", got)
	}
}

// TestWriterNiceLeavesRealTime: in a process under a real-time policy
// (chrt), the writer's thread goes back to the normal policy at its nice.
func TestWriterNiceLeavesRealTime(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Priority: 1}, 0); err != nil {
		t.Skipf("cannot take a real-time policy here (%v): nothing to leave", err)
	}
	defer unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL}, 0)
	if err := setThreadNice(9); err != nil {
		t.Fatal(err)
	}
	a, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if a.Policy != unix.SCHED_NORMAL || a.Nice != 9 {
		t.Errorf("policy %d nice %d, want normal (0) at 9", a.Policy, a.Nice)
	}
}
