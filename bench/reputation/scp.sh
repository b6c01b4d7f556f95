#!/usr/bin/env bash
# The SCP's answer latency with reputation off, on with a warm cache, and on
# with a provider 200 ms slow (every caller new: every call a miss), on the
# demo store. Each run: a reputation simulator, `callgate serve` with only
# the SCP, `sspsim load` against it. RATE (default 5000 q/s) and DURATION
# (15s) set the measured run; RUNS picks and orders the runs (default
# "off warm slow"); OUT keeps the binaries, data and logs.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$(mktemp -d /tmp/repbench.XXXX)}
RATE=${RATE:-5000}
DURATION=${DURATION:-15s}
mkdir -p "$OUT/bin"
go build -o "$OUT/bin/" ./cmd/callgate ./cmd/sspsim
CG=$OUT/bin/callgate SS=$OUT/bin/sspsim
[ -f "$OUT/data/callgate.db" ] || "$CG" demo --data "$OUT/data" >/dev/null

conf() { # $1 = reputation enabled (true|false)
	cat >"$OUT/callgate.yaml" <<YAML
admin: {listen: "127.0.0.1:9466"}
sip: {enabled: false}
scp: {enabled: true, listen: ["127.0.0.1:2916"], acg: {capacity: 0}}
reputation: {enabled: $1, base_url: "http://127.0.0.1:18089"}
YAML
}

run() { # name reputation latency calling-range warmup
	local name=$1 rep=$2 lat=$3 range=$4 warm=$5
	conf "$rep"
	"$SS" reputation --listen 127.0.0.1:18089 --latency "$lat" --band +16175550102=medium 2>"$OUT/sim-$name.log" &
	local sim=$!
	sleep 0.5
	kill -0 "$sim" 2>/dev/null || { cat "$OUT/sim-$name.log"; exit 1; }
	"$CG" serve --config "$OUT/callgate.yaml" --data "$OUT/data" 2>"$OUT/serve-$name.log" &
	local srv=$!
	until curl -sf http://127.0.0.1:9466/readyz >/dev/null; do sleep 0.2; done
	if [ "$warm" != 0 ]; then
		# Slowly enough that every caller's look-up is made (not "busy").
		"$SS" load --connect 127.0.0.1:2916 --rate 1000 --duration "$warm" --called +13035550100 --calling-range "$range" >/dev/null 2>&1
	fi
	echo "== $name (reputation $rep, provider latency $lat, callers $range)"
	"$SS" load --connect 127.0.0.1:2916 --rate "$RATE" --duration "$DURATION" --called +13035550100 --calling-range "$range" >"$OUT/load-$name.txt" 2>&1 || true
	grep -vE '^ +<|^ +[0-9.]+s +sent' "$OUT/load-$name.txt"
	curl -s http://127.0.0.1:9466/metrics | grep -E '^callgate_reputation_checks_total|^callgate_scp_safe_answers_total' | grep -v ' 0$' || true
	kill -TERM "$srv" "$sim"
	wait "$srv" "$sim" 2>/dev/null || true
}

for r in ${RUNS:-off warm slow}; do
	case $r in
	off) run off false 0s +1617555xxxx 12s ;;
	warm) run warm true 0s +1617555xxxx 12s ;;
	slow) run slow true 200ms +16175xxxxxx 0 ;;
	esac
done
