#!/usr/bin/env bash
# run.sh — the SCP load runs of README.md: sspsim against callgate serve (or
# against sspsim responder, SERVER=responder) on
# this box, 10,000,000 Blocked entries over 100,000 subscribers, one rate
# after another, with a CPU profile of the server at the last rate.
#
# Every rate reports, besides the latency, the CPU each process used over
# the run, from /proc/<pid>/stat (utime+stime) of callgate and from the
# rusage of sspsim: cores (CPU seconds per second; 2 = this box saturated)
# and microseconds of CPU per query answered. The process nearer its share
# of the cores is the one that saturates first.
#
#   bench/scp/run.sh                          # the default rates
#   RATES="50000 60000" bench/scp/run.sh
#   CONFIG=bench/scp/overload.yaml RATES=45000 DURATION=30s \
#     CALLED=+12122000000-+12122000099 bench/scp/run.sh   # the 3x overload run
#
# Environment (defaults in brackets):
#   DATA      store directory; built with bench/sip/gendata when missing [/var/tmp/scpload]
#   CONFIG    callgate configuration [bench/scp/load.yaml]
#   RATES     offered queries/s, one run each [30000 40000 50000 60000]
#   DURATION  length of each run [20s]
#   CONC      sspsim concurrency (queries in flight) [1024]
#   CALLED    called range [+12122000000-+12122099999]
#   CALLING   calling range [+1617555xxxx] (on no list: the longest path)
#   WARMUP    a first, unreported run at 10,000 q/s, so the measured rates do not
#             pay for the fresh process's page faults and first GC cycles [10s; 0 = none]
#   ASSOCS    M3UA associations sspsim opens to the SCP, load-shared by SLS [1]
#   PACE      sspsim's pacing quantum: it sends the calls due in bursts at most
#             this far apart [100us; 1ms halves both ends' wake-ups at 50,000 q/s]
#   CALLGATE  the callgate binary to measure, e.g. one built from another commit
#             for an A/B comparison [bin/callgate, built from this tree]
#   SERVER    callgate, or responder: sspsim's trivial SCP in its place, the
#             reference the acceptance compares with (same columns) [callgate]
#   PROFILE   seconds of CPU profile taken at the last rate [10; 0 = none]
#   TRACE     seconds of execution trace (go tool trace) taken at the last rate [0 = none]
#   OUT       where logs, results, the profile and each rate's timeline go
#             (timeline-RATE.csv: per 10 ms, answers, answers over 2 ms,
#             slowest) [/var/tmp/scpload-run]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DATA=${DATA:-/var/tmp/scpload}
CONFIG=${CONFIG:-$HERE/load.yaml}
RATES=${RATES:-"30000 40000 50000 60000"}
DURATION=${DURATION:-20s}
CONC=${CONC:-1024}
CALLED=${CALLED:-+12122000000-+12122099999}
CALLING=${CALLING:-+1617555xxxx}
PROFILE=${PROFILE:-10}
TRACE=${TRACE:-0}
ASSOCS=${ASSOCS:-1}
PACE=${PACE:-100us}
SERVER=${SERVER:-callgate}
CALLGATE=${CALLGATE:-bin/callgate}
WARMUP=${WARMUP:-10s}
OUT=${OUT:-/var/tmp/scpload-run}

cd "$ROOT"
mkdir -p "$OUT" bin
go build -o bin/ ./cmd/...
if [[ ! -f "$DATA/callgate.db" ]]; then
	echo "building the 10M-entry store in $DATA (about a minute) ..."
	go run ./bench/sip/gendata -store "$DATA"
fi
# Each run starts with an empty decision log, as a fresh deployment would.
rm -f "$DATA/decisions.db" "$OUT/cpu.pprof" "$OUT/trace.out"

listen=$(sed -n 's/.*listen: \["\([^"]*\)".*/\1/p' "$CONFIG" | head -1)
admin=$(sed -n 's/.*admin: {listen: "\([^"]*\)".*/\1/p' "$CONFIG" | head -1)
: "${listen:?no scp listen address in $CONFIG}" "${admin:?no admin listen address in $CONFIG}"

if [[ "$SERVER" == responder ]]; then
	# The reference: sspsim's trivial SCP (one fixed answer, no engine, no log).
	bin/sspsim responder --listen "$listen" --answer forwardCall >"$OUT/serve.log" 2>&1 &
	server=$! PROFILE=0 TRACE=0
	trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
	for _ in $(seq 100); do
		(echo >"/dev/tcp/${listen%:*}/${listen##*:}") 2>/dev/null && break
		sleep 0.1
	done
else
	"$CALLGATE" serve --config "$CONFIG" --data "$DATA" >"$OUT/serve.log" 2>&1 &
	server=$!
	trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
	for _ in $(seq 100); do
		curl -fs "http://$admin/readyz" >/dev/null 2>&1 && break
		sleep 0.2
	done
	curl -fs "http://$admin/readyz" >/dev/null || { echo "callgate did not become ready:"; cat "$OUT/serve.log"; exit 1; }
fi

# cpu_ticks PID: the process's user+system CPU so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# syscalls PID: the process's read and write system calls so far ("reads writes").
syscalls() { awk '/^syscr/ { r = $2 } /^syscw/ { w = $2 } END { print r, w }' "/proc/$1/io"; }
# switches PID: context switches of the process's threads so far (voluntary + not).
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { n += $2 } END { print n + 0 }'; }
hz=$(getconf CLK_TCK)

if [[ "$WARMUP" != 0 ]]; then
	bin/sspsim load --connect "$listen" --associations "$ASSOCS" --pace "$PACE" --rate 10000 --concurrency "$CONC" --duration "$WARMUP" \
		--called-range "$CALLED" --calling-range "$CALLING" >"$OUT/warmup.txt" 2>&1 || true
	sleep 2
fi
last=${RATES##* }
printf '%-8s %-10s %-7s %-7s %-7s %-7s %-13s %-13s %s\n' rate answered p50 p90 p99 p99.9 \
	"$SERVER" "sspsim" errors | tee "$OUT/results.txt"
printf '%-8s %-10s %-31s %-13s %-13s\n' "q/s" "" "(latency ms)" "cores µs/q" "cores µs/q" | tee -a "$OUT/results.txt"
for rate in $RATES; do
	prof= trace=
	if [[ "$rate" == "$last" && "$PROFILE" != 0 ]]; then
		(sleep 5; curl -fs -o "$OUT/cpu.pprof" "http://$admin/debug/pprof/profile?seconds=$PROFILE") &
		prof=$!
	fi
	if [[ "$rate" == "$last" && "$TRACE" != 0 ]]; then
		(sleep 5; curl -fs -o "$OUT/trace.out" "http://$admin/debug/pprof/trace?seconds=$TRACE") &
		trace=$!
	fi
	c0=$(cpu_ticks "$server") t0=$(date +%s.%N) s0=$(syscalls "$server") x0=$(switches "$server")
	# /usr/bin/time reports sspsim's own CPU (user, system seconds) on the last line of its file.
	/usr/bin/time -f '%U %S' -o "$OUT/sspsim-cpu-$rate.txt" \
		bin/sspsim load --connect "$listen" --associations "$ASSOCS" --pace "$PACE" --rate "$rate" --concurrency "$CONC" \
		--duration "$DURATION" --called-range "$CALLED" --calling-range "$CALLING" \
		--timeline "$OUT/timeline-$rate.csv" >"$OUT/load-$rate.txt" 2>&1 || true
	c1=$(cpu_ticks "$server") t1=$(date +%s.%N) s1=$(syscalls "$server") x1=$(switches "$server")
	[[ -n "$prof" ]] && wait "$prof"
	[[ -n "$trace" ]] && wait "$trace"
	awk -v rate="$rate" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" -v s0="$s0" -v s1="$s1" -v x0="$x0" -v x1="$x1" -v cpufile="$OUT/sspsim-cpu-$rate.txt" '
		/^calls / { answered = $6; errors = "timeouts " $10 " errors " $12 }
		/^latency ms/ { for (i = 1; i <= NF; i++) { if ($i == "p50") p50 = $(i+1); if ($i == "p90") p90 = $(i+1);
			if ($i == "p99") p99 = $(i+1); if ($i == "p99.9") p999 = $(i+1) } }
		END {
			while ((getline line < cpufile) > 0) { n = split(line, f, " "); if (n == 2) sim = f[1] + f[2] }
			wall = t1 - t0; srv = (c1 - c0) / hz
			q = answered > 0 ? answered : 1
			split(s0, a, " "); split(s1, b, " ")
			printf "%-8s %-10s %-7s %-7s %-7s %-7s %4.2f %6.2f   %4.2f %6.2f   %s; server per 100 queries: read %.1f write %.1f context switches %.1f\n",
				rate, answered, p50, p90, p99, p999, srv / wall, srv * 1e6 / q, sim / wall, sim * 1e6 / q, errors,
				(b[1] - a[1]) * 100 / q, (b[2] - a[2]) * 100 / q, (x1 - x0) * 100 / q
		}
	' "$OUT/load-$rate.txt" | tee -a "$OUT/results.txt"
	# Whether the slow answers are spread over the run or come in stalls.
	awk -F, 'NR > 1 { n++; a += $2; s += $3; if ($3 > 0) k++; if ($3 > w) { w = $3; wt = $1 } }
		END { if (n) printf "         timeline: %d answers over 2 ms in %d of %d 10 ms slices; the worst, at %d ms, had %d\n", s, k, n, wt, w }' \
		"$OUT/timeline-$rate.csv" 2>/dev/null | tee -a "$OUT/results.txt"
	sleep 2
done
if [[ -s "$OUT/cpu.pprof" ]]; then
	echo
	echo "CPU profile of callgate at $last q/s: $OUT/cpu.pprof (go tool pprof -top bin/callgate $OUT/cpu.pprof)"
	go tool pprof -top -nodecount=15 "$CALLGATE" "$OUT/cpu.pprof" 2>/dev/null | sed -n '1,22p'
fi
if [[ -s "$OUT/trace.out" ]]; then
	echo "execution trace of callgate at $last q/s: go tool trace $OUT/trace.out"
fi
echo "results in $OUT"
