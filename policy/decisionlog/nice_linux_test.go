package decisionlog

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"callgate/policy"
)

// TestWriterNice: with WriterNice the writer runs on a thread of its own
// at that nice value, and records are written as usual.
func TestWriterNice(t *testing.T) {
	opts := testOptions()
	opts.WriterNice = 7
	l := writeOne(t, opts)
	// The writer's own thread: one at nice 7 that is not this test's.
	if l.sched.tid == 0 || l.sched.tid == unix.Gettid() {
		t.Fatalf("writer thread %d (this test's is %d)", l.sched.tid, unix.Gettid())
	}
	if p, nice := threadSched(t, l.sched.tid); p != unix.SCHED_NORMAL || nice != 7 {
		t.Errorf("writer thread under policy %d at nice %d, want normal at 7", p, nice)
	}
}

// writeOne opens a log with opts and writes one record to it.
func writeOne(t *testing.T, opts Options) *Log {
	t.Helper()
	l := openTest(t, opts)
	l.Record(Record{Calling: nC, Called: nA, Action: policy.ActionAllow})
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := l.Stats().Written; got != 1 {
		t.Errorf("written %d, want 1", got)
	}
	return l
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
	if err := setThreadSched(0, false, 9); err != nil {
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
