#!/usr/bin/env bash
# Runs every go fuzz target in the module. Protocol decoders (M3UA, SCCP,
# TCAP, AIN, SIP) get FUZZTIME_DECODER (default 60s) each, the rest FUZZTIME.
#
# A target fails when the fuzzer writes a failing input to
# testdata/fuzz/<target>/. Go 1.26's fuzz coordinator sometimes ends a run
# with a bare "context deadline exceeded" and no input when -fuzztime runs
# out while a worker is busy (go.dev/issue/75804, fixed in Go 1.27): that is
# reported as a toolchain flake and the target is run once more.
set -euo pipefail
long=${FUZZTIME_DECODER:-60s}
short=${FUZZTIME:-20s}
status=0
failed=()
flaked=()

# inputs lists the saved inputs of a target (sorted), one per line.
inputs() { ls "$1" 2>/dev/null | sort || true; }

for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    t=$short
    case "$pkg" in
      */sigtran/*|*/scp/*|*/redirect*|*/stir) t=$long ;;
    esac
    corpus="$dir/testdata/fuzz/$target"
    for attempt in 1 2; do
      echo "== $pkg $target ($t)"
      before=$(inputs "$corpus")
      log=$(mktemp)
      if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$t" "$pkg" 2>&1 | tee "$log"; then
        rm -f "$log"
        break
      fi
      after=$(inputs "$corpus")
      if [[ "$before" == "$after" ]] && grep -q 'context deadline exceeded' "$log"; then
        rm -f "$log"
        if [[ $attempt == 1 ]]; then
          echo "-- $target: toolchain flake (go.dev/issue/75804, no failing input written); running it again"
          continue
        fi
        flaked+=("$pkg $target")
        break
      fi
      rm -f "$log"
      echo "-- $target: FAILED; the failing input is in $corpus (go test -run '$target/' $pkg reproduces it)"
      failed+=("$pkg $target")
      status=1
      break
    done
  done
done
echo
echo "fuzz: ${#failed[@]} failed, ${#flaked[@]} toolchain flakes twice in a row (not failures)"
for f in "${failed[@]}"; do echo "  FAILED $f"; done
for f in "${flaked[@]}"; do echo "  flake  $f"; done
exit $status
