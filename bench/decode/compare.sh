#!/usr/bin/env bash
# compare.sh — the SCP's decode CPU per query, a base revision against the
# working tree (bench/abtest.sh: interleaved rounds, -cpu 1, benchstat on
# cpu-ns/op and allocs/op). See README.md.
#
#   bench/decode/compare.sh                 # base = main, COUNT=8
#   BASE=2c8b6af COUNT=4 bench/decode/compare.sh
#
# The decode benchmarks added with this work are copied into the base tree
# (they use only APIs the base has), so both sides run the same code.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export COPY="sigtran/ber/bench_test.go sigtran/tcap/decode_bench_test.go scp/ain/bench_test.go scp/decode_bench_test.go"
exec "$here/../abtest.sh" \
	"sigtran/ber:^BenchmarkIterQuery$" \
	"sigtran/sccp:^BenchmarkDecodeUDT$" \
	"sigtran/tcap:^Benchmark(DecodeQueryTCAP|ReceiveQuery|DecodeQuerySCCPTCAP|SCPRoundTrip)$" \
	"scp/ain:^Benchmark(UnmarshalTerminationAttempt|DecodeTerminationAttempt)$" \
	"scp:^Benchmark(DecodeQuery|ServeQuery)$"
