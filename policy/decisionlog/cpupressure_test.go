package decisionlog

import (
	"strconv"
	"testing"
)

func TestSomeTotal(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"some avg10=1.71 avg60=10.37 avg300=11.04 total=3696203669\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", 3696203669, true},
		{"full avg10=0.00 avg60=0.00 avg300=0.00 total=7\nsome avg10=0.00 total=12", 12, true},
		{"some avg10=1.71 avg60=10.37 avg300=11.04\n", 0, false},
		{"some total=-1\n", 0, false},
		{"", 0, false},
	} {
		got, err := someTotal([]byte(c.in))
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("%q: %d, %v; want %d (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
}

// FuzzSomeTotal: the PSI file's text gives a total or an error, and a
// total read is the one written.
func FuzzSomeTotal(f *testing.F) {
	f.Add([]byte("some avg10=1.71 avg60=10.37 avg300=11.04 total=3696203669\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"))
	f.Add([]byte("some total=\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		n, err := someTotal(in)
		if err != nil {
			return
		}
		again, err := someTotal([]byte("some avg10=0.00 total=" + strconv.FormatUint(n, 10) + "\n"))
		if err != nil || again != n {
			t.Fatalf("%q: %d, then %d %v", in, n, again, err)
		}
	})
}
