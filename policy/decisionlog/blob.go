package decisionlog

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Each segment is kept as the one value of a bucket of its own, nested in
// seg under the segment's key, rather than as a value of seg itself.
//
// Why: bbolt never splits a leaf of four keys or fewer, however large
// their values, so large values share leaves two to four at a time. Every
// commit that appends one then rewrites — and bbolt allocates afresh —
// the whole rightmost leaf with its neighbours, and every prune rewrites
// what is left of the front leaf. Measured on 1,000-record commits
// (BenchmarkCommit) that made bbolt allocate and write about eleven times
// the bytes committed. A nested bucket's value lives on pages of its own,
// written once and freed once; seg's leaves hold only a 16-byte header per
// segment. (A small segment, under a quarter page, is stored inline in
// seg's leaf, which is as cheap as a plain value.)
var blobKey = []byte{0}

// putBlob stores value under key in b, as a nested bucket's one value.
// value must stay unchanged until the transaction commits.
func putBlob(b *bolt.Bucket, key, value []byte) error {
	child, err := b.CreateBucket(key)
	if errors.Is(err, bolt.ErrBucketExists) {
		// Only damage gets here (keys are never reused); replace it.
		if err := deleteBlob(b, key); err != nil {
			return err
		}
		child, err = b.CreateBucket(key)
	}
	if err != nil {
		return err
	}
	return child.Put(blobKey, value)
}

// getBlob returns the value stored under key by putBlob, or nil.
func getBlob(b *bolt.Bucket, key []byte) []byte {
	child := b.Bucket(key)
	if child == nil {
		return nil
	}
	return child.Get(blobKey)
}

// deleteBlob deletes key from b, whether it holds a blob or (damage) a
// plain value; a missing key is no error.
func deleteBlob(b *bolt.Bucket, key []byte) error {
	err := b.DeleteBucket(key)
	switch {
	case err == nil || errors.Is(err, bolt.ErrBucketNotFound):
		return nil
	case errors.Is(err, bolt.ErrIncompatibleValue):
		err = b.Delete(key)
	}
	if err != nil {
		return fmt.Errorf("delete %x: %w", key, err)
	}
	return nil
}
