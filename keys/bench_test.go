package keys

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/store"
	"callgate/store/storetest"
)

// The benchmarks of bench/keys/README.md: registrations per second through
// the Go API (memory only, and with the log), through POST /api/v1/keys
// (each answer after its fdatasync, concurrent requests sharing one), and
// through SIP enrolment's Go half; lookups per second with 10,000,000 live
// keys, and the table's memory.

func benchRegistry(b *testing.B, cfg Config) (*Registry, *store.Store, uint32) {
	b.Helper()
	st := storetest.Fixture(b)
	e, err := st.GetEnterprise(store.Operator, storetest.Enterprise)
	if err != nil {
		b.Fatal(err)
	}
	r, err := Open(cfg, st)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r, st, e.ID
}

// calledOf spreads keys over valid NANP called numbers, distinct for i
// below 6,400,000,000.
func calledOf(i uint64) e164.Number {
	line, nxx, npa := i%10000, 200+(i/10000)%800, 200+(i/8000000)%800
	return e164.Number(10000000000 + npa*10000000 + nxx*10000 + line)
}

func BenchmarkRegister(b *testing.B) {
	for _, mode := range []string{"memory", "logged"} {
		b.Run(mode, func(b *testing.B) {
			cfg := Config{MaxKeys: b.N + 1024}
			if mode == "logged" {
				cfg.Dir = b.TempDir()
			}
			r, _, ent := benchRegistry(b, cfg)
			var seq atomic.Uint64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := r.Register(ent, Key{Calling: entNumber, Called: calledOf(seq.Add(1))}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}

// BenchmarkRegisterHTTP posts keys to a loopback server from 64
// concurrent clients; every 201 waits for the fdatasync that covers it.
func BenchmarkRegisterHTTP(b *testing.B) {
	r, st, _ := benchRegistry(b, Config{Dir: b.TempDir(), MaxKeys: b.N + 1024})
	tok := issue(b, st, storetest.Enterprise)
	srv := httptest.NewServer(Handler(r, st))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	var seq atomic.Uint64
	b.SetParallelism(32) // x GOMAXPROCS clients
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var body bytes.Buffer
		for pb.Next() {
			body.Reset()
			fmt.Fprintf(&body, `{"calling":"+15125550100","called":"+%d"}`, calledOf(seq.Add(1)))
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/keys", &body)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "keys/s")
	s := r.Stats()
	b.ReportMetric(float64(b.N)/float64(max(s.Flushes, 1)), "keys/fsync")
}

func BenchmarkEnrol(b *testing.B) {
	r, st, _ := benchRegistry(b, Config{Dir: b.TempDir(), MaxKeys: b.N + 1024})
	if _, err := st.UpdateEnterpriseSignals(store.Operator, storetest.Enterprise, func(g *store.EnterpriseSignals) error {
		g.Trunk, g.Onward = "192.0.2.0/24", "sip:{called}@carrier.example"
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	src := netip.MustParseAddr("192.0.2.10")
	var seq atomic.Uint64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Enrol(src, entNumber, calledOf(seq.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "keys/s")
}

// BenchmarkCheck10M: Check with 10,000,000 live keys (window-bound), for a
// call that holds a key (hit) and for an enrolled caller without one
// (miss: the spoof), and the heap the table takes.
func BenchmarkCheck10M(b *testing.B) {
	const live = 10_000_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, _, ent := benchRegistry(b, Config{MaxKeys: live})
	start := time.Now()
	now := time.Now()
	for i := uint64(0); i < live; i++ {
		if _, err := r.Register(ent, Key{Calling: entNumber, Called: calledOf(i), NotBefore: now, NotAfter: now.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	fill := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc - before.HeapAlloc)
	for _, kind := range []string{"hit", "miss"} {
		b.Run(kind, func(b *testing.B) {
			var seq atomic.Uint64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				t := time.Now()
				off := uint64(0)
				if kind == "miss" {
					off = live // called numbers no key names
				}
				for pb.Next() {
					if m, _ := r.Check(entNumber, calledOf(off+seq.Add(7919)%live), t); (m == policy.KeyMatched) != (kind == "hit") {
						b.Errorf("%s: %v", kind, m)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
			b.ReportMetric(heap/1e6, "heap-MB")
			b.ReportMetric(heap/live, "B/key")
			b.ReportMetric(live/fill.Seconds(), "fill-keys/s")
		})
	}

}
