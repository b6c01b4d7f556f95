#!/usr/bin/env bash
# Concurrent G.711 screening calls against callgate's B2BUA, driven by
# `sipsim load` (see README.md). Usage: bench/b2bua/run.sh [CONCURRENCY...]
# Starts its own callgate (demo data in a temporary directory) on the default
# loopback ports; prints, per step, sipsim's jitter/loss summary, callgate's CPU
# and memory per call, and the load average.
set -euo pipefail
cd "$(dirname "$0")/../.."
steps=("${@:-100 250 500 750 1000}")
[ $# -gt 0 ] || steps=(100 250 500 750 1000)
HOLD=${HOLD:-20s}
RATE=${RATE:-50}
make -s build
data=$(mktemp -d)
bin/callgate demo --data "$data" >/dev/null
# Enough RTP ports for 1,000 calls (two pairs each with a subscriber leg).
bin/callgate serve --data "$data" 2>"$data/serve.log" &
cg=$!
trap 'kill $cg 2>/dev/null; wait $cg 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do curl -sf http://127.0.0.1:9464/readyz >/dev/null && break; sleep 0.2; done
ticks=$(getconf CLK_TCK)
cpu() { awk -v t="$ticks" '{print ($14+$15)/t}' /proc/$cg/stat; }
rss() { awk '/VmRSS/{print $2}' /proc/$cg/status; }
for c in "${steps[@]}"; do
	idle=$(rss); c0=$(cpu); t0=$(date +%s.%N)
	peak=$idle
	( while kill -0 $cg 2>/dev/null; do r=$(rss); echo "$r"; sleep 1; done ) >"$data/rss.$c" &
	mon=$!
	echo "== $c concurrent calls (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
	# Alice (+13035550100) screens unknown callers: the PIN prompt, the name
	# prompt, name capture, please-hold, then the subscriber leg (no phone on
	# the continue route: not-available prompt). Every call hears prompts
	# for HOLD (or until released).
	bin/sipsim load --called +13035550100 --calling +17205550123 --concurrency "$c" --calls "$c" \
		--rate "$RATE" --hold "$HOLD" 2>&1 | sed 's/^/  /'
	kill $mon; wait $mon 2>/dev/null || true
	c1=$(cpu); t1=$(date +%s.%N)
	peak=$(sort -n "$data/rss.$c" | tail -1)
	awk -v c="$c" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v idle="$idle" -v peak="$peak" -v la="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
		printf "  callgate: %.1f CPU-s over %.0f s (%.0f%% of one core), %.1f CPU-ms per call; RSS idle %.0f MiB, peak %.0f MiB, %.0f KiB per call; load average after: %s\n",
			c1-c0, t1-t0, 100*(c1-c0)/(t1-t0), 1000*(c1-c0)/c, idle/1024, peak/1024, (peak-idle)/c, la }'
done
