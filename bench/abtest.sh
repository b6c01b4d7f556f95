#!/usr/bin/env bash
# abtest.sh — Go benchmarks of a base revision against the working tree,
# interleaved: the test binaries of both sides are built once, then each
# round runs every set on the base, then on the new side (one process each,
# -cpu 1), and benchstat compares them. Interleaving is what makes a
# comparison mean something on a shared machine; cpu-ns/op (the benchmark
# thread's CPU time, where a benchmark reports it) more so than ns/op.
# The bench/*/compare.sh scripts are this with their own sets.
#
#   bench/abtest.sh 'PKG:REGEXP' ...
#   BASE=5172cd8 COUNT=4 bench/abtest.sh 'store:^BenchmarkViewCold' 'policy:DecideLarge'
#
# Environment (defaults in brackets):
#   BASE       the base revision, taken with git archive [main]
#   COPY       files copied from the working tree into the base before it is
#              built (new benchmark files, so both sides run the same
#              benchmark code; they may use only what the base has) []
#   COUNT      rounds [8]
#   BENCHTIME  -test.benchtime [1s]
#   OUT        where the binaries and base.txt / new.txt go; kept [a new
#              temporary directory]
#   BENCHSTAT  the benchstat binary [benchstat on PATH, else ~/go/bin/benchstat]
set -euo pipefail

(($#)) || { echo "usage: bench/abtest.sh 'PKG:REGEXP' ..." >&2; exit 2; }
BASE=${BASE:-main}
COUNT=${COUNT:-8}
BENCHTIME=${BENCHTIME:-1s}
ROOT=$(git rev-parse --show-toplevel)
OUT=${OUT:-$(mktemp -d /tmp/abtest.XXXXXX)}
BENCHSTAT=${BENCHSTAT:-$(command -v benchstat || echo "$HOME/go/bin/benchstat")}

rm -rf "$OUT/base-src"
mkdir -p "$OUT/base-src"
git -C "$ROOT" archive "$BASE" | tar -x -C "$OUT/base-src"
for f in ${COPY:-}; do
	cp "$ROOT/$f" "$OUT/base-src/$f"
done

for side in base new; do
	src=$ROOT
	[[ $side == base ]] && src=$OUT/base-src
	for set in "$@"; do
		pkg=${set%%:*}
		(cd "$src" && go test -c -o "$OUT/$side-${pkg//\//_}.test" "./$pkg")
	done
	: >"$OUT/$side.txt"
done

for i in $(seq "$COUNT"); do
	for side in base new; do
		for set in "$@"; do
			pkg=${set%%:*} re=${set#*:}
			(cd "$ROOT/$pkg" && "$OUT/$side-${pkg//\//_}.test" -test.run '^$' -test.bench "$re" \
				-test.benchtime "$BENCHTIME" -test.cpu 1 -test.benchmem) | grep '^Benchmark' >>"$OUT/$side.txt"
		done
	done
	echo "round $i/$COUNT done" >&2
done

"$BENCHSTAT" base="$OUT/base.txt" new="$OUT/new.txt"
echo "binaries and raw results in $OUT"
