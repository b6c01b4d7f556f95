package decisionlog

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"callgate/policy"
)

// threadSched returns thread tid's policy and nice value.
func threadSched(t *testing.T, tid int) (policy uint32, nice int32) {
	t.Helper()
	a, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		t.Fatalf("thread %d: %v", tid, err)
	}
	return a.Policy, a.Nice
}

// TestWriterIdle: with WriterIdle the writer's thread runs under
// SCHED_IDLE, once the CPUs have had room for crowdHold, when the process
// may bring it back (as root it may), and at WriterNice when it may not;
// records are written either way.
func TestWriterIdle(t *testing.T) {
	allowed := leaveIdleAllowed(8)
	opts := testOptions()
	fakePressure(t)
	opts.WriterNice, opts.WriterIdle = 8, true
	l := writeOne(t, opts)
	if allowed != nil {
		t.Logf("the writer cannot run idle here: %v", allowed)
		if p, _ := threadSched(t, l.sched.tid); p == unix.SCHED_IDLE || l.Stats().WriterIdle {
			t.Error("writer under SCHED_IDLE though it could not come back")
		}
		return
	}
	// Idle once the CPUs have shown room for crowdHold.
	waitFor(t, "the writer under SCHED_IDLE", func() bool { return l.Stats().WriterIdle })
	if p, _ := threadSched(t, l.sched.tid); p != unix.SCHED_IDLE {
		t.Errorf("writer thread %d under policy %d, want SCHED_IDLE", l.sched.tid, p)
	}
}

// TestWriterRaisedWhenBehind: a writer that falls a quarter of the queue
// behind is raised to WriterNice by Record, and lowers itself back to
// SCHED_IDLE once it has caught up.
func TestWriterRaisedWhenBehind(t *testing.T) {
	if err := leaveIdleAllowed(8); err != nil {
		t.Fatalf("this test runs as root (make test does): %v", err)
	}
	opts := testOptions()
	fakePressure(t)
	opts.WriterNice, opts.WriterIdle = 8, true
	opts.QueueSize, opts.BatchSize = 64, 4
	l := openTest(t, opts)
	waitFor(t, "the writer under SCHED_IDLE", func() bool { return l.Stats().WriterIdle })

	// Hold the writer in its first commit, as a starved one would be.
	entered, release := holdFirstCommit(t, l)
	rec := func(n int) {
		for range n {
			l.Record(Record{Calling: nC, Called: nA, Action: policy.ActionAllow})
		}
	}
	rec(4) // a batch: the writer takes it and blocks in its commit
	<-entered
	rec(12) // 12 waiting: under a quarter of the queue
	if st := l.Stats(); !st.WriterIdle || st.WriterRaised != 0 {
		t.Fatalf("raised with %d waiting: %+v", st.Queued, st)
	}
	rec(4) // 16 waiting, a quarter of 64, at a kick
	st := l.Stats()
	if st.WriterIdle || st.WriterRaised != 1 {
		t.Fatalf("not raised with %d waiting: %+v", st.Queued, st)
	}
	if p, nice := threadSched(t, l.sched.tid); p != unix.SCHED_NORMAL || nice != 8 {
		t.Errorf("raised writer under policy %d at nice %d, want normal at 8", p, nice)
	}
	release()
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the writer back under SCHED_IDLE", func() bool { return l.Stats().WriterIdle })
	if p, _ := threadSched(t, l.sched.tid); p != unix.SCHED_IDLE {
		t.Errorf("caught-up writer under policy %d, want SCHED_IDLE", p)
	}
	if st := l.Stats(); st.Written != 20 || st.Dropped != 0 || st.WriterRaised != 1 {
		t.Errorf("after catching up: %+v", st)
	}
}

// TestWriterRaisedWhenStarved: an idle writer that gets no CPU (held in a
// commit here, as a starved one is mid-commit) while a record waits to be
// written is raised by the watchdog after two flush intervals, though the
// queue is far from a quarter full (empty: the record is in the commit's
// batch), and lowers itself again once it runs.
func TestWriterRaisedWhenStarved(t *testing.T) {
	if err := leaveIdleAllowed(8); err != nil {
		t.Fatalf("this test runs as root (make test does): %v", err)
	}
	opts := testOptions()
	fakePressure(t)
	opts.WriterNice, opts.WriterIdle = 8, true
	opts.FlushInterval = 5 * time.Millisecond
	l := openTest(t, opts)
	waitFor(t, "the writer under SCHED_IDLE", func() bool { return l.Stats().WriterIdle })
	entered, release := holdFirstCommit(t, l)
	rec := func() { l.Record(Record{Calling: nC, Called: nA, Action: policy.ActionAllow}) }
	rec() // the next tick commits it, and the commit holds the writer
	<-entered
	// The queue is empty now, the record in the held commit's batch: it
	// still waits to be written.
	waitFor(t, "the starved writer raised", func() bool { return l.Stats().WriterRaised == 1 })
	if p, nice := threadSched(t, l.sched.tid); p != unix.SCHED_NORMAL || nice != 8 {
		t.Errorf("raised writer under policy %d at nice %d, want normal at 8", p, nice)
	}
	release()
	waitFor(t, "the writer back under SCHED_IDLE", func() bool { return l.Stats().WriterIdle })
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.Written != 1 || st.Dropped != 0 {
		t.Errorf("after the writer ran again: %+v", st)
	}
}

// holdFirstCommit makes l's writer wait in its next commit until release
// is called (at the latest when the test ends, before l is closed).
// entered is closed once the writer waits there.
func holdFirstCommit(t *testing.T, l *Log) (entered <-chan struct{}, release func()) {
	in, out := make(chan struct{}), make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(out) }) }
	t.Cleanup(release)
	first := true
	l.beforeCommit = func() {
		if first {
			first = false
			close(in)
			<-out
		}
	}
	return in, release
}

// pressureFile is a stand-in for /proc/pressure/cpu whose "some" total the
// test moves on.
type pressureFile struct {
	t     *testing.T
	path  string
	mu    sync.Mutex
	total uint64
}

// fakePressure points the log at a pressure file that shows no CPU
// pressure until the test adds some (the real one depends on the rest of
// the machine, busy with other tests).
func fakePressure(t *testing.T) *pressureFile {
	t.Helper()
	f := &pressureFile{t: t, path: filepath.Join(t.TempDir(), "cpu")}
	f.add(0)
	old, oldCheck, oldHold := cpuPressurePath, crowdCheck, crowdHold
	cpuPressurePath, crowdCheck, crowdHold = f.path, 5*time.Millisecond, 50*time.Millisecond
	t.Cleanup(func() { cpuPressurePath, crowdCheck, crowdHold = old, oldCheck, oldHold })
	return f
}

// add moves the total on by d of waiting.
func (f *pressureFile) add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.total += uint64(d / time.Microsecond)
	text := fmt.Sprintf("some avg10=0.00 avg60=0.00 avg300=0.00 total=%d\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", f.total)
	if err := os.WriteFile(f.path, []byte(text), 0o600); err != nil {
		f.t.Error(err)
	}
}

// TestWriterLeavesIdleWhenCPUsCrowded: while some task waits for a CPU
// half the time or more (other work crowds the machine, and an idle
// thread would starve, holding every garbage collection), the writer runs
// at WriterNice; it goes idle again once the pressure has stayed low for
// crowdHold.
func TestWriterLeavesIdleWhenCPUsCrowded(t *testing.T) {
	if err := leaveIdleAllowed(8); err != nil {
		t.Fatalf("this test runs as root (make test does): %v", err)
	}
	psi := fakePressure(t)
	crowdHold = 100 * time.Millisecond
	opts := testOptions()
	opts.WriterNice, opts.WriterIdle = 8, true
	opts.FlushInterval = 20 * time.Millisecond
	l := openTest(t, opts)
	waitFor(t, "the writer under SCHED_IDLE", func() bool { return l.Stats().WriterIdle })

	// Crowded: the total grows as fast as the clock.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for last := time.Now(); ; {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			now := time.Now()
			psi.add(now.Sub(last))
			last = now
		}
	}()
	waitFor(t, "the writer raised on a crowded machine", func() bool { return !l.Stats().WriterIdle })
	if p, nice := threadSched(t, l.sched.tid); p != unix.SCHED_NORMAL || nice != 8 {
		t.Errorf("writer under policy %d at nice %d, want normal at 8", p, nice)
	}
	// It stays raised while crowded, though it keeps up.
	l.Record(Record{Calling: nC, Called: nA, Action: policy.ActionAllow})
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * opts.FlushInterval)
	if l.Stats().WriterIdle {
		t.Fatal("the writer went idle again while the machine was crowded")
	}
	close(stop)
	<-done
	// Calm: idle again after crowdHold, at its next round.
	calmFrom := time.Now()
	waitFor(t, "the writer idle again", func() bool { return l.Stats().WriterIdle })
	if d := time.Since(calmFrom); d < crowdHold {
		t.Errorf("idle again after %v of calm, before crowdHold (%v)", d, crowdHold)
	}
}
