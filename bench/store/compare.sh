#!/bin/sh
# compare.sh BASE_REF [COUNT]: the store's look-up benchmarks, base vs the
# work tree, interleaved (bench/abtest.sh: one process each, -cpu 1, COUNT
# rounds, default 8, then benchstat). The work tree's store/bench_test.go
# and policy/store_test.go are copied into the base, so both sides run the
# same benchmarks (ViewColdAtOnce needs LookupCall, so it runs on the new
# side only: run it alone for its numbers).
set -eu
BASE=${1:?usage: compare.sh BASE_REF [COUNT]} COUNT=${2:-8}
COPY="store/bench_test.go policy/store_test.go"
export BASE COUNT COPY
exec "$(dirname "$0")/../abtest.sh" \
	'store:ViewCold/|View/AllLookups/unknown-caller$|OpenLarge' \
	'policy:DecideLarge/(unknown|block)|Decide/unknown-screen'
