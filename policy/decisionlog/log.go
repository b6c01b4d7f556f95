// Package decisionlog keeps every decision the engine makes, with its
// trace, in a bbolt file of its own (decisions.db, next to the list store).
//
// The hot path only hands a Record to Log.Record, which copies it into a
// bounded in-memory queue and returns: it never blocks, never touches the
// disk, and when the queue is full it drops the record and counts the drop.
// A background writer commits queued records in batches (every
// FlushInterval or BatchSize records, whichever comes first; bigger while
// it is behind), one bbolt transaction — and so one fsync — per batch, and
// prunes the oldest
// records so the file stays within MaxRecords and MaxAge. Search finds
// records by number (calling, called or original called) and time range,
// newest first, through a number index, without scanning the log.
//
// The index is written once per commit as one sorted block (index.go), not
// as one B+tree insert per number, so the writer's cost does not depend on
// how scattered the numbers are (BenchmarkSustained measures it).
package decisionlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/e164"
)

// FileName is the decision log's file name, kept next to the list store.
const FileName = "decisions.db"

// PathNextTo returns the decision log path beside the list store file
// storePath (".../callgate.db" -> ".../decisions.db").
func PathNextTo(storePath string) string {
	return filepath.Join(filepath.Dir(storePath), FileName)
}

// Defaults for Options fields left zero.
const (
	DefaultQueueSize     = 65536
	DefaultBatchSize     = 1000
	DefaultFlushInterval = 200 * time.Millisecond
	DefaultMaxRecords    = 1_000_000
	DefaultMaxAge        = 30 * 24 * time.Hour
)

// Options configure a Log. The zero value gives the defaults above.
type Options struct {
	// QueueSize is how many records may wait for the writer (rounded up
	// to a power of two); beyond it Record drops (and counts) instead of
	// blocking. A quarter of it is also the biggest catch-up batch (see
	// BatchSize). The default (65536 records, about 13 MiB) absorbs a
	// third of a second at 200,000 records/s, or an fsync stall of over a
	// second at 50,000, and lets the writer commit 16,384 records per
	// fsync when behind; 16,384 caps the catch-up batches at 4,096, which
	// measured up to a third slower on a busy 2-core machine
	// (BenchmarkSustained).
	QueueSize int
	// BatchSize is the records written in one transaction; a full batch
	// is written at once, without waiting for FlushInterval. While the
	// writer is behind (a quarter of the queue or more waiting) a
	// transaction takes up to a quarter of the queue instead, to catch up.
	BatchSize int
	// FlushInterval is the longest a queued record waits to be written.
	FlushInterval time.Duration
	// MaxRecords bounds the records kept; the oldest are pruned. Negative
	// means no count bound (MaxAge must then be positive).
	MaxRecords int
	// MaxAge bounds how long records are kept. Negative means no age bound
	// (MaxRecords must then be positive).
	MaxAge time.Duration
	// NoSync skips the fsync at each batch commit (tests, tmpfs). A crash
	// may then lose recent batches; the file stays consistent either way.
	NoSync bool
	// Logger receives write errors; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock used for records without a time and for MaxAge;
	// nil means time.Now.
	Now func() time.Time
}

func (o *Options) setDefaults() error {
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.MaxRecords == 0 {
		o.MaxRecords = DefaultMaxRecords
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.MaxRecords < 0 && o.MaxAge < 0 {
		return errors.New("decisionlog: MaxRecords and MaxAge are both unbounded; the log would grow without limit")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// ErrClosed is returned by Flush after Close.
var ErrClosed = errors.New("decisionlog: log is closed")

// Stats are the log's counters, for the metrics endpoint. All are totals
// since Open except Queued and Stored.
type Stats struct {
	Recorded uint64 // accepted by Record into the queue
	Dropped  uint64 // refused by Record: queue full or log closed
	Written  uint64 // committed to the file
	Failed   uint64 // lost because their batch's commit failed
	Pruned   uint64 // removed by the size/age bounds
	Queued   int    // waiting for the writer now
	Stored   uint64 // records in the file now
}

// counter is an atomic counter on its own cache line: Record bumps one on
// every call from every tier goroutine, and sharing a line with the other
// counters would make the cores fight over it.
type counter struct {
	atomic.Uint64
	_ [56]byte
}

// Log is an open decision log. Record, Search, Flush, Stats and Close are
// safe for concurrent use.
type Log struct {
	db       *bolt.DB
	path     string
	opts     Options
	readOnly bool

	queue    *ring
	kick     chan struct{} // a batch is waiting (capacity 1)
	flushReq chan chan error
	stop     chan struct{}
	done     chan struct{}

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	recorded counter
	dropped  counter
	written  counter
	failed   counter
	pruned   counter
	stored   counter

	// Owned by the writer goroutine.
	w writerState

	// beforeCommit, when set (tests only), runs before each commit.
	beforeCommit func()
}

// writerState is the writer goroutine's own data, reused across batches.
type writerState struct {
	batch   []Record
	arena   []byte            // keys and values of the batch being committed
	refs    []recRef          // the batch's records in the arena, sorted by key for Put
	entries []entry           // the batch's index entries (then the block written)
	merges  [][recKeyLen]byte // keys of the blocks merged into this batch's
	sortTmp []entry           // scratch for sortByNum
	victims []victim          // records chosen for pruning
	count   uint64            // records in the file
	oldest  uint64            // time key of the oldest record, 0 if none
	lastErr error             // last commit error, reported by Flush and Close
}

// recRef is one encoded record of the batch: its key and where its value
// is in the arena.
type recRef struct {
	ts, seq    uint64
	start, end int
	nums       [3]e164.Number // distinct numbers: the record's index entries
	n          int
}

type victim struct {
	key [recKeyLen]byte
	odd []byte // a damaged key of another length, deleted as is
}

// Open opens (creating if needed) the decision log at path and starts its
// writer. The directory is created if missing.
func Open(path string, opts Options) (*Log, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("decisionlog: create directory for %s: %w", path, err)
		}
	}
	db, err := openDB(path, false)
	if err != nil {
		return nil, err
	}
	l := &Log{
		db: db, path: path, opts: opts,
		queue:    newRing(opts.QueueSize),
		kick:     make(chan struct{}, 1),
		flushReq: make(chan chan error),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	l.db.NoSync = opts.NoSync
	if err := l.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
	l.w.batch = make([]Record, 0, opts.BatchSize)
	go l.run()
	return l, nil
}

// OpenReadOnly opens an existing decision log for Search only (the CLI).
// bbolt allows one writer process per file: while `callgate serve` holds the
// log, this fails after a second with an error saying so.
func OpenReadOnly(path string) (*Log, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("decisionlog: %w", err)
	}
	db, err := openDB(path, true)
	if err != nil {
		return nil, err
	}
	l := &Log{db: db, path: path, readOnly: true}
	l.closed.Store(true) // Record drops
	err = db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil || tx.Bucket(bucketRec) == nil {
			return fmt.Errorf("decisionlog: %s is not a decision log (buckets missing)", path)
		}
		v, err := checkVersion(path, meta.Get(metaVersion))
		if err != nil {
			return err
		}
		if v < schemaVersion {
			// Converting needs a write transaction; the writer does it.
			return fmt.Errorf("decisionlog: %s has the older schema version %d; start callgate serve once (it converts the file to version %d) and search again", path, v, schemaVersion)
		}
		if tx.Bucket(bucketIdx) == nil {
			return fmt.Errorf("decisionlog: %s is not a decision log (index bucket missing)", path)
		}
		l.stored.Store(readCount(meta))
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return l, nil
}

func openDB(path string, readOnly bool) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        time.Second,
		ReadOnly:       readOnly,
		NoFreelistSync: true, // the freelist is rebuilt at open; saves a write per commit
		FreelistType:   bolt.FreelistMapType,
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("decisionlog: open %s: locked by another process (is callgate serve running?)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("decisionlog: open %s: %w", path, err)
	}
	return db, nil
}

// checkVersion returns the file's schema version if this build can read it
// (now or after migrate).
func checkVersion(path string, v []byte) (byte, error) {
	switch {
	case len(v) != 1:
		return 0, fmt.Errorf("decisionlog: %s: schema version missing or damaged", path)
	case v[0] > schemaVersion:
		return 0, fmt.Errorf("decisionlog: %s has schema version %d, newer than this build's %d; upgrade callgate", path, v[0], schemaVersion)
	case v[0] < 1:
		// Version 1 is the first; older layouts do not exist.
		return 0, fmt.Errorf("decisionlog: %s has unknown schema version %d", path, v[0])
	}
	return v[0], nil
}

func readCount(meta *bolt.Bucket) uint64 {
	if v := meta.Get(metaCount); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// init creates the buckets of a new file, or checks an existing one (and
// converts one of an older schema) and loads the writer's count and oldest
// time.
func (l *Log) init() error {
	return l.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return fmt.Errorf("decisionlog: %s: create meta bucket: %w", l.path, err)
		}
		version := byte(schemaVersion)
		if v := meta.Get(metaVersion); v == nil {
			if err := meta.Put(metaVersion, []byte{schemaVersion}); err != nil {
				return fmt.Errorf("decisionlog: %s: write schema version: %w", l.path, err)
			}
		} else if version, err = checkVersion(l.path, v); err != nil {
			return err
		}
		rec, err := tx.CreateBucketIfNotExists(bucketRec)
		if err != nil {
			return fmt.Errorf("decisionlog: %s: create rec bucket: %w", l.path, err)
		}
		if version < schemaVersion {
			if err := l.migrate(tx, version); err != nil {
				return err
			}
		}
		if _, err := tx.CreateBucketIfNotExists(bucketIdx); err != nil {
			return fmt.Errorf("decisionlog: %s: create idx bucket: %w", l.path, err)
		}
		l.w.count = readCount(meta)
		l.stored.Store(l.w.count)
		if k, _ := rec.Cursor().First(); len(k) == recKeyLen {
			l.w.oldest = recKeyTime(k)
		}
		return nil
	})
}

// Record queues r for writing. It never blocks: when the queue is full, or
// the log is closed or read-only, r is dropped and counted. A nil *Log
// accepts and ignores everything (Record, Flush, Close, Stats), so a daemon
// running without a decision log needs no special case. A zero
// r.Time is set to now. Records made while Close runs may be dropped.
func (l *Log) Record(r Record) {
	if l == nil {
		return
	}
	if l.closed.Load() {
		l.dropped.Add(1)
		return
	}
	if r.Time.IsZero() {
		r.Time = l.opts.Now()
	}
	pos, ok := l.queue.push(&r)
	if !ok {
		l.dropped.Add(1)
		return
	}
	l.recorded.Add(1)
	// Wake the writer once per batch, not per record: waking a parked
	// goroutine costs more than the rest of Record together.
	if (pos+1)%uint64(l.opts.BatchSize) == 0 {
		select {
		case l.kick <- struct{}{}:
		default: // already kicked
		}
	}
}

// Flush waits until every record queued before the call is committed, and
// returns the commit error if any. Not for the hot path: it is for tests,
// the CLI and shutdown.
func (l *Log) Flush() error {
	if l == nil || l.readOnly {
		return nil
	}
	req := make(chan error, 1)
	select {
	case l.flushReq <- req:
	case <-l.done:
		return ErrClosed
	}
	select {
	case err := <-req:
		return err
	case <-l.done:
		return ErrClosed
	}
}

// Close writes what is queued, stops the writer and closes the file. It
// returns the last write error, if any, joined with the close error. A
// Record racing with Close may be accepted but not written; it is then
// counted in Dropped as well as Recorded.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		var werr error
		if !l.readOnly {
			close(l.stop)
			<-l.done
			werr = l.w.lastErr
			// Records that slipped in between the writer's last drain and
			// now cannot be written any more: count them as dropped.
			var r Record
			for l.queue.pop(&r) {
				l.dropped.Add(1)
			}
		}
		if err := l.db.Close(); err != nil {
			werr = errors.Join(werr, fmt.Errorf("decisionlog: close %s: %w", l.path, err))
		}
		l.closeErr = werr
	})
	return l.closeErr
}

// Stats returns the counters (zero for a nil Log).
func (l *Log) Stats() Stats {
	if l == nil {
		return Stats{}
	}
	return Stats{
		Recorded: l.recorded.Load(),
		Dropped:  l.dropped.Load(),
		Written:  l.written.Load(),
		Failed:   l.failed.Load(),
		Pruned:   l.pruned.Load(),
		Queued:   l.queuedLen(),
		Stored:   l.stored.Load(),
	}
}

// Path returns the file's path.
func (l *Log) Path() string { return l.path }

// run is the writer goroutine. It sleeps until a batch is waiting (kick),
// the interval passes, a flush is asked for or the log closes, and then
// takes what is queued in bulk.
func (l *Log) run() {
	defer close(l.done)
	tick := time.NewTicker(l.opts.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-l.kick:
			l.drain() // full batches are committed; a remainder waits for the tick
		case <-tick.C:
			l.drain()
			l.commit()
		case req := <-l.flushReq:
			l.drain()
			l.commit()
			req <- l.w.lastErr
		case <-l.stop:
			l.drain()
			l.commit()
			return
		}
	}
}

// add appends r to the batch and commits a full batch — except while the
// writer is behind (a quarter of the queue or more waiting), when the batch
// grows up to a quarter of the queue first: one commit costs a fixed
// couple of fsyncs plus a little per record, so bigger commits are how the
// writer catches up under load instead of dropping.
func (l *Log) add(r *Record) {
	l.w.batch = append(l.w.batch, *r)
	n := len(l.w.batch)
	if n < l.opts.BatchSize {
		return
	}
	catchUp := l.queue.cap() / 4
	if n >= catchUp || l.queue.len() < catchUp {
		l.commit()
	}
}

// drain moves what is queued now into batches. It takes at most one
// queue's worth so a steady stream of new records cannot keep it going.
func (l *Log) drain() {
	var r Record
	for n := l.queue.cap(); n > 0 && l.queue.pop(&r); n-- {
		l.add(&r)
	}
}

func (l *Log) queuedLen() int {
	if l.queue == nil { // read-only
		return 0
	}
	return l.queue.len()
}

// pruneChunk bounds the records pruned in one transaction, so catching up
// after a long stop never makes one huge transaction; the rest goes in the
// next commits (every tick at least).
func (l *Log) pruneChunk() int { return max(4*l.opts.BatchSize, 4096) }

// pruneDue reports whether the bounds are exceeded.
func (l *Log) pruneDue(count, oldest, cutoff uint64) bool {
	if l.opts.MaxRecords > 0 && count > uint64(l.opts.MaxRecords) {
		return true
	}
	return l.opts.MaxAge > 0 && oldest != 0 && oldest < cutoff
}

// commit writes the batch, its index block and prunes, in one
// transaction. A failed commit loses its batch (counted in Failed and
// logged): retrying a batch a full disk refused would only grow memory.
func (l *Log) commit() {
	w := &l.w
	cutoff := uint64(0)
	if l.opts.MaxAge > 0 {
		cutoff = nanos(l.opts.Now().Add(-l.opts.MaxAge))
	}
	if len(w.batch) == 0 && !l.pruneDue(w.count, w.oldest, cutoff) {
		return
	}
	if l.beforeCommit != nil {
		l.beforeCommit()
	}
	count, oldest := w.count, w.oldest
	var pruned int
	err := l.db.Update(func(tx *bolt.Tx) error {
		meta, rec, idx := tx.Bucket(bucketMeta), tx.Bucket(bucketRec), tx.Bucket(bucketIdx)
		if meta == nil || rec == nil || idx == nil {
			return fmt.Errorf("decisionlog: %s: buckets missing", l.path)
		}
		// rec and idx keys arrive in (nearly) ascending order, so their
		// pages are filled almost fully instead of split half-empty.
		rec.FillPercent = 0.9
		idx.FillPercent = 0.9
		if err := l.putRecords(rec); err != nil {
			return err
		}
		// Choose the blocks to merge before pruning deletes anything:
		// bbolt's Cursor.Last can loop forever on a bucket whose leaves
		// were all emptied earlier in the same transaction.
		if err := l.chooseMerges(idx); err != nil {
			return err
		}
		for i := range w.batch {
			if ts := nanos(w.batch[i].Time); oldest == 0 || ts < oldest {
				oldest = ts
			}
		}
		count += uint64(len(w.batch))
		if l.pruneDue(count, oldest, cutoff) {
			var err error
			if pruned, oldest, err = l.prune(rec, count, cutoff); err != nil {
				return err
			}
			count -= uint64(pruned)
		}
		// Everything below the first record left is pruned: the blocks
		// whose newest record is below it go, and so do the entries below
		// it in the block being written.
		liveTS, liveSeq := uint64(math.MaxUint64), uint64(math.MaxUint64)
		if k, _ := rec.Cursor().First(); len(k) == recKeyLen {
			liveTS, liveSeq = recKeyTime(k), recKeySeq(k)
		}
		if pruned > 0 {
			if err := l.pruneBlocks(idx, liveTS, liveSeq); err != nil {
				return err
			}
		}
		if err := l.putBlock(idx, liveTS, liveSeq); err != nil {
			return err
		}
		var cb [8]byte
		binary.BigEndian.PutUint64(cb[:], count)
		if err := meta.Put(metaCount, cb[:]); err != nil {
			return fmt.Errorf("decisionlog: %s: write count: %w", l.path, err)
		}
		return nil
	})
	n := uint64(len(w.batch))
	w.batch = w.batch[:0]
	clear(w.batch[:cap(w.batch)]) // drop string references for the GC
	w.arena = w.arena[:0]
	if err != nil {
		w.lastErr = err
		l.failed.Add(n)
		l.opts.Logger.Error("decision log write failed; batch lost", "path", l.path, "records", n, "err", err)
		return
	}
	w.lastErr = nil
	w.count, w.oldest = count, oldest
	l.written.Add(n)
	l.pruned.Add(uint64(pruned))
	l.stored.Store(count)
}

// putRecords encodes the batch, puts its records into rec in key order
// (bbolt appends cheaply, inserts in the middle less so) and collects its
// index entries in w.entries, in record key order.
func (l *Log) putRecords(rec *bolt.Bucket) error {
	w := &l.w
	w.refs, w.entries = w.refs[:0], w.entries[:0]
	// One sequence update for the batch instead of one per record.
	seq := rec.Sequence()
	if err := rec.SetSequence(seq + uint64(len(w.batch))); err != nil {
		return fmt.Errorf("decisionlog: %s: next sequence: %w", l.path, err)
	}
	for i := range w.batch {
		r := &w.batch[i]
		seq++
		ts := nanos(r.Time)
		start := len(w.arena)
		w.arena = appendRecKey(w.arena, ts, seq)
		w.arena = appendRecord(w.arena, r)
		ref := recRef{ts: ts, seq: seq, start: start, end: len(w.arena)}
		ref.nums, ref.n = distinctNumbers(r.Calling, r.Called, r.OriginalCalled)
		w.refs = append(w.refs, ref)
	}
	byKey := func(a, b recRef) int {
		if recKeyLess(a.ts, a.seq, b.ts, b.seq) {
			return -1
		}
		return 1 // keys are unique: seq differs
	}
	if !slices.IsSortedFunc(w.refs, byKey) {
		slices.SortFunc(w.refs, byKey)
	}
	// bbolt keeps the key and value slices until the commit: they point
	// into the arena, which is not reused before then. (If the arena grew
	// while encoding, earlier slices still point into the old array, which
	// the GC keeps alive.)
	for i := range w.refs {
		ref := &w.refs[i]
		b := w.arena[ref.start:ref.end:ref.end]
		if err := rec.Put(b[:recKeyLen], b[recKeyLen:]); err != nil {
			return fmt.Errorf("decisionlog: %s: put record: %w", l.path, err)
		}
		// In key order, so a stable sort by number alone orders them
		// fully (putBlock).
		for _, x := range ref.nums[:ref.n] {
			w.entries = append(w.entries, entry{num: uint64(x), ts: ref.ts, seq: ref.seq})
		}
	}
	return nil
}

// chooseMerges picks the newest blocks to merge into the block of this
// batch while they are small (see mergeLimit): it appends their entries to
// w.entries and their keys to w.merges. It only reads; putBlock deletes.
func (l *Log) chooseMerges(idx *bolt.Bucket) error {
	w := &l.w
	w.merges = w.merges[:0]
	if len(w.entries) == 0 {
		return nil
	}
	size := len(w.entries)
	c := idx.Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		prev, err := parseBlock(v)
		if err != nil || len(k) != recKeyLen {
			break // a damaged block is left for pruning, never merged
		}
		if prev.len() > size || prev.len()+size > mergeLimit {
			break
		}
		size += prev.len()
		w.entries = prev.appendEntries(w.entries, 0, 0)
		w.merges = append(w.merges, [recKeyLen]byte(k))
	}
	return nil
}

// putBlock writes w.entries as one block, without those of records pruned
// already (below liveTS, liveSeq), in place of the blocks chooseMerges
// picked.
func (l *Log) putBlock(idx *bolt.Bucket, liveTS, liveSeq uint64) error {
	w := &l.w
	for i := range w.merges {
		// Gone already if pruning took it; Delete is then a no-op.
		if err := idx.Delete(w.merges[i][:]); err != nil {
			return fmt.Errorf("decisionlog: %s: merge index block %x: %w", l.path, w.merges[i], err)
		}
	}
	es := w.entries[:0]
	for _, e := range w.entries {
		if !recKeyLess(e.ts, e.seq, liveTS, liveSeq) {
			es = append(es, e)
		}
	}
	if len(es) == 0 {
		return nil
	}
	if len(w.merges) == 0 {
		// Only this batch's entries, in record key order: a stable
		// radix sort by number finishes the job.
		// The two buffers may swap; keep them apart for the next batch.
		es, w.sortTmp = sortByNum(es, w.sortTmp)
		w.entries = es
	} else {
		slices.SortFunc(es, cmpEntry)
	}
	ts, seq := newestKey(es)
	start := len(w.arena)
	w.arena = appendRecKey(w.arena, ts, seq)
	w.arena = appendBlock(w.arena, es)
	b := w.arena[start:len(w.arena):len(w.arena)]
	if err := idx.Put(b[:recKeyLen], b[recKeyLen:]); err != nil {
		return fmt.Errorf("decisionlog: %s: put index block: %w", l.path, err)
	}
	return nil
}

// prune deletes the oldest records while the count or age bound is
// exceeded (at most pruneChunk, or twice the batch if more). It returns how many it deleted and the
// time of the oldest record left. Their index entries go with their blocks
// (pruneBlocks); until then searches skip entries whose record is gone.
func (l *Log) prune(rec *bolt.Bucket, count, cutoff uint64) (int, uint64, error) {
	w := &l.w
	excess := int64(0)
	if l.opts.MaxRecords > 0 {
		excess = int64(count) - int64(l.opts.MaxRecords)
	}
	// At least twice the batch: under load, pruning keeps pace with the
	// big catch-up batches and still works off any excess.
	chunk := max(l.pruneChunk(), 2*len(w.batch))
	// Collect first, then delete: Next after a cursor Delete skips a key,
	// and First after many deletes walks every emptied leaf again.
	w.victims = w.victims[:0]
	c := rec.Cursor()
	for k, _ := c.First(); k != nil && len(w.victims) < chunk; k, _ = c.Next() {
		if len(k) == recKeyLen && excess <= 0 && recKeyTime(k) >= cutoff {
			break
		}
		excess--
		if len(k) != recKeyLen {
			// Not a key this package wrote (damage): remove it too. Rare
			// enough that copying it to the heap does not matter.
			w.victims = append(w.victims, victim{odd: append([]byte(nil), k...)})
			continue
		}
		var vic victim
		copy(vic.key[:], k)
		w.victims = append(w.victims, vic)
	}
	for i := range w.victims {
		vic := &w.victims[i]
		key := vic.key[:]
		if vic.odd != nil {
			key = vic.odd
		}
		if err := rec.Delete(key); err != nil {
			return 0, 0, fmt.Errorf("decisionlog: %s: prune record %x: %w", l.path, key, err)
		}
	}
	oldest := uint64(0)
	if k, _ := rec.Cursor().First(); len(k) == recKeyLen {
		oldest = recKeyTime(k)
	}
	return len(w.victims), oldest, nil
}

// pruneBlocks deletes the index blocks all of whose records are pruned:
// those keyed (by their newest record) below the first record left.
func (l *Log) pruneBlocks(idx *bolt.Bucket, liveTS, liveSeq uint64) error {
	w := &l.w
	w.victims = w.victims[:0]
	c := idx.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) == recKeyLen && !recKeyLess(recKeyTime(k), recKeySeq(k), liveTS, liveSeq) {
			break
		}
		var vic victim
		if len(k) == recKeyLen {
			copy(vic.key[:], k)
		} else {
			vic.odd = append([]byte(nil), k...)
		}
		w.victims = append(w.victims, vic)
	}
	for i := range w.victims {
		vic := &w.victims[i]
		key := vic.key[:]
		if vic.odd != nil {
			key = vic.odd
		}
		if err := idx.Delete(key); err != nil {
			return fmt.Errorf("decisionlog: %s: prune index block %x: %w", l.path, key, err)
		}
	}
	return nil
}
