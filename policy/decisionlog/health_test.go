//go:build linux

package decisionlog

import (
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"callgate/policy"
)

// lines is a slog destination that keeps each line.
type lines struct {
	mu sync.Mutex
	l  []string
}

func (w *lines) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.l = append(w.l, strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// count returns how many lines contain every one of subs.
func (w *lines) count(subs ...string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
next:
	for _, l := range w.l {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue next
			}
		}
		n++
	}
	return n
}

// fileSizeLimit makes the process unable to grow any file past n bytes
// (RLIMIT_FSIZE: writes and truncates beyond it fail with EFBIG, as a full
// disk fails them with ENOSPC) until the returned func restores the limit.
// Nothing else in this package's tests runs meanwhile (no t.Parallel).
func fileSizeLimit(t *testing.T, n int64) func() {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = uint64(n)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	restore := func() {
		once.Do(func() {
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Cleanup(restore)
	return restore
}

// TestDiskFull: when the file cannot grow, the log keeps answering
// searches, says it is failing (Health, Stats), logs the error once and
// then at most once a minute, recovers by itself, and closes cleanly even
// while failing. (It used to fail Flush and so the daemon's `log search`,
// log an ERROR line per commit, and fail Close, making serve exit 1.)
func TestDiskFull(t *testing.T) {
	var now atomic.Int64
	now.Store(t0.Add(time.Hour).UnixNano())
	logs := &lines{}
	opts := testOptions()
	opts.Now = func() time.Time { return time.Unix(0, now.Load()) }
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	l := openTest(t, opts)
	rec := func(i int) Record {
		return Record{Time: t0.Add(time.Duration(i) * time.Millisecond), Calling: nC, Called: nA, Action: policy.ActionAllow, Peer: strings.Repeat("p", 40)}
	}
	for i := range 100 {
		l.Record(rec(i))
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := l.Health(); err != nil {
		t.Fatalf("healthy log: Health = %v", err)
	}

	// The disk is full: the file cannot grow beyond its size now.
	fi, err := os.Stat(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	restore := fileSizeLimit(t, fi.Size())
	i := 100
	fillUntilFailing := func() {
		t.Helper()
		for range 1000 {
			for range 500 {
				l.Record(rec(i))
				i++
			}
			if err := l.Flush(); err != nil {
				t.Fatalf("Flush while the disk is full: %v", err)
			}
			if l.Stats().Failing {
				return
			}
		}
		t.Fatal("the log never failed to grow its file")
	}
	fillUntilFailing()
	// A batch bigger than the one that failed cannot fit either: nothing
	// was freed since (bbolt reuses the pages of earlier commits, so a
	// small commit might still fit in the file as it is).
	const bigBatch = 1000

	herr := l.Health()
	// (bbolt does not wrap the EFBIG: only its text says "file too large".)
	if !errors.Is(herr, ErrWriteFailing) || !strings.Contains(herr.Error(), "file too large") ||
		!strings.Contains(herr.Error(), "calls are still answered") || !strings.Contains(herr.Error(), l.Path()) {
		t.Fatalf("Health while failing = %v", herr)
	}
	st := l.Stats()
	if st.WriteFailures != 1 || st.Failed == 0 || !st.Failing {
		t.Fatalf("stats while failing: %+v", st)
	}
	// Reads work: everything written before is found, through the index
	// and through the segments.
	if got := mustSearch(t, l, Query{Number: nA, Limit: 100_000}); uint64(len(got)) != st.Written {
		t.Fatalf("search by number while failing: %d records, %d written", len(got), st.Written)
	}
	if got := mustSearch(t, l, Query{Limit: 10}); len(got) != 10 {
		t.Fatalf("search by time while failing: %d records", len(got))
	}

	failBatch := func() {
		t.Helper()
		for range bigBatch {
			l.Record(rec(i))
			i++
		}
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// More failures at the same minute: no more ERROR lines.
	for range 20 {
		failBatch()
	}
	if n := l.Stats().WriteFailures; n != 21 {
		t.Fatalf("write failures %d, want 21", n)
	}
	if n := logs.count("level=ERROR"); n != 1 {
		t.Fatalf("%d ERROR lines for 21 failed commits in a minute, want 1:\n%s", n, strings.Join(logs.l, "\n"))
	}
	// A minute later: one more line, with what happened meanwhile.
	now.Add(int64(time.Minute))
	failBatch()
	if n := logs.count("level=ERROR", "still cannot write", "failed_commits=21"); n != 1 {
		t.Fatalf("no rate-limited summary line:\n%s", strings.Join(logs.l, "\n"))
	}

	// Space again: the next commit works and says so.
	restore()
	l.Record(rec(i))
	i++
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := l.Health(); err != nil || l.Stats().Failing {
		t.Fatalf("after recovery: Health %v, stats %+v", err, l.Stats())
	}
	if n := logs.count("level=WARN", "writing again", "decisions_lost="); n != 1 {
		t.Fatalf("no recovery line:\n%s", strings.Join(logs.l, "\n"))
	}
	if got := mustSearch(t, l, Query{Limit: 1}); len(got) != 1 || !got[0].Time.Equal(rec(i-1).Time) {
		t.Fatalf("newest record after recovery: %v", got)
	}

	// Full again, and the daemon stops: Close writes what it can, counts
	// the rest and returns nil (serve exits 0).
	fi, err = os.Stat(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	fileSizeLimit(t, fi.Size())
	fillUntilFailing()
	for range bigBatch {
		l.Record(rec(i))
		i++
	}
	failedBefore := l.Stats().Failed
	if err := l.Close(); err != nil {
		t.Fatalf("Close while the disk is full: %v", err)
	}
	st = l.Stats()
	if st.Failed != failedBefore+bigBatch || st.Recorded != st.Written+st.Failed+st.Dropped {
		t.Fatalf("stats after Close: %+v (failed before %d)", st, failedBefore)
	}
	if err := l.Health(); !errors.Is(err, ErrWriteFailing) {
		t.Fatalf("Health after a failed final commit: %v", err)
	}
	if n := logs.count("level=ERROR", "closed while failing"); n != 1 {
		t.Fatalf("no closing line:\n%s", strings.Join(logs.l, "\n"))
	}
}
