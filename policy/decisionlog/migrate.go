package decisionlog

import (
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// migrate converts a file of an older schema to schemaVersion inside the
// opening transaction, so a crash leaves either the old file or the new
// one, never a mix.
//
// Schema 1 -> 2: the records (rec) are unchanged; only the number index
// changed shape. Rather than renaming the old log aside and losing its
// history, the index is rebuilt from the records themselves (their values
// hold the numbers), in blocks of about mergeLimit entries, and the old
// per-entry bucket is dropped. A log of 1,000,000 records converts in a few
// seconds, once.
func (l *Log) migrate(tx *bolt.Tx, from byte) error {
	if from != 1 {
		return fmt.Errorf("decisionlog: %s: no conversion from schema version %d", l.path, from)
	}
	start := time.Now()
	if err := tx.DeleteBucket(bucketNum); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
		return fmt.Errorf("decisionlog: %s: drop the schema 1 index: %w", l.path, err)
	}
	if err := tx.DeleteBucket(bucketIdx); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
		return fmt.Errorf("decisionlog: %s: drop a stray index: %w", l.path, err)
	}
	idx, err := tx.CreateBucket(bucketIdx)
	if err != nil {
		return fmt.Errorf("decisionlog: %s: create idx bucket: %w", l.path, err)
	}
	idx.FillPercent = 0.9
	var (
		es              []entry
		records, blocks int
		unreadable      int
	)
	flush := func() error {
		if len(es) == 0 {
			return nil
		}
		slices.SortFunc(es, cmpEntry)
		ts, seq := newestKey(es)
		// Fresh slices: bbolt holds them until the commit.
		if err := idx.Put(appendRecKey(nil, ts, seq), appendBlock(nil, es)); err != nil {
			return fmt.Errorf("decisionlog: %s: write index block: %w", l.path, err)
		}
		blocks++
		es = es[:0]
		return nil
	}
	c := tx.Bucket(bucketRec).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != recKeyLen {
			continue // damage; pruned in time like any record
		}
		records++
		calling, called, orig, err := decodeNumbers(v)
		if err != nil {
			// Still found by time; only its numbers are unknown.
			unreadable++
			continue
		}
		nums, n := distinctNumbers(calling, called, orig)
		for _, x := range nums[:n] {
			es = append(es, entry{num: uint64(x), ts: recKeyTime(k), seq: recKeySeq(k)})
		}
		// Records come in key order, so each block covers a key range of
		// its own and blocks are written in idx key order.
		if len(es) >= mergeLimit {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := tx.Bucket(bucketMeta).Put(metaVersion, []byte{schemaVersion}); err != nil {
		return fmt.Errorf("decisionlog: %s: write schema version: %w", l.path, err)
	}
	l.opts.Logger.Info("decision log converted to a new schema (its number index was rebuilt from the records)",
		"path", l.path, "from_version", from, "to_version", schemaVersion,
		"records", records, "index_blocks", blocks, "records_without_readable_numbers", unreadable,
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}
