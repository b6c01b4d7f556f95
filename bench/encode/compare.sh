#!/usr/bin/env bash
# compare.sh: the CPU the SCP spends building and queueing each answer
# (issue 16, stop 11), base against the working tree, on this machine.
#
#   bench/encode/compare.sh [base-ref]      (default base: main; COUNT=8, bench/abtest.sh)
#
# 1. Benchmarks, interleaved base/new, -count 8 (COUNT), -cpu 1, compared
#    with benchstat on cpu-ns/op and allocs/op: scp BenchmarkServeQuery and
#    BenchmarkAnswerPath (the SCP's path with a fixed decision), ain
#    BenchmarkEncodeForwardCall, sccp BenchmarkEncodeUDT, tcap
#    BenchmarkEncodeResponseSCCPTCAP, m3ua BenchmarkSendData. The new
#    benchmark files are copied into the base tree, so both run the same
#    benchmark code.
# 2. The answer path itself, from a CPU profile of BenchmarkServeQuery:
#    request.terminationAttempt minus Service.decide (the engine), per
#    query, for base and new.
set -euo pipefail
base=${1:-main}
root=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

BASE=$base OUT=$work COPY="scp/answer_bench_test.go sigtran/m3ua/senddata_bench_test.go" \
	"$root/bench/abtest.sh" \
	'scp:^(BenchmarkServeQuery|BenchmarkAnswerPath)$' \
	'scp/ain:^BenchmarkEncodeForwardCall$' \
	'sigtran/sccp:^BenchmarkEncodeUDT$' \
	'sigtran/tcap:^BenchmarkEncodeResponseSCCPTCAP$' \
	'sigtran/m3ua:^BenchmarkSendData$'

echo
echo "answer path (terminationAttempt minus decide), BenchmarkServeQuery, from a 10 s CPU profile:"
for v in base new; do
	out=$(cd "$root/scp" && "$work/$v-scp.test" -test.run '^$' -test.bench '^BenchmarkServeQuery$' -test.cpu 1 \
		-test.benchtime 10s -test.cpuprofile "$work/$v.prof" | grep '^Benchmark')
	n=$(echo "$out" | awk '{print $2}')
	cum() { go tool pprof -top -cum -unit=ms "$work/$v-scp.test" "$work/$v.prof" 2>/dev/null |
		awk -v f="$1" '$6 == f {gsub("ms", "", $4); print $4}'; }
	ta=$(cum 'callgate/scp.(*request).terminationAttempt')
	de=$(cum 'callgate/scp.(*Service).decide')
	awk -v v=$v -v ta="$ta" -v de="$de" -v n="$n" -v line="$out" 'BEGIN {
		printf "%-4s %s\n     path %.0f ns/query (terminationAttempt %.0f, decide %.0f)\n", v, line, (ta-de)*1e6/n, ta*1e6/n, de*1e6/n }'
done
