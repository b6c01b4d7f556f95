package decisionlog

import (
	"fmt"
	"strings"
)

// Damage is what a search could not read the usual way. A file damaged
// in place (a torn page after a power loss with NoSync, a bad sector) in
// a value Open's check did not look at reads as values that do not
// parse: the search goes on without them, since the rest of the log is
// still worth reading, and says so, so that "no calls match" is never
// taken for proof when part of the log was not read.
type Damage struct {
	// Segments that do not parse: their records are not in the answer.
	Segments int `json:"segments,omitempty"`
	// Index blocks that do not parse (or their summaries' keys): their
	// records were looked for by walking the segments instead, so none
	// is missing for it, but the search was slower.
	Blocks int `json:"index_blocks,omitempty"`
	// Records that do not parse in segments that do, or that an index
	// entry points to and are not where it says.
	Records int `json:"records,omitempty"`
}

// Any reports whether the search met any damage.
func (d Damage) Any() bool { return d != Damage{} }

// Missing reports whether records may be missing from the answer for it
// (a damaged index block alone costs time, not records).
func (d Damage) Missing() bool { return d.Segments > 0 || d.Records > 0 }

// String says what was not read, for a person: "" when nothing.
func (d Damage) String() string {
	var parts []string
	if d.Segments > 0 {
		parts = append(parts, plural(d.Segments, "damaged segment")+" skipped (their records are not shown)")
	}
	if d.Records > 0 {
		parts = append(parts, plural(d.Records, "damaged record")+" skipped")
	}
	if d.Blocks > 0 {
		parts = append(parts, plural(d.Blocks, "damaged index block")+" (their records were read from the segments instead)")
	}
	return strings.Join(parts, "; ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// damage is a search's count of what it could not read, each segment and
// record once however often the search meets it (a number's entries may
// point into one damaged segment many times). The sets are made only
// when damage is met: an undamaged search allocates nothing for them.
type damage struct {
	Damage
	segs map[string]struct{}
	recs map[uint64]struct{}
}

// segment notes the segment at key k as unreadable.
func (d *damage) segment(k []byte) {
	if _, ok := d.segs[string(k)]; ok {
		return
	}
	if d.segs == nil {
		d.segs = make(map[string]struct{})
	}
	d.segs[string(k)] = struct{}{}
	d.Segments++
}

// record notes record seq as unreadable.
func (d *damage) record(seq uint64) {
	if _, ok := d.recs[seq]; ok {
		return
	}
	if d.recs == nil {
		d.recs = make(map[uint64]struct{})
	}
	d.recs[seq] = struct{}{}
	d.Records++
}

func (d *damage) result() Damage { return d.Damage }

// countDamage adds a search's damage to the log's counters (Stats, the
// metrics).
func (l *Log) countDamage(d Damage) {
	if !d.Any() {
		return
	}
	l.searchDamagedSegments.Add(uint64(d.Segments))
	l.searchDamagedBlocks.Add(uint64(d.Blocks))
	l.searchDamagedRecords.Add(uint64(d.Records))
}
