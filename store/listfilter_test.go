package store

import (
	"math/rand/v2"
	"slices"
	"testing"

	"callgate/e164"
)

// randomList is n distinct sorted numbers drawn like callers: NANP-shaped
// values, many sharing their leading digits.
func randomList(r *rand.Rand, n int) []e164.Number {
	set := make(map[e164.Number]bool, n)
	for len(set) < n {
		set[e164.Number(12000000000+r.Uint64N(8000000000))] = true
	}
	out := make([]e164.Number, 0, n)
	for x := range set {
		out = append(out, x)
	}
	slices.Sort(out)
	return out
}

// TestMemberListContains: the filtered answer is the rows' answer, for
// members (no false negatives) and for anyone else, at every size around
// the short-list threshold and the block boundaries.
func TestMemberListContains(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 8, 9, 10, 51, 52, 53, 100, 103, 1000, 5000} {
		rows := randomList(r, n)
		l := newMemberList(rows)
		if (l.filt == nil) != (n <= filterMinRows) || (l.small != 0) != (n > 0 && n <= filterMinRows) {
			t.Fatalf("%d rows: block filter %v, small filter %#x; want blocks above %d rows, small up to", n, l.filt != nil, l.small, filterMinRows)
		}
		if want := (n*filterBitsPerRow + 511) / 512; n > filterMinRows && len(l.filt) != want {
			t.Fatalf("%d rows: %d blocks, want %d", n, len(l.filt), want)
		}
		for _, x := range rows {
			if !l.contains(x) {
				t.Fatalf("%d rows: member %d not found", n, x)
			}
		}
		for range 20000 {
			x := e164.Number(12000000000 + r.Uint64N(8000000000))
			if _, want := slices.BinarySearch(rows, x); l.contains(x) != want {
				t.Fatalf("%d rows: contains(%d) = %v, want %v", n, x, !want, want)
			}
		}
	}
}

// TestListFilterFalsePositives measures the false-positive rate the
// package doc states (about 1 %, 10 bits a row) over numbers not in the
// list, with fixed seeds so the measured rate is the same every run.
func TestListFilterFalsePositives(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		rows int
		max  float64 // bound on the measured rate
	}{
		{9, 0.005},      // one block, 9 rows: nearly empty
		{51, 0.015},     // one block, full (10.0 bits a row)
		{100, 0.012},    // the benchmark's lists: 2 blocks, 10.2 bits a row
		{1000, 0.015},   // 20 blocks
		{100000, 0.015}, // a large provider list
	} {
		rows := randomList(r, c.rows)
		f := newListFilter(rows)
		const probes = 400000
		fp, tried := 0, 0
		for tried < probes {
			x := e164.Number(12000000000 + r.Uint64N(8000000000))
			if _, in := slices.BinarySearch(rows, x); in {
				continue
			}
			tried++
			if f.mayContain(x) {
				fp++
			}
		}
		rate := float64(fp) / probes
		t.Logf("%d rows, %d blocks (%.1f bits a row): false positives %.3f %%", c.rows, len(f), float64(len(f)*512)/float64(c.rows), 100*rate)
		if rate > c.max {
			t.Errorf("%d rows: false-positive rate %.4f, want at most %.4f", c.rows, rate, c.max)
		}
	}
}

// TestSmallFilterFalsePositives measures the in-header filter of short
// lists (the package doc's 0.01 % for one row, ~3 % for 8).
func TestSmallFilterFalsePositives(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for _, c := range []struct {
		rows int
		max  float64
	}{{1, 0.0003}, {2, 0.001}, {4, 0.006}, {8, 0.035}} {
		const lists, probes = 2000, 200
		fp := 0
		for range lists {
			rows := randomList(r, c.rows)
			l := newMemberList(rows)
			for range probes {
				x := e164.Number(12000000000 + r.Uint64N(8000000000))
				if _, in := slices.BinarySearch(rows, x); !in && smallMayContain(l.small, x) {
					fp++
				}
			}
		}
		rate := float64(fp) / (lists * probes)
		t.Logf("%d rows: false positives %.3f %%", c.rows, 100*rate)
		if rate > c.max {
			t.Errorf("%d rows: false-positive rate %.4f, want at most %.4f", c.rows, rate, c.max)
		}
	}
}

func BenchmarkListFilter(b *testing.B) {
	rows := randomList(rand.New(rand.NewPCG(5, 6)), 100)
	l := newMemberList(rows)
	miss := e164.Number(11000000000)
	b.Run("build/100", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = newListFilter(rows)
		}
	})
	b.Run("contains/miss", func(b *testing.B) {
		for b.Loop() {
			_ = l.contains(miss)
		}
	})
	b.Run("contains/hit", func(b *testing.B) {
		for b.Loop() {
			_ = l.contains(rows[37])
		}
	})
}
