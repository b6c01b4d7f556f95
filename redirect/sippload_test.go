package redirect

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSippLoad drives the in-process server with sipp at a fixed rate
// (CALLGATE_SIPP_RATE calls/s, default 2000) for b.N calls and reports the
// achieved calls/s, the failed calls (a call without its final answer
// within 5 s fails), sipp's mean response time, the CPU time the process
// spent per call (server and benchmark harness; sipp is another process)
// and the 1-minute load average at the end (the machine may be shared).
// The server is on the stateless UDP path; CALLGATE_SIPP_STATEFUL=1 puts it
// on sipgo's transaction layer instead. The server runs in the
// same process as the benchmark, so this is a smoke test of the load path;
// the comparison with Kamailio runs the daemon (later work).
// Example: go test -run x -bench SippLoad -benchtime 20000x ./redirect/
// (b.N = number of calls; pick benchtime >= rate x seconds wanted).
func BenchmarkSippLoad(b *testing.B) {
	bin, err := exec.LookPath("sipp")
	if err != nil {
		b.Fatalf("sipp not found (apt-get install sip-tester): %v", err)
	}
	rate := 2000
	if v, err := strconv.Atoi(os.Getenv("CALLGATE_SIPP_RATE")); err == nil && v > 0 {
		rate = v
	}
	cfg := testConfig()
	cfg.TCP = ""
	cfg.MaxInFlight = 1 << 20
	cfg.Stateful = os.Getenv("CALLGATE_SIPP_STATEFUL") != ""
	s := startServer(b, cfg, constDecider{newFakeDecider()})
	dir := b.TempDir()
	scen, _ := filepath.Abs(filepath.Join(sippDir, "load_302.xml"))
	inf, _ := filepath.Abs(filepath.Join(sippDir, "load_calls.csv"))
	stat := filepath.Join(dir, "stat.csv")
	args := []string{"-sf", scen, "-inf", inf,
		"-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(&testing.T{})),
		"-r", strconv.Itoa(rate), "-m", strconv.Itoa(b.N), "-l", "20000",
		"-nostdin", "-recv_timeout", "5000", "-timeout", "900s",
		"-trace_stat", "-stf", stat, "-fd", "3600",
		s.Addr("udp").String()}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	b.ResetTimer()
	start := time.Now()
	cpu0 := processCPU()
	runErr := cmd.Run()
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	b.StopTimer()
	rows := readStat(b, stat)
	if len(rows) < 2 {
		b.Fatalf("no sipp statistics (%v):\n%s", runErr, out.String())
	}
	last := map[string]string{}
	for i, h := range rows[0] {
		if i < len(rows[len(rows)-1]) {
			last[h] = rows[len(rows)-1][i]
		}
	}
	ok, _ := strconv.ParseFloat(last["SuccessfulCall(C)"], 64)
	failed, _ := strconv.ParseFloat(last["FailedCall(C)"], 64)
	b.ReportMetric(ok/elapsed.Seconds(), "calls/s")
	b.ReportMetric(failed, "failed")
	if rt := last["ResponseTime1(C)"]; rt != "" {
		b.ReportMetric(parseHMS(rt)*1e6, "µs-mean-rt")
	}
	if ok > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/ok, "cpu-µs/call")
	}
	if la := loadAverage(); la >= 0 {
		b.ReportMetric(la, "loadavg")
	}
	if runErr != nil && failed == 0 {
		b.Fatalf("sipp: %v\n%s", runErr, out.String())
	}
}

func readStat(b *testing.B, path string) [][]string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = ';'
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		b.Fatalf("sipp stat file: %v", err)
	}
	return rows
}

// parseHMS reads sipp's "HH:MM:SS:mmmmmm" durations as seconds.
func parseHMS(s string) float64 {
	p := strings.Split(s, ":")
	if len(p) != 4 {
		return 0
	}
	h, _ := strconv.ParseFloat(p[0], 64)
	m, _ := strconv.ParseFloat(p[1], 64)
	sec, _ := strconv.ParseFloat(p[2], 64)
	us, _ := strconv.ParseFloat(p[3], 64)
	return h*3600 + m*60 + sec + us/1e6
}

// processCPU is the user+system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage is the 1-minute load average (Linux), or -1.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}
