#!/usr/bin/env bash
# run.sh — the SCP load runs of README.md: sspsim against callgate serve on
# this box, 10,000,000 Blocked entries over 100,000 subscribers, one rate
# after another, with a CPU profile of the server at the last rate.
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
#   PROFILE   seconds of CPU profile taken at the last rate [10; 0 = none]
#   OUT       where logs, results and the profile go [/var/tmp/scpload-run]
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
rm -f "$DATA/decisions.db" "$OUT/cpu.pprof"

listen=$(sed -n 's/.*listen: \["\([^"]*\)".*/\1/p' "$CONFIG" | head -1)
admin=$(sed -n 's/.*admin: {listen: "\([^"]*\)".*/\1/p' "$CONFIG" | head -1)
: "${listen:?no scp listen address in $CONFIG}" "${admin:?no admin listen address in $CONFIG}"

bin/callgate serve --config "$CONFIG" --data "$DATA" >"$OUT/serve.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	curl -fs "http://$admin/readyz" >/dev/null 2>&1 && break
	sleep 0.2
done
curl -fs "http://$admin/readyz" >/dev/null || { echo "callgate did not become ready:"; cat "$OUT/serve.log"; exit 1; }

if [[ "$WARMUP" != 0 ]]; then
	bin/sspsim load --connect "$listen" --rate 10000 --concurrency "$CONC" --duration "$WARMUP" \
		--called-range "$CALLED" --calling-range "$CALLING" >"$OUT/warmup.txt" 2>&1 || true
	sleep 2
fi
last=${RATES##* }
printf '%-8s %-10s %-9s %-9s %-9s %-9s %s\n' rate answered p50 p90 p99 p99.9 errors | tee "$OUT/results.txt"
for rate in $RATES; do
	prof=
	if [[ "$rate" == "$last" && "$PROFILE" != 0 ]]; then
		(sleep 5; curl -fs -o "$OUT/cpu.pprof" "http://$admin/debug/pprof/profile?seconds=$PROFILE") &
		prof=$!
	fi
	bin/sspsim load --connect "$listen" --rate "$rate" --concurrency "$CONC" --duration "$DURATION" \
		--called-range "$CALLED" --calling-range "$CALLING" >"$OUT/load-$rate.txt" 2>&1 || true
	[[ -n "$prof" ]] && wait "$prof"
	awk -v rate="$rate" '
		/^calls / { answered = $6; errors = "timeouts " $10 " errors " $12 }
		/^latency ms/ { for (i = 1; i <= NF; i++) { if ($i == "p50") p50 = $(i+1); if ($i == "p90") p90 = $(i+1);
			if ($i == "p99") p99 = $(i+1); if ($i == "p99.9") p999 = $(i+1) } }
		END { printf "%-8s %-10s %-9s %-9s %-9s %-9s %s\n", rate, answered, p50, p90, p99, p999, errors }
	' "$OUT/load-$rate.txt" | tee -a "$OUT/results.txt"
	sleep 2
done
if [[ -s "$OUT/cpu.pprof" ]]; then
	echo
	echo "CPU profile of callgate at $last q/s: $OUT/cpu.pprof (go tool pprof -top bin/callgate $OUT/cpu.pprof)"
	go tool pprof -top -nodecount=15 bin/callgate "$OUT/cpu.pprof" 2>/dev/null | sed -n '1,22p'
fi
echo "results in $OUT"
