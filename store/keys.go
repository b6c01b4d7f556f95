package store

import (
	"encoding/binary"
	"fmt"

	"callgate/e164"
	"callgate/store/kv"
)

// Key layout, schema version 3, in the store/kv key space ("bucket/rest";
// boltkv keeps each bucket as a bbolt bucket). Integers are big-endian so
// keys sort numerically.
//
//	meta/schema          uint32 version
//	meta/default_route   route name
//	meta/gen             uint64: the list generation committed last (the pointer an import switches)
//	meta/lists           list epoch: rewritten by every list change, compared by an import's switch
//	meta/allocations     allocation epoch: rewritten by every allocation change
//	seq/<bucket>         uint64: last ID given out (providers, subscribers, enterprises, gens)
//	providers/id(4)      JSON Provider
//	subscribers/id(4)    JSON Subscriber
//	enterprises/id(4)    JSON Enterprise
//	names/kind(1) name   id(4)                     (kind 'P', 'S', 'E')
//	numbers/number(8)    subscriber id(4)
//	allocations/lo(8)    hi(8) provider id(4)       (inclusive ranges, disjoint)
//	pins/id(4)           bcrypt hash
//	routes/name          JSON Route
//	lv/L(6)              uint64 row count: rewritten by every in-place change of list L
//	marks/L(6) gen(8)    generation gen holds a full copy of list L
//	gens/gen(8)          JSON genRecord: generation gen is committed
//	staging/gen(8)       JSON genRecord, ephemeral: an import is writing generation gen
//	entries/L(6) gen(8) first(8)   chunk of list L in generation gen (see chunks.go)
//	notes/L(6) gen(8) number(8)    note of one row (rows with a note only)
//	subimports/gen(8)    JSON subImportRecord: a bulk subscriber import (subimport_stage.go);
//	                     while uncommitted, the subscribers in its ID range are not in the index
//	fraud/<key>          the fraud signal's state, opaque to the store (fraud.go)
//	pinlocks/id(4)       JSON pinLockRecord: a subscriber's wrong PINs and PIN lock (pinlock.go)
//
// L is a list: owner kind(1), owner id(4), list(1).
//
// Generations make a bulk change atomic however large it is: an import
// writes the new content of every list it touches under a fresh generation
// (marks, entries, notes), which nobody reads, then commits it with one
// small transaction that writes gens/<gen> and switches meta/gen. A list's
// content is its chunks under its effective generation: the committed
// generation marking it that was committed last, else generation 0 (lists
// never imported in bulk have no marks). An import that dies leaves a
// generation with marks but neither gens/ nor staging/ key: garbage that
// CollectGarbage removes, as it removes generations shadowed by later ones.
//
// A bulk subscriber import works the same way with subscriber records: it
// reserves a range of IDs and writes subimports/<gen>, stages the records,
// names and numbers (which the index ignores while the import is
// uncommitted), and commits by marking subimports/<gen> committed. Every
// write that gives out a subscriber name or number moves meta/allocations,
// so an import's batches need compare only that key to know what they
// validated still holds.
//
// IDs come from the seq keys: dense, starting at 1, never reused after a
// delete. The in-memory index is a pure function of these keys; it is built
// from a snapshot at Open and advanced by the change feed.
//
// Version 2 (no generations: entries/L first, notes/L number; IDs in bbolt
// bucket sequences) is migrated by migrateV2; version 1 (one key per list
// row in "lists") by migrateV1 first.
const SchemaVersion = 3

// Buckets.
const (
	bMeta        = "meta"
	bSeq         = "seq"
	bProviders   = "providers"
	bSubscribers = "subscribers"
	bEnterprises = "enterprises"
	bNames       = "names"
	bNumbers     = "numbers"
	bAllocations = "allocations"
	bPINs        = "pins"
	bRoutes      = "routes"
	bLV          = "lv"
	bMarks       = "marks"
	bGens        = "gens"
	bStaging     = "staging"
	bEntries     = "entries"
	bNotes       = "notes"
	bFraud       = "fraud"     // the fraud signal's own state (fraud.go); not indexed
	bAPITokens   = "apitokens" // admin API credentials (apitokens.go); not indexed
	bAudit       = "audit"     // the audit log (audit.go); not indexed
	bWebUsers    = "webusers"  // web UI logins (webusers.go); not indexed
	bPINLocks    = "pinlocks"  // wrong PINs and PIN locks (pinlock.go); not indexed
	bSubImports  = "subimports"
)

// allBuckets are the buckets of a callgate key space.
var allBuckets = []string{bMeta, bSeq, bProviders, bSubscribers, bEnterprises, bNames, bNumbers,
	bAllocations, bPINs, bRoutes, bLV, bMarks, bGens, bStaging, bEntries, bNotes, bSubImports}

var (
	keySchema       = []byte("meta/schema")
	keyDefaultRoute = []byte("meta/default_route")
	keyGen          = []byte("meta/gen")
	keyListsEpoch   = []byte("meta/lists")
	keyAllocEpoch   = []byte("meta/allocations")
)

// Owner kinds as stored in the first byte of names keys and list keys.
const (
	kindProvider   byte = 'P'
	kindSubscriber byte = 'S'
	kindEnterprise byte = 'E'
)

func key(bucket string, rest ...byte) []byte {
	k := make([]byte, 0, len(bucket)+1+len(rest))
	k = append(append(k, bucket...), '/')
	return append(k, rest...)
}

func bucketPrefix(bucket string) []byte { return key(bucket) }

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(make([]byte, 0, 4), v) }

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v) }

func idKey(bucket string, id uint32) []byte { return key(bucket, u32(id)...) }

func seqKey(bucket string) []byte { return key(bSeq, []byte(bucket)...) }

// seqPrefix is the prefix of every seq key.
var seqPrefix = bucketPrefix(bSeq)

// idAllocated checks a record's ID against its bucket's sequence (as
// indexed, or as the same transaction sets it): the index keeps records in
// arrays by ID, so an ID callgate never allocated (a damaged value, a
// foreign write) would otherwise have it allocate up to 2^32 slots.
func idAllocated(bucket string, id uint32, seqs map[string]seqState, set map[string]uint64) error {
	n := max(seqs[bucket].val, set[bucket])
	if id == 0 || uint64(id) > n {
		return fmt.Errorf("id %d not allocated (seq/%s is %d)", id, bucket, n)
	}
	return nil
}

func nameKey(kind byte, name string) []byte { return key(bNames, append([]byte{kind}, name...)...) }

func numberKey(n e164.Number) []byte { return key(bNumbers, u64(uint64(n))...) }

func allocKey(lo e164.Number) []byte { return key(bAllocations, u64(uint64(lo))...) }

func routeKey(name string) []byte { return key(bRoutes, []byte(name)...) }

func genKey(bucket string, gen uint64) []byte { return key(bucket, u64(gen)...) }

// listKey names one list: owner kind, owner id, list.
type listKey struct {
	kind  byte
	owner uint32
	list  List
}

func (l listKey) bytes() []byte {
	b := make([]byte, 6)
	b[0] = l.kind
	binary.BigEndian.PutUint32(b[1:5], l.owner)
	b[5] = byte(l.list)
	return b
}

func parseListKey(b []byte) (listKey, error) {
	if len(b) < 6 {
		return listKey{}, fmt.Errorf("list key %x: too short", b)
	}
	l := listKey{kind: b[0], owner: binary.BigEndian.Uint32(b[1:5]), list: List(b[5])}
	if (l.kind != kindSubscriber && l.kind != kindProvider) || !l.list.valid() {
		return listKey{}, fmt.Errorf("list key %x: bad owner kind or list", b)
	}
	return l, nil
}

func lvKey(l listKey) []byte { return key(bLV, l.bytes()...) }

func markKey(l listKey, gen uint64) []byte {
	return key(bMarks, append(l.bytes(), u64(gen)...)...)
}

// listGenPrefix is the prefix of list l's rows in generation gen, in the
// entries or notes bucket.
func listGenPrefix(bucket string, l listKey, gen uint64) []byte {
	return key(bucket, append(l.bytes(), u64(gen)...)...)
}

// rowKey is the entries key of a chunk starting at n, or the notes key of
// row n, of list l in generation gen.
func rowKey(bucket string, l listKey, gen uint64, n e164.Number) []byte {
	k := make([]byte, 0, len(bucket)+1+22)
	k = append(append(k, bucket...), '/')
	k = append(k, l.kind)
	k = binary.BigEndian.AppendUint32(k, l.owner)
	k = append(k, byte(l.list))
	k = binary.BigEndian.AppendUint64(k, gen)
	return binary.BigEndian.AppendUint64(k, uint64(n))
}

// ownerPrefix is the prefix of every list of an owner in bucket.
func ownerPrefix(bucket string, kind byte, owner uint32) []byte {
	return key(bucket, append([]byte{kind}, u32(owner)...)...)
}

// rowNumber returns the number at the end of an entries or notes key.
func rowNumber(k []byte) e164.Number {
	return e164.Number(binary.BigEndian.Uint64(k[len(k)-8:]))
}

func decodeU64(v []byte) (uint64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("%d bytes, want 8", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func prefixEnd(p []byte) []byte { return kv.PrefixEnd(p) }
