#!/usr/bin/env bash
# Runs every go fuzz target in the module. Protocol decoders (M3UA, SCCP,
# TCAP, AIN, SIP) get FUZZTIME_DECODER (default 60s) each, the rest FUZZTIME.
set -euo pipefail
long=${FUZZTIME_DECODER:-60s}
short=${FUZZTIME:-20s}
status=0
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    t=$short
    case "$pkg" in
      */sigtran/*|*/scp/*|*/redirect*) t=$long ;;
    esac
    echo "== $pkg $target ($t)"
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$t" "$pkg"; then
      status=1
    fi
  done
done
exit $status
