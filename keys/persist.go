package keys

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"callgate/e164"
)

// Keys survive a restart within their window through two files in the
// configured folder, written by one goroutine off the call path:
//
//	keys.snap        every key live when it was taken, and the log
//	                 generation it continues with
//	keys-<gen>.log   the changes (adds and single-use uses) since, as
//	                 fixed-size records with a checksum each
//
// Every flush interval the writer takes each shard's pending records (a
// swap under the shard's lock), appends them to the current log and
// fdatasyncs once: registrations and lookups never wait for the disk. A
// registration that must be durable before it is acknowledged (the REST
// API) waits for the sync that covers it (group commit: one fdatasync for
// everything that arrived meanwhile).
//
// Every snapshot interval, or when the log passes its size bound, the
// writer cuts each shard in turn (under its lock: the pending records go
// to the old log, the shard's live keys to the new snapshot, later
// changes to the next log), syncs the snapshot, renames it over the old
// one and deletes the logs it covers. Replay is idempotent (adding a key
// twice is one key; a use keeps the earliest end), so a crash anywhere in
// between loses nothing that was synced.

const (
	snapName = "keys.snap"
	// snapMagic names the snapshot's version: 02 holds version 2 records
	// (with the enterprise), 01 version 1 (before keys were bound to one;
	// still read, table.go).
	snapMagic   = "CGKEYS02"
	snapMagicV1 = "CGKEYS01"
	snapHeader  = 8 + 8 + 8 // magic, generation, count
)

// binder says which enterprise enrols a calling number now
// (Enterprises.Enterprise): a version 1 record, which names none, is bound
// to it on loading.
type binder func(e164.Number) (uint32, bool)

// restore applies one saved record (snapshot or log) to t at now: a key
// that has ended is skipped; a version 1 record is bound to the
// enterprise that enrols its calling number (skipped when none does: it
// could match no call). It reports whether the record was applied.
func (t *table) restore(kind byte, s slot, now uint32, bind binder) (bool, error) {
	if s.gone(t.past(now)) {
		return false, nil
	}
	if s.ent == 0 {
		id, ok := bind(s.calling)
		if !ok {
			return false, nil
		}
		s.ent = id
	}
	if kind == recAdd {
		if _, err := t.add(s.calling, s.called, s.ent, s.notBefore, s.notAfter, now); err != nil && !errors.Is(err, ErrRevoked) {
			return false, err
		}
	}
	if s.usedEnd != 0 {
		t.use(&s)
	}
	return true, nil
}

func logName(gen uint64) string { return fmt.Sprintf("keys-%d.log", gen) }

// writer owns the files.
type writer struct {
	dir      string
	t        *table
	log      *slog.Logger
	flush    time.Duration
	snapEach time.Duration
	maxLog   int64
	now      func() time.Time

	gen     uint64   // current log generation
	f       *os.File // current log
	logSize int64
	lastSn  time.Time
	buf     []byte

	cycle    atomic.Uint64 // flush cycles begun
	snapNext atomic.Bool   // the next cycle takes a snapshot whatever the interval (snapshotNow)
	mu       sync.Mutex
	synced   uint64        // flush cycles whose records are on disk
	lastErr  error         // the last cycle's failure, nil when it succeeded
	done     chan struct{} // closed when the next cycle ends (replaced each cycle)

	kick chan struct{}
	stop chan struct{}
	quit chan struct{}

	stats struct {
		flushes, syncErrors, snapshots, snapErrors atomic.Uint64
		bytes                                      atomic.Uint64
	}
}

// recover loads the folder's snapshot and logs into t and opens a new log.
// A damaged snapshot is set aside (renamed .corrupt) and reported; a log
// is replayed up to its first damaged record (a torn tail after a crash).
// Keys that have ended are not loaded.
func recoverDir(dir string, t *table, now uint32, bind binder, log *slog.Logger) (gen uint64, loaded int, err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return 0, 0, fmt.Errorf("keys folder %s: %w", dir, err)
	}
	snapGen, n, err := loadSnapshot(filepath.Join(dir, snapName), t, now, bind)
	if err != nil {
		bad := filepath.Join(dir, snapName+".corrupt")
		log.Error("call keys: the snapshot is damaged and set aside; keys it held are lost (their enterprises' calls are blocked as spoofed until they register again)",
			"file", filepath.Join(dir, snapName), "moved_to", bad, "error", err)
		if rerr := os.Rename(filepath.Join(dir, snapName), bad); rerr != nil {
			return 0, 0, fmt.Errorf("keys snapshot %s is damaged (%v) and cannot be moved aside: %w", filepath.Join(dir, snapName), err, rerr)
		}
		snapGen = 0
	}
	loaded += n
	gens, err := logGens(dir)
	if err != nil {
		return 0, 0, err
	}
	gen = snapGen
	for _, g := range gens {
		p := filepath.Join(dir, logName(g))
		if g < snapGen {
			_ = os.Remove(p) // covered by the snapshot
			continue
		}
		n, torn, err := replayLog(p, t, now, bind)
		if err != nil {
			return 0, 0, err
		}
		if torn != "" {
			log.Warn("call keys: log ends in a damaged record (a crash while writing); replayed up to it", "file", p, "records", n, "damage", torn)
		}
		if n == 0 && torn == "" {
			// A run that registered no key: nothing to keep, and
			// every start would otherwise leave one more file.
			_ = os.Remove(p)
		}
		loaded += n
		gen = max(gen, g)
	}
	return gen + 1, loaded, nil
}

// loadDir loads dir's snapshot and logs into t without changing a file
// (OpenReadOnly): a damaged snapshot is an error, a damaged log tail ends
// its replay as in recoverDir; a missing folder holds no keys.
func loadDir(dir string, t *table, now uint32, bind binder) (loaded int, err error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	snapGen, n, err := loadSnapshot(filepath.Join(dir, snapName), t, now, bind)
	if err != nil {
		return 0, fmt.Errorf("keys snapshot %s: %w", filepath.Join(dir, snapName), err)
	}
	loaded = n
	gens, err := logGens(dir)
	if err != nil {
		return 0, err
	}
	for _, g := range gens {
		if g < snapGen {
			continue // covered by the snapshot
		}
		n, _, err := replayLog(filepath.Join(dir, logName(g)), t, now, bind)
		if err != nil {
			return 0, err
		}
		loaded += n
	}
	return loaded, nil
}

// logGens lists the generations of the log files in dir, ascending.
func logGens(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("keys folder %s: %w", dir, err)
	}
	var gens []uint64
	for _, e := range ents {
		s, ok := strings.CutPrefix(e.Name(), "keys-")
		if !ok {
			continue
		}
		s, ok = strings.CutSuffix(s, ".log")
		if !ok {
			continue
		}
		if g, err := strconv.ParseUint(s, 10, 64); err == nil {
			gens = append(gens, g)
		}
	}
	slices.Sort(gens)
	return gens, nil
}

func loadSnapshot(path string, t *table, now uint32, bind binder) (gen uint64, loaded int, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var hdr [snapHeader]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, 0, fmt.Errorf("header: %w", err)
	}
	size, addKind := recordSize, recAdd
	switch string(hdr[:8]) {
	case snapMagic:
	case snapMagicV1:
		size, addKind = recordSizeV1, recAddV1
	default:
		return 0, 0, fmt.Errorf("not a keys snapshot (magic %q)", hdr[:8])
	}
	gen = binary.LittleEndian.Uint64(hdr[8:])
	count := binary.LittleEndian.Uint64(hdr[16:])
	var buf [recordSize]byte
	rec := buf[:size]
	for i := uint64(0); i < count; i++ {
		if _, err := io.ReadFull(r, rec); err != nil {
			return 0, loaded, fmt.Errorf("record %d of %d: %w", i+1, count, err)
		}
		if rec[0] != addKind {
			return 0, loaded, fmt.Errorf("record %d of %d: kind %q in a snapshot of %q records", i+1, count, rec[0], addKind)
		}
		kind, s, err := decodeRecord(rec)
		if err != nil {
			return 0, loaded, fmt.Errorf("record %d of %d: %v", i+1, count, err)
		}
		ok, err := t.restore(kind, s, now, bind)
		if err != nil {
			return 0, loaded, fmt.Errorf("record %d of %d: %w (keys.max_keys is lower than the keys saved)", i+1, count, err)
		}
		if ok {
			loaded++
		}
	}
	if _, err := r.ReadByte(); err != io.EOF {
		return 0, loaded, fmt.Errorf("trailing bytes after %d records", count)
	}
	return gen, loaded, nil
}

// replayLog applies a log's records (of either version, table.go); torn
// describes a damaged tail.
func replayLog(path string, t *table, now uint32, bind binder) (n int, torn string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	var rec [recordSize]byte
	for {
		kind, err := r.ReadByte()
		if err == io.EOF {
			return n, "", nil
		}
		size := recordLen(kind)
		if err != nil || size == 0 {
			return n, fmt.Sprintf("unknown record kind %q", kind), nil
		}
		rec[0] = kind
		if m, err := io.ReadFull(r, rec[1:size]); err != nil {
			return n, fmt.Sprintf("%d trailing bytes", m+1), nil
		}
		kind, s, err := decodeRecord(rec[:size])
		if err != nil {
			return n, err.Error(), nil
		}
		ok, err := t.restore(kind, s, now, bind)
		if err != nil {
			return n, "", fmt.Errorf("replay %s: %w (keys.max_keys is lower than the keys saved)", path, err)
		}
		if ok {
			n++
		}
	}
}

func (w *writer) openLog() error {
	f, err := os.OpenFile(filepath.Join(w.dir, logName(w.gen)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("keys log: %w", err)
	}
	w.f, w.logSize = f, 0
	return syncDir(w.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// run is the writer goroutine.
func (w *writer) run() {
	defer close(w.quit)
	tick := time.NewTicker(w.flush)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			w.cycleOnce(false)
			w.f.Close()
			return
		case <-tick.C:
		case <-w.kick:
		}
		now := w.now()
		snap := w.snapNext.Swap(false) || w.snapEach > 0 && now.Sub(w.lastSn) >= w.snapEach || w.maxLog > 0 && w.logSize >= w.maxLog
		w.cycleOnce(snap)
	}
}

// cycleOnce writes and syncs the pending records (and takes a snapshot
// when snap), then wakes whoever waits for this cycle.
func (w *writer) cycleOnce(snap bool) {
	c := w.cycle.Add(1)
	var err error
	if snap {
		err = w.snapshot()
	} else {
		err = w.flushPending()
	}
	w.mu.Lock()
	w.synced = c
	w.lastErr = err
	close(w.done)
	w.done = make(chan struct{})
	w.mu.Unlock()
}

// flushPending appends every shard's pending records to the log and syncs.
func (w *writer) flushPending() error {
	w.buf = w.buf[:0]
	for i := range w.t.shards {
		s := &w.t.shards[i]
		s.mu.Lock()
		w.buf = append(w.buf, s.pend...)
		s.pend = s.pend[:0]
		s.mu.Unlock()
	}
	if len(w.buf) == 0 {
		return nil
	}
	return w.writeLog(w.buf)
}

func (w *writer) writeLog(b []byte) error {
	_, err := w.f.Write(b)
	if err == nil {
		err = w.f.Sync()
	}
	w.logSize += int64(len(b))
	w.stats.flushes.Add(1)
	w.stats.bytes.Add(uint64(len(b)))
	if err != nil {
		// The log may now end in a partial record: replay stops there,
		// so the next cycle takes a snapshot and starts a new log.
		w.stats.syncErrors.Add(1)
		w.lastSn = time.Time{}
		w.log.Error("call keys: writing the keys log failed; keys stay in memory and a snapshot is retried", "file", w.f.Name(), "error", err)
		return fmt.Errorf("keys log %s: %w", w.f.Name(), err)
	}
	return nil
}

// snapshot cuts every shard into a new snapshot and a new log.
func (w *writer) snapshot() error {
	w.lastSn = w.now()
	past := w.t.past(unixSec(w.lastSn)) // keys in their skew tail still match: keep them
	tmp := filepath.Join(w.dir, snapName+".tmp")
	sf, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		w.stats.snapErrors.Add(1)
		w.log.Error("call keys: cannot write a snapshot", "file", tmp, "error", err)
		return w.flushPending()
	}
	bw := bufio.NewWriterSize(sf, 1<<20)
	var hdr [snapHeader]byte
	copy(hdr[:], snapMagic)
	next := w.gen + 1
	binary.LittleEndian.PutUint64(hdr[8:], next)
	_, _ = bw.Write(hdr[:]) // count patched below
	var count uint64
	old := w.f
	w.gen = next
	if err := w.openLog(); err != nil {
		w.gen--
		w.f = old
		sf.Close()
		os.Remove(tmp)
		w.stats.snapErrors.Add(1)
		w.log.Error("call keys: cannot start a new log for a snapshot", "error", err)
		return w.flushPending()
	}
	w.buf = w.buf[:0]
	var scratch []byte
	for i := range w.t.shards {
		s := &w.t.shards[i]
		s.mu.Lock()
		w.buf = append(w.buf, s.pend...)
		s.pend = s.pend[:0]
		s.sweep(past)
		scratch = scratch[:0]
		for j := range s.slots {
			if k := &s.slots[j]; k.calling != 0 && !k.gone(past) {
				scratch = appendRecord(scratch, recAdd, k)
			}
		}
		s.mu.Unlock()
		count += uint64(len(scratch) / recordSize)
		_, _ = bw.Write(scratch)
	}
	// What was pending at each cut belongs to the old log (it is also in
	// the snapshot); keep it there in case the snapshot does not land.
	if len(w.buf) > 0 {
		_, err := old.Write(w.buf)
		if err == nil {
			err = old.Sync()
		}
		if err != nil {
			w.stats.syncErrors.Add(1)
		}
	}
	old.Close()
	err = bw.Flush()
	if err == nil {
		binary.LittleEndian.PutUint64(hdr[16:], count)
		_, err = sf.WriteAt(hdr[:], 0)
	}
	if err == nil {
		err = sf.Sync()
	}
	if cerr := sf.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(w.dir, snapName))
	}
	if err == nil {
		err = syncDir(w.dir)
	}
	if err != nil {
		os.Remove(tmp)
		w.stats.snapErrors.Add(1)
		w.log.Error("call keys: snapshot failed; the logs are kept", "error", err)
		return fmt.Errorf("keys snapshot: %w", err)
	}
	w.stats.snapshots.Add(1)
	gens, _ := logGens(w.dir)
	for _, g := range gens {
		if g < w.gen {
			_ = os.Remove(filepath.Join(w.dir, logName(g)))
		}
	}
	return nil
}

// snapshotNow has the writer's goroutine take a snapshot at once and
// waits for it: the log and snapshot files belong to that goroutine, so
// nobody else may cut one while it runs.
func (w *writer) snapshotNow() error {
	w.snapNext.Store(true)
	return w.wait(nil)
}

// wait blocks until the records appended before it was called are on
// disk (or the writer failed to put them there), or stop closes.
func (w *writer) wait(stop <-chan struct{}) error {
	target := w.cycle.Load() + 1
	select {
	case w.kick <- struct{}{}:
	default:
	}
	for {
		w.mu.Lock()
		if w.synced >= target {
			err := w.lastErr
			w.mu.Unlock()
			return err
		}
		ch := w.done
		w.mu.Unlock()
		select {
		case <-ch:
		case <-stop:
			return errors.New("keys: wait for the log ended early")
		case <-w.quit:
			return ErrClosed
		}
	}
}
