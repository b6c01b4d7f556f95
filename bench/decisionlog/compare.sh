#!/bin/sh
# compare.sh BASE_REF [ROUNDS]: the decision-log writer's benchmarks
# (BenchmarkWriterCPU, BenchmarkCommit, BenchmarkSustained) of BASE_REF and
# of the work tree, interleaved round by round (bench/abtest.sh: -cpu 1,
# ROUNDS rounds, default 8, then benchstat). It takes some 10 minutes.
set -eu
BASE=${1:?usage: compare.sh BASE_REF [ROUNDS]} COUNT=${2:-8} BENCHTIME=${BENCHTIME:-1s}
export BASE COUNT BENCHTIME
exec "$(dirname "$0")/../abtest.sh" 'policy/decisionlog:WriterCPU|Commit|Sustained'
