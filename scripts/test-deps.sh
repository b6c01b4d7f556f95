#!/usr/bin/env bash
# Installs the real protocol peers the tests run against (tshark judges our
# SS7 encoding, sipp drives the SIP tier, secsipidx signs and verifies
# STIR/SHAKEN PASSporTs that are not ours, espeak-ng and sox make and check
# the prompts the phones recognise, etcd is the store's shared system of
# record, baresip is a softphone with its own SIP, SDP and RTP stacks,
# kamailio is the carrier's proxy in front of the redirect server; python3 runs the OpenAPI
# generator, checked against admin/openapi.json). Tests never skip when a peer is
# missing, so this must succeed before `go test` runs.
set -euo pipefail

need=()
command -v tshark >/dev/null 2>&1 || need+=(tshark)
command -v sipp   >/dev/null 2>&1 || need+=(sip-tester)
command -v secsipidx >/dev/null 2>&1 || need+=(secsipidx)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v sox       >/dev/null 2>&1 || need+=(sox)
command -v etcd   >/dev/null 2>&1 || need+=(etcd-server)   # store/etcdkv's clusters on loopback
command -v chromium >/dev/null 2>&1 || need+=(chromium)    # admin/ web UI browser tests (chromedp)
command -v baresip  >/dev/null 2>&1 || need+=(baresip-core) # b2bua/, internal/e2e: a real softphone
command -v kamailio >/dev/null 2>&1 || need+=(kamailio)     # internal/e2e: a proxy that follows the redirect server's 302s
command -v python3  >/dev/null 2>&1 || need+=(python3)         # admin/: openapi.json is what scripts/gen-admin-openapi.py writes

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing test peers: ${need[*]}; install them (Debian: apt-get install ${need[*]}) or run make test as root" >&2
  exit 1
fi
echo "installing test peers: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, we only read files.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
