package daemon

import (
	"log/slog"
	"os"
	"runtime"
	"sync"

	"callgate/internal/config"
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
		n := runtime.GOMAXPROCS(0)
		if n < runtime.NumCPU() {
			log.Debug("CPU quota: no extra P for the decision log's fsync", "gomaxprocs", n, "cpus", runtime.NumCPU())
			return
		}
		runtime.GOMAXPROCS(n + 1)
		log.Debug("one more P for the decision log's fsync", "gomaxprocs", n+1, "cpus", n)
	})
}

var writerProcOnce sync.Once
