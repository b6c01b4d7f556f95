package redirect

import (
	"net/netip"
	"testing"
	"time"
)

var benchSrc = netip.MustParseAddrPort("10.0.0.1:5060")

// BenchmarkScan: the stateless scanner alone on an INVITE.
func BenchmarkScan(b *testing.B) {
	for _, name := range []string{"allow", "block", "screen"} {
		b.Run(name, func(b *testing.B) {
			data := []byte(benchInvites[name])
			m := newFastMsg()
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			cpu := startCPU(b)
			for b.Loop() {
				if scanRequest(data, m) != scanOK {
					b.Fatal("not scanned")
				}
			}
			cpu.report()
		})
	}
}

// BenchmarkStateless: the whole stateless handling of one datagram, bytes
// in -> bytes out (scan, checks, translation, decision with a map lookup,
// token signing for "screen", response writing), short of the socket.
func BenchmarkStateless(b *testing.B) {
	s := benchServer(b)
	for _, name := range []string{"allow", "block", "screen"} {
		b.Run(name, func(b *testing.B) {
			data := []byte(benchInvites[name])
			r := newUDPReader()
			r.ans.defers = true // as a serving reader (deferred.go); nothing here waits
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			cpu := startCPU(b)
			for b.Loop() {
				out, _, ok := s.handleDatagram(r, data, benchSrc)
				if !ok || len(out) < 12 || out[8] != '3' && out[8] != '6' {
					b.Fatalf("response %q", out)
				}
			}
			cpu.report()
			if st := s.Stats(); st.Fallback != 0 {
				b.Fatalf("fallback used: %+v", st)
			}
		})
	}
}

// cpuMeter reports the process CPU time per op ("cpu-ns/op"): on a shared
// machine ns/op also counts the time other processes held the CPU.
type cpuMeter struct {
	b     *testing.B
	start time.Duration
}

func startCPU(b *testing.B) cpuMeter { return cpuMeter{b, processCPU()} }

func (c cpuMeter) report() {
	if c.b.N > 0 {
		c.b.ReportMetric(float64(processCPU()-c.start)/float64(c.b.N), "cpu-ns/op")
	}
}
