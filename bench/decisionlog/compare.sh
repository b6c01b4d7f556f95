#!/bin/sh
# compare.sh BASE_REF [ROUNDS]: the decision-log writer's benchmarks
# (BenchmarkWriterCPU, BenchmarkCommit, BenchmarkSustained) of BASE_REF and
# of the work tree, interleaved round by round (-count 1 each, ROUNDS
# rounds, default 8; -cpu 1), then benchstat. Run from the repository root;
# it takes some 10 minutes and needs ~/go/bin/benchstat.
set -eu
base=${1:?usage: compare.sh BASE_REF [ROUNDS]}
rounds=${2:-8}
out=$(mktemp -d /tmp/dlogbench.XXXXXX)
src=$out/base-src
mkdir -p "$src"
git archive "$base" | tar -x -C "$src"
(cd "$src" && go test -c -o "$out/base.test" ./policy/decisionlog/)
go test -c -o "$out/new.test" ./policy/decisionlog/
for i in $(seq "$rounds"); do
	for v in base new; do
		"$out/$v.test" -test.run '^$' -test.bench 'WriterCPU|Commit|Sustained' -test.benchmem -test.count 1 -test.cpu 1 >>"$out/$v.txt"
	done
done
~/go/bin/benchstat "$out/base.txt" "$out/new.txt"
echo "raw results in $out"
