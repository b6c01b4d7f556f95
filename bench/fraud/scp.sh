#!/usr/bin/env bash
# scp.sh — the SCP with the toll-fraud monitor on vs off (issue 14's acceptance), see README.md:
# sspsim sends originating queries (infoAnalyzed: a subscriber's line dialling a domestic,
# international or premium number) to callgate serve, restarted for each run with fraud.enabled
# on or off, the two interleaved (off, on, off, on, ...) so a change in the machine's load hits
# both alike. For each run it reports the latency sspsim measured and the server's CPU time per
# query (utime+stime of the callgate process over the measured run, from /proc): on a shared
# machine the CPU per query is the number to compare; p50/p99 are only meaningful on a quiet one.
#
#   bench/fraud/scp.sh                                  # 3 rounds of 20 s at 10,000 q/s
#   ROUNDS=1 DURATION=10s RATE=5000 bench/fraud/scp.sh  # a short proof run
#
# Environment (defaults in brackets):
#   DATA      store directory; built with bench/sip/gendata when missing (100,000 subscribers
#             +12122000000..+12122099999, the calling lines) [/var/tmp/fraudscp]
#   CONFIG    callgate configuration with fraud on [bench/fraud/scp.yaml]
#   RATE      offered queries/s [10000]
#   DURATION  length of each measured run [20s]
#   ROUNDS    off/on pairs [3]
#   CONC      sspsim concurrency (queries in flight) [512]
#   WARMUP    an unmeasured run at RATE before each measured one [5s; 0 = none]
#   PROFILE   seconds of CPU profile of the server in the last "on" run, to see the monitor's
#             share of the server's CPU (package fraud's functions, cumulative) [10; 0 = none]
#   OUT       where logs and results go [/var/tmp/fraudscp-run]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DATA=${DATA:-/var/tmp/fraudscp}
CONFIG=${CONFIG:-$HERE/scp.yaml}
RATE=${RATE:-10000}
DURATION=${DURATION:-20s}
ROUNDS=${ROUNDS:-3}
CONC=${CONC:-512}
WARMUP=${WARMUP:-5s}
PROFILE=${PROFILE:-10}
OUT=${OUT:-/var/tmp/fraudscp-run}

cd "$ROOT"
mkdir -p "$OUT" bin
go build -o bin/ ./cmd/...
if [[ ! -f "$DATA/callgate.db" ]]; then
	echo "building the store in $DATA (100,000 subscribers) ..."
	go run ./bench/sip/gendata -store "$DATA" -subscribers 100000 -per-subscriber 1
fi

# The two configurations: as given (fraud on), and the same with fraud.enabled false.
on=$OUT/fraud-on.yaml off=$OUT/fraud-off.yaml
cp "$CONFIG" "$on"
awk '/^fraud:/ { f = 1 } f && /^  enabled:/ { sub(/true/, "false"); f = 0 } { print }' "$CONFIG" >"$off"
grep -A1 '^fraud:' "$off" | grep -q 'enabled: false' || { echo "cannot turn fraud off in $CONFIG (want a fraud: section with enabled: true)"; exit 1; }

listen=$(sed -n 's/.*listen: \["\([^"]*\)".*/\1/p' "$CONFIG" | head -1)
admin=$(sed -n 's/.*admin: {listen: "\([^"]*\)".*/\1/p' "$CONFIG" | head -1)
: "${listen:?no scp listen address in $CONFIG}" "${admin:?no admin listen address in $CONFIG}"

# A carrier-sized rate table (24,083 rows, the shape of fraud/bench_test.go): NANP domestic,
# premium 1900, every country code 20-99 with 300 area prefixes, one in seven premium.
awk 'BEGIN { print "prefix,category,price_per_minute"; print "1,domestic,0.005"; print "1900,premium,2.50"
	print "1876,international,0.21"
	for (cc = 20; cc < 100; cc++) { printf "%d,international,0.25\n", cc
		for (a = 0; a < 300; a++) printf "%d%03d,%s,0.%02d\n", cc, 100 + a, (a % 7 == 6 ? "premium" : "international"), 10 + (a * 37) % 80 } }' >"$OUT/rates.csv"
bin/callgate fraud rates import --config "$on" --data "$DATA" "$OUT/rates.csv" | tee "$OUT/rates-import.txt"

# The originating mix: 60 % domestic, 30 % international (London), 10 % premium (1-900), every
# query from the next of the 100,000 subscribers' lines (each a fraud group).
lines=+12122000000-+12122099999
mix=(--trigger info-analyzed
	--mix "name=domestic,weight=6,calling=$lines,called=+1303555xxxx"
	--mix "name=international,weight=3,calling=$lines,called=+44207946xxxx"
	--mix "name=premium,weight=1,calling=$lines,called=+1900555xxxx")

server=
stop() {
	if [[ -n "$server" ]]; then
		kill -TERM "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
		server=
	fi
}
trap stop EXIT

# cpu PID: the process's user+system time so far, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

printf '%-5s %-5s %-10s %-8s %-8s %-8s %-9s %s\n' round fraud answered p50 p99 cpu_s us/query errors | tee "$OUT/results.txt"
for round in $(seq "$ROUNDS"); do
	for mode in off on; do
		rm -f "$DATA/decisions.db"
		cfg=$off
		[[ $mode == on ]] && cfg=$on
		bin/callgate serve --config "$cfg" --data "$DATA" >"$OUT/serve-$round-$mode.log" 2>&1 &
		server=$!
		for _ in $(seq 100); do
			curl -fs "http://$admin/readyz" >/dev/null 2>&1 && break
			sleep 0.2
		done
		curl -fs "http://$admin/readyz" >/dev/null || { echo "callgate did not become ready:"; cat "$OUT/serve-$round-$mode.log"; exit 1; }
		if [[ "$WARMUP" != 0 ]]; then
			bin/sspsim load --connect "$listen" --rate "$RATE" --concurrency "$CONC" --duration "$WARMUP" "${mix[@]}" \
				>"$OUT/warmup-$round-$mode.txt" 2>&1 || true
		fi
		prof=
		if [[ $mode == on && $round == "$ROUNDS" && "$PROFILE" != 0 ]]; then
			(sleep 2; curl -fs -o "$OUT/cpu-on.pprof" "http://$admin/debug/pprof/profile?seconds=$PROFILE") &
			prof=$!
		fi
		before=$(cpu "$server")
		bin/sspsim load --connect "$listen" --rate "$RATE" --concurrency "$CONC" --duration "$DURATION" "${mix[@]}" \
			>"$OUT/load-$round-$mode.txt" 2>&1 || true
		after=$(cpu "$server")
		[[ -n "$prof" ]] && wait "$prof"
		stop
		awk -v round="$round" -v mode="$mode" -v ticks=$((after - before)) -v hz="$hz" '
			/^calls / { answered = $6; errors = "timeouts " $10 " errors " $12 }
			/^latency ms/ { for (i = 1; i <= NF; i++) { if ($i == "p50") p50 = $(i+1); if ($i == "p99") p99 = $(i+1) } }
			END { s = ticks / hz; us = answered > 0 ? s * 1e6 / answered : 0
				printf "%-5s %-5s %-10s %-8s %-8s %-8.2f %-9.2f %s\n", round, mode, answered, p50, p99, s, us, errors }
		' "$OUT/load-$round-$mode.txt" | tee -a "$OUT/results.txt"
	done
done
# The medians of CPU per query, and what the monitor adds.
awk 'NR > 1 { v[$2] = v[$2] " " $7 }
	function median(s,   a, n, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
	END { off = median(v["off"]); on = median(v["on"]); pct = 0
		if (off > 0) pct = (on - off) * 100 / off
		printf "\nserver CPU per query, median: fraud off %.2f us, on %.2f us: %+.2f us (%+.1f %%)\n", off, on, on - off, pct }
' "$OUT/results.txt" | tee -a "$OUT/results.txt"
if [[ -s "$OUT/cpu-on.pprof" ]]; then
	echo
	echo "the fraud monitor's share of the server's CPU with fraud on (cumulative; go tool pprof -top -cum bin/callgate $OUT/cpu-on.pprof):"
	go tool pprof -top -cum bin/callgate "$OUT/cpu-on.pprof" 2>/dev/null | grep -E '^ +flat|callgate/fraud\.' | head -8 | tee -a "$OUT/results.txt"
fi
echo "results in $OUT"
