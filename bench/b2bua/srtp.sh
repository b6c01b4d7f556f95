#!/usr/bin/env bash
# srtp.sh — what SIP over TLS with SRTP costs the B2BUA: C concurrent
# screening calls (the run.sh scenario) over UDP with RTP, then over TLS
# with SRTP on both legs, ROUNDS times interleaved; callgate's CPU per call
# from /proc/<pid>/stat (utime+stime) over each step.
#
#   bench/b2bua/srtp.sh              # C=100 ROUNDS=2 HOLD=20s
#   C=200 ROUNDS=3 bench/b2bua/srtp.sh
#
# It makes its own self-signed certificate (openssl), demo store and
# configuration in a temporary directory, and the ports of callgate's
# defaults (5060/5061 redirect, 5070/5071 B2BUA, 5080 the subscriber).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
C=${C:-100}
ROUNDS=${ROUNDS:-2}
HOLD=${HOLD:-20s}
cd "$ROOT"
go build -o bin/ ./cmd/callgate ./cmd/sipsim
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$dir/key.pem" \
	-out "$dir/cert.pem" -days 2 -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
cat >"$dir/tls.yaml" <<YAML
sip: {tls: 127.0.0.1:5061, tls_cert_file: cert.pem, tls_key_file: key.pem}
b2bua: {tls: 127.0.0.1:5071, tls_cert_file: cert.pem, tls_key_file: key.pem, tls_ca_file: cert.pem,
        continue_route: "sip:{called}@127.0.0.1:5080"}
YAML
bin/callgate demo --config "$dir/tls.yaml" >/dev/null
bin/callgate serve --config "$dir/tls.yaml" >"$dir/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/5071) 2>/dev/null && break; sleep 0.1; done
tck=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }
step() {
	local name=$1 route=$2; shift 2
	bin/callgate route set sip-tier --routing-number +13035550999 --sip-uri "$route" --config "$dir/tls.yaml" >/dev/null
	local c0 c1 out
	c0=$(cpu)
	out=$(bin/sipsim load "$@" --called +13035550100 --calling +17205550123 --concurrency "$C" --calls "$C" --rate 50 --hold "$HOLD" 2>&1)
	c1=$(cpu)
	printf '%-5s %5.1f ms CPU per call  ' "$name" "$(echo "($c1-$c0)*1000/$tck/$C" | bc -l)"
	echo "$out" | awk '/^calls:/ {printf "%s ", $0} /^rtp received by the callers/ {printf "| %s ", $0} /^  jitter ms: / {print "| " $0; exit}'
}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$ROUNDS"); do
	step rtp sip:screen@127.0.0.1:5070 --server 127.0.0.1:5060
	step srtp sips:screen@127.0.0.1:5071 --transport tls --tls-cert "$dir/cert.pem" --tls-key "$dir/key.pem" --tls-ca "$dir/cert.pem" --srtp --server 127.0.0.1:5061
done
