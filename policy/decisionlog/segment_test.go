package decisionlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/policy"
)

// buildSegment encodes recs as one segment value.
func buildSegment(recs []Record, prefixMax uint64) []byte {
	var sb segBuilder
	for i := range recs {
		sb.addRecord(nanos(recs[i].Time), &recs[i])
	}
	return sb.appendTo(nil, prefixMax)
}

func TestSegmentEncoding(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	recs := randomRecords(rng, 50)
	recs[7] = sample()
	v := buildSegment(recs, 0)
	s, err := parseSegment(100, v)
	if err != nil {
		t.Fatal(err)
	}
	minTS, maxTS := nanos(recs[0].Time), nanos(recs[0].Time)
	for _, r := range recs {
		minTS, maxTS = min(minTS, nanos(r.Time)), max(maxTS, nanos(r.Time))
	}
	if s.n != len(recs) || s.first != 100 || s.minTS != minTS || s.maxTS != maxTS || s.prefixMaxTS != maxTS {
		t.Fatalf("parsed n=%d first=%d times %d..%d prefix %d", s.n, s.first, s.minTS, s.maxTS, s.prefixMaxTS)
	}
	for i, want := range recs {
		ts, body, err := s.record(i)
		if err != nil {
			t.Fatal(err)
		}
		var got Record
		if err := decodeRecord(body, &got); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		got.Time = time.Unix(0, int64(ts))
		if !got.Time.Equal(want.Time) {
			t.Fatalf("record %d at %v, want %v", i, got.Time, want.Time)
		}
		got.Time = want.Time
		if got != want {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, got, want)
		}
		if tts, err := s.time(i); err != nil || tts != ts {
			t.Fatalf("time(%d) = %d, %v", i, tts, err)
		}
		if a, err := decodeAction(body); err != nil || a != want.Action {
			t.Fatalf("decodeAction(%d) = %v, %v; want %v", i, a, err, want.Action)
		}
	}
	if !s.contains(100) || !s.contains(149) || s.contains(99) || s.contains(150) {
		t.Fatal("contains is wrong at the segment's ends")
	}
	if _, _, err := s.record(len(recs)); err == nil {
		t.Fatal("record past the end read")
	}
	// prefixMaxTS carries the newest time of the segments before.
	if s, err := parseSegment(1, buildSegment(recs, maxTS+5)); err != nil || s.prefixMaxTS != maxTS+5 {
		t.Fatalf("prefix from earlier segments: %d, %v", s.prefixMaxTS, err)
	}
	// Every truncation, and each damaged header field, is an error.
	for i := range len(v) {
		if _, err := parseSegment(1, v[:i]); !errors.Is(err, errCorrupt) {
			t.Fatalf("truncated to %d bytes: err = %v", i, err)
		}
	}
	damage := func(f func(b []byte)) []byte {
		b := slices.Clone(v)
		f(b)
		return b
	}
	for name, bad := range map[string][]byte{
		"format":        damage(func(b []byte) { b[0] = 9 }),
		"no records":    damage(func(b []byte) { binary.BigEndian.PutUint32(b[1:], 0) }),
		"too many":      damage(func(b []byte) { binary.BigEndian.PutUint32(b[1:], 1<<31) }),
		"min over max":  damage(func(b []byte) { binary.BigEndian.PutUint64(b[5:], maxTS+1) }),
		"max over pref": damage(func(b []byte) { binary.BigEndian.PutUint64(b[21:], maxTS-1) }),
		"last offset":   damage(func(b []byte) { b[segHeaderLen+4*len(recs)-1]++ }),
		"trailing byte": append(slices.Clone(v), 0),
	} {
		if _, err := parseSegment(1, bad); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := parseSegment(0, v); err == nil {
		t.Error("seq 0 accepted")
	}
	// A damaged offset in the middle fails that record only.
	bad := damage(func(b []byte) { binary.BigEndian.PutUint32(b[segHeaderLen+4*3:], 1<<30) })
	s, err = parseSegment(1, bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.record(3); err == nil {
		t.Fatal("record with an offset past the end read")
	}
	if _, _, err := s.record(2); err != nil {
		t.Fatalf("record before the damage: %v", err)
	}
}

func FuzzParseSegment(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 9))
	f.Add(buildSegment(randomRecords(rng, 5), 0))
	one := []Record{sample()}
	f.Add(buildSegment(one, 1<<60))
	f.Add(buildSegment([]Record{{Called: nA}}, 0))
	f.Add([]byte{segFormat, 0, 0, 0, 1})
	f.Add([]byte{})
	db := fuzzDB(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseSegment(1, b)
		// The same value stored in chunks (blob.go) reads the same.
		sameSegment(t, db, b, s, err)
		if err != nil {
			return
		}
		var sb segBuilder
		readable := true
		for i := range s.n {
			ts, body, err := s.record(i)
			if err != nil {
				readable = false
				continue
			}
			var r Record
			_ = decodeRecord(body, &r)
			_, _ = decodeAction(body)
			sb.addEncoded(ts, body)
		}
		// A segment whose records all read and whose header agrees with
		// them re-encodes to the same bytes.
		if readable && sb.minTS == s.minTS && sb.maxTS == s.maxTS {
			if got := sb.appendTo(nil, s.prefixMaxTS); !bytes.Equal(got, b) {
				t.Fatalf("round trip changed\n%x\nto\n%x", b, got)
			}
		}
	})
}

func TestSegmentSplit(t *testing.T) {
	// A commit of 3000 records makes segments of segmentMax and the rest,
	// with contiguous seqs.
	opts := testOptions()
	opts.BatchSize = 3000
	l := openTest(t, opts)
	for i := range 3000 {
		l.Record(Record{Time: t0.Add(time.Duration(i)), Calling: nC, Called: nA, Action: policy.ActionAllow})
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if sizes := segmentSizes(t, l); !slices.Equal(sizes, []int{segmentMax, segmentMax, 3000 - 2*segmentMax}) {
		t.Fatalf("segments %v", sizes)
	}
	// Big records: the byte cap cuts segments long before segmentMax.
	big := sample()
	big.Peer, big.Voicemail = strings.Repeat("p", maxString), strings.Repeat("v", maxString)
	big.Route.Name, big.Route.SIPURI = strings.Repeat("n", maxString), strings.Repeat("u", maxString)
	for range 1000 {
		l.Record(big)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	err := l.db.View(func(tx *bolt.Tx) error {
		seg := tx.Bucket(bucketSeg)
		next := uint64(1)
		c := seg.Cursor()
		n := 0
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			s, err := readSegment(seg, k)
			if err != nil {
				return err
			}
			if s.first != next {
				t.Errorf("segment at seq %d, want %d", s.first, next)
			}
			next += uint64(s.n)
			if s.areaLen > segmentBytes+5*maxString {
				t.Errorf("segment %d holds %d bytes of records", s.first, s.areaLen)
			}
			n++
		}
		if next != 4001 || seg.Sequence() != 4000 {
			t.Errorf("seqs end at %d, sequence %d; want 4000", next-1, seg.Sequence())
		}
		if n < 3+1000*4*maxString/segmentBytes {
			t.Errorf("%d segments: the byte cap did not cut", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustSearch(t, l, Query{Number: nOrig, Limit: 5000}); len(got) != 1000 || got[0].Peer != big.Peer {
		t.Fatalf("big records: %d found", len(got))
	}
}

func TestLookupBySeq(t *testing.T) {
	opts := testOptions()
	opts.BatchSize = 7
	opts.MaxRecords = 100
	opts.MaxAge = -1
	l := openTest(t, opts)
	rng := rand.New(rand.NewPCG(1, 1))
	recs := randomRecords(rng, 300)
	for i := range recs {
		l.Record(recs[i])
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	stored := int(l.Stats().Stored)
	err := l.db.View(func(tx *bolt.Tx) error {
		seg := tx.Bucket(bucketSeg)
		var dmg damage
		f := fetcher{seg: seg, c: seg.Cursor(), dmg: &dmg}
		// Visit the seqs in a scattered order, so the cached segment
		// is both hit and missed.
		for _, i := range rng.Perm(len(recs)) {
			seq := uint64(i + 1)
			ts := nanos(recs[i].Time)
			body, ok := f.get(ts, seq)
			if live := i >= len(recs)-stored; ok != live {
				t.Fatalf("seq %d: found %v, live %v", seq, ok, live)
			}
			if !ok {
				if dmg.Any() {
					t.Fatalf("seq %d, pruned, counted as damage: %+v", seq, dmg.Damage)
				}
				continue
			}
			var r Record
			if err := decodeRecord(body, &r); err != nil || r.Peer != recs[i].Peer {
				t.Fatalf("seq %d: %q, %v; want %q", seq, r.Peer, err, recs[i].Peer)
			}
			if _, ok := f.get(ts+1, seq); ok {
				t.Fatalf("seq %d found with another time", seq)
			}
			// An entry whose record has another time is damage.
			if dmg.Records != 1 {
				t.Fatalf("seq %d with another time: damage %+v", seq, dmg.Damage)
			}
			dmg = damage{}
		}
		for _, seq := range []uint64{0, uint64(len(recs) + 1), 1 << 62} {
			if _, ok := f.get(0, seq); ok {
				t.Fatalf("seq %d found", seq)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTimeSearchOverlappingSegments: later commits holding records older
// than an earlier commit's newest (late records), ties in time across
// segments, and a record far in the past: every time search gives
// exactly what sorting all records would.
func TestTimeSearchOverlappingSegments(t *testing.T) {
	l := openTest(t, testOptions())
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	commits := [][]int{
		{10, 20, 30},
		{5, 15, 25, 30}, // all older than the first commit's newest; 30 ties
		{40, 1, 35},
		{-100}, // far in the past
		{36, 36, 50, 2},
	}
	var model []modelRec
	seq := uint64(0)
	for c, times := range commits {
		for i, s := range times {
			seq++
			r := Record{Time: at(s), Called: nA, Peer: string(rune('a'+c)) + string(rune('0'+i)),
				Action: []policy.Action{policy.ActionAllow, policy.ActionBlock}[int(seq)%2]}
			l.Record(r)
			model = append(model, modelRec{r: r, ts: nanos(r.Time), seq: seq})
		}
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(segmentSizes(t, l)); n != len(commits) {
		t.Fatalf("%d segments, want %d", n, len(commits))
	}
	var queries []Query
	for limit := 1; limit <= 20; limit++ {
		for _, from := range []int{-200, 0, 5, 15, 30, 36, 60} {
			for _, to := range []int{0, 2, 16, 30, 31, 37, 100} {
				q := Query{Limit: limit, From: at(from)}
				if to != 0 {
					q.To = at(to)
				}
				queries = append(queries, q, Query{Limit: limit, From: at(from), To: q.To, Action: policy.ActionBlock})
			}
		}
		queries = append(queries, Query{Limit: limit})
	}
	for _, q := range queries {
		got, want := mustSearch(t, l, q), modelSearch(model, q)
		if len(got) != len(want) {
			t.Fatalf("%+v: %d records, want %d", q, len(got), len(want))
		}
		for i := range got {
			if got[i].Peer != want[i].Peer || !got[i].Time.Equal(want[i].Time) {
				t.Fatalf("%+v: record %d is %s at %v, want %s at %v", q, i, got[i].Peer, got[i].Time, want[i].Peer, want[i].Time)
			}
		}
	}
}

// TestPruneWholeSegments: both bounds prune whole segments, never part of
// one.
func TestPruneWholeSegments(t *testing.T) {
	t.Run("count", func(t *testing.T) {
		opts := testOptions()
		opts.BatchSize = 10
		opts.MaxRecords = 25
		opts.MaxAge = -1
		l := openTest(t, opts)
		for i := range 60 {
			l.Record(Record{Time: t0.Add(time.Duration(i) * time.Second), Called: nA, Action: policy.ActionAllow})
		}
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
		// Segments of 10: keeping 25 would split one, so 20 are kept.
		if s := l.Stats(); s.Stored != 20 || s.Pruned != 40 {
			t.Fatalf("stats %+v, want 20 stored", s)
		}
		recs := mustSearch(t, l, Query{})
		if len(recs) != 20 || !recs[19].Time.Equal(t0.Add(40*time.Second)) {
			t.Fatalf("kept %d records from %v", len(recs), recs[len(recs)-1].Time)
		}
	})
	t.Run("age", func(t *testing.T) {
		var now atomic.Int64
		l := openTest(t, ageOptions(&now))
		// One segment: a record 3 hours old with one of now. It stays
		// while its newest record is young enough.
		l.Record(Record{Time: t0.Add(-3 * time.Hour), Called: nA, Action: policy.ActionAllow})
		l.Record(Record{Time: t0, Called: nB, Action: policy.ActionAllow})
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
		l.Record(Record{Time: t0.Add(50 * time.Minute), Called: nC, Action: policy.ActionAllow})
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
		if s := l.Stats(); s.Stored != 3 || s.Pruned != 0 {
			t.Fatalf("stats %+v, want all 3 kept", s)
		}
		now.Store(t0.Add(70 * time.Minute).UnixNano()) // the first segment's newest is now too old
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
		if s := l.Stats(); s.Stored != 1 || s.Pruned != 2 {
			t.Fatalf("stats %+v, want the first segment pruned", s)
		}
		if got := mustSearch(t, l, Query{Number: nA}); len(got) != 0 {
			t.Fatal("a pruned record is found by number")
		}
		if got := mustSearch(t, l, Query{}); len(got) != 1 || got[0].Called != nC {
			t.Fatalf("left %+v", got)
		}
		checkIndex(t, l)
	})
}

// TestReopenState: the writer's state loaded at Open is the state it had:
// count, newest time (prefixMaxTS), first live seq and front age, and new
// seqs continue where they stopped.
func TestReopenState(t *testing.T) {
	opts := testOptions()
	opts.BatchSize = 5
	opts.MaxRecords = 12
	opts.MaxAge = 24 * time.Hour
	path := filepath.Join(t.TempDir(), FileName)
	l, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	times := []int{50, 10, 90, 20, 30, 40, 60, 5, 70, 80, 95, 15, 25, 35, 45, 55, 65, 75, 85, 99, 1, 2}
	for _, s := range times {
		l.Record(Record{Time: t0.Add(time.Duration(s) * time.Second), Called: nA, Action: policy.ActionAllow})
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	before := l.w.logState
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if before.count != 12 || before.prefixMax != nanos(t0.Add(99*time.Second)) || before.firstLive != 11 || !before.hasFront {
		t.Fatalf("state before closing: %+v", before)
	}
	l, err = Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if after := l.w.logState; after != before {
		t.Fatalf("state after reopening %+v, before %+v", after, before)
	}
	l.Record(Record{Time: t0.Add(200 * time.Second), Called: nA, Action: policy.ActionBlock})
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	err = l.db.View(func(tx *bolt.Tx) error {
		seg := tx.Bucket(bucketSeg)
		k, _ := seg.Cursor().Last()
		if got := binary.BigEndian.Uint64(k); got != uint64(len(times)+1) {
			t.Errorf("new segment at seq %d, want %d", got, len(times)+1)
		}
		s, err := readSegment(seg, k)
		if err == nil && s.prefixMaxTS != nanos(t0.Add(200*time.Second)) {
			t.Errorf("prefixMaxTS %d", s.prefixMaxTS)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// 13 records: the oldest segment left (seqs 11..15) goes.
	if s := l.Stats(); s.Stored != 8 || s.Pruned != 5 {
		t.Fatalf("stats %+v", s)
	}
}

// TestDamagedSegmentAndBlock: a segment and an index block that do not
// parse do not stop a search, which says what it could not read: the
// time search skips the damaged segment and counts it; the number search
// finds through the segments the records the damaged block indexed
// (all but the damaged segment's) and counts the block and the segment;
// the counts reach Stats. Pruning takes the segment when its turn comes,
// counting its records right.
func TestDamagedSegmentAndBlock(t *testing.T) {
	opts := testOptions()
	opts.BatchSize = 10
	opts.MaxRecords = 40
	opts.MaxAge = -1
	l := openTest(t, opts)
	for i := range 40 {
		l.Record(Record{Time: t0.Add(time.Duration(i) * time.Second), Calling: nC, Called: nA, Action: policy.ActionAllow})
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	clean, err := l.Find(Query{Number: nA, Limit: 100})
	if err != nil || len(clean.Records) != 40 || clean.Damage.Any() {
		t.Fatalf("before the damage: %d records, damage %+v, %v", len(clean.Records), clean.Damage, err)
	}
	// Damage the second segment (seqs 11..20) and the only index block.
	err = l.db.Update(func(tx *bolt.Tx) error {
		k := segKey(11)
		if err := putBlob(tx.Bucket(bucketSeg), k[:], []byte("junk"), l.lay); err != nil {
			return err
		}
		idx := tx.Bucket(bucketIdx)
		bk, _ := idx.Cursor().Last()
		return putBlob(idx, slices.Clone(bk), []byte{blockFormat, 1}, l.lay)
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Find(Query{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 30 || res.Damage != (Damage{Segments: 1}) {
		t.Fatalf("time search: %d records, damage %+v; want the 30 readable and 1 segment", len(res.Records), res.Damage)
	}
	res, err = l.Find(Query{Number: nA, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 30 || res.Damage != (Damage{Segments: 1, Blocks: 1}) {
		t.Fatalf("number search through a damaged block: %d records, damage %+v; want 30, 1 segment and 1 block", len(res.Records), res.Damage)
	}
	// The records of seqs 11..20 (times 10..19 s) are in the damaged
	// segment; every other one is found, in order.
	var want []Record
	for _, r := range clean.Records {
		if s := r.Time.Sub(t0); s < 10*time.Second || s >= 20*time.Second {
			want = append(want, r)
		}
	}
	for i, r := range res.Records {
		if !r.Time.Equal(want[i].Time) {
			t.Fatalf("record %d at %v, want %v", i, r.Time, want[i].Time)
		}
	}
	// A page of the number search stops as early as it would without
	// damage: it does not reach the damaged segment.
	res, err = l.Find(Query{Number: nA, Limit: 5})
	if err != nil || len(res.Records) != 5 || !res.Records[0].Time.Equal(t0.Add(39*time.Second)) || res.Damage != (Damage{Blocks: 1}) {
		t.Fatalf("first page of 5 through a damaged block: %d records, damage %+v, %v", len(res.Records), res.Damage, err)
	}
	if s := l.Stats().SearchDamaged; s != (Damage{Segments: 2, Blocks: 2}) {
		t.Fatalf("Stats.SearchDamaged %+v, want 2 segments (one per search that met it) and 2 blocks", s)
	}
	// 20 more: the first segment and the damaged one (10 records, known
	// from the keys around it) go.
	for i := range 20 {
		l.Record(Record{Time: t0.Add(time.Duration(100+i) * time.Second), Calling: nD, Called: nB, Action: policy.ActionAllow})
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.Stored != 40 || s.Pruned != 20 {
		t.Fatalf("stats %+v", s)
	}
	if sizes := segmentSizes(t, l); !slices.Equal(sizes, []int{10, 10, 10, 10}) {
		t.Fatalf("segments %v", sizes)
	}
	if got := mustSearch(t, l, Query{Number: nB, Limit: 100}); len(got) != 20 {
		t.Fatalf("new records by number: %d", len(got))
	}
	// The damaged block goes once the records it covered (its summary
	// says up to seq 40) are pruned.
	for i := range 20 {
		l.Record(Record{Time: t0.Add(time.Duration(200+i) * time.Second), Calling: nD, Called: nB, Action: policy.ActionAllow})
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, l)
	if got := mustSearch(t, l, Query{Number: nB, Limit: 100}); len(got) != 40 {
		t.Fatalf("records by number after the damage is pruned: %d", len(got))
	}
}

func TestSummaryFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	for _, n := range []int{1, 7, 1000, 40_000} {
		es := make([]entry, n)
		in := make(map[uint64]bool)
		for i := range es {
			es[i] = entry{num: 12120000000 + rng.Uint64N(10_000_000), ts: uint64(i), seq: uint64(i + 1)}
			in[es[i].num] = true
		}
		slices.SortFunc(es, cmpEntry)
		sp := spanOf(es)
		s, err := parseSummary(appendSummary(nil, es, sp))
		if err != nil {
			t.Fatal(err)
		}
		if s.n != n || s.minTime != sp.minTime || s.maxSeq != sp.maxSeq {
			t.Fatalf("n=%d: parsed %+v", n, s)
		}
		for num := range in {
			if !s.mayContain(num) {
				t.Fatalf("n=%d: %d is in the block but not in its filter", n, num)
			}
		}
		// Numbers not in the block pass about 1 in 85; allow 1 in 40.
		passed, tried := 0, 0
		for range 20_000 {
			num := 14150000000 + rng.Uint64N(1_000_000)
			if in[num] {
				continue
			}
			tried++
			if s.mayContain(num) {
				passed++
			}
		}
		if n >= 1000 && passed*40 > tried {
			t.Fatalf("n=%d: %d of %d absent numbers pass the filter", n, passed, tried)
		}
	}
	var empty summary
	if empty.mayContain(1) {
		t.Fatal("an empty filter holds a number")
	}
	v := appendSummary(nil, []entry{{num: 5, ts: 1, seq: 1}}, spanOf([]entry{{num: 5, ts: 1, seq: 1}}))
	for i := range len(v) {
		if _, err := parseSummary(v[:i]); !errors.Is(err, errCorrupt) {
			t.Fatalf("truncated to %d: %v", i, err)
		}
	}
	if _, err := parseSummary(append([]byte{9}, v[1:]...)); err == nil {
		t.Fatal("wrong format accepted")
	}
}

func FuzzParseSummary(f *testing.F) {
	es := []entry{{num: 13035550101, ts: 1, seq: 1}, {num: 13035550102, ts: 2, seq: 2}}
	f.Add(appendSummary(nil, es, spanOf(es)), uint64(13035550101), uint16(0))
	f.Add(appendSummary(nil, es, spanOf(es)), uint64(13035550101), uint16(24))
	f.Add([]byte{summaryFormat, 0, 0, 0, 0}, uint64(0), uint16(3))
	f.Add(make([]byte, summaryHeaderLen+8), uint64(1), uint16(21))
	f.Fuzz(func(t *testing.T, b []byte, num uint64, partLen uint16) {
		// The same bytes cut in parts (summary.go) read the same.
		var parts [][]byte
		for rest, n := b, int(partLen)%(len(b)+1)+1; len(rest) > 0; {
			n = min(n, len(rest))
			parts, rest = append(parts, rest[:n]), rest[n:]
		}
		ps, perr := summary{}, errCorrupt
		if len(parts) > 0 {
			ps, perr = parseSummaryParts(parts)
		}
		s, err := parseSummary(b)
		if err != nil {
			if perr == nil && len(parts) == 1 {
				t.Fatal("one part parses where the value does not")
			}
			return
		}
		if perr != nil && len(b) >= summaryHeaderLen && int(partLen)%(len(b)+1)+1 >= summaryHeaderLen {
			t.Fatalf("the summary does not parse in parts of %d: %v", len(parts[0]), perr)
		}
		if perr == nil && ps.mayContain(num) != s.mayContain(num) {
			t.Fatal("the summary in parts answers otherwise")
		}
		if s.n == 0 && s.mayContain(num) {
			t.Fatal("a summary of no entries holds a number")
		}
	})
}

func TestMergeBlock(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	mk := func(n int) []entry {
		es := make([]entry, n)
		for i := range es {
			es[i] = entry{num: rng.Uint64N(50), ts: rng.Uint64N(100), seq: rng.Uint64N(1000) + 1}
		}
		slices.SortFunc(es, cmpEntry)
		return es
	}
	for _, sizes := range [][2]int{{0, 0}, {0, 5}, {5, 0}, {100, 3}, {3, 100}, {500, 500}} {
		a, b := mk(sizes[0]), mk(sizes[1])
		bl, err := parseBlock(appendBlock(nil, b))
		if err != nil {
			t.Fatal(err)
		}
		const live = 300
		got := mergeEntries(nil, a, bl.appendEntries(nil, 0), live)
		var want []entry
		for _, e := range append(slices.Clone(a), b...) {
			if e.seq >= live {
				want = append(want, e)
			}
		}
		slices.SortFunc(want, cmpEntry)
		if !slices.Equal(got, want) {
			t.Fatalf("sizes %v: merge differs from sort", sizes)
		}
	}
	// sortEntries: seq order with times out of order inside a number.
	es := make([]entry, 2000)
	for i := range es {
		es[i] = entry{num: 13035550000 + rng.Uint64N(300), ts: uint64(i) - rng.Uint64N(min(uint64(i)+1, 50)), seq: uint64(i + 1)}
	}
	want := slices.Clone(es)
	slices.SortFunc(want, cmpEntry)
	if got, _ := sortEntries(es, nil); !slices.Equal(got, want) {
		t.Fatal("sortEntries differs from sort")
	}
}

// TestDamagedRecord: a record that does not decode, in a segment that
// does, is skipped and counted by the time search and by the number
// search (which reaches it through its index entry), once per search.
func TestDamagedRecord(t *testing.T) {
	opts := testOptions()
	opts.BatchSize = 10
	opts.MaxAge = -1
	l := openTest(t, opts)
	for i := range 10 {
		l.Record(Record{Time: t0.Add(time.Duration(i) * time.Second), Calling: nC, Called: nA, Action: policy.ActionAllow})
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	// Record 3's version byte (after its 8-byte time) becomes one no
	// build writes.
	err := l.db.Update(func(tx *bolt.Tx) error {
		seg := tx.Bucket(bucketSeg)
		k := segKey(1)
		s, err := readSegment(seg, k[:])
		if err != nil {
			return err
		}
		end, _ := s.offset(2)
		b, ok := openBlob(seg, k[:])
		if !ok || b.ch != nil {
			return errors.New("segment 1 is not one value")
		}
		v := slices.Clone(b.b)
		v[segHeaderLen+4*s.n+int(end)+segTimeLen] = 99
		return putBlob(seg, k[:], v, l.lay)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []Query{{Limit: 100}, {Number: nA, Limit: 100}, {Number: nA, Action: policy.ActionAllow, Limit: 100}} {
		res, err := l.Find(q)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Records) != 9 || res.Damage != (Damage{Records: 1}) {
			t.Fatalf("%+v: %d records, damage %+v; want 9 and 1 record", q, len(res.Records), res.Damage)
		}
		if !res.Damage.Missing() || res.Damage.String() != "1 damaged record skipped" {
			t.Fatalf("damage reads %q", res.Damage)
		}
	}
}
