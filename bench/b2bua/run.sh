#!/usr/bin/env bash
# Concurrent G.711 screening calls against callgate's B2BUA, driven by
# `sipsim load` (see README.md). Usage: bench/b2bua/run.sh [CONCURRENCY...]
# Starts its own callgate (demo data in a temporary directory) and, for each
# step, prints sipsim's loss and jitter summary (by sipsim's clock and by
# kernel receive times), callgate's CPU and memory per call, its prompt
# pacer's wake-up lateness, and the load average.
#
# Environment:
#   HOLD=20s RATE=50      each call's hold time; calls started per second
#   PORT_BASE=0           added to every port (SIP 5060, B2BUA 5070, admin 9464,
#                         SCP 2905, continue route 5080): run beside another callgate
#   CALLGATE=bin/callgate the daemon binary (A/B runs: an older build)
#   CAPTURE=1             also capture the B2BUA's RTP with tshark and compute the
#                         same jitter from the capture (an independent check); sipsim
#                         then runs on 127.0.0.2 so the capture holds only this run
#   SIPSIM_IP=127.0.0.1   the address sipsim's SIP and RTP use
#   RT=1                  run callgate and sipsim at SCHED_RR priority 10 (root): the
#                         other processes of a shared host cannot preempt them, which
#                         emulates a quiet host (their CPU figures grow: spinning threads)
set -euo pipefail
cd "$(dirname "$0")/../.."
steps=("$@")
[ $# -gt 0 ] || steps=(100 250 500 750 1000)
HOLD=${HOLD:-20s}
RATE=${RATE:-50}
PORT_BASE=${PORT_BASE:-0}
CALLGATE=${CALLGATE:-bin/callgate}
CAPTURE=${CAPTURE:-0}
rt=()
[ "${RT:-0}" != 1 ] || rt=(chrt -r 10)
SIPSIM_IP=${SIPSIM_IP:-127.0.0.1}
[ "$CAPTURE" != 1 ] || SIPSIM_IP=127.0.0.2
make -s build
sip=$((5060 + PORT_BASE)) b2b=$((5070 + PORT_BASE)) admin=$((9464 + PORT_BASE))
scp=$((2905 + PORT_BASE)) cont=$((5080 + PORT_BASE))
data=$(mktemp -d)
"$CALLGATE" demo --data "$data" >/dev/null
"$CALLGATE" route set sip-tier --routing-number +13035550999 --sip-uri "sip:screen@127.0.0.1:$b2b" --data "$data" >/dev/null
cat >"$data/callgate.yaml" <<EOF
data_dir: $data
admin: {listen: 127.0.0.1:$admin}
sip:
  udp: 127.0.0.1:$sip
  tcp: 127.0.0.1:$sip
  continue_route: sip:{called}@127.0.0.1:$cont;user=phone
  screening_uri: sip:screen@127.0.0.1:$b2b
scp: {listen: [127.0.0.1:$scp]}
b2bua: {udp: 127.0.0.1:$b2b, tcp: 127.0.0.1:$b2b}
EOF
"${rt[@]}" "$CALLGATE" serve --config "$data/callgate.yaml" 2>"$data/serve.log" &
cg=$!
trap 'kill $cg 2>/dev/null; wait $cg 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$admin/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$admin/readyz" >/dev/null || { echo "callgate did not become ready:"; cat "$data/serve.log"; exit 1; }
ticks=$(getconf CLK_TCK)
cpu() { awk -v t="$ticks" '{print ($14+$15)/t}' /proc/$cg/stat; }
rss() { awk '/VmRSS/{print $2}' /proc/$cg/status; }
# The pacer's wake-up lateness histogram (cumulative buckets) as "le count" lines.
lateness() {
	curl -sf "http://127.0.0.1:$admin/metrics" | awk -F'[{}" ]+' '/^callgate_b2bua_pacer_wakeup_lateness_seconds_bucket/ {print $3, $NF}'
}
for c in "${steps[@]}"; do
	idle=$(rss); c0=$(cpu); t0=$(date +%s.%N)
	lateness >"$data/late0" || true
	( while kill -0 $cg 2>/dev/null; do r=$(rss); echo "$r"; sleep 1; done ) >"$data/rss.$c" &
	mon=$!
	cap=
	if [ "$CAPTURE" = 1 ]; then
		# The B2BUA's RTP to the callers (SIP left out).
		tshark -q -i lo -f "udp and src host 127.0.0.1 and dst host $SIPSIM_IP and not port $sip and not port $b2b" \
			-w "$data/rtp.$c.pcap" 2>"$data/tshark.$c" &
		cap=$!
		sleep 2
	fi
	echo "== $c concurrent calls (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
	# Alice (+13035550100) screens unknown callers: the PIN prompt, the name
	# prompt, name capture, please-hold, then the subscriber leg (no phone on
	# the continue route: not-available prompt). Every call hears prompts
	# for HOLD (or until released).
	"${rt[@]}" bin/sipsim load --listen "$SIPSIM_IP:0" --server "127.0.0.1:$sip" --called +13035550100 --calling +17205550123 --concurrency "$c" --calls "$c" \
		--rate "$RATE" --hold "$HOLD" 2>&1 | sed 's/^/  /'
	kill $mon; wait $mon 2>/dev/null || true
	c1=$(cpu); t1=$(date +%s.%N)
	peak=$(sort -n "$data/rss.$c" | tail -1)
	awk -v c="$c" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v idle="$idle" -v peak="$peak" -v la="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
		printf "  callgate: %.1f CPU-s over %.0f s (%.0f%% of one core), %.1f CPU-ms per call; RSS idle %.0f MiB, peak %.0f MiB, %.0f KiB per call; load average after: %s\n",
			c1-c0, t1-t0, 100*(c1-c0)/(t1-t0), 1000*(c1-c0)/c, idle/1024, peak/1024, (peak-idle)/c, la }'
	if lateness >"$data/late1" && [ -s "$data/late1" ]; then
		# Quantiles of the step's wake-ups: the first bucket holding them.
		paste -d' ' "$data/late0" "$data/late1" | awk '
			{ le[NR] = $1; n[NR] = $4 - $2 } END {
				tot = n[NR]; if (tot == 0) exit
				split("0.5 0.99 0.999", q, " "); out = ""
				for (i = 1; i <= 3; i++) for (j = 1; j <= NR; j++) if (n[j] >= q[i] * tot) {
					out = out sprintf("  p%s <= %s ms", q[i] * 100, le[j] == "+Inf" ? "inf" : le[j] * 1000); break }
				printf "  callgate pacer wake-up lateness (%d wake-ups):%s\n", tot, out }'
	fi
	if [ -n "$cap" ]; then
		sleep 1
		kill -INT $cap; wait $cap 2>/dev/null || true
		bench/b2bua/pcapjitter.sh "$data/rtp.$c.pcap" | sed 's/^/  /'
	fi
done
