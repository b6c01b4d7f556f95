#!/usr/bin/env bash
# run.sh — issue 12's load acceptance: 200 concurrent API clients editing lists
# (bench/admin/apiload) while the SCP answers 30,000 q/s (sspsim load, as
# bench/scp/run.sh), against one `callgate serve` with the SCP and the API on.
# SCP runs without and with the API clients alternate, so a drift of the machine
# shows in both; each prints the SCP's latency, the API runs also the API's.
#
#   bench/admin/run.sh                       # 2 rounds of 20 s at 30,000 q/s
#   ROUNDS=1 DURATION=5s bench/admin/run.sh  # a short check that it works
#
# Environment (defaults in brackets):
#   DATA      store directory; a copy of bench/scp's data set (100,000 subscribers,
#             10M Blocked rows), built with bench/sip/gendata when missing [/var/tmp/adminload]
#   CONFIG    callgate configuration [bench/admin/load.yaml]
#   RATE      SCP queries/s [30000]
#   DURATION  length of each run [20s]
#   ROUNDS    pairs of runs (without, with the API clients) [2]
#   CLIENTS   concurrent API clients [200]
#   INTERVAL  each API client's time between requests [1s]
#   CONC      sspsim concurrency [1024]
#   WARMUP    an unreported first SCP run at 10,000 q/s [10s; 0 = none]
#   OUT       logs and results [/var/tmp/adminload-run]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DATA=${DATA:-/var/tmp/adminload}
CONFIG=${CONFIG:-$HERE/load.yaml}
RATE=${RATE:-30000}
DURATION=${DURATION:-20s}
ROUNDS=${ROUNDS:-2}
CLIENTS=${CLIENTS:-200}
INTERVAL=${INTERVAL:-1s}
CONC=${CONC:-1024}
WARMUP=${WARMUP:-10s}
OUT=${OUT:-/var/tmp/adminload-run}
CALLED=+12122000000-+12122099999
CALLING=+1617555xxxx

cd "$ROOT"
mkdir -p "$OUT" bin
go build -o bin/ ./cmd/... ./bench/admin/apiload
if [[ ! -f "$DATA/callgate.db" ]]; then
	if [[ -f /var/tmp/scpload/callgate.db ]]; then
		mkdir -p "$DATA" && cp /var/tmp/scpload/callgate.db "$DATA/"
	else
		echo "building the 10M-entry store in $DATA (about a minute) ..."
		go run ./bench/sip/gendata -store "$DATA"
	fi
fi
rm -f "$DATA/decisions.db"

listen=$(sed -n 's/.*listen: \["\([^"]*\)".*/\1/p' "$CONFIG" | head -1)
admin=$(sed -n 's/^admin: {listen: "\([^"]*\)".*/\1/p' "$CONFIG" | head -1)
api=$(sed -n 's/^api: {.*listen: "\([^"]*\)".*/\1/p' "$CONFIG" | head -1)
: "${listen:?no scp listen address in $CONFIG}" "${admin:?no admin listen address in $CONFIG}" "${api:?no api listen address in $CONFIG}"

# A platform-owner token for the clients (the store is not open yet).
bin/callgate admin bootstrap --another --ttl 24h --label apiload --json --config "$CONFIG" --data "$DATA" |
	sed -n 's/.*"token": "\([^"]*\)".*/\1/p' >"$OUT/token"
[[ -s "$OUT/token" ]] || { echo "no API token"; exit 1; }

bin/callgate serve --config "$CONFIG" --data "$DATA" >"$OUT/serve.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	curl -fs "http://$admin/readyz" >/dev/null 2>&1 && break
	sleep 0.2
done
curl -fs "http://$admin/readyz" >/dev/null || { echo "callgate did not become ready:"; cat "$OUT/serve.log"; exit 1; }

scp() { # scp FILE: one SCP run at RATE
	bin/sspsim load --connect "$listen" --rate "$RATE" --concurrency "$CONC" --duration "$DURATION" \
		--called-range "$CALLED" --calling-range "$CALLING" >"$1" 2>&1 || true
}
scpline() { # scpline LABEL FILE
	awk -v label="$1" '
		/^calls / { answered = $6; errors = "timeouts " $10 " errors " $12 }
		/^latency ms/ { for (i = 1; i <= NF; i++) { if ($i == "p50") p50 = $(i+1); if ($i == "p90") p90 = $(i+1);
			if ($i == "p99") p99 = $(i+1); if ($i == "p99.9") p999 = $(i+1) } }
		END { printf "%-14s %-10s %-9s %-9s %-9s %-9s %s\n", label, answered, p50, p90, p99, p999, errors }
	' "$2"
}
cpu() { awk '{ print $14 + $15 }' "/proc/$server/stat"; } # callgate's user+system CPU, in clock ticks

if [[ "$WARMUP" != 0 ]]; then
	bin/sspsim load --connect "$listen" --rate 10000 --concurrency "$CONC" --duration "$WARMUP" \
		--called-range "$CALLED" --calling-range "$CALLING" >"$OUT/warmup.txt" 2>&1 || true
	sleep 2
fi
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/results.txt"
printf '%-14s %-10s %-9s %-9s %-9s %-9s %s\n' "SCP run" answered p50 p90 p99 p99.9 errors | tee -a "$OUT/results.txt"
hz=$(getconf CLK_TCK)
for round in $(seq "$ROUNDS"); do
	c0=$(cpu)
	scp "$OUT/scp-alone-$round.txt"
	c1=$(cpu)
	scpline "alone $round" "$OUT/scp-alone-$round.txt" | tee -a "$OUT/results.txt"
	sleep 2
	bin/apiload --api "http://$api" --token-file "$OUT/token" --clients "$CLIENTS" --interval "$INTERVAL" \
		--duration "$DURATION" >"$OUT/api-$round.txt" 2>&1 &
	apiload=$!
	c2=$(cpu)
	scp "$OUT/scp-with-api-$round.txt"
	wait "$apiload" || echo "apiload failed: $(tail -1 "$OUT/api-$round.txt")"
	c3=$(cpu)
	scpline "with API $round" "$OUT/scp-with-api-$round.txt" | tee -a "$OUT/results.txt"
	echo "  callgate CPU: alone $(( (c1 - c0) * 1000 / hz )) ms, with the API $(( (c3 - c2) * 1000 / hz )) ms" | tee -a "$OUT/results.txt"
	sed 's/^/  /' "$OUT/api-$round.txt" | tee -a "$OUT/results.txt"
	sleep 2
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/results.txt"
echo "results in $OUT"
