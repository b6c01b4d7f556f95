#!/usr/bin/env bash
# pcapjitter.sh FILE.pcap: the inter-packet jitter of the G.711 RTP streams in
# a capture, computed as sipsim computes it (simulators/sip/rtprx.go): for each
# audio packet whose sequence number follows the previous one of its stream,
# |arrival spacing - timestamp spacing / 8 kHz|. Times are the capture's (on
# loopback: when the sender's sendmsg handed the packet over), so this is an
# independent check of sipsim's "by kernel receive times" figure of the run.
set -euo pipefail
f=$1
tshark -r "$f" --enable-heuristic rtp_udp -Y 'rtp.p_type == 0 || rtp.p_type == 8' \
	-T fields -E separator=' ' -e frame.time_epoch -e udp.srcport -e udp.dstport -e rtp.ssrc -e rtp.seq -e rtp.timestamp 2>/dev/null |
	awk '{
		k = $2 " " $3 " " $4
		if ((k in seq) && ($5 - seq[k] + 65536) % 65536 == 1) {
			dts = ($6 - ts[k] + 4294967296) % 4294967296
			if (dts >= 2147483648) dts -= 4294967296
			j = ($1 - at[k]) - dts / 8000
			print (j < 0 ? -j : j) * 1000
		}
		seq[k] = $5; ts[k] = $6; at[k] = $1; n++
	} END { print n " packets" > "/dev/stderr" }' 2>"$f.count" | sort -g >"$f.jitter"
awk -v pk="$(cut -d' ' -f1 "$f.count")" '{ v[NR] = $1 } END {
	if (NR == 0) { print "capture: no RTP pairs"; exit }
	q = "0.5 0.9 0.99 0.999"; split(q, qs, " ")
	printf "jitter ms from the capture (tshark):"
	for (i = 1; i <= 4; i++) { idx = int(qs[i] * NR); if (idx < 1) idx = 1; printf "  p%s %.3f", qs[i] * 100, v[idx] }
	printf "  max %.3f  (%d packet pairs of %d packets)\n", v[NR], NR, pk }' "$f.jitter"
