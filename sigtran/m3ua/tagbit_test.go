package m3ua

import "testing"

func TestTagBitTable(t *testing.T) {
	for v := 0; v < 0x10000; v++ {
		tag := Tag(v)
		want := -1
		for i := range tagList {
			if tagList[i].tag == tag {
				want = i
			}
		}
		if got := tag.bit(); got != want {
			t.Fatalf("tag %#x: %d want %d", v, got, want)
		}
	}
}
