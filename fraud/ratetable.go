package fraud

import (
	"time"

	"callgate/e164"
)

// Rate is one row of a rate table: calls to numbers starting with Prefix
// (E.164 digits, country code first) cost PerMinute, billed by the second.
type Rate struct {
	Prefix      string
	Category    Category
	PerMinute   Money
	Description string
}

// RateTable is one version of the rate table, immutable once built: a
// digit trie over the prefixes, so a look-up walks at most 15 nodes and
// allocates nothing. Build it with ParseRates.
type RateTable struct {
	Version  uint32    // 1 for the first import; 0 for a table not yet stored
	Imported time.Time // when it was imported
	Source   string    // the file it came from, for operators
	By       string    // who imported it

	rates []Rate
	nodes []trieNode // nodes[0] is the root
}

// trieNode is one digit position. child holds node indexes (0 = none: the
// root is never a child); rate is the index of the row ending here plus one
// (0 = no row ends here).
type trieNode struct {
	child [10]int32
	rate  int32
}

// newRateTable builds the trie over rows, whose prefixes are valid and
// distinct (ParseRates checks).
func newRateTable(rows []Rate) *RateTable {
	t := &RateTable{rates: rows, nodes: make([]trieNode, 1, 1+len(rows)*2)}
	for i := range rows {
		n := int32(0)
		p := rows[i].Prefix
		for j := 0; j < len(p); j++ {
			d := p[j] - '0'
			next := t.nodes[n].child[d]
			if next == 0 {
				t.nodes = append(t.nodes, trieNode{})
				next = int32(len(t.nodes) - 1)
				t.nodes[n].child[d] = next
			}
			n = next
		}
		t.nodes[n].rate = int32(i + 1)
	}
	return t
}

func (t *RateTable) version() uint32 {
	if t == nil {
		return 0
	}
	return t.Version
}

// Len is the number of rows.
func (t *RateTable) Len() int {
	if t == nil {
		return 0
	}
	return len(t.rates)
}

// Rows returns the rows in import order; the caller must not modify them.
func (t *RateTable) Rows() []Rate {
	if t == nil {
		return nil
	}
	return t.rates
}

// Lookup returns the row with the longest prefix of n, or nil when none
// matches (or t is nil). It does not allocate.
func (t *RateTable) Lookup(n e164.Number) *Rate {
	if t == nil || n == 0 {
		return nil
	}
	var digits [e164.MaxDigits + 5]byte
	i := len(digits)
	for v := uint64(n); v > 0 && i > 0; v /= 10 {
		i--
		digits[i] = byte(v % 10)
	}
	best := int32(0)
	node := int32(0)
	for ; i < len(digits); i++ {
		node = t.nodes[node].child[digits[i]]
		if node == 0 {
			break
		}
		if r := t.nodes[node].rate; r != 0 {
			best = r
		}
	}
	if best == 0 {
		return nil
	}
	return &t.rates[best-1]
}
