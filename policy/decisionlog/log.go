// Package decisionlog keeps every decision the engine makes, with its
// trace, in a bbolt file of its own (decisions.db, next to the list store).
//
// The hot path only hands a Record to Log.Record, which copies it into a
// bounded in-memory queue and returns: it never blocks, never touches the
// disk, and when the queue is full it drops the record and counts the drop.
// A background writer commits queued records in batches (every
// FlushInterval or BatchSize records, whichever comes first), one bbolt
// transaction — and so at most one fsync — per batch, and prunes the oldest
// records so the file stays within MaxRecords and MaxAge. Search finds
// records by number (calling, called or original called) and time range,
// newest first, through a number index, without scanning the log.
package decisionlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
	DefaultQueueSize     = 16384
	DefaultBatchSize     = 1000
	DefaultFlushInterval = 200 * time.Millisecond
	DefaultMaxRecords    = 1_000_000
	DefaultMaxAge        = 30 * 24 * time.Hour
)

// Options configure a Log. The zero value gives the defaults above.
type Options struct {
	// QueueSize is how many records may wait for the writer (rounded up
	// to a power of two); beyond it Record drops (and counts) instead of
	// blocking.
	QueueSize int
	// BatchSize is the most records written in one transaction; a full
	// batch is written at once, without waiting for FlushInterval.
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
	arena   []byte   // keys and values of the batch being committed
	victims []victim // records chosen for pruning
	count   uint64   // records in the file
	oldest  uint64   // time key of the oldest record, 0 if none
	lastErr error    // last commit error, reported by Flush and Close
}

type victim struct {
	key  [recKeyLen]byte
	nums [3]e164.Number // distinct numbers of the record: its index entries
	n    int
	odd  []byte // a damaged key of another length, deleted as is
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
		if meta == nil || tx.Bucket(bucketRec) == nil || tx.Bucket(bucketNum) == nil {
			return fmt.Errorf("decisionlog: %s is not a decision log (buckets missing)", path)
		}
		if err := checkVersion(path, meta.Get(metaVersion)); err != nil {
			return err
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

func checkVersion(path string, v []byte) error {
	switch {
	case len(v) != 1:
		return fmt.Errorf("decisionlog: %s: schema version missing or damaged", path)
	case v[0] > schemaVersion:
		return fmt.Errorf("decisionlog: %s has schema version %d, newer than this build's %d; upgrade callgate", path, v[0], schemaVersion)
	case v[0] < schemaVersion:
		// Version 1 is the first; older layouts do not exist.
		return fmt.Errorf("decisionlog: %s has unknown schema version %d", path, v[0])
	}
	return nil
}

func readCount(meta *bolt.Bucket) uint64 {
	if v := meta.Get(metaCount); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// init creates the buckets of a new file, or checks an existing one and
// loads the writer's count and oldest time.
func (l *Log) init() error {
	return l.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return fmt.Errorf("decisionlog: %s: create meta bucket: %w", l.path, err)
		}
		if v := meta.Get(metaVersion); v == nil {
			if err := meta.Put(metaVersion, []byte{schemaVersion}); err != nil {
				return fmt.Errorf("decisionlog: %s: write schema version: %w", l.path, err)
			}
		} else if err := checkVersion(l.path, v); err != nil {
			return err
		}
		rec, err := tx.CreateBucketIfNotExists(bucketRec)
		if err != nil {
			return fmt.Errorf("decisionlog: %s: create rec bucket: %w", l.path, err)
		}
		if _, err := tx.CreateBucketIfNotExists(bucketNum); err != nil {
			return fmt.Errorf("decisionlog: %s: create num bucket: %w", l.path, err)
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

// add appends r to the batch and commits a full batch.
func (l *Log) add(r *Record) {
	l.w.batch = append(l.w.batch, *r)
	if len(l.w.batch) >= l.opts.BatchSize {
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

// commit writes the batch and prunes, in one transaction. A failed commit
// loses its batch (counted in Failed and logged): retrying a batch a full
// disk refused would only grow memory.
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
		meta, rec, num := tx.Bucket(bucketMeta), tx.Bucket(bucketRec), tx.Bucket(bucketNum)
		if meta == nil || rec == nil || num == nil {
			return fmt.Errorf("decisionlog: %s: buckets missing", l.path)
		}
		// rec keys arrive in (nearly) ascending time order, so its pages
		// are filled almost fully instead of split half-empty.
		rec.FillPercent = 0.9
		for i := range w.batch {
			r := &w.batch[i]
			seq, err := rec.NextSequence()
			if err != nil {
				return fmt.Errorf("decisionlog: %s: next sequence: %w", l.path, err)
			}
			ts := nanos(r.Time)
			start := len(w.arena)
			w.arena = appendRecKey(w.arena, ts, seq)
			key := w.arena[start:len(w.arena):len(w.arena)]
			start = len(w.arena)
			w.arena = appendRecord(w.arena, r)
			if err := rec.Put(key, w.arena[start:len(w.arena):len(w.arena)]); err != nil {
				return fmt.Errorf("decisionlog: %s: put record: %w", l.path, err)
			}
			nums, n := distinctNumbers(r.Calling, r.Called, r.OriginalCalled)
			for _, x := range nums[:n] {
				start = len(w.arena)
				w.arena = appendNumKey(w.arena, x, ts, seq)
				if err := num.Put(w.arena[start:len(w.arena):len(w.arena)], []byte{}); err != nil {
					return fmt.Errorf("decisionlog: %s: put index of %v: %w", l.path, x, err)
				}
			}
			if oldest == 0 || ts < oldest {
				oldest = ts
			}
		}
		count += uint64(len(w.batch))
		if l.pruneDue(count, oldest, cutoff) {
			var err error
			if pruned, oldest, err = l.prune(rec, num, count, cutoff); err != nil {
				return err
			}
			count -= uint64(pruned)
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

// prune deletes the oldest records, with their index entries, while the
// count or age bound is exceeded (at most pruneChunk). It returns how many
// it deleted and the time of the oldest record left.
func (l *Log) prune(rec, num *bolt.Bucket, count, cutoff uint64) (int, uint64, error) {
	w := &l.w
	excess := int64(0)
	if l.opts.MaxRecords > 0 {
		excess = int64(count) - int64(l.opts.MaxRecords)
	}
	w.victims = w.victims[:0]
	c := rec.Cursor()
	for k, v := c.First(); k != nil && len(w.victims) < l.pruneChunk(); k, v = c.Next() {
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
		// A damaged value still goes; only its index entries cannot be
		// found (searches skip index entries whose record is gone).
		if calling, called, orig, err := decodeNumbers(v); err == nil {
			vic.nums, vic.n = distinctNumbers(calling, called, orig)
		}
		w.victims = append(w.victims, vic)
	}
	var nk [numKeyLen]byte
	for i := range w.victims {
		vic := &w.victims[i]
		if vic.odd != nil {
			if err := rec.Delete(vic.odd); err != nil {
				return 0, 0, fmt.Errorf("decisionlog: %s: prune damaged key %x: %w", l.path, vic.odd, err)
			}
			continue
		}
		if err := rec.Delete(vic.key[:]); err != nil {
			return 0, 0, fmt.Errorf("decisionlog: %s: prune record: %w", l.path, err)
		}
		ts, seq := binary.BigEndian.Uint64(vic.key[:8]), binary.BigEndian.Uint64(vic.key[8:])
		for _, x := range vic.nums[:vic.n] {
			if err := num.Delete(appendNumKey(nk[:0], x, ts, seq)); err != nil {
				return 0, 0, fmt.Errorf("decisionlog: %s: prune index: %w", l.path, err)
			}
		}
	}
	oldest := uint64(0)
	if k, _ := rec.Cursor().First(); len(k) == recKeyLen {
		oldest = recKeyTime(k)
	}
	return len(w.victims), oldest, nil
}
