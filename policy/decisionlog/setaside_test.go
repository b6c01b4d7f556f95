package decisionlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
)

// reachablePages returns the file's page size and the pages its bucket
// trees use, the root bucket's first.
func reachablePages(t *testing.T, path string) (int64, []uint64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	w := fileWalk{f: f, size: fi.Size(), seen: map[uint64]struct{}{}}
	root, err := w.meta()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.bucket(root); err != nil {
		t.Fatalf("a sound file reads as damaged: %v", err)
	}
	pages := []uint64{root}
	for id := range w.seen {
		if id != root {
			pages = append(pages, id)
		}
	}
	slices.Sort(pages[1:])
	return w.pageSize, pages
}

// smashPage overwrites page id's header with what a torn write leaves.
func smashPage(t *testing.T, path string, pageSize int64, id uint64) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	binary.NativeEndian.PutUint64(b[int64(id)*pageSize:], 0x5a5a5a5a5a5a5a5a)
	binary.NativeEndian.PutUint16(b[int64(id)*pageSize+8:], 0x5a5a)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

// A damaged page made bbolt panic in the free-page walk of Open, in a
// goroutine of its own: the daemon could not start, and so answered no
// call, until someone moved the file. Open now sets it aside, intact, and
// starts a new log; a search of the damaged file returns an error.
func TestDamagedFileSetAside(t *testing.T) {
	for _, which := range []string{"root page", "last page"} {
		t.Run(which, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			opts := testOptions()
			var logs bytes.Buffer
			opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			l, err := Open(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5000 {
				l.Record(Record{Time: t0.Add(time.Duration(i) * time.Millisecond), Calling: nC, Called: nA, Action: policy.ActionBlock})
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			// A sound file is opened as it is.
			if l, err = Open(path, opts); err != nil {
				t.Fatal(err)
			}
			if l.SetAside() != "" || l.Stats().Stored != 5000 {
				t.Fatalf("sound file: set aside %q, %d stored", l.SetAside(), l.Stats().Stored)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}

			pageSize, pages := reachablePages(t, path)
			id := pages[0]
			if which == "last page" {
				id = pages[len(pages)-1]
			}
			damaged := smashPage(t, path, pageSize, id)

			// The CLI's read-only search reports the damage, not a panic.
			ro, err := OpenReadOnly(path)
			if err == nil {
				_, err = ro.Search(Query{Limit: 10000})
				_ = ro.Close()
			}
			if which == "root page" && !errors.Is(err, errDamaged) {
				t.Fatalf("read-only search of a damaged file: %v, want the damage reported", err)
			}

			l, err = Open(path, opts)
			if err != nil {
				t.Fatalf("Open of a damaged file: %v", err)
			}
			want := path + ".damaged-20260501T130000Z"
			if l.SetAside() != want || !l.Stats().SetAside {
				t.Fatalf("set aside as %q (stats %v), want %q", l.SetAside(), l.Stats().SetAside, want)
			}
			if got, err := os.ReadFile(want); err != nil || !bytes.Equal(got, damaged) {
				t.Fatalf("the file set aside is not the damaged file as it was (%v)", err)
			}
			if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), want) ||
				!strings.Contains(logs.String(), "file damaged") {
				t.Fatalf("log lacks an ERROR line naming the file set aside and the damage:\n%s", logs.String())
			}
			// The new log works.
			l.Record(Record{Time: t0.Add(time.Minute), Calling: nD, Called: nB, Action: policy.ActionAllow})
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := mustSearch(t, l, Query{}); len(got) != 1 || got[0].Calling != nD {
				t.Fatalf("new log: %v", got)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}

			// Damaged again at the same second: the first one set aside
			// is kept, the second takes the next name.
			_, pages = reachablePages(t, path)
			smashPage(t, path, pageSize, pages[0])
			if l, err = Open(path, opts); err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if l.SetAside() != want+".1" {
				t.Fatalf("second set aside as %q, want %q", l.SetAside(), want+".1")
			}
			if got, err := os.ReadFile(want); err != nil || !bytes.Equal(got, damaged) {
				t.Fatal("the first file set aside was overwritten")
			}
		})
	}
}

// checkFile takes every file the writer makes for sound (a false alarm
// would set a good log aside at every start): one with segments and
// index blocks in chunks, summaries in parts, and pruning behind it.
func TestCheckFileSound(t *testing.T) {
	opts := testOptions()
	opts.BatchSize = 8192
	opts.MaxRecords = 30_000
	opts.MaxAge = -1
	l := openTest(t, opts)
	for i := range 60_000 {
		r := sample()
		r.Time = t0.Add(time.Duration(i) * time.Millisecond)
		r.Calling = nC + e164.Number(i%3000)
		r.Called = nA + e164.Number(i%500)
		l.Record(r)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := checkFile(l.Path()); err != nil {
		t.Fatalf("open file: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := checkFile(l.Path()); err != nil {
		t.Fatalf("closed file: %v", err)
	}
}
