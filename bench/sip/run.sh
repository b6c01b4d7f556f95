#!/usr/bin/env bash
# run.sh — callgate's SIP redirect server against Kamailio 5.6, same box, same
# data (100,000 subscribers, 10,000,000 Blocked entries), same load from the
# lean generator bench/sip/gen. See README.md for what is measured and how to
# read the tables.
#
#   bench/sip/run.sh                          # callgate and Kamailio, ~10 min
#   TARGETS="callgate callgate-nolog kamailio" bench/sip/run.sh
#   RATES="10000 20000 40000" MAX=0 bench/sip/run.sh
#   CPU_PROFILE=10 bench/sip/run.sh           # plus perf profiles at PROFILE_RATE
#
# What it does:
#   1. builds gendata, gen and callgate; writes the data set once;
#   2. starts every target at once, each pinned to SERVER_CPU (an idle server
#      costs nothing), so the steps of the targets can be interleaved: a
#      shared machine's load then falls on all of them alike;
#   3. checks answers: sipp (uac-mix.xml) and gen place the same 2,000 calls
#      at the same time; both must get every expected answer, gen's counts of
#      603 / 302-continue / 302-screen must equal the injection file's, and
#      the server's own counters must equal sipp's plus gen's calls;
#   4. fixed rates: for each rate of RATES, ROUNDS rounds of one STEP_SECONDS
#      step per target, in turn. The figure of merit is the server's CPU per
#      call: utime+stime from /proc (Kamailio: all its processes) over the
#      calls answered right;
#   5. maximum (MAX=1): per target, a ladder from MAX_START up by x1.25 until
#      a step fails (each failing step is tried twice), then BISECT halvings.
#      A step passes with < MAX_FAIL failed calls, <= MAX_FAIL INVITE
#      retransmissions and >= 95% of the offered rate answered. The report
#      says whose limit the lowest failing rate was (verdict): the
#      generators' when they could not send it and nothing was lost.
#
# Environment (defaults in brackets):
#   WORK          scratch directory for data, binaries, logs [/var/tmp/callgate-sipbench]
#   TARGETS       servers [callgate kamailio]; also callgate-nolog (decision
#                 log off: the same work as Kamailio, which logs nothing)
#   RATES         fixed rates, calls/s [10000 20000]
#   ROUNDS        rounds of each fixed rate [3]
#   STEP_SECONDS  seconds of load per step [10]
#   MAX           1: find each target's maximum, 0: skip [1]
#   MAX_START     first rate of the ladder [20000]; BISECT [2]; MAX_FAIL [0.001]
#   GEN_INSTANCES generator processes per step, each at RATES/GEN_INSTANCES [2]
#   GEN_SOCKETS   UDP sockets per generator [4]; GEN_TICK pacing [1ms]
#   SERVER_CPU    core of the servers [0]; GEN_CPU: the generators' and sipp's [1]
#   CALLGATE_GOMAXPROCS  GOMAXPROCS of the callgate targets [empty: the
#                 daemon's default, one P on the one core they are pinned to;
#                 with the decision log on, one more P than the CPUs when
#                 there are two or more (daemon/procs.go)]
#   NICE          niceness of servers and generators [-10] (0: leave it)
#   KAM_MODE      sl (stateless replies) or tm (t_reply) [sl]
#   SIP_PORT ADMIN_PORT NOLOG_PORT NOLOG_ADMIN_PORT KAM_PORT SIPP_PORT
#                 [15060 19464 15064 19465 15062 16000]
#   CALLGATE      callgate binary [built from this tree into $WORK/bin]
#   CPU_PROFILE   seconds of `perf record` per target at PROFILE_RATE [0 = off]
#   PROFILE_RATE  [20000]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${WORK:-/var/tmp/callgate-sipbench}
[[ "$WORK" == /* ]] || WORK=$PWD/$WORK # absolute: it goes into the sqlite URL
TARGETS=${TARGETS:-"callgate kamailio"}
RATES=${RATES:-"10000 20000"}
ROUNDS=${ROUNDS:-3}
STEP_SECONDS=${STEP_SECONDS:-10}
MAX=${MAX:-1}
MAX_START=${MAX_START:-20000}
BISECT=${BISECT:-2}
MAX_FAIL=${MAX_FAIL:-0.001}
GEN_INSTANCES=${GEN_INSTANCES:-2}
GEN_SOCKETS=${GEN_SOCKETS:-4}
GEN_TICK=${GEN_TICK:-1ms}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
CALLGATE_GOMAXPROCS=${CALLGATE_GOMAXPROCS:-}
NICE=${NICE:--10}
KAM_MODE=${KAM_MODE:-sl}
SIP_PORT=${SIP_PORT:-15060}
ADMIN_PORT=${ADMIN_PORT:-19464}
NOLOG_PORT=${NOLOG_PORT:-15064}
NOLOG_ADMIN_PORT=${NOLOG_ADMIN_PORT:-19465}
KAM_PORT=${KAM_PORT:-15062}
SIPP_PORT=${SIPP_PORT:-16000}
CPU_PROFILE=${CPU_PROFILE:-0}
PROFILE_RATE=${PROFILE_RATE:-20000}

RUN=$WORK/run-$(date +%Y%m%d-%H%M%S)
mkdir -p "$WORK/bin" "$RUN"
declare -A PID PORT ADMIN

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# stop_servers ends the servers this script started (by their PIDs only).
stop_servers() {
	local t p
	for t in "${!PID[@]}"; do
		p=${PID[$t]}
		kill -0 "$p" 2>/dev/null || continue
		kill -TERM "$p" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}
trap stop_servers EXIT
trap 'exit 130' INT TERM # exit runs stop_servers

for tool in sipp taskset go curl; do command -v $tool >/dev/null || die "$tool not found"; done
port_free() { ! ss -Hlun "sport = :$1" | grep -q .; }
for t in $TARGETS; do
	case $t in callgate | callgate-nolog | kamailio) ;; *) die "unknown target $t (callgate, callgate-nolog, kamailio)" ;; esac
done

# ---- build and data ---------------------------------------------------------
log "building gendata, gen and callgate into $WORK/bin"
(cd "$ROOT" && go build -o "$WORK/bin/gendata" ./bench/sip/gendata && go build -o "$WORK/bin/gen" ./bench/sip/gen)
if [[ -z "${CALLGATE:-}" ]]; then
	(cd "$ROOT" && go build -o "$WORK/bin/callgate" ./cmd/callgate)
	CALLGATE=$WORK/bin/callgate
fi
log "data set (built once, ~2 min; delete $WORK/callgate, htable.sqlite or calls.csv to rebuild)"
"$WORK/bin/gendata" -store "$WORK/callgate" -kamailio "$WORK/htable.sqlite" -calls "$WORK/calls.csv"

# ---- servers ----------------------------------------------------------------
# start_callgate NAME: the daemon with bench/sip/callgate.yaml on its own
# ports; callgate-nolog also turns the decision log off and runs on its own
# copy of the store (a bbolt file has one writer).
start_callgate() {
	local name=$1 port=$SIP_PORT admin=$ADMIN_PORT data=$WORK/callgate
	if [[ $name == callgate-nolog ]]; then
		port=$NOLOG_PORT admin=$NOLOG_ADMIN_PORT data=$WORK/callgate-nolog
		mkdir -p "$data"
		[[ "$data/callgate.db" -nt "$WORK/callgate/callgate.db" ]] || cp -r "$WORK/callgate/." "$data/"
	fi
	port_free "$port" || die "UDP port $port is busy (set SIP_PORT / NOLOG_PORT)"
	sed -e "s/127.0.0.1:15060/127.0.0.1:$port/" -e "s/127.0.0.1:19464/127.0.0.1:$admin/" \
		"$HERE/callgate.yaml" >"$RUN/$name.yaml"
	[[ $name == callgate-nolog ]] && printf 'decision_log:\n  enabled: false\n' >>"$RUN/$name.yaml"
	rm -f "$data/decisions.db" # each run starts with an empty decision log
	local env=()
	[[ -n "$CALLGATE_GOMAXPROCS" ]] && env=(GOMAXPROCS="$CALLGATE_GOMAXPROCS")
	env "${env[@]}" nice -n "$NICE" taskset -c "$SERVER_CPU" "$CALLGATE" serve --config "$RUN/$name.yaml" --data "$data" \
		>"$RUN/$name.log" 2>&1 &
	PID[$name]=$! PORT[$name]=$port ADMIN[$name]=$admin
	for _ in $(seq 1 300); do
		kill -0 "${PID[$name]}" 2>/dev/null || die "$name exited: $(tail -5 "$RUN/$name.log")"
		if curl -sf "http://127.0.0.1:$admin/readyz" >/dev/null 2>&1; then
			log "$name: GOMAXPROCS $(curl -sf "http://127.0.0.1:$admin/metrics" | awk '/^go_sched_gomaxprocs_threads/ {print $2}')"
			return 0
		fi
		sleep 0.2
	done
	die "$name not ready after 60s"
}

start_kamailio() {
	command -v kamailio >/dev/null || die "kamailio not found (apt-get install kamailio kamailio-sqlite-modules kamailio-tls-modules)"
	port_free "$KAM_PORT" || die "UDP port $KAM_PORT is busy (set KAM_PORT)"
	local defs=(-A "LISTEN=udp:127.0.0.1:$KAM_PORT" -A "DBURL=\"sqlite:///$WORK/htable.sqlite\""
		-A "CTLSOCK=\"unix:$RUN/kamailio.ctl\"")
	[[ "$KAM_MODE" == tm ]] && defs+=(-A WITH_TM)
	# -m: shared memory for the htables (1.9 GB used at 10M rows);
	# -M: private memory of the loading process: db_sqlite cannot fetch in
	# chunks, so htable receives the whole 10M-row result at once (~3 GB);
	# the UDP workers are forked after the load and never touch those pages.
	nice -n "$NICE" taskset -c "$SERVER_CPU" kamailio -f "$HERE/kamailio.cfg" "${defs[@]}" -DD -E -m 3072 -M 4096 -x tlsf \
		-w "$RUN" -P "$RUN/kamailio.pid" >"$RUN/kamailio.log" 2>&1 &
	PID[kamailio]=$! PORT[kamailio]=$KAM_PORT
	for _ in $(seq 1 900); do
		kill -0 "${PID[kamailio]}" 2>/dev/null || die "kamailio exited: $(tail -5 "$RUN/kamailio.log")"
		if kamcmd -s "unix:$RUN/kamailio.ctl" core.uptime >/dev/null 2>&1 &&
			kamcmd -s "unix:$RUN/kamailio.ctl" htable.stats 2>/dev/null | grep -q 'all: 10000000'; then
			kamcmd -s "unix:$RUN/kamailio.ctl" htable.stats >"$RUN/kamailio-htable.txt" 2>&1 || true
			return 0
		fi
		sleep 0.2
	done
	die "kamailio not up (10M blk rows loaded) after 180s"
}

# tree PID: PID and all its descendants (Kamailio's workers).
tree() {
	echo "$1"
	local c
	for c in $(pgrep -P "$1"); do tree "$c"; done
}

# server_ticks NAME: CPU time (clock ticks, user+system, all threads and
# child processes) used so far by a server.
server_ticks() {
	# shellcheck disable=SC2046
	cat $(printf '/proc/%s/stat ' $(tree "${PID[$1]}")) 2>/dev/null |
		awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t+0 }'
}

# server_answers NAME: "302s 603s" the server counted so far.
server_answers() {
	if [[ $1 == kamailio ]]; then
		kamcmd -s "unix:$RUN/kamailio.ctl" stats.get_statistics sl: 2>/dev/null |
			awk '/sl:302_replies/ {a=$3} /sl:6xx_replies/ {d=$3} END {printf "%d %d\n", a, d}'
	else
		curl -sf "http://127.0.0.1:${ADMIN[$1]}/metrics" |
			awk '/^callgate_sip_responses_total\{kind="(redirect|screen)"\}/ {a+=$2}
				/^callgate_sip_responses_total\{kind="decline"\}/ {d+=$2} END {printf "%d %d\n", a, d}'
	fi
}

# field LINE KEY: the value of KEY=value in a gen result line.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# ---- one generator step -----------------------------------------------------
# step NAME RATE SECONDS: GEN_INSTANCES generators at RATE in all against
# NAME; prints gen's merged result line plus srv_cpu (% of one core over the
# step), us_call (server CPU µs per call answered right) and calls_cpu_s.
# The files go to $RUN/NAME-RATE-<n>.
step() {
	local name=$1 rate=$2 secs=$3 dir
	dir=$(mktemp -d "$RUN/$name-$rate-XXX")
	local per=$((rate / GEN_INSTANCES)) calls=$((rate * secs / GEN_INSTANCES)) i pids=()
	local t0 t1 w0 w1
	t0=$(server_ticks "$name")
	w0=$(date +%s.%N)
	for i in $(seq 0 $((GEN_INSTANCES - 1))); do
		nice -n "$NICE" taskset -c "$GEN_CPU" "$WORK/bin/gen" -target "127.0.0.1:${PORT[$name]}" -calls "$WORK/calls.csv" \
			-rate "$per" -n "$calls" -offset $((i * calls)) -sockets "$GEN_SOCKETS" -tick "$GEN_TICK" \
			-out "$dir/gen-$i.json" >"$dir/gen-$i.out" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || true; done
	t1=$(server_ticks "$name")
	w1=$(date +%s.%N)
	local line
	line=$("$WORK/bin/gen" -merge "$dir"/gen-*.json 2>/dev/null) || line="offered=$rate ok=0 failed=$((rate * secs)) achieved=0"
	awk -v l="$line" -v a="$t0" -v b="$t1" -v w0="$w0" -v w1="$w1" -v hz="$(getconf CLK_TCK)" -v ok="$(field "$line" ok)" \
		'BEGIN{ cpu=(b-a)/hz; printf "%s srv_cpu=%.0f%% us_call=%.2f calls_cpu_s=%.0f\n", l, cpu/(w1-w0)*100,
			(ok>0 ? cpu/ok*1e6 : 0), (cpu>0 ? ok/cpu : 0) }' | tee "$dir/result"
}

# passes LINE: the step sustained its rate (see the header).
passes() {
	awk -v r="$(field "$1" offered)" -v a="$(field "$1" achieved)" -v ok="$(field "$1" ok)" -v f="$(field "$1" failed)" \
		-v rt="$(field "$1" retrans)" -v m="$MAX_FAIL" \
		'BEGIN{ t=ok+f; exit !(t>0 && f/t < m && rt/t <= m && a >= 0.95*r) }'
}

# gen_limited LINE: the generators did not send at the offered rate.
gen_limited() {
	awk -v r="$(field "$1" offered)" -v s="$(field "$1" send_rate)" 'BEGIN{ exit !(s < 0.99*r) }'
}

# ---- answer check -------------------------------------------------------------
# check NAME: sipp and gen place the injection file's first 2,000 calls at
# 500/s each, at the same time.
check() {
	local name=$1 n=2000
	local dir="$RUN/$name-check"
	mkdir -p "$dir"
	local before after
	before=$(server_answers "$name")
	(cd "$dir" && nice -n "$NICE" taskset -c "$GEN_CPU" sipp -sf "$HERE/uac-mix.xml" -inf "$WORK/calls.csv" \
		-i 127.0.0.1 -p "$SIPP_PORT" -r 500 -m $n -l 15000 -buff_size 4194304 -recv_timeout 5000 -timeout 60s \
		-default_behaviors all,-bye -nostdin -trace_stat -fd 3600 -trace_err "127.0.0.1:${PORT[$name]}" >sipp.out 2>&1) &
	local sp=$!
	nice -n "$NICE" taskset -c "$GEN_CPU" "$WORK/bin/gen" -target "127.0.0.1:${PORT[$name]}" -calls "$WORK/calls.csv" \
		-rate 500 -n $n -sockets "$GEN_SOCKETS" >"$dir/gen.out" 2>&1 || true
	wait "$sp" || true
	sleep 0.5
	after=$(server_answers "$name")
	local sipp_ok sipp_failed sipp_retrans
	read -r sipp_ok sipp_failed sipp_retrans < <(awk -F';' 'NR==1{for(i=1;i<=NF;i++)h[$i]=i; next} {last=$0} END{
		split(last,f,";"); print f[h["SuccessfulCall(C)"]]+0, f[h["FailedCall(C)"]]+0, f[h["Retransmissions(C)"]]+0 }' \
		"$dir"/*_.csv 2>/dev/null || echo "0 $n 0")
	local g want
	g=$(tail -1 "$dir/gen.out")
	want=$(sed -n "2,$((n + 1))p" "$WORK/calls.csv" | cut -d';' -f3 | sort | uniq -c |
		awk '{c[$2]=$1} END {printf "%d %d %d", c["603"], c["302-continue"], c["302-screen"]}')
	local w603 wcont wscr a0 d0 a1 d1
	read -r w603 wcont wscr <<<"$want"
	read -r a0 d0 <<<"$before"
	read -r a1 d1 <<<"$after"
	# Every INVITE that reaches the server is answered: the server counts
	# both generators' calls, plus one answer per retransmission it got.
	local retrans=$((sipp_retrans + $(field "$g" retrans)))
	local msg="sipp ok=$sipp_ok failed=$sipp_failed; gen ok=$(field "$g" ok) failed=$(field "$g" failed)"
	msg+=" 603=$(field "$g" 603) 302-continue=$(field "$g" 302_continue) 302-screen=$(field "$g" 302_screen);"
	msg+=" file 603=$w603 302-continue=$wcont 302-screen=$wscr; server 302=$((a1 - a0)) 603=$((d1 - d0))"
	msg+=" (sipp+gen: $((2 * (wcont + wscr))) and $((2 * w603)), plus up to $retrans retransmitted)"
	log "$name check: $msg"
	echo "$name: $msg" >>"$RUN/check.txt"
	[[ $sipp_ok == "$n" && $sipp_failed == 0 && "$(field "$g" ok)" == "$n" && "$(field "$g" failed)" == 0 &&
		"$(field "$g" 603)" == "$w603" && "$(field "$g" 302_continue)" == "$wcont" && "$(field "$g" 302_screen)" == "$wscr" &&
		$((a1 - a0)) -ge $((2 * (wcont + wscr))) && $((d1 - d0)) -ge $((2 * w603)) &&
		$((a1 - a0 + d1 - d0)) -le $((2 * n + retrans)) ]] ||
		die "$name: answer check failed ($msg); see $dir"
}

# ---- maximum ------------------------------------------------------------------
# ladder NAME: prints "BEST_LINE|WHY" where WHY describes the lowest rate
# that failed and whose limit it was.
ladder() {
	local name=$1 rate=$MAX_START best="" fail="" failres="" res
	try() { # try RATE: sets res, returns pass/fail (one retry)
		res=$(step "$name" "$1" "$STEP_SECONDS")
		log "$name max: $res"
		passes "$res" && return 0
		log "$name max: retry $1"
		res=$(step "$name" "$1" "$STEP_SECONDS")
		log "$name max: $res"
		passes "$res"
	}
	while :; do
		if try "$rate"; then
			best=$res
			rate=$(((rate * 5 / 4 + 500) / 1000 * 1000))
		else
			fail=$rate failres=$res
			break
		fi
	done
	if [[ -n "$best" ]]; then
		local lo hi mid
		lo=$(field "$best" offered) hi=$fail
		for _ in $(seq 1 "$BISECT"); do
			mid=$(((lo + hi) / 2 / 500 * 500))
			((mid > lo)) || break
			if try "$mid"; then best=$res lo=$mid; else hi=$mid failres=$res; fi
		done
	fi
	echo "$best|$(verdict "$failres")"
}

# verdict LINE: whose limit a failed step was. Generators that fell behind
# with no answer lost or late: theirs. Answers lost or late while they sent
# the offered rate: the server's. Both: the server lost answers, and the
# generators, busy with the retransmissions, fell behind too.
verdict() {
	local r=$1 msg
	msg="$(field "$r" offered)/s failed: $(field "$r" failed) calls failed, $(field "$r" retrans) retransmissions,"
	msg+=" generators sent $(field "$r" send_rate)/s at $(field "$r" gen_cpu) CPU, server at $(field "$r" srv_cpu)"
	if gen_limited "$r" && [[ "$(field "$r" failed)" == 0 && "$(field "$r" retrans)" == 0 ]]; then
		echo "the generators' limit ($msg)"
	elif gen_limited "$r"; then
		echo "the server's limit, and the generators, retransmitting, fell behind ($msg)"
	else
		echo "the server's limit ($msg)"
	fi
}

# ---- measure ------------------------------------------------------------------
log "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; servers on CPU $SERVER_CPU, generators on CPU $GEN_CPU"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for t in $TARGETS; do
	log "starting $t"
	case $t in
	kamailio) start_kamailio ;;
	*) start_callgate "$t" ;;
	esac
done
sleep 3 # start-up work (callgate's store summary) before the first call
for t in $TARGETS; do check "$t"; done
# Warm-up, not reported: the first seconds of load after a start cost more
# (page faults in the stores, heap growth, the decision log's first pages).
for t in $TARGETS; do step "$t" "${RATES%% *}" 5 >/dev/null; done

declare -A SUM CNT
: >"$RUN/fixed.txt"
for rate in $RATES; do
	for round in $(seq 1 "$ROUNDS"); do
		for t in $TARGETS; do
			res=$(step "$t" "$rate" "$STEP_SECONDS")
			log "$t $rate/s round $round: $res"
			echo "$t $rate $round $res" >>"$RUN/fixed.txt"
		done
	done
done

if ((CPU_PROFILE > 0)) && command -v perf >/dev/null; then
	for t in $TARGETS; do
		log "$t: perf profile for ${CPU_PROFILE}s at $PROFILE_RATE calls/s"
		# shellcheck disable=SC2046
		perf record -F 999 -g -p "$(tree "${PID[$t]}" | paste -sd,)" -o "$RUN/$t.perf.data" -- sleep "$CPU_PROFILE" >/dev/null 2>&1 &
		pp=$!
		step "$t" "$PROFILE_RATE" $((CPU_PROFILE + 2)) >/dev/null
		wait $pp || true
		perf report -i "$RUN/$t.perf.data" --children --sort symbol --stdio -g none 2>/dev/null |
			grep '%' | grep -v '^#' | head -80 >"$RUN/$t-profile.txt" || true
	done
fi

declare -A BEST
if ((MAX)); then
	for t in $TARGETS; do BEST[$t]=$(ladder "$t"); done
fi

# ---- report -------------------------------------------------------------------
name_of() { if [[ $1 == kamailio ]]; then echo "kamailio-$KAM_MODE"; else echo "$1"; fi; }
row() { # row NAME LINE
	printf '%-15s %8s %8s %9s %7s %7s %7s %7s %7s %8s %8s %8s %11s\n' "$1" "$(field "$2" offered)" "$(field "$2" send_rate)" "$(field "$2" achieved)" \
		"$(field "$2" failed)" "$(field "$2" retrans)" "$(field "$2" p50_ms)" "$(field "$2" p99_ms)" "$(field "$2" max_ms)" \
		"$(field "$2" srv_cpu)" "$(field "$2" gen_cpu)" "$(field "$2" us_call)" "$(field "$2" calls_cpu_s)"
}
header() {
	printf '%-15s %8s %8s %9s %7s %7s %7s %7s %7s %8s %8s %8s %11s\n' server offered sent/s achieved failed retrans p50_ms p99_ms max_ms srv_cpu gen_cpu us/call calls/cpu-s
}
{
	echo
	echo "SIP benchmark $(date -Is)  $(nproc) CPUs  load average before: $LOAD_BEFORE  after: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "servers pinned to CPU $SERVER_CPU (callgate GOMAXPROCS ${CALLGATE_GOMAXPROCS:-default}), $GEN_INSTANCES generators x $GEN_SOCKETS sockets on CPU $GEN_CPU, nice $NICE; $STEP_SECONDS s per step"
	echo "sent/s: the generators' INVITE rate (below offered: the generators fell behind); srv_cpu/gen_cpu: share of one core"
	echo "during the step; us/call: server CPU (user+system) per call answered right"
	echo "answer check: $(wc -l <"$RUN/check.txt") targets passed (sipp and gen agree with the injection file and the server's counters; $RUN/check.txt)"
	echo
	echo "Fixed rates, every round (steps interleaved across targets):"
	header
	while read -r t rate round res; do row "$(name_of "$t") #$round" "$res"; done <"$RUN/fixed.txt"
	echo
	echo "Server CPU per call, median of $ROUNDS rounds (us), and the ratio to Kamailio:"
	for rate in $RATES; do
		line="  $rate/s:"
		kam=""
		for t in $TARGETS; do
			med=$(awk -v t="$t" -v r="$rate" '$1==t && $2==r' "$RUN/fixed.txt" | tr ' ' '\n' | sed -n 's/^us_call=//p' | sort -g |
				awk '{v[NR]=$1} END{ if (NR) print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2) }')
			line+=" $(name_of "$t") $med"
			[[ $t == kamailio ]] && kam=$med
			eval "MED_${t//-/_}=\$med"
		done
		if [[ -n "$kam" ]]; then
			for t in $TARGETS; do
				[[ $t == kamailio ]] && continue
				v=$(eval "echo \$MED_${t//-/_}")
				line+=" | $t/kamailio $(awk -v a="$v" -v b="$kam" 'BEGIN{ if (b>0) printf "%.2f", a/b }')"
			done
		fi
		echo "$line"
	done
	if ((MAX)); then
		echo
		echo "Maximum (best passing step; pass = <$MAX_FAIL failed, <=$MAX_FAIL retransmitted, >=95% of offered answered):"
		header
		for t in $TARGETS; do
			if [[ -n "${BEST[$t]%%|*}" ]]; then
				row "$(name_of "$t")" "${BEST[$t]%%|*}"
			else
				printf '%-15s no step passed\n' "$(name_of "$t")"
			fi
			echo "    next: ${BEST[$t]#*|}"
		done
	fi
	echo "files: $RUN"
} | tee "$RUN/summary.txt"
