package fraud

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// cdrLine is a CDR line for a call from line to London, ending now.
func (f *fixture) cdrLine(line string, seconds int) string {
	start := f.clock.Now().Add(-time.Duration(seconds) * time.Second).UTC().Format(time.RFC3339)
	return fmt.Sprintf("%s,+442079460000,%s,%d\n", line, start, seconds)
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteString(s); err != nil {
		t.Fatal(err)
	}
	fh.Close()
}

// The tailer applies complete lines only, skips bad ones (counted),
// follows rotation and truncation, and resumes after a restart exactly
// where the stored checkpoint says: nothing is counted twice.
func TestTailFollowsTheFile(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(t.TempDir(), "cdr.csv")
	newTailer := func() *tailer { return &tailer{m: f.m, path: path, buf: make([]byte, 64)} }
	tl := newTailer()
	if err := tl.step(); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
	// Two calls a minute apart (the same line twice would be one CDR sent
	// twice: a duplicate).
	first := f.cdrLine("+13125550103", 60)
	f.clock.Advance(time.Minute)
	second := f.cdrLine("+13125550103", 60)
	appendFile(t, path, "calling,called,start,duration\n"+first+"not,a,cdr,line\n"+second[:20])
	if err := tl.step(); err != nil {
		t.Fatal(err)
	}
	if c := f.status(f.dave).Completed; c != Unit || f.m.Stats().Invalid != 1 {
		t.Fatalf("first read: %s, %+v", c, f.m.Stats())
	}
	// The rest of the unfinished line.
	appendFile(t, path, second[20:])
	tl.step()
	if c := f.status(f.dave).Completed; c != 2*Unit {
		t.Fatalf("completed line: %s", c)
	}
	f.recompute(t) // checkpoint: 2.00 and the offset, together
	f.clock.Advance(time.Minute)
	appendFile(t, path, f.cdrLine("+13125550103", 60))
	tl.step()
	tl.close()
	if c := f.status(f.dave).Completed; c != 3*Unit {
		t.Fatalf("third line: %s", c)
	}
	// Crash before the next checkpoint: the third line is read again,
	// once.
	f.open(t)
	tl = newTailer()
	tl.step()
	if c := f.status(f.dave).Completed; c != 3*Unit {
		t.Fatalf("after restart: %s, want 3.00 (the checkpoint's 2.00 and the line after it)", c)
	}
	// Rotation: the old file's last lines are read, then the new file.
	f.clock.Advance(time.Minute)
	appendFile(t, path, f.cdrLine("+13125550103", 60))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, f.cdrLine("+13125550105", 120))
	tl.step() // reads the old file's end, sees the new file
	tl.step() // reads the new file
	if d, e := f.status(f.dave).Completed, f.status(f.erin).Completed; d != 4*Unit || e != 2*Unit {
		t.Fatalf("after rotation: dave %s erin %s", d, e)
	}
	// Truncation: read again from the start.
	f.clock.Advance(time.Minute)
	if err := os.WriteFile(path, []byte(f.cdrLine("+13125550105", 60)), 0o600); err != nil {
		t.Fatal(err)
	}
	tl.step()
	tl.step()
	if e := f.status(f.erin).Completed; e != 3*Unit {
		t.Fatalf("after truncation: erin %s", e)
	}
	tl.close()
}

// Tail runs until its context ends.
func TestTailStops(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.m.Tail(ctx, filepath.Join(t.TempDir(), "none.csv"), time.Millisecond) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
