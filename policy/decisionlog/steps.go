package decisionlog

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/e164"
)

// Treatment steps. A decision that needs a conversation (screen, PIN,
// challenge, voicemail, an announcement) is carried out by the B2BUA over
// many seconds; each outcome on the way (token checked, PIN wrong, name
// recorded, subscriber accepted, caller hung up, ...) is a Step added to
// the record of that call, so a search shows the whole story of one call.
//
// A Ref names the record: the time it carries (Record.Time, to the
// nanosecond) and its called number. The tier that carries the call out
// writes the call's record itself (Record) and keeps its Ref; the record
// and its steps are then joined exactly, with nothing added to Record or to
// its hot path. Steps live in a bucket of their own:
//
//	stp   recTime(8) called(8) seq(8) -> step (version 1):
//	      version(1) uvarint stepTime (Unix ns), then name, outcome and
//	      detail, each uvarint length + bytes (at most maxStepString)
//
// seq is the bucket's sequence, so the steps of one record come back in the
// order they were added. AddSteps writes synchronously (bbolt's Batch: the
// steps of concurrent callers share one transaction and one fsync), so it
// is for the treatment's own goroutine, never a SIP or media path; it also
// prunes the steps of records the log no longer holds (older than its
// oldest segment, a minute of slack for records committed out of order).
var bucketStp = []byte("stp")

const (
	stepVersion   = 1
	stepKeyLen    = 24
	maxStepString = 256
	// pruneSlack keeps steps a little longer than the oldest record: a
	// record committed late can be older than the first segment's oldest.
	pruneSlack = time.Minute
	// prunePerAdd bounds the deletions one AddSteps does.
	prunePerAdd = 1024
)

// Ref names one record of the log (see the Treatment steps comment).
type Ref struct {
	Time   time.Time
	Called e164.Number
}

// RefOf returns the Ref of r.
func RefOf(r *Record) Ref { return Ref{Time: r.Time, Called: r.Called} }

// Step is one outcome of a treatment carried out for a call.
type Step struct {
	Time    time.Time `json:"time"`
	Name    string    `json:"step"`             // what was done: "token", "pin", "name", "screen", ...
	Outcome string    `json:"outcome"`          // what came of it: "ok", "wrong", "accept", ...
	Detail  string    `json:"detail,omitempty"` // e.g. "try 2 of 3", "2.4s"
}

// ErrReadOnly is returned by AddSteps on a log opened with OpenReadOnly.
var ErrReadOnly = errors.New("decisionlog: log is open read-only")

func stepKeyPrefix(ref Ref) []byte {
	b := make([]byte, 16, stepKeyLen)
	binary.BigEndian.PutUint64(b, nanos(ref.Time))
	binary.BigEndian.PutUint64(b[8:], uint64(ref.Called))
	return b
}

// AddSteps adds steps, in order, to the record ref names. It returns once
// they are committed (or with the error that kept them out).
func (l *Log) AddSteps(ref Ref, steps ...Step) error {
	if l == nil || len(steps) == 0 {
		return nil
	}
	if l.readOnly {
		return ErrReadOnly
	}
	prefix := stepKeyPrefix(ref)
	err := l.db.Batch(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketStp)
		if err != nil {
			return fmt.Errorf("decisionlog: %s: create steps bucket: %w", l.path, err)
		}
		for i := range steps {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			k := binary.BigEndian.AppendUint64(prefix[:16:16], seq)
			if err := b.Put(k, appendStep(nil, &steps[i])); err != nil {
				return fmt.Errorf("decisionlog: %s: write step: %w", l.path, err)
			}
		}
		return pruneSteps(tx, b)
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// pruneSteps deletes the steps of records older than the oldest segment.
func pruneSteps(tx *bolt.Tx, b *bolt.Bucket) error {
	c := b.Cursor()
	k, _ := c.First()
	if k == nil {
		return nil
	}
	cutoff := uint64(0)
	if seg := tx.Bucket(bucketSeg); seg != nil {
		if sk, _ := seg.Cursor().First(); sk != nil {
			s, err := readSegment(seg, sk)
			if err != nil {
				return nil // a damaged front segment: prune next time
			}
			if s.minTS > uint64(pruneSlack) {
				cutoff = s.minTS - uint64(pruneSlack)
			}
		}
	}
	// Keys are collected first: deleting under a moving cursor can skip keys.
	var old [][]byte
	for ; k != nil && len(old) < prunePerAdd; k, _ = c.Next() {
		if len(k) == stepKeyLen && binary.BigEndian.Uint64(k) >= cutoff {
			break
		}
		old = append(old, append([]byte(nil), k...))
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Steps returns the steps of the record ref names, in the order added.
func (l *Log) Steps(ref Ref) ([]Step, error) {
	out, err := l.StepsOf([]Record{{Time: ref.Time, Called: ref.Called}})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// StepsOf returns the steps of each record of recs (nil for a record
// without steps), in one read transaction. A damaged step is skipped.
func (l *Log) StepsOf(recs []Record) ([][]Step, error) {
	out := make([][]Step, len(recs))
	err := l.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketStp)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for i := range recs {
			prefix := stepKeyPrefix(RefOf(&recs[i]))
			for k, v := c.Seek(prefix); k != nil && len(k) == stepKeyLen && string(k[:16]) == string(prefix); k, v = c.Next() {
				var s Step
				if decodeStep(v, &s) == nil {
					out[i] = append(out[i], s)
				}
			}
		}
		return nil
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return nil, ErrClosed
	}
	return out, err
}

func appendStep(b []byte, s *Step) []byte {
	b = append(b, stepVersion)
	b = binary.AppendUvarint(b, nanos(s.Time))
	for _, str := range [...]string{s.Name, s.Outcome, s.Detail} {
		if len(str) > maxStepString {
			str = str[:maxStepString]
		}
		b = binary.AppendUvarint(b, uint64(len(str)))
		b = append(b, str...)
	}
	return b
}

func decodeStep(v []byte, s *Step) error {
	d := decoder{b: v}
	if ver := d.byte("step version"); d.err == nil && ver != stepVersion {
		return fmt.Errorf("%w: step version %d, this build reads %d", errCorrupt, ver, stepVersion)
	}
	ts := d.uvarint("step time")
	if ts > 1<<63-1 {
		d.fail("step time out of range")
	}
	s.Time = time.Unix(0, int64(ts))
	s.Name = d.string("step name")
	s.Outcome = d.string("step outcome")
	s.Detail = d.string("step detail")
	if d.err == nil && d.off != len(v) {
		d.fail("trailing bytes")
	}
	return d.err
}

// AppendText appends the step for people, relative to the record's time:
//
//	+3.104s screen accept
func (s *Step) AppendText(b []byte, since time.Time) []byte {
	b = append(b, '+')
	b = appendDuration(b, s.Time.Sub(since))
	b = append(b, ' ')
	b = append(b, s.Name...)
	b = append(b, ' ')
	b = append(b, s.Outcome...)
	if s.Detail != "" {
		b = append(b, ' ')
		b = append(b, s.Detail...)
	}
	return b
}

// WriteTextSteps writes records one per line, each followed by its steps
// (steps[i] belongs to recs[i]; steps may be nil), indented:
//
//	2026-05-01T12:00:00.123Z sip 192.0.2.7:5060 +12125550002 -> +13035550101 : screen ...
//	    +0s token ok
//	    +3.104s name recorded 2.4s
func WriteTextSteps(w io.Writer, recs []Record, steps [][]Step) error {
	var b []byte
	for i := range recs {
		b = recs[i].AppendText(b[:0])
		b = append(b, '\n')
		if i < len(steps) {
			for j := range steps[i] {
				b = append(b, "    "...)
				b = steps[i][j].AppendText(b, recs[i].Time)
				b = append(b, '\n')
			}
		}
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("decisionlog: write: %w", err)
		}
	}
	return nil
}

// WriteJSONSteps writes records as one JSON array like WriteJSON, each
// record with steps carrying them in a "steps" array.
func WriteJSONSteps(w io.Writer, recs []Record, steps [][]Step) error {
	out := make([]json.RawMessage, len(recs))
	for i := range recs {
		b, err := recs[i].MarshalJSON()
		if err != nil {
			return fmt.Errorf("decisionlog: write json: %w", err)
		}
		if i < len(steps) && len(steps[i]) > 0 && len(b) > 1 && b[len(b)-1] == '}' {
			s, err := json.Marshal(steps[i])
			if err != nil {
				return fmt.Errorf("decisionlog: write json: %w", err)
			}
			b = append(append(append(b[:len(b)-1], `,"steps":`...), s...), '}')
		}
		out[i] = b
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("decisionlog: write json: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("decisionlog: write: %w", err)
	}
	return nil
}
