// Package decisionlog keeps every decision the engine makes, with its
// trace, in a bbolt file of its own (decisions.db, next to the list store).
//
// The hot path only hands a Record to Log.Record, which copies it into a
// bounded in-memory queue and returns (Log.RecordDecision, which Wrap and
// the tiers' safe answers use, builds it in its queue slot instead, from
// the call and the decision): it never blocks, never touches the disk, and
// when the queue is full it drops the record and counts the drop.
// A background writer commits queued records in batches (every
// FlushInterval or BatchSize records, whichever comes first; bigger while
// it is behind), one bbolt transaction — and so one fsync — per batch, and
// prunes the oldest records so the file stays within MaxRecords and
// MaxAge. Search finds records by number (calling, called or original
// called) and time range, newest first, through a number index, without
// scanning the log.
//
// While it keeps up, the writer works in slices (Options.WriterSlice)
// with short pauses between them, so that a commit never holds a CPU for
// milliseconds at once where the query path's threads would queue behind
// it (pace.go).
//
// A log that cannot write (disk full) loses decisions, never calls: see
// health.go for what it counts, reports (Health) and logs, at a bounded
// rate, meanwhile. A file found damaged at Open (a torn page after a power
// loss with NoSync, a bad sector), which would make bbolt panic and stop
// the daemon, is renamed aside and a new log started (setaside.go,
// filecheck.go). A value damaged after Open's check does not stop a
// search: Find skips what it cannot read and says what (damage.go), and a
// number search stands in for a damaged index block by walking the
// segments of its time span.
//
// A commit writes its records as a few segments (segment.go: up to
// segmentMax records each, one bbolt Put each) and its index entries as
// one sorted block (index.go), and pruning deletes whole segments: the
// writer's bbolt work per commit is a handful of Puts and Deletes whatever
// the number of records, and does not depend on how scattered the numbers
// are (BenchmarkCommit and BenchmarkSustained measure it). The writer
// encodes each record as it leaves the queue, in its queue slot, straight
// into its segment's bytes (batch.go), so a record is read once and never
// copied as a Record; what a commit then costs is mostly bbolt's: the
// copy into page buffers, the write and the fsync (BenchmarkWriterCPU: the
// writer thread's CPU per record at a sustained rate). Segments, index
// blocks and their summaries larger than a page are stored in chunks, so
// that every node bbolt writes fits one page and takes its buffer from
// bbolt's pool rather than a fresh one of the value's size (blob.go): the
// writer leaves some 20 heap bytes a record where it left 120, which at
// 200,000 records/s made a garbage collection, and a stall of the query
// path, every few seconds (TestCommitGarbage keeps it so).
package decisionlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"callgate/policy"

	bolt "go.etcd.io/bbolt"
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
	DefaultBatchSize     = 8192
	DefaultFlushInterval = 200 * time.Millisecond
	DefaultMaxRecords    = 1_000_000
	DefaultMaxAge        = 30 * 24 * time.Hour
	DefaultWriterSlice   = 150 * time.Microsecond
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
	// The default, 8192, leaves FlushInterval to bound the wait below some
	// 40,000 records/s and commits a full batch above: at 50,000 queries/s
	// a batch of 1,000 meant 50 commits (100 fsyncs) a second and about
	// 1 µs more CPU per call for the SCP (bench/scp/README.md).
	BatchSize int
	// FlushInterval is the longest a queued record waits to be written.
	FlushInterval time.Duration
	// MaxRecords bounds the records kept; the oldest (in commit order) are
	// pruned. Records are pruned a segment (up to 1,024 records of one
	// commit) at a time, so after a commit the log holds at most
	// MaxRecords and may hold fewer by less than one segment. Negative
	// means no count bound (MaxAge must then be positive).
	MaxRecords int
	// MaxAge bounds how long records are kept, also a segment at a time: a
	// segment goes once its newest record is older than MaxAge, so a
	// record may outlive MaxAge while a newer one of its segment is
	// younger. Negative means no age bound (MaxRecords must then be
	// positive). Age is measured on the age clock (ageclock.go): the
	// wall clock at Open, advanced by the monotonic clock, so a step of
	// the wall clock while the daemon runs (a bad NTP step, a manual
	// date) neither deletes the log at once nor stops pruning; a record
	// stamped in the future is aged from when the writer first saw its
	// segment at the front of the log, not from its stamp.
	MaxAge time.Duration
	// NoSync skips the fsync at each batch commit (tests, tmpfs). A crash
	// of the process loses nothing written, but a power loss may lose
	// recent batches or tear pages of the file; Open then sets the damaged
	// file aside and starts a new one (setaside.go).
	NoSync bool
	// WriterNice, 1 to 19, runs the writer on an OS thread of its own at
	// that nice value, under the normal policy even in a process run
	// under a real-time one (Linux; elsewhere it is ignored), so that the
	// CPU a commit takes yields to the query path rather than preempting
	// it on a machine with few cores; 0 runs it like any goroutine. A writer
	// starved for long lets the queue fill, and the records past it are
	// dropped and counted (QueueSize), never the calls slowed.
	WriterNice int
	// WriterIdle, with WriterNice, runs the writer under SCHED_IDLE while
	// it keeps up and the CPUs have room (Linux), so that a commit takes
	// only CPU time nothing else wants, and at WriterNice while it is
	// behind (a quarter of the queue waiting, or records waiting while it
	// got no CPU for two flush intervals) or other work crowds the CPUs
	// (by the kernel's CPU pressure; writersched.go). It needs PSI and the
	// right to leave SCHED_IDLE (CAP_SYS_NICE, or an RLIMIT_NICE of
	// 20-WriterNice): without them the writer stays at WriterNice and the
	// logger says why.
	WriterIdle bool
	// WriterSlice is the longest the writer runs at once while it keeps
	// up: after a slice of work it pauses for 100 µs, so that its CPU
	// goes idle and the kernel moves the threads queued on the others
	// onto it (pace.go). 0 means DefaultWriterSlice; negative, no pauses
	// (a commit then holds a CPU for as long as it takes: some 3 ms for
	// 8,192 records).
	WriterSlice time.Duration
	// Logger receives write errors (rate-limited, see health.go); nil
	// means slog.Default().
	Logger *slog.Logger
	// Now is the clock used for records without a time, for MaxAge and
	// for the rate of the write-error lines; nil means time.Now.
	Now func() time.Time

	// monotonic is the time elapsed since some fixed instant, unmoved
	// by steps of the wall clock: the age clock's (ageclock.go). Tests
	// set it; otherwise it is the monotonic clock, or with Now given,
	// follows Now (a test's clock is both).
	monotonic func() time.Duration
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
	if o.WriterSlice == 0 {
		o.WriterSlice = DefaultWriterSlice
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.monotonic == nil {
		if o.Now == nil {
			start := time.Now()
			o.monotonic = func() time.Duration { return time.Since(start) }
		} else {
			now := o.Now
			start := now()
			o.monotonic = func() time.Duration { return now().Sub(start) }
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// ErrClosed is returned by Flush after Close.
var ErrClosed = errors.New("decisionlog: log is closed")

// Stats are the log's counters, for the metrics endpoint. All are totals
// since Open except Queued, Stored and Failing.
type Stats struct {
	Recorded      uint64 // accepted by Record into the queue
	Dropped       uint64 // refused by Record: queue full or log closed
	Written       uint64 // committed to the file
	Failed        uint64 // lost because their batch's commit failed
	WriteFailures uint64 // commits that failed (disk full, I/O error)
	Pruned        uint64 // removed by the size/age bounds
	Queued        int    // waiting for the writer now
	Stored        uint64 // records in the file now
	Failing       bool   // the last commit failed (see Health)
	// WriterIdle: the writer runs under SCHED_IDLE now (Options.WriterIdle);
	// WriterRaised counts the times it fell behind or was starved and was
	// raised to WriterNice.
	WriterIdle   bool
	WriterRaised uint64
	// WriterPauses counts the writer's pauses between slices
	// (Options.WriterSlice).
	WriterPauses uint64
	// SetAside: Open found the file damaged, renamed it (Log.SetAside)
	// and started a new one (setaside.go).
	SetAside bool
	// SearchDamaged counts, over every search, the segments, index
	// blocks and records a search found damaged (damage.go): a file
	// damaged in place after Open's check. Each search counts what it
	// met, so a damaged segment searched ten times counts ten.
	SearchDamaged Damage
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
	lay      blobLayout // how values larger than a page are cut (blob.go)
	setAside string     // where Open moved a damaged file ("" if it did not; setaside.go)

	queue    *ring
	kick     chan struct{}      // a batch is waiting (capacity 1)
	flushReq chan chan struct{} // a Flush waiting for the writer
	stop     chan struct{}
	done     chan struct{}

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	recorded      counter
	dropped       counter
	written       counter
	failed        counter
	writeFailures counter
	pruned        counter
	stored        counter

	// What searches found damaged (damage.go): rare, and bumped by
	// searches, not by Record, so no padding.
	searchDamagedSegments, searchDamagedBlocks, searchDamagedRecords atomic.Uint64

	failing atomic.Bool // the last commit failed; details in health
	health  health
	sched   writerSched // the writer thread's scheduling (WriterIdle)

	// Owned by the writer goroutine.
	w         writerState
	pace      pacer // the writer's slices (pace.go)
	kickEvery int   // records queued per wake-up of the writer

	// beforeCommit, when set (tests only), runs before each commit.
	beforeCommit func()
}

// writerState is the writer goroutine's own data, reused across batches.
type writerState struct {
	batch                      // the records taken from the queue, encoded (batch.go)
	arena          []byte      // the values of the commit (bbolt holds them until it ends)
	sortTmp        []entry     // scratch for sortEntries
	mergeA, mergeB []entry     // scratch for merging blocks
	merges         []mergeRef  // the blocks merged into this batch's
	mergeSrc       []entry     // their entries (see chooseMerges)
	sumWalk        summaryWalk // chooseMerges' walk, for its buffers
	victims        []victim    // keys chosen for pruning
	age            ageClock    // the clock MaxAge is measured on (ageclock.go)
	logState                   // changed only by a commit that succeeds
	lastErr        error       // last commit error (nil after a success)
}

// logState is what the writer knows of the file between commits.
type logState struct {
	count     uint64 // records in the file
	prefixMax uint64 // newest record time written: the last segment's prefixMaxTS
	firstLive uint64 // seq of the oldest record in the file; the next seq when empty
	hasFront  bool   // the file has a segment
	frontAge  uint64 // newest record time of the first segment (see frontAge)
}

// mergeRef is an index block chosen for merging: its key and its
// entries, w.mergeSrc[lo:hi].
type mergeRef struct {
	key    [recKeyLen]byte
	lo, hi int
}

// victim is a key chosen for deletion.
type victim struct {
	key [summaryPartKeyLen]byte
	n   uint8  // bytes of key used
	odd []byte // a damaged key of another length, deleted as is
}

func newVictim(k []byte) victim {
	if len(k) == segKeyLen || len(k) == recKeyLen || len(k) == summaryPartKeyLen {
		var v victim
		v.n = uint8(copy(v.key[:], k))
		return v
	}
	// Not a key this package wrote (damage): rare enough that copying it
	// to the heap does not matter.
	return victim{odd: append([]byte(nil), k...)}
}

func (v *victim) bytes() []byte {
	if v.odd != nil {
		return v.odd
	}
	return v.key[:v.n]
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
	aside, err := setAsideIfDamaged(path, opts.Now(), opts.Logger)
	if err != nil {
		return nil, err
	}
	db, err := openDB(path, false)
	if err != nil {
		return nil, err
	}
	l := &Log{
		db: db, path: path, opts: opts,
		queue:    newRing(opts.QueueSize),
		kick:     make(chan struct{}, 1),
		flushReq: make(chan chan struct{}),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		pace:     pacer{slice: max(opts.WriterSlice, 0)},
		setAside: aside,
	}
	l.kickEvery = opts.BatchSize
	if l.pace.slice > 0 {
		l.kickEvery = min(opts.BatchSize, encodeChunk)
	}
	l.db.NoSync = opts.NoSync
	l.lay = layoutFor(db.Info().PageSize)
	if err := l.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
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
	err = l.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("decisionlog: %s is not a decision log (buckets missing)", path)
		}
		v, err := checkVersion(path, meta.Get(metaVersion))
		if err != nil {
			return err
		}
		if v < readableSchema {
			// Converting needs a write transaction; the writer does it.
			return fmt.Errorf("decisionlog: %s has the older schema version %d; start callgate serve once (it converts the file to version %d) and search again", path, v, schemaVersion)
		}
		if tx.Bucket(bucketSeg) == nil || tx.Bucket(bucketIdx) == nil || tx.Bucket(bucketFlt) == nil {
			return fmt.Errorf("decisionlog: %s is not a decision log (segment or index bucket missing)", path)
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

// filePageSize is the bbolt page size of a new file. Every node bbolt
// writes fits one page (blob.go), so the page is the unit of bbolt's work
// per commit: a buffer from its pool, a split, a freelist entry, a write
// call each. At 4 KiB (the OS page, bbolt's default) a commit of 8,192
// records makes some 230 of them and took 12-17% more CPU per record
// than one multi-page node per value did; at 16 KiB it takes 8% less,
// and leaves half the garbage of 4 KiB (bench/decisionlog/README.md).
// The price: a commit's small nodes (the leaves and branches it touches)
// are written as 16 KiB pages, and the file is 17-34% larger.
const filePageSize = 16 << 10

// errLocked is openDB's error for a file another process holds.
var errLocked = errors.New("locked by another process (is callgate serve running?)")

func openDB(path string, readOnly bool) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        time.Second,
		ReadOnly:       readOnly,
		NoFreelistSync: true, // the freelist is rebuilt at open; saves a write per commit
		FreelistType:   bolt.FreelistMapType,
		PageSize:       filePageSize, // a new file's; an existing one keeps its own
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("decisionlog: open %s: %w", path, errLocked)
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
// converts one of an older schema), and loads the writer's state.
func (l *Log) init() error {
	return l.update(func(tx *bolt.Tx) error {
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
		if version < schemaVersion {
			if err := l.migrate(tx, version); err != nil {
				return err
			}
		}
		seg, err := tx.CreateBucketIfNotExists(bucketSeg)
		if err != nil {
			return fmt.Errorf("decisionlog: %s: create seg bucket: %w", l.path, err)
		}
		for _, name := range [][]byte{bucketIdx, bucketFlt} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("decisionlog: %s: create %s bucket: %w", l.path, name, err)
			}
		}
		l.w.logState = loadState(seg, readCount(meta), l.opts.MaxAge > 0, nanos(l.ageNow()))
		l.stored.Store(l.w.count)
		return nil
	})
}

// loadState reads the writer's state from seg: the newest record time
// written, from the last segment, and the first segment's seq and age
// (computed only with an age bound; a future one is now, the age clock's
// time).
func loadState(seg *bolt.Bucket, count uint64, aged bool, now uint64) logState {
	st := logState{count: count, firstLive: seg.Sequence() + 1}
	c := seg.Cursor()
	// A damaged segment is skipped: its times cannot be read, so they
	// cannot matter to a search either.
	for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
		if s, err := readSegment(seg, k); err == nil {
			st.prefixMax = s.prefixMaxTS
			break
		}
	}
	k, _ := c.First()
	for k != nil && len(k) != segKeyLen {
		k, _ = c.Next()
	}
	if k != nil {
		st.hasFront, st.firstLive, st.frontAge = true, binary.BigEndian.Uint64(k), math.MaxUint64
		if aged {
			nk, _ := c.Next()
			for nk != nil && len(nk) != segKeyLen {
				nk, _ = c.Next()
			}
			st.frontAge = min(frontAge(seg, k, nk), now)
		}
	}
	return st
}

// frontAge returns the time the age bound compares with its cutoff for
// the segment at key k, nk being the key of the segment after it (nil if
// none): its newest record time. For a damaged segment, whose times cannot
// be read, it is the next segment's prefixMaxTS, which is at least as new
// as any record before it; with no readable next segment, the maximum
// (never pruned by age, only by count).
func frontAge(seg *bolt.Bucket, k, nk []byte) uint64 {
	if s, err := readSegment(seg, k); err == nil {
		return s.maxTS
	}
	if nk != nil {
		if s, err := readSegment(seg, nk); err == nil {
			return s.prefixMaxTS
		}
	}
	return math.MaxUint64
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
	s, pos, ok := l.claim()
	if !ok {
		return
	}
	s.r = r
	if r.Time.IsZero() {
		s.r.Time = l.opts.Now()
	}
	l.publish(s, pos)
}

// RecordDecision is Record(NewRecord(t, c, d, latency)) with the record
// built in its queue slot: the decision stages (Wrap, the tiers' safe
// answers) record every call, and a Record is large enough that copying
// it twice more on the way costs as much as queueing it.
func (l *Log) RecordDecision(t time.Time, c *policy.Call, d *policy.Decision, latency time.Duration) {
	if l == nil {
		return
	}
	s, pos, ok := l.claim()
	if !ok {
		return
	}
	if t.IsZero() {
		t = l.opts.Now()
	}
	s.r.set(t, c, d, latency)
	l.publish(s, pos)
}

// claim takes the queue slot a record is built in, or counts the record
// dropped (log closed, queue full).
func (l *Log) claim() (*slot, uint64, bool) {
	if l.closed.Load() {
		l.dropped.Add(1)
		return nil, 0, false
	}
	s, pos, ok := l.queue.claim()
	if !ok {
		l.dropped.Add(1)
	}
	return s, pos, ok
}

// publish hands the record built in s (claimed at pos) to the writer, and
// wakes the writer once per batch, not per record: waking a parked
// goroutine costs more than the rest of Record together.
func (l *Log) publish(s *slot, pos uint64) {
	s.publish(pos)
	l.recorded.Add(1)
	if (pos+1)%uint64(l.kickEvery) == 0 {
		l.kickWriter()
	}
}

// kickWriter wakes the writer for a batch, and raises it from SCHED_IDLE
// when it is behind.
func (l *Log) kickWriter() {
	select {
	case l.kick <- struct{}{}:
	default: // already kicked
	}
	if l.sched.idle.Load() && l.behind() {
		// Behind: an idle writer may be getting no CPU at all.
		if err := l.sched.raise(); err != nil && l.sched.raiseFailed.CompareAndSwap(false, true) {
			l.opts.Logger.Warn("decision log writer left under SCHED_IDLE while behind", "queued", l.queue.len(), "err", err)
		}
	}
}

// Flush waits until every record queued before the call is committed, or
// counted as lost because its commit failed (Stats.Failed). It is a
// barrier, not a health check: it returns an error (ErrClosed) only after
// Close, so that a search flushing first still works while the disk is
// full; Health tells whether the records were written. Not for the hot
// path: it is for tests, the CLI and shutdown.
func (l *Log) Flush() error {
	if l == nil || l.readOnly {
		return nil
	}
	req := make(chan struct{}, 1)
	select {
	case l.flushReq <- req:
	case <-l.done:
		return ErrClosed
	}
	select {
	case <-req:
		return nil
	case <-l.done:
		return ErrClosed
	}
}

// Close writes what is queued, stops the writer and closes the file. It
// returns an error only when the file cannot be closed. Decisions it could
// not write (a full disk) do not make it fail: they are counted in
// Stats.Failed, and when the final commit fails too Close logs one line
// with the decisions lost in the outage; Health still tells afterwards. A
// daemon stopping on a full disk has answered every call, so its stop is
// clean. A Record racing with Close may be accepted but not written; it is
// then counted in Dropped as well as Recorded.
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
			if err := l.Health(); err != nil {
				l.opts.Logger.Error("decision log closed while failing", "path", l.path, "err", err)
			}
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
		Recorded:      l.recorded.Load(),
		Dropped:       l.dropped.Load(),
		Written:       l.written.Load(),
		Failed:        l.failed.Load(),
		WriteFailures: l.writeFailures.Load(),
		Pruned:        l.pruned.Load(),
		Queued:        l.queuedLen(),
		Stored:        l.stored.Load(),
		Failing:       l.failing.Load(),
		WriterIdle:    l.sched.idle.Load(),
		WriterRaised:  l.sched.raised.Load(),
		WriterPauses:  l.pace.pauses.Load(),
		SetAside:      l.setAside != "",
		SearchDamaged: Damage{
			Segments: int(l.searchDamagedSegments.Load()),
			Blocks:   int(l.searchDamagedBlocks.Load()),
			Records:  int(l.searchDamagedRecords.Load()),
		},
	}
}

// Path returns the file's path.
func (l *Log) Path() string { return l.path }

// run is the writer goroutine. It sleeps until a batch is waiting (kick),
// the interval passes, a flush is asked for or the log closes, and then
// takes what is queued in bulk.
func (l *Log) run() {
	defer close(l.done)
	if n := l.opts.WriterNice; n > 0 {
		// The thread is not unlocked: it ends with the writer, and no
		// other goroutine runs at its priority.
		runtime.LockOSThread()
		switch err := l.sched.start(n, l.opts.WriterIdle); {
		case errors.Is(err, errIdleRefused):
			l.opts.Logger.Info("decision log writer runs at writer_nice", "writer_nice", n, "why", err)
		case err != nil:
			l.opts.Logger.Warn("decision log writer: its thread's scheduling is not as configured", "writer_nice", n,
				"writer_idle", l.opts.WriterIdle, "idle", l.sched.idle.Load(), "err", err)
		}
		if l.sched.idleMode {
			l.opts.Logger.Info("decision log writer runs under SCHED_IDLE while it keeps up and the CPUs have room (writer_idle)", "writer_nice", n)
			l.sched.ran.Store(int64(monoSince()))
			go l.watchIdleWriter(crowdCheck, crowdHold)
		}
	}
	tick := time.NewTicker(l.opts.FlushInterval)
	defer tick.Stop()
	for {
		if l.sched.idleMode {
			l.sched.ran.Store(int64(monoSince()))
		}
		if l.queue.len() < l.queue.cap()/16 {
			// Caught up (or never behind): back to idle if Record raised it.
			if err := l.sched.lower(); err != nil {
				l.opts.Logger.Warn("decision log writer stays at writer_nice", "err", err)
			}
		}
		select {
		case <-l.kick:
			l.pace.wake()
			l.drain() // full batches are committed; a remainder waits for the tick
		case <-tick.C:
			l.pace.wake()
			l.drain()
			l.commit()
		case req := <-l.flushReq:
			l.pace.wake()
			l.drain()
			l.commit()
			req <- struct{}{}
		case <-l.stop:
			l.drain()
			l.commit()
			return
		}
	}
}

// batchDue reports whether the batch is to be committed now: once it is
// full — except while the writer is behind (a quarter of the queue or more
// waiting), when the batch grows up to a quarter of the queue first: one
// commit costs a fixed couple of fsyncs plus a little per record, so
// bigger commits are how the writer catches up under load instead of
// dropping.
func (l *Log) batchDue() bool {
	n := l.w.n
	if n < l.opts.BatchSize {
		return false
	}
	return n >= l.queue.cap()/4 || !l.behind()
}

// drain moves what is queued now into batches, encoding each record in
// its queue slot (batch.go), and commits the full ones. It takes at most
// one queue's worth so a steady stream of new records cannot keep it
// going.
func (l *Log) drain() {
	for n := l.queue.cap(); n > 0; n-- {
		r := l.queue.front()
		if r == nil {
			return
		}
		l.w.add(r)
		l.queue.next()
		if n%breatheEvery == 0 {
			l.pace.breathe(l.behind())
		}
		if l.batchDue() {
			l.commit()
		}
	}
}

// behind reports whether a quarter of the queue or more is waiting.
func (l *Log) behind() bool { return l.queue.len() >= l.queue.cap()/4 }

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

// pruneDue reports whether st exceeds the bounds (cutoff being the oldest
// time MaxAge keeps).
func (l *Log) pruneDue(st *logState, cutoff uint64) bool {
	if l.opts.MaxRecords > 0 && st.count > uint64(l.opts.MaxRecords) {
		return true
	}
	return l.opts.MaxAge > 0 && st.hasFront && st.frontAge < cutoff
}

// commit writes the batch, its index block and prunes, in one
// transaction. A failed commit loses its batch (counted and reported, see
// health.go): retrying a batch a full disk refused would only grow memory,
// and the queue behind it would drop instead.
func (l *Log) commit() {
	w := &l.w
	cutoff, now := uint64(0), uint64(0)
	if l.opts.MaxAge > 0 {
		t := l.ageNow()
		cutoff, now = nanos(t.Add(-l.opts.MaxAge)), nanos(t)
	}
	if w.n == 0 && !l.pruneDue(&w.logState, cutoff) {
		return
	}
	if l.beforeCommit != nil {
		l.beforeCommit()
	}
	l.pace.breathe(l.behind())
	st := w.logState // applied only if the transaction commits
	var pruned uint64
	err := l.update(func(tx *bolt.Tx) error {
		meta, seg := tx.Bucket(bucketMeta), tx.Bucket(bucketSeg)
		idx, flt := tx.Bucket(bucketIdx), tx.Bucket(bucketFlt)
		if meta == nil || seg == nil || idx == nil || flt == nil {
			return fmt.Errorf("decisionlog: %s: buckets missing", l.path)
		}
		// Keys arrive in (nearly) ascending order, so pages are filled
		// almost fully instead of split half-empty.
		seg.FillPercent, idx.FillPercent, flt.FillPercent = 0.9, 0.9, 0.9
		if err := l.putSegments(seg, &st, now); err != nil {
			return err
		}
		l.pace.breathe(l.behind())
		// Choose the blocks to merge before pruning deletes anything:
		// bbolt's Cursor.Last can loop forever on a bucket whose leaves
		// were all emptied earlier in the same transaction.
		l.chooseMerges(idx, flt)
		st.count += uint64(w.n)
		if l.pruneDue(&st, cutoff) {
			var err error
			if pruned, err = l.prune(seg, &st, cutoff, now); err != nil {
				return err
			}
			// Every block whose records are all below the first segment
			// left goes; the entries below it in the blocks being merged
			// are dropped by putBlock.
			if err := l.pruneBlocks(idx, flt, st.firstLive); err != nil {
				return err
			}
			l.pace.breathe(l.behind())
		}
		if err := l.putBlock(idx, flt, st.firstLive); err != nil {
			return err
		}
		var cb [8]byte
		binary.BigEndian.PutUint64(cb[:], st.count)
		if err := meta.Put(metaCount, cb[:]); err != nil {
			return fmt.Errorf("decisionlog: %s: write count: %w", l.path, err)
		}
		l.pace.breathe(l.behind())
		return nil
	})
	n := uint64(w.n)
	w.batch.reset()
	w.arena = w.arena[:0]
	w.merges = w.merges[:0]
	if err != nil {
		w.lastErr = err
		l.commitFailed(err, n)
		return
	}
	w.lastErr = nil
	l.commitSucceeded()
	w.logState = st
	l.written.Add(n)
	l.pruned.Add(pruned)
	l.stored.Store(st.count)
}

// putSegments puts the batch's segments into seg (one Put each), with
// the seqs next in seg's sequence, and gives the batch's index entries
// (w.entries, in seq order) their seqs. now is the age clock's time (0
// without an age bound): a first segment stamped later is aged from now.
func (l *Log) putSegments(seg *bolt.Bucket, st *logState, now uint64) error {
	w := &l.w
	if w.n == 0 {
		return nil
	}
	w.finishSegment()
	// One sequence update for the batch: its seqs are first.. in order.
	first := seg.Sequence() + 1
	if err := seg.SetSequence(first - 1 + uint64(w.n)); err != nil {
		return fmt.Errorf("decisionlog: %s: next sequence: %w", l.path, err)
	}
	for i := range w.segs {
		s := &w.segs[i]
		k := segKey(first + s.rel)
		// bbolt keeps the value slice until the commit: it points into
		// the batch's buffer, which is not reused before then.
		if err := putBlob(seg, k[:], w.buf[s.start:s.end:s.end], l.lay); err != nil {
			return fmt.Errorf("decisionlog: %s: put segment %d: %w", l.path, first+s.rel, err)
		}
		st.prefixMax = max(st.prefixMax, s.maxTS)
		if !st.hasFront {
			st.hasFront, st.firstLive, st.frontAge = true, first+s.rel, min(s.maxTS, now)
			if l.opts.MaxAge <= 0 {
				st.frontAge = math.MaxUint64 // not used; as loadState leaves it
			}
		}
	}
	for i := range w.entries {
		w.entries[i].seq += first
	}
	return nil
}

// chooseMerges picks the newest blocks to merge into the block of this
// batch while they are small (see mergeLimit), newest first, into
// w.merges, and copies their entries into w.mergeSrc: a block in chunks
// is read through its nested bucket, which deleting it (pruneBlocks,
// putBlock) takes away. It only reads; putBlock deletes them.
func (l *Log) chooseMerges(idx, flt *bolt.Bucket) {
	w := &l.w
	w.merges, w.mergeSrc = w.merges[:0], w.mergeSrc[:0]
	if len(w.entries) == 0 {
		return
	}
	size := len(w.entries)
	sw := &w.sumWalk
	*sw = summaryWalk{c: flt.Cursor(), rev: sw.rev[:0], parts: sw.parts[:0]}
	for {
		k, sum, err := sw.prev()
		if k == nil || err != nil || sum.n > size || sum.n+size > mergeLimit {
			break // a damaged block is left for pruning, never merged
		}
		bl, err := readBlock(idx, k)
		if err != nil || bl.len() != sum.n {
			break
		}
		size += sum.n
		lo := len(w.mergeSrc)
		w.mergeSrc = bl.appendEntries(w.mergeSrc, 0)
		w.merges = append(w.merges, mergeRef{key: [recKeyLen]byte(k), lo: lo, hi: len(w.mergeSrc)})
	}
}

// putBlock writes the batch's entries, merged with those of the blocks
// chooseMerges picked and without those of records pruned already (below
// liveSeq), as one block in place of the merged ones.
func (l *Log) putBlock(idx, flt *bolt.Bucket, liveSeq uint64) error {
	w := &l.w
	for i := range w.merges {
		// Gone already if pruning took it; deleting is then a no-op. Its
		// entries were copied (chooseMerges).
		if err := deleteBlock(idx, flt, w.merges[i].key[:]); err != nil {
			return fmt.Errorf("decisionlog: %s: merge index block: %w", l.path, err)
		}
	}
	es := w.entries[:0]
	for _, e := range w.entries {
		if e.seq >= liveSeq {
			es = append(es, e)
		}
	}
	// The two buffers may swap; keep them apart for the next batch.
	es, w.sortTmp = sortEntries(es, w.sortTmp)
	w.entries = es
	l.pace.breathe(l.behind())
	// The merged blocks are sorted already: merge linearly, smallest
	// (newest) first, alternating between two scratch buffers.
	a, b := w.mergeA, w.mergeB
	for i := range w.merges {
		m := &w.merges[i]
		a = mergeEntries(a[:0], es, w.mergeSrc[m.lo:m.hi], liveSeq)
		es = a
		a, b = b, a
	}
	w.mergeA, w.mergeB = a, b
	if len(es) == 0 {
		return nil
	}
	sp := spanOf(es)
	start := len(w.arena)
	w.arena = appendRecKey(w.arena, sp.newestTS, sp.newestSeq)
	w.arena = appendBlockSpan(w.arena, es, sp)
	kv := w.arena[start:len(w.arena):len(w.arena)]
	start = len(w.arena)
	w.arena = appendSummary(w.arena, es, sp)
	sv := w.arena[start:len(w.arena):len(w.arena)]
	if err := putBlob(idx, kv[:recKeyLen], kv[recKeyLen:], l.lay); err != nil {
		return fmt.Errorf("decisionlog: %s: put index block: %w", l.path, err)
	}
	if err := putSummary(flt, kv[:recKeyLen], sv, l.lay); err != nil {
		return fmt.Errorf("decisionlog: %s: put index block summary: %w", l.path, err)
	}
	return nil
}

// deleteBlock deletes the index block k and its summary.
func deleteBlock(idx, flt *bolt.Bucket, k []byte) error {
	if err := deleteBlob(idx, k); err != nil {
		return fmt.Errorf("index block: %w", err)
	}
	if err := deleteSummary(flt, k); err != nil {
		return fmt.Errorf("index block summary: %w", err)
	}
	return nil
}

// prune deletes whole segments from seg's front, in commit order, while
// the count bound is exceeded or the segment's newest record is older than
// cutoff, stopping at the first segment neither applies to — and after
// about pruneChunk records (or twice the batch if more), keeping the
// transaction small; the next commit goes on. It returns how many records
// it deleted and updates st's count and front. A segment's record count
// is the gap to the next key (seqs are contiguous), so even a damaged
// segment is counted right. A segment's age is its newest record's time,
// but no later than now (the age clock's time) when the walk first meets
// it: a record stamped in the future (a clock stepped back since) would
// otherwise keep its segment, and every one behind it, from ever ageing.
// The front segment keeps the age it was given then (st.frontAge), so it
// goes MaxAge after that, not never.
func (l *Log) prune(seg *bolt.Bucket, st *logState, cutoff, now uint64) (uint64, error) {
	w := &l.w
	// At least twice the batch: under load, pruning keeps pace with the
	// big catch-up batches and still works off any excess.
	chunk := uint64(max(l.pruneChunk(), 2*w.n))
	nextSeq := seg.Sequence() + 1
	maxRecords := uint64(max(l.opts.MaxRecords, 0))
	var pruned uint64
	// Collect first, then delete: Next after a cursor Delete skips a key.
	w.victims = w.victims[:0]
	front, frontSeq, frontAt := st.hasFront, st.firstLive, st.frontAge
	ageOf := func(k, nk []byte, first uint64) uint64 {
		if front && first == frontSeq {
			return frontAt
		}
		return min(frontAge(seg, k, nk), now)
	}
	st.hasFront, st.firstLive = false, nextSeq
	c := seg.Cursor()
	k, _ := c.First()
	for k != nil {
		if len(k) != segKeyLen {
			w.victims = append(w.victims, newVictim(k))
			k, _ = c.Next()
			continue
		}
		first := binary.BigEndian.Uint64(k)
		nk, _ := c.Next()
		for nk != nil && len(nk) != segKeyLen {
			w.victims = append(w.victims, newVictim(nk))
			nk, _ = c.Next()
		}
		next := nextSeq
		if nk != nil {
			next = binary.BigEndian.Uint64(nk)
		}
		n := uint64(0)
		if next > first {
			n = next - first
		}
		// The count bound needs no segment read (n is the key gap); the
		// age bound reads the segment's header.
		excess := maxRecords > 0 && st.count > pruned && st.count-pruned > maxRecords
		age, aged := uint64(math.MaxUint64), false
		if !excess && l.opts.MaxAge > 0 {
			age, aged = ageOf(k, nk, first), true
		}
		old := age < cutoff
		if !(excess || old) || pruned > 0 && pruned+n > chunk {
			if !aged && l.opts.MaxAge > 0 {
				age = ageOf(k, nk, first)
			}
			st.hasFront, st.firstLive, st.frontAge = true, first, age
			break
		}
		w.victims = append(w.victims, newVictim(k))
		pruned += n
		k = nk
	}
	for i := range w.victims {
		if err := deleteBlob(seg, w.victims[i].bytes()); err != nil {
			return 0, fmt.Errorf("decisionlog: %s: prune segment %x: %w", l.path, w.victims[i].bytes(), err)
		}
	}
	if !st.hasFront {
		st.count = 0 // whatever the stored count said
	} else {
		st.count -= min(pruned, st.count)
	}
	return pruned, nil
}

// pruneBlocks deletes the index blocks all of whose records are pruned
// (maxSeq below liveSeq), and the damaged ones, which no search can use,
// from the front, deciding from their summaries. It stops at the first
// block with a live record: blocks are in order of newest time, which is
// nearly but not strictly seq order (a block of late records only), so a
// dead block may wait behind a live one until that goes too; searches
// skip its entries meanwhile.
func (l *Log) pruneBlocks(idx, flt *bolt.Bucket, liveSeq uint64) error {
	w := &l.w
	w.victims = w.victims[:0]
	var kept [recKeyLen]byte
	hasKept := false
	c := flt.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		// A summary's parts follow its first (summary.go), which holds
		// the header: the parts of a block pruned are pruned with it.
		if sum, err := parseSummaryHeader(v); err == nil && len(k) == recKeyLen && sum.maxSeq >= liveSeq {
			kept, hasKept = [recKeyLen]byte(k), true
			break
		}
		w.victims = append(w.victims, newVictim(k))
	}
	// A block before the first summary kept has no summary (damage) or is
	// among the victims already (deleting twice is a no-op).
	ic := idx.Cursor()
	for k, _ := ic.First(); k != nil && (!hasKept || bytes.Compare(k, kept[:]) < 0); k, _ = ic.Next() {
		w.victims = append(w.victims, newVictim(k))
	}
	for i := range w.victims {
		if err := deleteBlock(idx, flt, w.victims[i].bytes()); err != nil {
			return fmt.Errorf("decisionlog: %s: prune: %w", l.path, err)
		}
	}
	return nil
}
