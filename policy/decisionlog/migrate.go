package decisionlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// migrate converts a file of an older schema to schemaVersion inside the
// opening transaction, so a crash leaves either the old file or the new
// one, never a mix.
//
// Schemas 3 and 4 -> 5: see keys.go; nothing is rewritten.
//
// Schemas 1 and 2 -> 5: both kept one rec key per record, time(8) seq(8)
// -> the record encoding, which schemas 3 and 4 keep unchanged inside segments.
// Rather than renaming the old log aside and losing its history, the
// records are walked in rec's key (time) order, given new seqs 1..N in
// that order and written as segments of segmentMax; the index is rebuilt
// from them (their values hold the numbers) in blocks of about mergeLimit
// entries, each with its summary; rec and the old index (num in schema 1, idx in schema 2, whose
// blocks name the old seqs) are dropped. Memory of our own is one segment
// and one block at a time (bbolt keeps what is written until the commit).
// A log of 1,000,000 records converts in a few seconds, once.
func (l *Log) migrate(tx *bolt.Tx, from byte) error {
	if from == 3 || from == 4 {
		// Schemas 3 and 4 -> 5: nothing to convert (format 2 index
		// blocks and values in one piece are read as they are, see
		// keys.go); the version says that format 3 blocks (schema 4) and
		// values in chunks (schema 5) may now be there.
		if err := tx.Bucket(bucketMeta).Put(metaVersion, []byte{schemaVersion}); err != nil {
			return fmt.Errorf("decisionlog: %s: write schema version: %w", l.path, err)
		}
		l.opts.Logger.Info("decision log marked with the new schema (values written from now on are stored in page-sized chunks; the existing ones are kept)",
			"path", l.path, "from_version", from, "to_version", schemaVersion)
		return nil
	}
	if from != 1 && from != 2 {
		return fmt.Errorf("decisionlog: %s: no conversion from schema version %d", l.path, from)
	}
	start := time.Now()
	for _, name := range [][]byte{bucketNum, bucketIdx, bucketFlt, bucketSeg} {
		if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
			return fmt.Errorf("decisionlog: %s: drop the schema %d bucket %s: %w", l.path, from, name, err)
		}
	}
	seg, err := tx.CreateBucket(bucketSeg)
	if err != nil {
		return fmt.Errorf("decisionlog: %s: create seg bucket: %w", l.path, err)
	}
	idx, err := tx.CreateBucket(bucketIdx)
	if err != nil {
		return fmt.Errorf("decisionlog: %s: create idx bucket: %w", l.path, err)
	}
	flt, err := tx.CreateBucket(bucketFlt)
	if err != nil {
		return fmt.Errorf("decisionlog: %s: create flt bucket: %w", l.path, err)
	}
	seg.FillPercent, idx.FillPercent, flt.FillPercent = 0.9, 0.9, 0.9
	var (
		sb                    segBuilder
		es, tmp               []entry
		seq, segFirst, prefix uint64
		segments, blocks      int
		unreadable, badKeys   int
	)
	flushSegment := func() error {
		if sb.len() == 0 {
			return nil
		}
		k := segKey(segFirst)
		// Fresh slices: bbolt holds them until the commit.
		if err := putBlob(seg, k[:], sb.appendTo(nil, prefix), l.lay); err != nil {
			return fmt.Errorf("decisionlog: %s: write segment %d: %w", l.path, segFirst, err)
		}
		prefix = max(prefix, sb.maxTS)
		segments++
		segFirst = seq + 1
		sb.reset()
		return nil
	}
	flushBlock := func() error {
		if len(es) == 0 {
			return nil
		}
		// Entries were made in seq order, which is time order here.
		es, tmp = sortEntries(es, tmp)
		sp := spanOf(es)
		k := appendRecKey(nil, sp.newestTS, sp.newestSeq)
		if err := putBlob(idx, k, appendBlockSpan(nil, es, sp), l.lay); err != nil {
			return fmt.Errorf("decisionlog: %s: write index block: %w", l.path, err)
		}
		if err := putSummary(flt, k, appendSummary(nil, es, sp), l.lay); err != nil {
			return fmt.Errorf("decisionlog: %s: write index block summary: %w", l.path, err)
		}
		blocks++
		es = es[:0]
		return nil
	}
	segFirst = 1
	if rec := tx.Bucket(bucketRec); rec != nil {
		c := rec.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) != recKeyLen {
				badKeys++ // damage: not a record this package wrote
				continue
			}
			seq++
			ts := recKeyTime(k)
			sb.addEncoded(ts, v)
			if calling, called, orig, err := decodeNumbers(v); err != nil {
				// Kept, and found by time; only its numbers are unknown.
				unreadable++
			} else {
				nums, n := distinctNumbers(calling, called, orig)
				for _, x := range nums[:n] {
					es = append(es, entry{num: uint64(x), ts: ts, seq: seq})
				}
			}
			if sb.full() {
				if err := flushSegment(); err != nil {
					return err
				}
			}
			// Records come in time order, so each block covers a time
			// range of its own and blocks are written in idx key order.
			if len(es) >= mergeLimit {
				if err := flushBlock(); err != nil {
					return err
				}
			}
		}
		if err := tx.DeleteBucket(bucketRec); err != nil {
			return fmt.Errorf("decisionlog: %s: drop the schema %d records: %w", l.path, from, err)
		}
	}
	if err := flushSegment(); err != nil {
		return err
	}
	if err := flushBlock(); err != nil {
		return err
	}
	if err := seg.SetSequence(seq); err != nil {
		return fmt.Errorf("decisionlog: %s: set sequence: %w", l.path, err)
	}
	meta := tx.Bucket(bucketMeta)
	var cb [8]byte
	binary.BigEndian.PutUint64(cb[:], seq)
	if err := meta.Put(metaCount, cb[:]); err != nil {
		return fmt.Errorf("decisionlog: %s: write count: %w", l.path, err)
	}
	if err := meta.Put(metaVersion, []byte{schemaVersion}); err != nil {
		return fmt.Errorf("decisionlog: %s: write schema version: %w", l.path, err)
	}
	l.opts.Logger.Info("decision log converted to a new schema (records regrouped into segments, number index rebuilt)",
		"path", l.path, "from_version", from, "to_version", schemaVersion,
		"records", seq, "segments", segments, "index_blocks", blocks,
		"records_without_readable_numbers", unreadable, "damaged_keys_dropped", badKeys,
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}
