package decisionlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/e164"
	"callgate/policy"
	"callgate/store"
)

var (
	t0     = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	nA     = e164.MustParse("+13035550101")
	nB     = e164.MustParse("+13035550102")
	nC     = e164.MustParse("+12125550001")
	nD     = e164.MustParse("+12125550002")
	nOrig  = e164.MustParse("+14155550100")
	rtEast = store.Route{Name: "east", RoutingNumber: e164.MustParse("+13035550000"), SIPURI: "sip:screen@b2bua.example"}
)

// sample is a record with every field set.
func sample() Record {
	var tr policy.Trace
	tr.Add(policy.RuleSubscriber, policy.OutcomeYes)
	tr.Add(policy.RuleVIP, policy.OutcomeNo)
	tr.Add(policy.RuleUnknown, policy.OutcomeApply)
	tr.Add(policy.RuleRoute, policy.OutcomeYes)
	tr.Add(policy.RulePIN, policy.OutcomeYes)
	return Record{
		Time: t0, Origin: policy.OriginAIN, Peer: "1-2-3", Calling: nC, Called: nA, OriginalCalled: nOrig,
		Presentation: policy.PresentationRestricted, Attestation: policy.AttestationB,
		Reputation: policy.ReputationMedium, KeyMatch: policy.KeyMatched, FraudLocked: true,
		Action: policy.ActionVoicemail, Subscriber: 42, Announcement: 7, PINAllowed: true,
		Voicemail: "sip:vm@vm.example", Route: rtEast, Trace: tr, Latency: 1234 * time.Nanosecond,
	}
}

// testOptions use a clock fixed an hour after t0, so the default MaxAge
// does not prune the test records whatever today's date is.
func testOptions() Options {
	return Options{NoSync: true, FlushInterval: time.Hour, BatchSize: 1000,
		Now: func() time.Time { return t0.Add(time.Hour) }}
}

// ageOptions are testOptions with only an age bound of an hour, on a clock
// the test moves through now (which starts at t0).
func ageOptions(now *atomic.Int64) Options {
	now.Store(t0.UnixNano())
	opts := testOptions()
	opts.MaxRecords = -1
	opts.MaxAge = time.Hour
	opts.Now = func() time.Time { return time.Unix(0, now.Load()) }
	return opts
}

func openTest(t *testing.T, opts Options) *Log {
	t.Helper()
	l, err := Open(filepath.Join(t.TempDir(), FileName), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// waitFor polls cond; it is a deadlock guard, not a timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func mustSearch(t *testing.T, l *Log, q Query) []Record {
	t.Helper()
	recs, err := l.Search(q)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestRecordEncoding(t *testing.T) {
	r := sample()
	b := appendRecord(nil, &r)
	var got Record
	if err := decodeRecord(b, &got); err != nil {
		t.Fatal(err)
	}
	got.Time = r.Time // the time lives in the key
	if got != r {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
	}
	calling, called, orig, err := decodeNumbers(b)
	if err != nil || calling != nC || called != nA || orig != nOrig {
		t.Fatalf("decodeNumbers = %v %v %v %v", calling, called, orig, err)
	}
	// Every truncation is an error, never a panic or a silent success.
	for i := 0; i < len(b); i++ {
		if err := decodeRecord(b[:i], &got); !errors.Is(err, errCorrupt) {
			t.Fatalf("truncated to %d bytes: err = %v", i, err)
		}
	}
	if err := decodeRecord(append(b[:len(b):len(b)], 0), &got); err == nil {
		t.Fatal("trailing byte accepted")
	}
	bad := append([]byte(nil), b...)
	bad[0] = 9
	if err := decodeRecord(bad, &got); err == nil || !strings.Contains(err.Error(), "version 9") {
		t.Fatalf("wrong version: err = %v", err)
	}
	// Out-of-range enums and unknown trace rules are damage.
	for _, mut := range []func(*Record){
		func(r *Record) { r.Action = 99 },
		func(r *Record) { r.Presentation = 7 },
		func(r *Record) { r.Trace.Add(0, policy.OutcomeYes) },
		func(r *Record) { r.Trace.Add(policy.RuleVIP, 77) },
	} {
		bad := sample()
		mut(&bad)
		if err := decodeRecord(appendRecord(nil, &bad), &got); !errors.Is(err, errCorrupt) {
			t.Fatalf("invalid value accepted: %+v (err %v)", bad, err)
		}
	}
	// Over-long strings are cut to maxString, not stored whole.
	r.Peer = strings.Repeat("p", 3*maxString)
	if err := decodeRecord(appendRecord(nil, &r), &got); err != nil || len(got.Peer) != maxString {
		t.Fatalf("long peer: len %d err %v", len(got.Peer), err)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	r := sample()
	f.Add(appendRecord(nil, &r))
	var empty Record
	f.Add(appendRecord(nil, &empty))
	f.Add([]byte{recordVersion})
	f.Add([]byte{recordVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		if err := decodeRecord(b, &r); err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes' meaning.
		var back Record
		if err := decodeRecord(appendRecord(nil, &r), &back); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if back != r {
			t.Fatalf("round trip changed %+v to %+v", r, back)
		}
		_ = r.String()
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("decoded record does not render as JSON: %v", err)
		}
	})
}

func TestBatching(t *testing.T) {
	opts := testOptions()
	opts.BatchSize = 10
	l := openTest(t, opts)
	var commits atomic.Int32
	l.beforeCommit = func() { commits.Add(1) }
	for i := range 25 {
		l.Record(Record{Time: t0.Add(time.Duration(i) * time.Second), Calling: nC, Called: nA, Action: policy.ActionAllow})
	}
	// Two full batches are written at once; the last 5 wait for the
	// (hour-long) interval or a flush.
	waitFor(t, "two batches", func() bool { return l.Stats().Written == 20 })
	waitFor(t, "queue drained", func() bool { return l.Stats().Queued == 0 })
	if s := l.Stats(); s.Written != 20 || s.Recorded != 25 {
		t.Fatalf("before flush: %+v", s)
	}
	if n := len(mustSearch(t, l, Query{Limit: 100})); n != 20 {
		t.Fatalf("searchable before flush = %d, want 20", n)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.Written != 25 || s.Stored != 25 || s.Dropped != 0 {
		t.Fatalf("after flush: %+v", s)
	}
	if c := commits.Load(); c != 3 {
		t.Fatalf("commits = %d, want 3 (10 + 10 + 5)", c)
	}
	// A flush with nothing queued commits nothing.
	if err := l.Flush(); err != nil || commits.Load() != 3 {
		t.Fatalf("empty flush: err %v commits %d", err, commits.Load())
	}
}

func TestFlushInterval(t *testing.T) {
	opts := testOptions()
	opts.FlushInterval = 10 * time.Millisecond
	l := openTest(t, opts)
	for range 3 {
		l.Record(Record{Calling: nC, Called: nA, Action: policy.ActionAllow})
	}
	waitFor(t, "interval flush", func() bool { return l.Stats().Written == 3 })
	recs := mustSearch(t, l, Query{})
	if len(recs) != 3 || recs[0].Time.IsZero() {
		t.Fatalf("records = %+v", recs)
	}
}

// countIndex counts the records and the index entries that point at a
// stored record (entries of pruned records may linger in a block until the
// whole block goes; searches skip them).
func countIndex(t *testing.T, l *Log) (recs, index int) {
	t.Helper()
	err := l.db.View(func(tx *bolt.Tx) error {
		seg := tx.Bucket(bucketSeg)
		err := seg.ForEach(func(k, _ []byte) error {
			s, err := readSegment(seg, k)
			recs += s.n
			return err
		})
		if err != nil {
			return err
		}
		f := fetcher{seg: seg, c: seg.Cursor()}
		idx := tx.Bucket(bucketIdx)
		return idx.ForEach(func(k, _ []byte) error {
			bl, err := readBlock(idx, k)
			if err != nil {
				return err
			}
			for i := range bl.len() {
				e := bl.at(i)
				if _, ok := f.get(e.ts, e.seq); ok {
					index++
				}
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs, index
}

// segmentSizes returns the record count of each segment, oldest first.
func segmentSizes(t *testing.T, l *Log) []int {
	t.Helper()
	var sizes []int
	err := l.db.View(func(tx *bolt.Tx) error {
		seg := tx.Bucket(bucketSeg)
		return seg.ForEach(func(k, _ []byte) error {
			s, err := readSegment(seg, k)
			sizes = append(sizes, s.n)
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return sizes
}

func TestPruneMaxRecords(t *testing.T) {
	opts := testOptions()
	opts.BatchSize = 10
	opts.MaxRecords = 50
	opts.MaxAge = -1
	l := openTest(t, opts)
	for i := range 120 {
		// Calling number differs per record so each record's index entries
		// can be checked.
		l.Record(Record{Time: t0.Add(time.Duration(i) * time.Second), Calling: e164.Number(uint64(nC) + uint64(i)),
			Called: nA, Action: policy.ActionAllow})
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	s := l.Stats()
	if s.Stored != 50 || s.Pruned != 70 || s.Written != 120 {
		t.Fatalf("stats = %+v", s)
	}
	recs := mustSearch(t, l, Query{Limit: 1000})
	if len(recs) != 50 || !recs[0].Time.Equal(t0.Add(119*time.Second)) || !recs[49].Time.Equal(t0.Add(70*time.Second)) {
		t.Fatalf("kept %d records, newest %v oldest %v", len(recs), recs[0].Time, recs[len(recs)-1].Time)
	}
	// The oldest record's calling number is gone from the index too.
	if got := mustSearch(t, l, Query{Number: nC}); len(got) != 0 {
		t.Fatalf("pruned number still found: %d records", len(got))
	}
	if got := mustSearch(t, l, Query{Number: nA, Limit: 1000}); len(got) != 50 {
		t.Fatalf("called number has %d records, want 50", len(got))
	}
	if nrec, nidx := countIndex(t, l); nrec != 50 || nidx != 100 {
		t.Fatalf("buckets hold %d records and %d index entries, want 50 and 100", nrec, nidx)
	}
	// Each commit of 10 is one segment; pruning took 7 whole ones.
	if sizes := segmentSizes(t, l); !slices.Equal(sizes, []int{10, 10, 10, 10, 10}) {
		t.Fatalf("segments %v, want 5 of 10", sizes)
	}
	// The count survives a reopen.
	path := l.Path()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if s := l2.Stats(); s.Stored != 50 {
		t.Fatalf("reopened Stored = %d", s.Stored)
	}
}

func TestPruneMaxAge(t *testing.T) {
	var now atomic.Int64
	l := openTest(t, ageOptions(&now))
	// One commit, and so one segment, per record: the age bound prunes
	// whole segments (TestPruneAgeWholeSegments).
	for _, age := range []time.Duration{3 * time.Hour, 2 * time.Hour, 30 * time.Minute, 0} {
		l.Record(Record{Time: t0.Add(-age), Calling: nC, Called: nA, Action: policy.ActionBlock})
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if s := l.Stats(); s.Stored != 2 || s.Pruned != 2 {
		t.Fatalf("stats = %+v", s)
	}
	// Time passes with no new call: the writer's tick (here Flush) prunes.
	now.Store(t0.Add(45 * time.Minute).UnixNano())
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	recs := mustSearch(t, l, Query{})
	if len(recs) != 1 || !recs[0].Time.Equal(t0) {
		t.Fatalf("after aging: %+v", recs)
	}
	if _, nidx := countIndex(t, l); nidx != 2 {
		t.Fatalf("index entries = %d, want 2", nidx)
	}
}

func TestPruneChunked(t *testing.T) {
	// More excess than one transaction prunes: the rest goes on the
	// following commits, whole segments each, and the log still converges
	// to its bound.
	var now atomic.Int64
	l := openTest(t, ageOptions(&now))
	perChunk := l.pruneChunk() / 1000 // segments of 1000 one transaction prunes
	total := (perChunk + 2) * 1000
	for i := range total {
		l.Record(Record{Time: t0.Add(time.Duration(i) * time.Millisecond), Called: nA, Action: policy.ActionAllow})
		if i%1000 == 999 {
			if err := l.Flush(); err != nil { // one segment of 1000 per commit
				t.Fatal(err)
			}
		}
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	now.Store(t0.Add(2 * time.Hour).UnixNano())
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.Stored != 2000 || s.Pruned != uint64(perChunk*1000) {
		t.Fatalf("after one pruning commit: %+v, want 2000 stored", s)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.Stored != 0 || s.Pruned != uint64(total) {
		t.Fatalf("after two: %+v", s)
	}
	if nrec, nidx := countIndex(t, l); nrec != 0 || nidx != 0 {
		t.Fatalf("%d records and %d index entries left", nrec, nidx)
	}
	if n := checkIndex(t, l); n != 0 {
		t.Fatalf("%d index blocks left with no record", n)
	}
}

func TestSearch(t *testing.T) {
	l := openTest(t, testOptions())
	recs := []Record{
		{Time: t0, Calling: nC, Called: nA, Action: policy.ActionAllow},
		{Time: t0.Add(1 * time.Minute), Calling: nD, Called: nA, Action: policy.ActionBlock},
		{Time: t0.Add(2 * time.Minute), Calling: nC, Called: nB, Action: policy.ActionScreen},
		{Time: t0.Add(3 * time.Minute), Called: nB, Presentation: policy.PresentationRestricted, Action: policy.ActionChallenge},
		{Time: t0.Add(4 * time.Minute), Calling: nD, Called: nB, OriginalCalled: nA, Action: policy.ActionBlock},
		{Time: t0.Add(5 * time.Minute), Calling: nA, Called: nA, Action: policy.ActionAllow}, // same number twice
		{Time: t0.Add(6 * time.Minute), Calling: nC, Called: nD},                             // a call to the IVR: no action
	}
	// Written out of order on purpose: order comes from the time.
	for _, i := range []int{3, 0, 6, 5, 1, 4, 2} {
		l.Record(recs[i])
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	times := func(rs []Record) []int {
		var out []int
		for _, r := range rs {
			out = append(out, int(r.Time.Sub(t0)/time.Minute))
		}
		return out
	}
	tests := []struct {
		name string
		q    Query
		want []int
	}{
		{"all", Query{}, []int{6, 5, 4, 3, 2, 1, 0}},
		{"limit", Query{Limit: 2}, []int{6, 5}},
		{"from", Query{From: t0.Add(3 * time.Minute)}, []int{6, 5, 4, 3}},
		{"to is exclusive", Query{To: t0.Add(2 * time.Minute)}, []int{1, 0}},
		{"range", Query{From: t0.Add(time.Minute), To: t0.Add(4 * time.Minute)}, []int{3, 2, 1}},
		{"empty range", Query{From: t0.Add(4 * time.Minute), To: t0.Add(4 * time.Minute)}, nil},
		{"action", Query{Action: policy.ActionBlock}, []int{4, 1}},
		{"called or original called", Query{Number: nA}, []int{5, 4, 1, 0}},
		{"calling", Query{Number: nC}, []int{6, 2, 0}},
		{"no action (the IVR's calls)", Query{NoAction: true}, []int{6}},
		{"number and no action", Query{Number: nC, NoAction: true}, []int{6}},
		{"number with no call without action", Query{Number: nA, NoAction: true}, nil},
		{"number and range", Query{Number: nA, From: t0.Add(time.Minute), To: t0.Add(5 * time.Minute)}, []int{4, 1}},
		{"number and limit", Query{Number: nB, Limit: 2}, []int{4, 3}},
		{"number and action", Query{Number: nD, Action: policy.ActionBlock}, []int{4, 1}},
		{"unknown number", Query{Number: e164.MustParse("+15555550100")}, nil},
		{"number before any", Query{Number: nA, To: t0}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := times(mustSearch(t, l, tc.q))
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	if _, err := l.Search(Query{Action: policy.ActionBlock, NoAction: true}); err == nil || !strings.Contains(err.Error(), "set one of Action and NoAction") {
		t.Errorf("Action and NoAction at once: %v", err)
	}
	// The full record comes back.
	l.Record(sample())
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	got := mustSearch(t, l, Query{Number: nOrig})
	if len(got) != 1 {
		t.Fatalf("sample: %d records", len(got))
	}
	want := sample()
	if !got[0].Time.Equal(want.Time) {
		t.Fatalf("time %v, want %v", got[0].Time, want.Time)
	}
	got[0].Time = want.Time
	if got[0] != want {
		t.Fatalf("record:\n got %+v\nwant %+v", got[0], want)
	}
}

func TestCloseFlushesAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", FileName) // directory created
	l, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		l.Record(Record{Time: t0.Add(time.Duration(i)), Calling: nC, Called: nA, Action: policy.ActionAllow})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if s := l.Stats(); s.Written != 10 {
		t.Fatalf("written at close = %d", s.Written)
	}
	l.Record(Record{Called: nA}) // after close: dropped, no panic
	if s := l.Stats(); s.Dropped != 1 {
		t.Fatalf("dropped after close = %d", s.Dropped)
	}
	if err := l.Flush(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close = %v", err)
	}

	// Reopen: everything is there and new records do not collide with old
	// keys even at the same nanosecond.
	l, err = Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		l.Record(Record{Time: t0.Add(time.Duration(i)), Calling: nC, Called: nA, Action: policy.ActionBlock})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if got := mustSearch(t, ro, Query{Number: nA, Limit: 100}); len(got) != 20 {
		t.Fatalf("after reopen: %d records, want 20", len(got))
	}
	if s := ro.Stats(); s.Stored != 20 {
		t.Fatalf("read-only Stored = %d", s.Stored)
	}
	ro.Record(Record{Called: nA}) // read-only: dropped
	if err := ro.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestNoBlockWhenWriterSlow(t *testing.T) {
	opts := testOptions()
	opts.QueueSize = 16
	opts.BatchSize = 4
	l := openTest(t, opts)
	release := make(chan struct{})
	var once sync.Once
	l.beforeCommit = func() { <-release }
	defer once.Do(func() { close(release) })

	const n = 1000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			l.Record(Record{Time: t0.Add(time.Duration(i)), Calling: nC, Called: nA, Action: policy.ActionAllow})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Record blocked behind a stuck writer")
	}
	s := l.Stats()
	if s.Recorded+s.Dropped != n || s.Dropped == 0 || s.Written != 0 {
		t.Fatalf("with the writer stuck: %+v", s)
	}
	// At most the queue plus the batch in the writer's hands were taken.
	if s.Recorded > uint64(opts.QueueSize+opts.BatchSize) {
		t.Fatalf("recorded %d with queue %d and batch %d", s.Recorded, opts.QueueSize, opts.BatchSize)
	}
	once.Do(func() { close(release) })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.Written != s.Recorded {
		t.Fatalf("after release: %+v", s)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "x.db"), Options{MaxRecords: -1, MaxAge: -1}); err == nil {
		t.Fatal("unbounded log accepted")
	}
	if _, err := OpenReadOnly(filepath.Join(dir, "missing.db")); err == nil {
		t.Fatal("missing file opened read-only")
	}
	// A newer schema is refused with a message naming both versions.
	newer := filepath.Join(dir, "newer.db")
	db, err := bolt.Open(newer, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Update(func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucket(bucketMeta)
		_, _ = tx.CreateBucket(bucketRec)
		_, _ = tx.CreateBucket(bucketNum)
		return b.Put(metaVersion, []byte{schemaVersion + 1})
	})
	_ = db.Close()
	for _, open := range []func() error{
		func() error { _, err := Open(newer, testOptions()); return err },
		func() error { _, err := OpenReadOnly(newer); return err },
	} {
		if err := open(); err == nil || !strings.Contains(err.Error(), "newer than this build") {
			t.Fatalf("newer schema: err = %v", err)
		}
	}
	// A bbolt file that is not a decision log.
	other := filepath.Join(dir, "other.db")
	db, _ = bolt.Open(other, 0o600, nil)
	_ = db.Close()
	if _, err := OpenReadOnly(other); err == nil || !strings.Contains(err.Error(), "not a decision log") {
		t.Fatalf("foreign file: err = %v", err)
	}
	// The file is locked while a writer holds it.
	path := filepath.Join(dir, FileName)
	l, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := OpenReadOnly(path); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("second open: err = %v", err)
	}
}

func TestWriteFailureCounted(t *testing.T) {
	opts := testOptions()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	l := openTest(t, opts)
	// Pull the file out from under the writer: every commit now fails.
	if err := l.db.Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		l.Record(Record{Called: nA, Action: policy.ActionAllow})
	}
	// Flush is a barrier, not a health check: the failure shows in Health
	// and Stats.
	if err := l.Flush(); err != nil {
		t.Fatalf("Flush after a failed commit: %v", err)
	}
	if s := l.Stats(); s.Failed != 3 || s.Written != 0 || s.WriteFailures != 1 || !s.Failing {
		t.Fatalf("stats = %+v", s)
	}
	if err := l.Health(); !errors.Is(err, ErrWriteFailing) || !errors.Is(err, bolt.ErrDatabaseNotOpen) {
		t.Fatalf("Health = %v", err)
	}
	if _, err := l.Search(Query{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Search on a closed file: %v", err)
	}
}

func TestNilLog(t *testing.T) {
	var l *Log
	l.Record(sample()) // no panic: logging is optional
	if err := l.Health(); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s != (Stats{}) {
		t.Fatal(s)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPathNextTo(t *testing.T) {
	if got := PathNextTo("/var/lib/callgate/callgate.db"); got != "/var/lib/callgate/decisions.db" {
		t.Fatal(got)
	}
	if got := PathNextTo("callgate.db"); got != "decisions.db" {
		t.Fatal(got)
	}
}

type fixedDecider struct{ d policy.Decision }

func (f fixedDecider) Decide(context.Context, policy.Call) policy.Decision { return f.d }

func TestWrap(t *testing.T) {
	l := openTest(t, testOptions())
	var tr policy.Trace
	tr.Add(policy.RuleSubscriber, policy.OutcomeYes)
	tr.Add(policy.RuleBlocked, policy.OutcomeYes)
	want := policy.Decision{Action: policy.ActionBlockWithAnnouncement, Subscriber: 3, Announcement: 9, Trace: tr}
	d := Wrap(fixedDecider{want}, l)
	call := policy.Call{Calling: nD, Called: nA, Origin: policy.OriginSIP, Peer: "10.0.0.1:5060"}
	if got := d.Decide(context.Background(), call); got != want {
		t.Fatalf("Wrap changed the decision: %+v", got)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	recs := mustSearch(t, l, Query{Number: nD})
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	if r.Call() != call || r.Decision() != want || r.Time.IsZero() || r.Latency < 0 {
		t.Fatalf("record = %+v", r)
	}
}

// TestWrapOrigination: an outgoing call decided by the engine through Wrap
// is in the log as an origination, with the originating chain's trace, in
// the binary and both rendered forms.
func TestWrapOrigination(t *testing.T) {
	l := openTest(t, testOptions())
	d := Wrap(policy.New(nil), l)
	call := policy.Call{Calling: nD, Called: e164.MustParse("+442079460000"), Origin: policy.OriginAIN,
		Direction: policy.DirectionOriginating, FraudLocked: true, Peer: "1-2-3"}
	dec := d.Decide(context.Background(), call)
	if dec.Action != policy.ActionBlock {
		t.Fatalf("locked line to an international number: %v", dec.String())
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	recs := mustSearch(t, l, Query{Number: nD})
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	if r.Direction != policy.DirectionOriginating || r.Call() != call || r.Decision() != dec {
		t.Fatalf("record = %+v", r)
	}
	if s := r.String(); !strings.Contains(s, " ain originating 1-2-3 ") || !strings.Contains(s, "[line=no fraud=yes destination=yes]") {
		t.Errorf("text: %s", s)
	}
	b, err := json.Marshal(r)
	if err != nil || !strings.Contains(string(b), `"direction":"originating"`) {
		t.Errorf("json: %s %v", b, err)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil || back.Direction != policy.DirectionOriginating {
		t.Errorf("json round trip: %+v %v", back, err)
	}
	// A record of a terminating call says nothing about direction.
	term := sample()
	if b, _ := json.Marshal(term); strings.Contains(string(b), "direction") || strings.Contains(term.String(), "originating") {
		t.Errorf("terminating record mentions a direction: %s", b)
	}
}

func TestFormat(t *testing.T) {
	r := sample()
	const wantText = "2026-05-01T12:00:00.000Z ain 1-2-3 +12125550001 -> +13035550101 forwarded-from=+14155550100 " +
		"restricted attestation=B reputation=medium key=matched fraud-locked : voicemail subscriber=42 " +
		"announcement=7 voicemail=sip:vm@vm.example route=east(+13035550000 sip:screen@b2bua.example) pin " +
		"[subscriber=yes vip=no unknown=apply route=yes pin=yes] 1.2µs"
	if got := r.String(); got != wantText {
		t.Fatalf("text:\n got %s\nwant %s", got, wantText)
	}
	anon := Record{Time: t0, Called: nA, Action: policy.ActionBlock, Latency: 850}
	if got, want := anon.String(), "2026-05-01T12:00:00.000Z unknown - anonymous -> +13035550101 : block [] 850ns"; got != want {
		t.Fatalf("anonymous text:\n got %s\nwant %s", got, want)
	}

	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"time":"2026-05-01T12:00:00Z","origin":"ain","peer":"1-2-3","calling":"+12125550001",` +
		`"called":"+13035550101","original_called":"+14155550100","presentation":"restricted","attestation":"B",` +
		`"reputation":"medium","key_match":"matched","fraud_locked":true,"action":"voicemail","subscriber":42,` +
		`"announcement":7,"pin_allowed":true,"voicemail":"sip:vm@vm.example",` +
		`"route":{"name":"east","routing_number":"+13035550000","sip_uri":"sip:screen@b2bua.example"},` +
		`"trace":[{"rule":"subscriber","outcome":"yes"},{"rule":"vip","outcome":"no"},{"rule":"unknown","outcome":"apply"},` +
		`{"rule":"route","outcome":"yes"},{"rule":"pin","outcome":"yes"}],"latency_ns":1234}`
	if string(b) != wantJSON {
		t.Fatalf("json:\n got %s\nwant %s", b, wantJSON)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Time.Equal(r.Time) {
		t.Fatal("time changed")
	}
	back.Time = r.Time
	if back != r {
		t.Fatalf("json round trip:\n got %+v\nwant %+v", back, r)
	}
	if err := json.Unmarshal([]byte(`{"action":"sideways"}`), &back); err == nil {
		t.Fatal("bad action accepted")
	}

	var buf bytes.Buffer
	if err := WriteText(&buf, []Record{r, anon}); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n"); len(lines) != 2 || lines[0] != wantText {
		t.Fatalf("WriteText = %q", buf.String())
	}
	buf.Reset()
	if err := WriteJSON(&buf, nil); err != nil || strings.TrimSpace(buf.String()) != "[]" {
		t.Fatalf("WriteJSON(nil) = %q, %v", buf.String(), err)
	}
	buf.Reset()
	if err := WriteJSON(&buf, []Record{r}); err != nil {
		t.Fatal(err)
	}
	var arr []Record
	if err := json.Unmarshal(buf.Bytes(), &arr); err != nil || len(arr) != 1 || arr[0].Subscriber != 42 {
		t.Fatalf("WriteJSON round trip: %v %+v", err, arr)
	}
}

// TestRecordAllocs pins the hot path at zero allocations: Record, and the
// Wrap decorator around a decider. The writer is kept idle (no batch fills,
// hour-long interval) so only the caller's allocations are counted.
func TestRecordAllocs(t *testing.T) {
	opts := testOptions()
	opts.QueueSize = 4096
	opts.BatchSize = 1 << 20
	l := openTest(t, opts)
	r := sample()
	if n := testing.AllocsPerRun(1000, func() { l.Record(r) }); n != 0 {
		t.Errorf("Record allocates %.1f times", n)
	}
	s := sample()
	d := Wrap(fixedDecider{s.Decision()}, l)
	c := s.Call()
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() { _ = d.Decide(ctx, c) }); n != 0 {
		t.Errorf("wrapped Decide allocates %.1f times", n)
	}
	// Full queue: the drop path does not allocate either.
	for l.Stats().Dropped == 0 {
		l.Record(r)
	}
	if n := testing.AllocsPerRun(1000, func() { l.Record(r) }); n != 0 {
		t.Errorf("dropping Record allocates %.1f times", n)
	}
}

// TestRecordSetWritesEveryField: RecordDecision builds its record in a
// queue slot over whatever the slot held, so set must write every field:
// from a record with every field set, the record of an empty call and
// decision is the zero Record.
func TestRecordSetWritesEveryField(t *testing.T) {
	var r Record
	v := reflect.ValueOf(&r).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("x")
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f.SetInt(1)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(1)
		case reflect.Struct, reflect.Array:
			r2 := sample() // a struct field: a sample's is not zero
			r2.Lookup = policy.ReputationLookup{Why: 1}
			f.Set(reflect.ValueOf(&r2).Elem().Field(i))
		default:
			t.Fatalf("field %s of kind %s: teach the test to set it", v.Type().Field(i).Name, f.Kind())
		}
		if f.IsZero() {
			t.Fatalf("field %s not set by the test", v.Type().Field(i).Name)
		}
	}
	r.set(time.Time{}, &policy.Call{}, &policy.Decision{}, 0)
	if !reflect.ValueOf(r).IsZero() {
		t.Errorf("set left fields from before: %+v", r)
	}
}
