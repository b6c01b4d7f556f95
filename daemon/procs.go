package daemon

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"

	"callgate/internal/config"
	"callgate/internal/hugepages"
)

// addWriterProc adds one P (GOMAXPROCS) for the decision log's writer when
// it fsyncs each batch, unless the operator set GOMAXPROCS: a writer
// blocked in fdatasync holds its P, and the query path would lose a core
// for the length of every sync. The measurements are in bench/scp/README.md
// ("What changed since the first run", item 2). Under a cgroup CPU quota
// (the runtime then starts with fewer Ps than CPUs) a further busy P would
// be throttled by the quota instead, so nothing is added there. It is done
// once per process.
func addWriterProc(cfg *config.Config, log *slog.Logger) {
	if !cfg.DecisionLog.Enabled || cfg.DecisionLog.NoSync || os.Getenv("GOMAXPROCS") != "" {
		return
	}
	writerProcOnce.Do(func() {
		n, cpus := runtime.GOMAXPROCS(0), runtime.NumCPU()
		if want := writerProcs(n, cpus); want != n {
			runtime.GOMAXPROCS(want)
			log.Debug("one more P for the decision log's fsync", "gomaxprocs", want, "cpus", cpus)
			return
		}
		log.Debug("no extra P for the decision log's fsync", "gomaxprocs", n, "cpus", cpus)
	})
}

// writerProcs is the GOMAXPROCS to run with: one more than the CPUs, but
// not under a CPU quota (fewer Ps than CPUs) and not on a single CPU. A
// process held to one CPU (taskset, a one-vCPU machine) would have two Ps
// time-slicing it: while the writer is not in its fsync the spare P's
// threads spin looking for work on every wake-up, which cost the SIP path
// a quarter more CPU per call (bench/sip/README.md, "One P").
func writerProcs(gomaxprocs, cpus int) int {
	if gomaxprocs < cpus || cpus < 2 {
		return gomaxprocs
	}
	return gomaxprocs + 1
}

var writerProcOnce sync.Once

// setGCPercent applies gc_percent unless the operator set GOGC. It is
// process-wide, like GOMAXPROCS: the last daemon started in a process
// (tests start several) sets it.
func setGCPercent(cfg *config.Config, log *slog.Logger) {
	if os.Getenv("GOGC") != "" || cfg.GCPercent == 0 {
		return
	}
	if prev := debug.SetGCPercent(cfg.GCPercent); prev != cfg.GCPercent {
		log.Debug("garbage collector set", "gc_percent", cfg.GCPercent, "was", prev)
	}
}

// hugeHeapMin: smaller heaps stay on small pages (collapsing costs about
// 10 ms a huge page, and a small heap stays in the TLB's reach anyway).
const hugeHeapMin = 64 << 20

// hugeHeap puts the heap on huge pages (huge_pages, internal/hugepages)
// once the tiers have built their tables, before the daemon reports ready.
// It returns the bytes collapsed (0 when off or the heap is small) and
// logs why when some memory stays on small pages.
func hugeHeap(cfg *config.Config, log *slog.Logger) int64 {
	if !cfg.HugePages {
		return 0
	}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[0].Value.Uint64() < hugeHeapMin {
		return 0
	}
	rep := hugepages.Heap()
	if rep.Err != nil {
		log.Info("heap: not (all) on huge pages; everything works the same, a little slower",
			"heap_mib", rep.Bytes>>20, "huge_mib", rep.Collapsed>>20, "err", rep.Err.Error())
	}
	log.Debug("heap on huge pages", "mappings", rep.Mappings, "mib", rep.Bytes>>20,
		"resident_mib", rep.Resident>>20, "collapsed_mib", rep.Collapsed>>20, "took", rep.Took)
	return rep.Collapsed
}
