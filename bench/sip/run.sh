#!/usr/bin/env bash
# run.sh — callgate's SIP redirect server against Kamailio 5.6, same box, same
# data (100,000 subscribers, 10,000,000 Blocked entries), same sipp load.
# See README.md for what is measured and how to read the table.
#
#   bench/sip/run.sh                      # both servers, the default ladder
#   TARGETS=callgate bench/sip/run.sh     # one server
#   KAM_MODE=tm bench/sip/run.sh          # Kamailio transaction-stateful (tm)
#
# Environment (defaults in brackets):
#   WORK         scratch directory for data, binaries, logs [/var/tmp/callgate-sipbench]
#   TARGETS      servers to measure, in order [callgate callgate-nolog kamailio]
#                (callgate-nolog: decision log off, the same work as Kamailio)
#   KAM_MODE     sl (stateless replies) or tm (t_reply, like callgate) [sl]
#   SERVER_CPU   core the server is pinned to [0]; SIPP_CPU: sipp's core [1]
#   START_RATE   first rate of the ladder, calls/s [2000]
#   STEP_SECONDS seconds of load per step [10]
#   BISECT       bisection steps after the first failing rate [2]
#   MAX_FAIL     highest failed-call ratio that passes [0.001]
#   SIP_PORT ADMIN_PORT KAM_PORT SIPP_PORT  [15060 19464 15062 16000]
#   CALLGATE     callgate binary [built from this tree into $WORK/bin]
#   CPU_PROFILE  seconds of `perf record` on callgate at its best rate [0 = off]
#   NICE         niceness of the server and sipp [-10]: on a box shared with
#                builds and tests, the measured processes get the CPU first
#                (both servers alike); 0 to run at normal priority
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${WORK:-/var/tmp/callgate-sipbench}
[[ "$WORK" == /* ]] || WORK=$PWD/$WORK # absolute: it goes into the sqlite URL
TARGETS=${TARGETS:-"callgate callgate-nolog kamailio"}
KAM_MODE=${KAM_MODE:-sl}
SERVER_CPU=${SERVER_CPU:-0}
SIPP_CPU=${SIPP_CPU:-1}
START_RATE=${START_RATE:-2000}
STEP_SECONDS=${STEP_SECONDS:-10}
BISECT=${BISECT:-2}
MAX_FAIL=${MAX_FAIL:-0.001}
SIP_PORT=${SIP_PORT:-15060}
ADMIN_PORT=${ADMIN_PORT:-19464}
KAM_PORT=${KAM_PORT:-15062}
SIPP_PORT=${SIPP_PORT:-16000}
CPU_PROFILE=${CPU_PROFILE:-0}
NICE=${NICE:--10}

RUN=$WORK/run-$(date +%Y%m%d-%H%M%S)
mkdir -p "$WORK/bin" "$RUN"
SERVER_PID=""

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# stop_server ends the server this script started (by its PID only).
stop_server() {
	if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	SERVER_PID=""
}
trap stop_server EXIT INT TERM

for tool in sipp taskset go; do command -v $tool >/dev/null || die "$tool not found"; done
port_free() { ! ss -Hlun "sport = :$1" | grep -q .; }

# ---- build and data ---------------------------------------------------------
log "building gendata and callgate into $WORK/bin"
(cd "$ROOT" && go build -o "$WORK/bin/gendata" ./bench/sip/gendata)
if [[ -z "${CALLGATE:-}" ]]; then
	(cd "$ROOT" && go build -o "$WORK/bin/callgate" ./cmd/callgate)
	CALLGATE=$WORK/bin/callgate
fi
log "data set (built once, ~2 min; delete $WORK/callgate, htable.sqlite or calls.csv to rebuild)"
"$WORK/bin/gendata" -store "$WORK/callgate" -kamailio "$WORK/htable.sqlite" -calls "$WORK/calls.csv"

# ---- servers ----------------------------------------------------------------
# start_callgate [nolog]: the daemon with bench/sip/callgate.yaml; "nolog"
# also turns the decision log off (the work Kamailio does: no per-call record).
start_callgate() {
	port_free "$SIP_PORT" || die "UDP port $SIP_PORT is busy (set SIP_PORT)"
	sed -e "s/127.0.0.1:15060/127.0.0.1:$SIP_PORT/" -e "s/127.0.0.1:19464/127.0.0.1:$ADMIN_PORT/" \
		"$HERE/callgate.yaml" >"$RUN/callgate.yaml"
	[[ "${1:-}" == nolog ]] && printf 'decision_log:\n  enabled: false\n' >>"$RUN/callgate.yaml"
	rm -f "$WORK/callgate/decisions.db" # each run starts with an empty decision log
	nice -n "$NICE" taskset -c "$SERVER_CPU" "$CALLGATE" serve --config "$RUN/callgate.yaml" --data "$WORK/callgate" \
		>"$RUN/callgate${1:+-$1}.log" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 1 300); do
		kill -0 "$SERVER_PID" 2>/dev/null || die "callgate exited: $(tail -5 "$RUN/callgate${1:+-$1}.log")"
		curl -sf "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null 2>&1 && break
		sleep 0.2
	done
	curl -sf "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null 2>&1 || die "callgate not ready after 60s"
	# Let the start-up work (the store summary scans all 10M rows) finish
	# before the first step.
	sleep 3
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
	SERVER_PID=$!
	for _ in $(seq 1 900); do
		kill -0 "$SERVER_PID" 2>/dev/null || die "kamailio exited: $(tail -5 "$RUN/kamailio.log")"
		kamcmd -s "unix:$RUN/kamailio.ctl" core.uptime >/dev/null 2>&1 && {
			kamcmd -s "unix:$RUN/kamailio.ctl" htable.stats >"$RUN/kamailio-htable.txt" 2>&1 || true
			return 0
		}
		sleep 0.2
	done
	die "kamailio not up after 180s"
}

# server_ticks: CPU time (clock ticks) used so far by the server and its
# child processes (Kamailio's workers).
server_ticks() {
	local pids
	pids="$SERVER_PID $(pgrep -P "$SERVER_PID" | tr '\n' ' ')"
	# shellcheck disable=SC2086
	cat $(printf '/proc/%s/stat ' $pids) 2>/dev/null | awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t+0 }'
}

# ---- one sipp step ----------------------------------------------------------
# step NAME PORT RATE CALLS: runs sipp, prints "rate achieved ok failed
# retrans p50 p90 p99 max server_cpu sipp_cpu calls_per_server_cpu_second"
# (times in ms, CPU in % of one core over the step) and leaves its files in
# $RUN/NAME-RATE.
step() {
	local name=$1 port=$2 rate=$3 calls=$4 dir="$RUN/$1-$3"
	mkdir -p "$dir"
	local t0 t1 w0 w1
	t0=$(server_ticks)
	w0=$(date +%s.%N)
	(cd "$dir" && /usr/bin/time -o sipp.time -f '%P' nice -n "$NICE" taskset -c "$SIPP_CPU" sipp -sf "$HERE/uac-mix.xml" -inf "$WORK/calls.csv" \
		-i 127.0.0.1 -p "$SIPP_PORT" -r "$rate" -m "$calls" -l 15000 -buff_size 4194304 \
		-recv_timeout 5000 -timeout $((STEP_SECONDS * 3 + 30))s -default_behaviors all,-bye \
		-nostdin -trace_stat -fd 3600 -trace_rtt -rtt_freq 5000 -trace_err \
		"127.0.0.1:$port" >sipp.out 2>&1) || true
	t1=$(server_ticks)
	w1=$(date +%s.%N)
	local scpu pcpu
	scpu=$(awk -v a="$t0" -v b="$t1" -v w0="$w0" -v w1="$w1" -v hz="$(getconf CLK_TCK)" \
		'BEGIN{ printf "%.0f%%", (b-a)/hz/(w1-w0)*100 }')
	pcpu=$(tail -n1 "$dir/sipp.time" 2>/dev/null || echo -) # after "Command exited with..."
	local stat rtt
	stat=$(ls "$dir"/*_.csv 2>/dev/null | head -1)
	rtt=$(ls "$dir"/*_rtt.csv 2>/dev/null | head -1)
	[[ -n "$stat" ]] || { echo "$rate 0 0 $calls 0 - - - - $scpu $pcpu"; return; }
	# Last row of the statistics file: cumulative counters.
	local row
	row=$(awk -F';' 'NR==1{for(i=1;i<=NF;i++)h[$i]=i; next} {last=$0} END{
		split(last,f,";");
		printf "%s %s %s %s %s", f[h["CallRate(C)"]], f[h["SuccessfulCall(C)"]], f[h["FailedCall(C)"]],
			f[h["Retransmissions(C)"]], f[h["OutgoingCall(C)"]] }' "$stat")
	local achieved ok failed retrans out
	read -r achieved ok failed retrans out <<<"$row"
	# Calls sipp never finished (still waiting when it stopped) count as failed.
	local unfinished=$((calls - ok - failed))
	((unfinished > 0)) && failed=$((failed + unfinished))
	local pct="- - - -"
	if [[ -n "$rtt" ]]; then
		# Throughput is the final responses per second between the first and
		# the last (sipp's own CallRate also counts the wait for timed-out
		# calls); the percentiles are over every call's INVITE-to-final time.
		read -r achieved pct < <(awk -F';' 'NR>1 && $3==1 {n++; if(n==1)t0=$1; t1=$1; print $2 > "/dev/stderr"}
			END{ if (n>1 && t1>t0) printf "%.0f\n", (n-1)*1000/(t1-t0); else print 0 }' "$rtt" 2>"$dir/rt.txt")
		pct=$(sort -n "$dir/rt.txt" | awk '{v[NR]=$1} END{
			if (NR==0) {print "- - - -"; exit}
			i50=int(NR*0.50); if(i50<1)i50=1; i90=int(NR*0.90); if(i90<1)i90=1; i99=int(NR*0.99); if(i99<1)i99=1;
			printf "%d %d %d %d", v[i50], v[i90], v[i99], v[NR] }')
		rm -f "$dir/rt.txt"
	fi
	local eff
	eff=$(awk -v a="$t0" -v b="$t1" -v ok="$ok" -v hz="$(getconf CLK_TCK)" \
		'BEGIN{ if (b>a) printf "%.0f", ok/((b-a)/hz); else print "-" }')
	echo "$rate $achieved $ok $failed $retrans $pct $scpu $pcpu $eff"
}

# passes RATE ACHIEVED OK FAILED RETRANS: the step sustained its rate: fewer
# than MAX_FAIL of the calls failed, at least 95% of the offered rate was
# answered, and no more than MAX_FAIL of the calls needed an INVITE
# retransmission (an answer lost or later than 500 ms: past that point a
# server "keeps up" only thanks to the callers' retransmissions, and load
# collapses soon after).
passes() {
	awk -v r="$1" -v a="$2" -v ok="$3" -v f="$4" -v rt="$5" -v m="$MAX_FAIL" \
		'BEGIN{ t=ok+f; exit !(t>0 && f/t < m && rt/t <= m && a >= 0.95*r) }'
}

# ladder NAME PORT: ramps the rate up by 1.5x until a step fails (one retry
# per failing rate, as the box is shared), then bisects; prints the best step.
ladder() {
	local name=$1 port=$2 rate=$START_RATE best="" fail="" res
	log "$name: check answers (2,000 calls at 500/s must all get the expected answer)"
	res=$(step "$name-check" "$port" 500 2000)
	set -- $res
	[[ "$4" == 0 && "$3" == 2000 ]] || die "$name: answer check failed ($res); see $RUN/$name-check-500"
	try() { # try RATE -> sets res; returns pass/fail
		local r=$1 calls=$(($1 * STEP_SECONDS))
		res=$(step "$name" "$port" "$r" "$calls")
		log "$name: $res"
		set -- $res
		passes "$1" "$2" "$3" "$4" "$5"
	}
	while :; do
		if try "$rate" || { log "$name: retry $rate"; rm -rf "$RUN/$name-$rate"; try "$rate"; }; then
			best=$res
			rate=$(((rate * 3 / 2 + 250) / 500 * 500))
		else
			fail=$rate
			break
		fi
		((rate <= 200000)) || break
	done
	if [[ -n "$best" && -n "$fail" ]]; then
		local lo hi mid
		lo=$(set -- $best; echo "$1")
		hi=$fail
		for _ in $(seq 1 "$BISECT"); do
			mid=$(((lo + hi) / 2 / 100 * 100))
			((mid > lo)) || break
			if try "$mid"; then best=$res; lo=$mid; else hi=$mid; fi
		done
	fi
	[[ -n "$best" ]] || best="$res"
	echo "$best"
}

# ---- measure ------------------------------------------------------------------
declare -A RESULT
log "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; server on CPU $SERVER_CPU, sipp on CPU $SIPP_CPU"
for t in $TARGETS; do
	case $t in
	callgate | callgate-nolog)
		log "starting $t ($CALLGATE)"
		if [[ $t == callgate ]]; then start_callgate; else start_callgate nolog; fi
		RESULT[$t]=$(ladder "$t" "$SIP_PORT")
		if ((CPU_PROFILE > 0)) && command -v perf >/dev/null; then
			r=$(set -- ${RESULT[$t]}; echo "$1")
			log "$t: perf profile for ${CPU_PROFILE}s at $r calls/s"
			perf record -F 999 -g -p "$SERVER_PID" -o "$RUN/$t.perf.data" -- sleep "$CPU_PROFILE" >/dev/null 2>&1 &
			pp=$!
			step "$t-profile" "$SIP_PORT" "$r" $((r * CPU_PROFILE)) >/dev/null
			wait $pp || true
			perf report -i "$RUN/$t.perf.data" --children --sort symbol --stdio -g none 2>/dev/null |
				grep '%' | grep -v '^#' | head -80 >"$RUN/$t-profile.txt" || true
		fi
		;;
	kamailio)
		log "starting kamailio (mode $KAM_MODE; loading 10M htable rows takes about a minute)"
		start_kamailio
		RESULT[$t]=$(ladder kamailio "$KAM_PORT")
		;;
	*) die "unknown target $t" ;;
	esac
	stop_server
done

# ---- report -------------------------------------------------------------------
{
	echo
	echo "SIP benchmark $(date -Is)  $(nproc) CPUs  load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "server pinned to CPU $SERVER_CPU, sipp to CPU $SIPP_CPU, both at nice $NICE; $STEP_SECONDS s per step; pass = <$MAX_FAIL failed, <=$MAX_FAIL retransmitted, >=95% of the offered rate answered"
	echo "srv_cpu/sipp_cpu: share of one core used during the step; calls/cpu-s: answered calls per server CPU-second"
	printf '%-15s %9s %9s %8s %7s %7s %6s %6s %6s %6s %7s %7s %10s\n' server offered achieved calls failed retrans p50_ms p90_ms p99_ms max_ms srv_cpu sipp_cpu calls/cpu-s
	for t in $TARGETS; do
		set -- ${RESULT[$t]}
		name=$t
		[[ $t == kamailio ]] && name="kamailio-$KAM_MODE"
		printf '%-15s %9s %9.0f %8s %7s %7s %6s %6s %6s %6s %7s %7s %10s\n' "$name" "$1" "$2" "$(($3 + $4))" "$4" "$5" "$6" "$7" "$8" "$9" "${10}" "${11}" "${12}"
	done
	for t in callgate callgate-nolog; do
		if [[ -n "${RESULT[$t]:-}" && -n "${RESULT[kamailio]:-}" ]]; then
			awk -v t="$t" -v c="$(set -- ${RESULT[$t]}; echo "$2")" -v k="$(set -- ${RESULT[kamailio]}; echo "$2")" \
				'BEGIN{ printf "ratio %s/kamailio (achieved calls/s): %.2f\n", t, c/k }'
		fi
	done
	echo "files: $RUN"
} | tee "$RUN/summary.txt"
