#!/usr/bin/env bash
# The SIP redirect tier's answer latency with reputation off, on with a warm
# cache, and on with a provider 200 ms slow (every caller new: every call a
# miss), on the demo store. Each run: a reputation simulator (`sspsim
# reputation`), `callgate serve` with only the SIP tier (stateless UDP), and
# bench/sip/gen placing INVITEs to Alice (+13035550100, who screens unknown
# callers) and checking each answer: 302 to the B2BUA with reputation off or
# unknown (slow), 302 onward for a low-risk caller (warm).
#
#   bench/reputation/sip.sh                        # off, warm, slow
#   RUNS="slow off slow" bench/reputation/sip.sh   # any order, to interleave
#   CALLGATE=/tmp/old/callgate RUNS=slow bench/reputation/sip.sh   # another build
#
# Environment (defaults in brackets): RATE calls/s [5000]; DURATION of the
# measured run, in seconds [15s]; RUNS [off warm slow]; OUT keeps the
# binaries, data, calls files and logs [a new /tmp/repsip.XXXX]; CALLGATE a
# callgate binary [built from this tree]; PIN=1 puts callgate on CPU 0 and
# the generator and simulator on CPU 1 (taskset) [0: not pinned];
# SIP_PORT ADMIN_PORT SIM_PORT [15260 19567 18190].
#
# Per run it prints gen's result line (p50/p90/p99/max response time, calls
# answered right, wrong, timed out, retransmissions, the generator's CPU),
# callgate's CPU over the run (srv_cpu: share of one core; us_call: CPU per
# call answered right, from /proc), the answers slower than 5 and 20 ms and
# the p99.9 (from gen's histogram), and callgate's reputation, deferral and
# response counters (the warm run's include its warm-up).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$(mktemp -d /tmp/repsip.XXXX)}
RATE=${RATE:-5000}
DURATION=${DURATION:-15s}
SIP_PORT=${SIP_PORT:-15260}
ADMIN_PORT=${ADMIN_PORT:-19567}
SIM_PORT=${SIM_PORT:-18190}
PIN=${PIN:-0}
secs=${DURATION%s}
[[ $secs =~ ^[0-9]+$ ]] || { echo "DURATION $DURATION: give whole seconds, e.g. 15s" >&2; exit 2; }
ss -Hlun "sport = :$SIP_PORT" | grep -q . && { echo "UDP port $SIP_PORT is busy: set SIP_PORT" >&2; exit 1; }
for p in "$ADMIN_PORT" "$SIM_PORT"; do
	ss -Hltn "sport = :$p" | grep -q . && { echo "TCP port $p is busy: set ADMIN_PORT or SIM_PORT" >&2; exit 1; }
done
# The simulator and server of the run in progress, ended (by their PIDs)
# however the script ends.
pids=()
stop() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}
trap stop EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUT/bin"
go build -o "$OUT/bin/" ./cmd/callgate ./cmd/sspsim ./bench/sip/gen
CG=${CALLGATE:-$OUT/bin/callgate} SS=$OUT/bin/sspsim GEN=$OUT/bin/gen
[ -f "$OUT/data/callgate.db" ] || "$CG" demo --data "$OUT/data" >/dev/null

srvpin=() genpin=()
if [ "$PIN" = 1 ]; then srvpin=(taskset -c 0) genpin=(taskset -c 1); fi

# calls FILE FIRST COUNT EXPECTED: an injection file of COUNT callers from
# FIRST up, each calling Alice, each expecting EXPECTED.
calls() {
	{
		echo SEQUENTIAL
		seq -f '%.0f' "$2" $(($2 + $3 - 1)) | awk -v w="$4" '{ print "+" $1 ";+13035550100;" w }'
	} >"$1"
}
calls "$OUT/calls-known-screen.csv" 16175550000 10000 302-screen
calls "$OUT/calls-known-continue.csv" 16175550000 10000 302-continue
calls "$OUT/calls-new-screen.csv" 16172000000 $((RATE * secs + RATE)) 302-screen

conf() { # $1 = reputation enabled (true|false)
	cat >"$OUT/callgate.yaml" <<YAML
log: {level: warn}
admin: {listen: "127.0.0.1:$ADMIN_PORT"}
sip: {enabled: true, udp: "127.0.0.1:$SIP_PORT", tcp: ""}
scp: {enabled: false}
b2bua: {enabled: false}
reputation: {enabled: $1, base_url: "http://127.0.0.1:$SIM_PORT"}
YAML
}

# ticks PID: CPU time (clock ticks, user+system, all threads) used so far.
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# slow_answers GEN_JSON: from gen's histogram ([bucket,count]: 10 µs
# buckets below 10 ms, then 1 ms ones) the answers slower than 5 ms and
# than 20 ms, and the p99.9 (its bucket's upper bound, as gen's
# percentiles). A call that waited for its own look-up takes about
# reputation.budget (20 ms); the others were held up.
slow_answers() {
	tr -d ' \n' <"$1" | grep -oE '"hist":\[[][0-9,]*' | grep -oE '[0-9]+,[0-9]+' |
		awk -F, '{ b[NR]=$1; c[NR]=$2; n+=$2; if ($1>=500) o5+=$2; if ($1>=1010) o20+=$2 }
		END { for (i=1; i<=NR && s<0.999*n; i++) { s+=c[i]; q=b[i] }
			printf "answers over 5 ms: %d, over 20 ms: %d (of %d); p99.9 %.2f ms\n", o5, o20, n,
				(q<1000 ? (q+1)*0.01 : 10+(q-999)) }'
}

run() { # name reputation latency calls-file warm-up-calls-file
	local name=$1 rep=$2 lat=$3 file=$4 warm=$5
	conf "$rep"
	"${genpin[@]}" "$SS" reputation --listen "127.0.0.1:$SIM_PORT" --latency "$lat" 2>"$OUT/sim-$name.log" &
	local sim=$!
	pids=("$sim")
	sleep 0.5
	kill -0 "$sim" 2>/dev/null || { cat "$OUT/sim-$name.log"; exit 1; }
	rm -f "$OUT/data/decisions.db"
	"${srvpin[@]}" "$CG" serve --config "$OUT/callgate.yaml" --data "$OUT/data" 2>"$OUT/serve-$name.log" &
	local srv=$!
	pids+=("$srv")
	until curl -sf "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null; do
		kill -0 "$srv" 2>/dev/null || { cat "$OUT/serve-$name.log"; exit 1; }
		sleep 0.2
	done
	if [ -n "$warm" ]; then
		# Slowly enough that every caller's look-up is made (not "busy").
		"${genpin[@]}" "$GEN" -target "127.0.0.1:$SIP_PORT" -calls "$warm" -rate 1000 -n 12000 -id warm >/dev/null 2>&1 || true
	fi
	echo "== $name (reputation $rep, provider latency $lat, $(($(wc -l <"$file") - 1)) callers, $RATE calls/s for $DURATION)"
	local t0 w0 t1 w1 line
	t0=$(ticks "$srv") w0=$(date +%s.%N)
	line=$("${genpin[@]}" "$GEN" -target "127.0.0.1:$SIP_PORT" -calls "$file" -rate "$RATE" -n $((RATE * secs)) -id "$name" \
		-out "$OUT/gen-$name.json" 2>"$OUT/gen-$name.err") || true
	t1=$(ticks "$srv") w1=$(date +%s.%N)
	echo "$line" >"$OUT/gen-$name.txt"
	awk -v l="$line" -v a="$t0" -v b="$t1" -v w0="$w0" -v w1="$w1" -v hz="$(getconf CLK_TCK)" -v ok="$(field "$line" ok)" \
		'BEGIN{ cpu=(b-a)/hz; printf "%s srv_cpu=%.0f%% us_call=%.1f\n", l, cpu/(w1-w0)*100, (ok>0 ? cpu/ok*1e6 : 0) }' |
		tee "$OUT/result-$name.txt"
	slow_answers "$OUT/gen-$name.json"
	curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" |
		grep -E '^callgate_reputation_checks_total|^callgate_sip_deferred_total|^callgate_sip_responses_total' | grep -v ' 0$' || true
	stop
}

for r in ${RUNS:-off warm slow}; do
	case $r in
	off) run off false 0s "$OUT/calls-known-screen.csv" "" ;;
	warm) run warm true 0s "$OUT/calls-known-continue.csv" "$OUT/calls-known-continue.csv" ;;
	slow) run slow true 200ms "$OUT/calls-new-screen.csv" "" ;;
	*) echo "unknown run $r (off, warm, slow)" >&2; exit 2 ;;
	esac
done
echo "files: $OUT"
