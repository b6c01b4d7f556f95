#!/usr/bin/env bash
# scp.sh — the SCP's latency on the bbolt store and on etcd, same data, same load: the method
# of bench/scp (sspsim load against one callgate serve on this box), once with store.backend
# bbolt and once with store.backend etcd (a three-member etcd on loopback, started here), in
# alternation, ROUNDS times. See README.md for the numbers.
#
#   bench/cluster/scp.sh
#   RATE=30000 ROUNDS=3 bench/cluster/scp.sh
#
# Environment (defaults in brackets):
#   SUBS, PER  subscribers and Blocked rows each [10000, 100: 1,000,000 entries]
#   RATE       offered queries/s [25000]
#   DURATION   each measured run [20s]
#   WARMUP     an unreported run at 10,000 q/s first, per server start [10s]
#   CONC       sspsim concurrency [1024]
#   ROUNDS     bbolt, etcd, bbolt, etcd ... [2]
#   OUT        data, logs and results [/var/tmp/clusterbench]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SUBS=${SUBS:-10000}
PER=${PER:-100}
RATE=${RATE:-25000}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-10s}
CONC=${CONC:-1024}
ROUNDS=${ROUNDS:-2}
OUT=${OUT:-/var/tmp/clusterbench}
ADMIN=127.0.0.1:9475
SCP=127.0.0.1:2925
CALLED=+12122000000-+$((12122000000 + SUBS - 1))
CALLING=+1617555xxxx
ENDPOINTS=http://127.0.0.1:21379,http://127.0.0.1:22379,http://127.0.0.1:23379

command -v etcd >/dev/null || { echo "etcd is not installed (apt-get install etcd-server)"; exit 1; }
cd "$ROOT"
rm -rf "$OUT"
mkdir -p "$OUT/bbolt" "$OUT/etcd" bin
go build -o bin/ ./cmd/...
go build -o bin/seed ./bench/cluster/seed

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

cluster=m1=http://127.0.0.1:21380,m2=http://127.0.0.1:22380,m3=http://127.0.0.1:23380
for i in 1 2 3; do
	etcd --name m$i --data-dir "$OUT/m$i" \
		--listen-client-urls http://127.0.0.1:2${i}379 --advertise-client-urls http://127.0.0.1:2${i}379 \
		--listen-peer-urls http://127.0.0.1:2${i}380 --initial-advertise-peer-urls http://127.0.0.1:2${i}380 \
		--initial-cluster "$cluster" --initial-cluster-state new >"$OUT/m$i.log" 2>&1 &
	pids+=($!)
done
for _ in $(seq 100); do
	curl -fs http://127.0.0.1:21379/health 2>/dev/null | grep -q '"true"' && break
	sleep 0.2
done

echo "seeding $SUBS subscribers x $PER Blocked rows, into bbolt and into etcd ..."
bin/seed -store "$OUT/bbolt/callgate.db" -subscribers "$SUBS" -per-subscriber "$PER"
bin/seed -etcd "$ENDPOINTS" -replica "$OUT/seed-replica.db" -subscribers "$SUBS" -per-subscriber "$PER"

run() { # mode round
	local mode=$1 round=$2 server
	rm -f "$OUT/$mode/decisions.db"
	bin/callgate serve --config "$HERE/$mode.yaml" --data "$OUT/$mode" >"$OUT/serve-$mode-$round.log" 2>&1 &
	server=$!
	for _ in $(seq 300); do
		curl -fs "http://$ADMIN/readyz" 2>/dev/null | grep -q 'store: ok' && break
		sleep 0.2
	done
	curl -fs "http://$ADMIN/readyz" | grep -q 'store: ok' || { echo "callgate ($mode) not ready:"; cat "$OUT/serve-$mode-$round.log"; exit 1; }
	if [[ "$WARMUP" != 0 ]]; then
		bin/sspsim load --connect "$SCP" --rate 10000 --concurrency "$CONC" --duration "$WARMUP" \
			--called-range "$CALLED" --calling-range "$CALLING" >/dev/null 2>&1 || true
		sleep 2
	fi
	local load
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	bin/sspsim load --connect "$SCP" --rate "$RATE" --concurrency "$CONC" --duration "$DURATION" \
		--called-range "$CALLED" --calling-range "$CALLING" >"$OUT/load-$mode-$round.txt" 2>&1 || true
	kill -TERM "$server"
	wait "$server" || true
	awk -v mode="$mode" -v round="$round" -v load="$load" '
		/^calls / { answered = $6 " of " $4; errors = "timeouts " $10 " errors " $12 }
		/^latency ms/ { for (i = 1; i <= NF; i++) { if ($i == "p50") p50 = $(i+1); if ($i == "p90") p90 = $(i+1);
			if ($i == "p99") p99 = $(i+1); if ($i == "p99.9") p999 = $(i+1) } }
		END { printf "%-6s %-5s %-22s %-8s %-8s %-8s %-8s %-16s %s\n", mode, round, answered, p50, p90, p99, p999, load, errors }
	' "$OUT/load-$mode-$round.txt" | tee -a "$OUT/results.txt"
}

printf '%-6s %-5s %-22s %-8s %-8s %-8s %-8s %-16s %s\n' store round answered p50 p90 p99 p99.9 loadavg errors | tee "$OUT/results.txt"
for round in $(seq "$ROUNDS"); do
	run bbolt "$round"
	run etcd "$round"
done
echo "results in $OUT/results.txt (latencies in ms; loadavg: 1, 5, 15 min before each run)"
