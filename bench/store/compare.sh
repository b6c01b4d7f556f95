#!/bin/sh
# compare.sh: the store's look-up benchmarks, base vs new, interleaved.
#
#   bench/store/compare.sh BASE_DIR [COUNT]
#
# BASE_DIR is a checkout of the base commit (e.g. a temporary worktree of
# main with this branch's store/bench_test.go and policy/store_test.go
# copied in, so both sides run the same benchmarks). The test binaries of
# both sides are built once; then each round runs base then new, one
# process each, -cpu 1, and the results go to /tmp/store-bench/{base,new}.txt
# for benchstat (~/go/bin/benchstat base.txt new.txt).
set -eu
base=$1
count=${2:-8}
here=$(cd "$(dirname "$0")/../.." && pwd)
out=/tmp/store-bench
mkdir -p "$out"
for side in base new; do
	dir=$here
	[ "$side" = base ] && dir=$base
	(cd "$dir" && go test -c -o "$out/store-$side.test" ./store/ && go test -c -o "$out/policy-$side.test" ./policy/)
	: >"$out/$side.txt"
done
i=0
while [ "$i" -lt "$count" ]; do
	for side in base new; do
		"$out/store-$side.test" -test.run '^$' -test.bench 'ViewCold|View/AllLookups/unknown-caller$|OpenLarge' -test.benchmem -test.cpu 1 >>"$out/$side.txt"
		"$out/policy-$side.test" -test.run '^$' -test.bench 'DecideLarge/(unknown|block)|Decide/unknown-screen' -test.benchmem -test.cpu 1 >>"$out/$side.txt"
	done
	i=$((i + 1))
done
~/go/bin/benchstat "$out/base.txt" "$out/new.txt"
