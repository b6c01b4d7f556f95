package store

import (
	"encoding/binary"
	"maps"
	"math/rand/v2"
	"testing"

	"callgate/e164"
)

// checkTable compares t with the map m it should equal: every key of m
// found with its value, len the same, all yields exactly m, and a few
// absent keys absent.
func checkTable(t *testing.T, step int, tab *numberTable, m map[e164.Number]uint32, hints map[e164.Number]filterRef, absent []e164.Number) {
	t.Helper()
	if tab.len() != len(m) {
		t.Fatalf("step %d: len %d, map has %d", step, tab.len(), len(m))
	}
	for k, v := range m {
		if got, ok := tab.get(k); !ok || got != v {
			t.Fatalf("step %d: get(%d) = %d, %v; want %d, true", step, k, got, ok, v)
		}
	}
	for _, k := range absent {
		if _, in := m[k]; in {
			continue
		}
		if got, ok := tab.get(k); ok {
			t.Fatalf("step %d: get(%d) = %d, true; not in the map", step, k, got)
		}
	}
	for k := range m {
		if _, h, _ := tab.getHinted(k); k != 0 && h != hints[k] {
			t.Fatalf("step %d: hint of %d = %d, want %d", step, k, h, hints[k])
		}
	}
	seen := maps.Collect(tab.all())
	if !maps.Equal(seen, m) {
		t.Fatalf("step %d: all() yields %d entries, not the map's %d", step, len(seen), len(m))
	}
	if len(tab.slots) > 0 && 2*tab.n > len(tab.slots) {
		t.Fatalf("step %d: %d entries in %d slots: load above 1/2", step, tab.n, len(tab.slots))
	}
}

// applyOps runs a sequence of operations on a table and on a map, the
// keys drawn from a small space (so inserts, overwrites and deletes of
// present keys all happen and probe runs collide and wrap). A second map
// models the hints: set keeps a number's hint only when its ID stays the
// same, setHint stores one only for the ID the number maps to, and
// deletions (which move entries) carry hints along.
func applyOps(t *testing.T, ops []byte, keySpace uint64, checkEvery int) {
	var tab numberTable
	m := map[e164.Number]uint32{}
	hints := map[e164.Number]filterRef{}
	key := func(b byte, c byte) e164.Number {
		// Mostly dense numbers (a subscriber range), sometimes 0.
		return e164.Number((uint64(b)<<8 | uint64(c)) % keySpace)
	}
	absent := make([]e164.Number, 0, 16)
	for step := 0; step+4 <= len(ops); step += 4 {
		op, k := ops[step]%6, key(ops[step+1], ops[step+2])
		v := uint32(ops[step+3]) | uint32(step)<<8
		switch op {
		case 0, 1:
			// Half the sets keep the number's ID (its hint stays).
			if old, in := m[k]; in && ops[step+3]&1 == 0 {
				v = old
			}
			tab.set(k, v)
			if m[k] != v {
				delete(hints, k)
			}
			m[k] = v
		case 2:
			tab.del(k)
			delete(m, k)
			delete(hints, k)
		case 3:
			got, ok := tab.get(k)
			want, in := m[k]
			if ok != in || got != want {
				t.Fatalf("op %d: get(%d) = %d, %v; map has %d, %v", step/4, k, got, ok, want, in)
			}
		case 4:
			// setHint for the number's own ID, or for another (ignored).
			id, in := m[k]
			if ops[step+3]&1 != 0 {
				id++
				in = false
			}
			h := filterRef(v | 1)
			tab.setHint(k, id, h)
			if in && k != 0 {
				hints[k] = h
			}
		case 5:
			tab.setHints(func(id uint32) filterRef { return filterRef(id * 3) })
			for n, id := range m {
				if n != 0 {
					hints[n] = filterRef(id * 3)
				}
			}
		}
		if len(absent) < cap(absent) {
			absent = append(absent, k)
		}
		if checkEvery > 0 && (step/4)%checkEvery == 0 {
			checkTable(t, step/4, &tab, m, hints, absent)
		}
	}
	checkTable(t, len(ops)/4, &tab, m, hints, absent)
	c := tab.cloneFor(0)
	checkTable(t, -1, &c, m, hints, absent)
	if g := tab.grownFor(1000); len(g.slots) < slotsFor(tab.n+1000) {
		t.Fatalf("grownFor(1000): %d slots for %d entries", len(g.slots), tab.n)
	} else {
		checkTable(t, -2, &g, m, hints, absent)
	}
}

// TestNumberTableEqualsMap: random insert/delete/lookup sequences leave the
// table equal to a Go map given the same sequence.
func TestNumberTableEqualsMap(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 7))
		ops := make([]byte, 4*20000)
		for i := range ops {
			ops[i] = byte(r.Uint32())
		}
		// Small key spaces fill and empty the table (many wrapped runs);
		// large ones grow it.
		applyOps(t, ops, []uint64{50, 300, 5000, 1 << 16}[seed%4], 500)
	}
}

// TestNumberTableRealNumbers: subscriber-like numbers (consecutive
// ranges), grown to 100,000 entries, half deleted, all still found.
func TestNumberTableRealNumbers(t *testing.T) {
	var tab numberTable
	m := map[e164.Number]uint32{}
	for i := range 100000 {
		n := e164.Number(12122000000 + i)
		tab.set(n, uint32(i+1))
		m[n] = uint32(i + 1)
	}
	for i := 0; i < 100000; i += 2 {
		n := e164.Number(12122000000 + i)
		tab.del(n)
		delete(m, n)
	}
	checkTable(t, 0, &tab, m, nil, []e164.Number{12122000000, 12122000002, 12121999999, 12122100000})
}

// FuzzNumberTable: any operation sequence leaves the table equal to a map.
func FuzzNumberTable(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 2, 1, 2, 3, 3, 1, 2, 0}, uint16(40))
	f.Add(binary.BigEndian.AppendUint64(nil, 0x0001020300010203), uint16(3))
	f.Fuzz(func(t *testing.T, ops []byte, space uint16) {
		applyOps(t, ops, uint64(space)+1, 1)
	})
}

func BenchmarkNumberTable(b *testing.B) {
	const n = 100000
	var tab numberTable
	m := make(map[e164.Number]uint32)
	for i := range n {
		tab.set(e164.Number(12122000000+i), uint32(i))
		m[e164.Number(12122000000+i)] = uint32(i)
	}
	b.Run("table", func(b *testing.B) {
		i := 0
		for b.Loop() {
			_, _ = tab.get(e164.Number(12122000000 + i))
			i = (i + 7919) % n
		}
	})
	b.Run("map", func(b *testing.B) {
		i := 0
		for b.Loop() {
			_ = m[e164.Number(12122000000+i)]
			i = (i + 7919) % n
		}
	})
}
