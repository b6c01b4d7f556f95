#!/usr/bin/env bash
# sip-enrol.sh — call-key registrations per second through SIP enrolment,
# end to end over UDP: the lean generator bench/sip/gen sends enrolment
# INVITEs (Request-URI sip:enrol@, the called number in To, an enrolled
# calling number in From) to `callgate serve` with only the SIP tier on, and
# every INVITE must be answered 302 to the enterprise's onward route with its
# key registered. See README.md ("registrations, SIP enrolment over UDP").
#
#   bench/keys/sip-enrol.sh                           # ~2 min: 5,000, 10,000, 20,000/s x3 rounds
#   RATES="10000 20000 40000" ROUNDS=2 bench/keys/sip-enrol.sh
#
# What it does:
#   1. builds callgate and gen; makes a store (callgate demo), an enterprise
#      `initech` enrolling NUMBERS calling numbers, with SIP enrolment from
#      the trunk 127.0.0.1/32 onward to sip:{called}@127.0.0.1:5080;
#   2. starts `callgate serve` with only the SIP tier (scp and b2bua off),
#      keys on with keys.sip_enrolment_user: enrol, pinned to SERVER_CPU;
#   3. checks answers: 2,000 enrolments at 500/s must all get the 302 and
#      add 2,000 keys (callgate_keys_live), and 10 INVITEs from a number no
#      enterprise enrolled must all get 403 and add none;
#   4. fixed rates: for each rate of RATES, ROUNDS steps of STEP_SECONDS.
#      Every call of the run has its own called number, so every 302 is a
#      new key. The figure of merit is the server's CPU per registration:
#      utime+stime from /proc over the step, divided by the 302s the
#      generators got. After each step, the growth of callgate_keys_live
#      (+keys) must lie between the generators' 302s (ok) and the server's
#      302s (srv_302, which include the answers to retransmitted INVITEs):
#      a retransmission answered in the same second as its INVITE registers
#      the same key again (nothing added), one answered in a later second a
#      key whose window starts a second later (one added; keys.Normalize
#      takes the window from the time of registration). Without
#      retransmissions the three are equal.
#
# Keys window and bound: every key of the run must stay live until the end
# for keys_live to count them, so keys.default_window is KEYS_WINDOW (1 h,
# longer than any run here) and keys.max_keys is sized to the run (every
# planned call, plus a tenth, plus 10,000). At the product defaults (60 s,
# 1,000,000) sustained enrolment above 16,600/s fills the table (503).
#
# Environment (defaults in brackets):
#   WORK          scratch directory [/var/tmp/callgate-keysbench]
#   RATES         registrations/s offered [5000 10000 20000]
#   ROUNDS        steps at each rate [3]; STEP_SECONDS [10]
#   NUMBERS       calling numbers the enterprise enrols, 1..10000 [1000]
#   KEYS_WINDOW   keys.default_window [1h]; MAX_KEYS [sized to the run]
#   SNAPSHOT_INTERVAL  keys.snapshot_interval [the product's, 5m; a snapshot
#                 also comes when the log reaches 64 MiB, ~2M registrations]
#   GEN_INSTANCES generator processes per step, each at RATE/GEN_INSTANCES [2]
#   GEN_SOCKETS   UDP sockets per generator [4]; GEN_TICK pacing [1ms]
#   SERVER_CPU    the server's core [0]; GEN_CPU the generators' [1]
#   NICE          niceness of server and generators [-10] (0: leave it)
#   SIP_PORT ADMIN_PORT  [15160 19564] (not bench/sip's, so both can run)
#   CALLGATE      callgate binary [built from this tree into $WORK/bin]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${WORK:-/var/tmp/callgate-keysbench}
RATES=${RATES:-"5000 10000 20000"}
ROUNDS=${ROUNDS:-3}
STEP_SECONDS=${STEP_SECONDS:-10}
NUMBERS=${NUMBERS:-1000}
KEYS_WINDOW=${KEYS_WINDOW:-1h}
SNAPSHOT_INTERVAL=${SNAPSHOT_INTERVAL:-5m}
GEN_INSTANCES=${GEN_INSTANCES:-2}
GEN_SOCKETS=${GEN_SOCKETS:-4}
GEN_TICK=${GEN_TICK:-1ms}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
NICE=${NICE:--10}
SIP_PORT=${SIP_PORT:-15160}
ADMIN_PORT=${ADMIN_PORT:-19564}

RUN=$WORK/run-$(date +%Y%m%d-%H%M%S)
DATA=$RUN/data
mkdir -p "$WORK/bin" "$RUN"
SERVER=""

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# stop_server ends the server this script started (by its PID only).
stop_server() {
	[[ -n "$SERVER" ]] || return 0
	kill -0 "$SERVER" 2>/dev/null || return 0
	kill -TERM "$SERVER" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.2; done
	kill -KILL "$SERVER" 2>/dev/null || true
	wait "$SERVER" 2>/dev/null || true
}
trap stop_server EXIT
trap 'exit 130' INT TERM

for tool in taskset go curl ss; do command -v $tool >/dev/null || die "$tool not found"; done
((NUMBERS >= 1 && NUMBERS <= 10000)) || die "NUMBERS=$NUMBERS: want 1..10000 (+1 512 555 0000 and up)"
port_free() { ! ss -Hlun "sport = :$1" | grep -q .; }
port_free "$SIP_PORT" || die "UDP port $SIP_PORT is busy (set SIP_PORT)"

# Every call of the run has its own called number: count them.
PLANNED=$((2000 + ${RATES%% *} * 5))
for rate in $RATES; do PLANNED=$((PLANNED + rate * STEP_SECONDS * ROUNDS)); done
((PLANNED < 7000000)) || die "$PLANNED calls planned: the called numbers (+1 303 200 0000 and up) run out at 7,000,000; fewer RATES, ROUNDS or STEP_SECONDS"
MAX_KEYS=${MAX_KEYS:-$((PLANNED + PLANNED / 10 + 10000))}

# ---- build, store, config --------------------------------------------------------
log "building callgate and gen into $WORK/bin"
(cd "$ROOT" && go build -o "$WORK/bin/gen" ./bench/sip/gen)
if [[ -z "${CALLGATE:-}" ]]; then
	(cd "$ROOT" && go build -o "$WORK/bin/callgate" ./cmd/callgate)
	CALLGATE=$WORK/bin/callgate
fi
log "store in $DATA: demo data, enterprise initech with $NUMBERS numbers, enrolment from 127.0.0.1/32"
"$CALLGATE" demo --data "$DATA" >"$RUN/setup.log" 2>&1
"$CALLGATE" enterprise create initech --data "$DATA" \
	--number "$(seq -f '+1512555%04g' 0 $((NUMBERS - 1)) | paste -sd,)" >>"$RUN/setup.log" 2>&1
"$CALLGATE" enterprise enrolment initech --data "$DATA" --trunk 127.0.0.1/32 \
	--onward 'sip:{called}@127.0.0.1:5080;user=phone' >>"$RUN/setup.log" 2>&1

cat >"$RUN/callgate.yaml" <<EOF
# Written by bench/keys/sip-enrol.sh: only the SIP tier, with SIP enrolment.
log:
  level: warn
admin:
  listen: 127.0.0.1:$ADMIN_PORT
  debug: false
sip:
  enabled: true
  udp: 127.0.0.1:$SIP_PORT
  tcp: ""
  # Not used by enrolment (its 302 goes to the enterprise's onward route)
  # but required; 5081, so a 302 of the engine would not pass for one.
  continue_route: sip:{called}@127.0.0.1:5081;user=phone
  screening_uri: sip:screen@127.0.0.1:5070
  # Above anything 2 cores reach: the throughput, not the 503 path.
  max_in_flight: 100000
  max_rate: 0
scp:
  enabled: false
b2bua:
  enabled: false
keys:
  enabled: true
  sip_enrolment_user: enrol
  # Every key of the run stays live to the end (see the script's header).
  default_window: $KEYS_WINDOW
  max_keys: $MAX_KEYS
  snapshot_interval: $SNAPSHOT_INTERVAL
EOF

# ---- server -----------------------------------------------------------------------
log "starting callgate serve (SIP 127.0.0.1:$SIP_PORT, admin $ADMIN_PORT, keys.max_keys $MAX_KEYS, window $KEYS_WINDOW)"
nice -n "$NICE" taskset -c "$SERVER_CPU" "$CALLGATE" serve --config "$RUN/callgate.yaml" --data "$DATA" >"$RUN/callgate.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 300); do
	kill -0 "$SERVER" 2>/dev/null || die "callgate exited: $(tail -5 "$RUN/callgate.log")"
	curl -sf "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null 2>&1 && break
	sleep 0.2
done
curl -sf "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null || die "callgate not ready after 60s"

# counts: "keys_live 302s responses snapshots" of the server so far
# (responses: every kind of callgate_sip_responses_total; snapshots: of the
# key table, callgate_keys_snapshots_total).
counts() {
	curl -sf "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '
		/^callgate_keys_live / { k = $2 }
		/^callgate_sip_responses_total\{kind="redirect"\}/ { r = $2 }
		/^callgate_sip_responses_total\{/ { a += $2 }
		/^callgate_keys_snapshots_total / { n = $2 }
		END { printf "%d %d %d %d\n", k, r, a, n }'
}
# server_ticks: CPU time (clock ticks, user+system, all threads) so far.
server_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$SERVER/stat"; }
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
# rcvbuf_errors: UDP datagrams dropped on a full receive buffer so far,
# machine-wide (/proc/net/snmp Udp RcvbufErrors).
rcvbuf_errors() { awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RcvbufErrors"] }' /proc/net/snmp; }

# calls FILE FIRST N: N enrolments, calls FIRST.. of the run: the calling
# number cycles through the enrolled ones, the called number is the call's own.
IDX=0
calls() {
	awk -v first="$2" -v n="$3" -v nums="$NUMBERS" 'BEGIN {
		for (i = first; i < first + n; i++)
			printf "+1512555%04d;+1303%07d;302-continue\n", i % nums, 2000000 + i }' >"$1"
}

# ---- one step ---------------------------------------------------------------------
# step RATE SECONDS: GEN_INSTANCES generators at RATE in all; prints gen's
# merged line plus srv_cpu (% of one core), us_reg (server CPU µs per 302
# the generators got), regs_cpu_s, srv_302 (the server's 302s),
# srv_responses (all its responses), keys_added (keys_live's growth),
# keys_live, keys_ok (ok <= keys_added <= srv_302), snapshots (of the key
# table, written during the step: keys.max_log_bytes or
# keys.snapshot_interval), rcvbuf_drops (UDP
# datagrams the kernel dropped on full receive buffers during the step,
# machine-wide: the server's, the generators' and anyone else's) and load
# (the 1-minute load average after the step).
step() {
	local rate=$1 secs=$2 dir i pids=()
	dir=$(mktemp -d "$RUN/step-$rate-XXX")
	local per=$((rate / GEN_INSTANCES)) n=$((rate * secs / GEN_INSTANCES))
	for i in $(seq 0 $((GEN_INSTANCES - 1))); do
		calls "$dir/calls-$i.csv" $((IDX + i * n)) "$n"
	done
	IDX=$((IDX + GEN_INSTANCES * n))
	local k0 r0 a0 n0 k1 r1 a1 n1 t0 t1 w0 w1 d0 d1
	read -r k0 r0 a0 n0 < <(counts)
	d0=$(rcvbuf_errors)
	t0=$(server_ticks)
	w0=$(date +%s.%N)
	for i in $(seq 0 $((GEN_INSTANCES - 1))); do
		nice -n "$NICE" taskset -c "$GEN_CPU" "$WORK/bin/gen" -target "127.0.0.1:$SIP_PORT" -ruri-user enrol \
			-calls "$dir/calls-$i.csv" -rate "$per" -n "$n" -sockets "$GEN_SOCKETS" -tick "$GEN_TICK" \
			-out "$dir/gen-$i.json" >"$dir/gen-$i.out" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || true; done
	t1=$(server_ticks)
	w1=$(date +%s.%N)
	sleep 0.2 # answers to the last retransmissions
	d1=$(rcvbuf_errors)
	read -r k1 r1 a1 n1 < <(counts)
	local line
	line=$("$WORK/bin/gen" -merge "$dir"/gen-*.json 2>/dev/null) || line="offered=$rate ok=0 failed=$((rate * secs)) achieved=0"
	awk -v l="$line" -v a="$t0" -v b="$t1" -v w0="$w0" -v w1="$w1" -v hz="$(getconf CLK_TCK)" -v ok="$(field "$line" ok)" \
		-v srv=$((r1 - r0)) -v added=$((k1 - k0)) -v live="$k1" -v resp=$((a1 - a0)) -v drops=$((d1 - d0)) -v snaps=$((n1 - n0)) \
		-v load="$(cut -d' ' -f1 /proc/loadavg)" \
		'BEGIN{ cpu=(b-a)/hz; printf "%s srv_cpu=%.0f%% us_reg=%.2f regs_cpu_s=%.0f srv_302=%d srv_responses=%d keys_added=%d keys_live=%d keys_ok=%s snapshots=%d rcvbuf_drops=%d load=%s\n",
			l, cpu/(w1-w0)*100, (ok>0 ? cpu/ok*1e6 : 0), (cpu>0 ? ok/cpu : 0), srv, resp, added, live,
			(ok <= added && added <= srv ? "yes" : "NO"), snaps, drops, load }' | tee "$dir/result"
}

# ---- answer check -------------------------------------------------------------------
log "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; server on CPU $SERVER_CPU, generators on CPU $GEN_CPU"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
sleep 2 # start-up work before the first call
mkdir -p "$RUN/check"
read -r k0 r0 _ _ < <(counts)
calls "$RUN/check/calls.csv" "$IDX" 2000
IDX=$((IDX + 2000))
g=$(nice -n "$NICE" taskset -c "$GEN_CPU" "$WORK/bin/gen" -target "127.0.0.1:$SIP_PORT" -ruri-user enrol \
	-calls "$RUN/check/calls.csv" -rate 500 -n 2000 -sockets "$GEN_SOCKETS" 2>"$RUN/check/gen.err" | tail -1) || true
echo "$g" >"$RUN/check/gen.out"
sleep 0.5
read -r k1 r1 _ _ < <(counts)
msg="gen ok=$(field "$g" ok) failed=$(field "$g" failed) retrans=$(field "$g" retrans) 302_continue=$(field "$g" 302_continue); server 302=$((r1 - r0)); keys_live +$((k1 - k0))"
log "check, 2,000 enrolments at 500/s: $msg"
[[ "$(field "$g" ok)" == 2000 && "$(field "$g" failed)" == 0 && "$(field "$g" 302_continue)" == 2000 &&
	$((r1 - r0)) -ge 2000 && $((k1 - k0)) -ge 2000 && $((k1 - k0)) -le $((r1 - r0)) ]] ||
	die "answer check failed ($msg); see $RUN/check"
# Ten INVITEs from a number no enterprise enrolled: 403 each, no key.
seq -f '+1512999%04g;+13039990000;302-continue' 0 9 >"$RUN/check/foreign.csv"
g=$(nice -n "$NICE" taskset -c "$GEN_CPU" "$WORK/bin/gen" -target "127.0.0.1:$SIP_PORT" -ruri-user enrol \
	-calls "$RUN/check/foreign.csv" -rate 100 -n 10 -sockets 1 2>>"$RUN/check/gen.err" | tail -1) || true
read -r k2 _ _ _ < <(counts)
log "check, 10 INVITEs from a number no enterprise enrolled: ok=$(field "$g" ok) other=$(field "$g" other); keys_live +$((k2 - k1))"
[[ "$(field "$g" ok)" == 0 && "$(field "$g" other)" == "403:10" && $k2 == "$k1" ]] ||
	die "refusal check failed: want 10 answers 403 and no key, got $g"
CHECK="2,000 enrolments: all 302, +$((k1 - k0)) keys; 10 from an unenrolled number: all 403, no key"

# Warm-up, not reported.
step "${RATES%% *}" 5 >/dev/null

: >"$RUN/fixed.txt"
for rate in $RATES; do
	for round in $(seq 1 "$ROUNDS"); do
		res=$(step "$rate" "$STEP_SECONDS")
		log "$rate/s round $round: $res"
		echo "$rate $round $res" >>"$RUN/fixed.txt"
	done
done
read -r KEYS_END R_END _ SNAPS < <(counts)
# Every step's 302s the generators got (the warm-up's too), and the check's.
OK_ALL=$(cat "$RUN"/step-*/result | tr ' ' '\n' | sed -n 's/^ok=//p' | awk -v c=2000 '{ s += $1 } END { print s + c }')
RSS=$(awk '/^VmRSS/ {print $2, $3}' "/proc/$SERVER/status")

# ---- report -----------------------------------------------------------------------
{
	echo
	echo "SIP enrolment benchmark $(date -Is)  $(nproc) CPUs  load average before: $LOAD_BEFORE  after: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "callgate serve (SIP tier only, keys.sip_enrolment_user enrol) pinned to CPU $SERVER_CPU; $GEN_INSTANCES generators x $GEN_SOCKETS sockets on CPU $GEN_CPU; nice $NICE; $STEP_SECONDS s a step"
	echo "enterprise initech: $NUMBERS calling numbers, trunk 127.0.0.1/32; every call a distinct called number"
	echo "keys.default_window $KEYS_WINDOW, keys.max_keys $MAX_KEYS, keys.snapshot_interval $SNAPSHOT_INTERVAL"
	echo "answer check: $CHECK"
	echo "ok: 302s to the onward route the generators got; srv_cpu/gen_cpu: share of one core during the step;"
	echo "us/reg: server CPU (user+system) per 302 the generators got; +keys: growth of callgate_keys_live;"
	echo "srv_302: the server's 302s (with the answers to retransmissions); keys ok: ok <= +keys <= srv_302;"
	echo "snaps: snapshots of the key table during the step; drops: UDP datagrams dropped on full receive buffers,"
	echo "machine-wide; load: 1-minute load average after the step"
	echo
	printf '%-10s %8s %8s %8s %7s %7s %7s %7s %8s %8s %8s %9s %8s %8s %4s %5s %7s %5s\n' rate sent/s achieved ok failed retrans p50_ms p99_ms \
		srv_cpu gen_cpu us/reg regs/cpu-s +keys srv_302 ok? snaps drops load
	while read -r rate round res; do
		printf '%-10s %8s %8s %8s %7s %7s %7s %7s %8s %8s %8s %9s %8s %8s %4s %5s %7s %5s\n' "$rate #$round" "$(field "$res" send_rate)" \
			"$(field "$res" achieved)" "$(field "$res" ok)" "$(field "$res" failed)" "$(field "$res" retrans)" "$(field "$res" p50_ms)" \
			"$(field "$res" p99_ms)" "$(field "$res" srv_cpu)" "$(field "$res" gen_cpu)" "$(field "$res" us_reg)" \
			"$(field "$res" regs_cpu_s)" "$(field "$res" keys_added)" "$(field "$res" srv_302)" "$(field "$res" keys_ok)" \
			"$(field "$res" snapshots)" "$(field "$res" rcvbuf_drops)" "$(field "$res" load)"
	done <"$RUN/fixed.txt"
	echo
	echo "Server CPU per registration, median of $ROUNDS rounds:"
	best=""
	for rate in $RATES; do
		med=$(awk -v r="$rate" '$1==r' "$RUN/fixed.txt" | tr ' ' '\n' | sed -n 's/^us_reg=//p' | sort -g |
			awk '{v[NR]=$1} END{ if (NR) print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2) }')
		fails=$(awk -v r="$rate" '$1==r' "$RUN/fixed.txt" | tr ' ' '\n' | sed -n 's/^failed=//p' | awk '{s+=$1} END{print s+0}')
		retr=$(awk -v r="$rate" '$1==r' "$RUN/fixed.txt" | tr ' ' '\n' | sed -n 's/^retrans=//p' | awk '{s+=$1} END{print s+0}')
		echo "  $rate/s: $med us ($(awk -v m="$med" 'BEGIN{ if (m>0) printf "%.0f", 1e6/m }') registrations per CPU-second); failed $fails, retransmitted $retr over $ROUNDS rounds"
		((fails == 0)) && best=$rate
		true
	done
	echo "Highest rate with no failed registration in any round: ${best:-none}"
	echo "After the run (window $KEYS_WINDOW: every key of the run is live): callgate_keys_live $KEYS_END; the generators got $OK_ALL 302s"
	echo "  (one a call, every called number distinct), the server sent $R_END; $((KEYS_END - OK_ALL)) keys beyond the generators' 302s"
	echo "  (retransmitted INVITEs registered in a later second, or calls whose 302s were all lost), $((R_END - KEYS_END)) 302s"
	echo "  that added no key (answers to retransmissions in the same second); $SNAPS snapshots of the key table; server RSS $RSS"
	echo "files: $RUN"
} | tee "$RUN/summary.txt"
