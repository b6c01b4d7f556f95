#!/usr/bin/env bash
# compare.sh — the SCP's decode CPU per query, a base revision against the
# working tree: Go benchmarks run interleaved (base, new, base, new, ...) on
# one CPU, then benchstat on cpu-ns/op (the thread's CPU time, what counts on
# a shared machine) and allocs/op. See README.md.
#
#   bench/decode/compare.sh                 # base = main, COUNT=8
#   BASE=2c8b6af COUNT=4 bench/decode/compare.sh
#
# The decode benchmarks added with this work are copied into the base tree
# when it lacks them (they use only APIs the base has), so both sides run
# the same code for the same names.
set -euo pipefail

BASE=${BASE:-main}
COUNT=${COUNT:-8}
BENCHTIME=${BENCHTIME:-1s}
ROOT=$(git rev-parse --show-toplevel)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

mkdir "$WORK/base"
git -C "$ROOT" archive "$BASE" | tar -x -C "$WORK/base"
for f in sigtran/ber/bench_test.go sigtran/tcap/decode_bench_test.go scp/ain/bench_test.go scp/decode_bench_test.go; do
	cp "$ROOT/$f" "$WORK/base/$f"
done

# package:benchmark regexp
SETS=(
	"sigtran/ber:^BenchmarkIterQuery$"
	"sigtran/sccp:^BenchmarkDecodeUDT$"
	"sigtran/tcap:^Benchmark(DecodeQueryTCAP|ReceiveQuery|DecodeQuerySCCPTCAP|SCPRoundTrip)$"
	"scp/ain:^Benchmark(UnmarshalTerminationAttempt|DecodeTerminationAttempt)$"
	"scp:^Benchmark(DecodeQuery|ServeQuery)$"
)

for side in base new; do
	src=$ROOT
	[ "$side" = base ] && src=$WORK/base
	for set in "${SETS[@]}"; do
		pkg=${set%%:*}
		(cd "$src" && go test -c -o "$WORK/$side-${pkg//\//_}.test" "./$pkg")
	done
done

for i in $(seq "$COUNT"); do
	for side in base new; do
		for set in "${SETS[@]}"; do
			pkg=${set%%:*} re=${set#*:}
			(cd "$ROOT/$pkg" && "$WORK/$side-${pkg//\//_}.test" -test.run '^$' -test.bench "$re" \
				-test.benchtime "$BENCHTIME" -test.cpu 1 -test.benchmem) | grep '^Benchmark' |
				awk '{ l = $1 " " $2; for (i = 3; i < NF; i += 2) if ($(i+1) ~ /^(ns|cpu-ns|allocs)\/op$/) l = l " " $i " " $(i+1); print l }' \
				>>"$WORK/$side.txt"
		done
	done
	echo "round $i/$COUNT done" >&2
done

BENCHSTAT=${BENCHSTAT:-$(command -v benchstat || echo "$HOME/go/bin/benchstat")}
"$BENCHSTAT" base="$WORK/base.txt" new="$WORK/new.txt"
