#!/usr/bin/env bash
# Regenerates the real captures under tests/pcap/ with the project's own set-up: emse on a TAP
# port (tests/e2e/lib.sh) with the MAC and addresses of tests/pcap/replay.conf, tcpdump on the
# TAP's kernel side in the namespace, real OpenSSL s_client sessions with the lab key.
#   handshake.pcap  one PSK-AES128-CCM8 handshake, one line echoed, close_notify (at EOF)
#   sessions.pcap   three complete sessions (CCM8, GCM, CBC), two lines echoed in each
#   hostile.pcap    build/pcap-craft hostile (no root needed), labels in hostile.labels
# Then writes each one's expected replay report, NAME.expected: the counters of
# `tools/emse-replay NAME.pcap --seed 7 --counters` (tests/e2e/pcap_replay.sh compares them).
# Needs root for the real captures.
# Usage: tests/pcap/make-captures.sh [--expected-only] [OUTDIR]
#   --expected-only  keep the captures, rewrite hostile.pcap/.labels and every NAME.expected
source "$(dirname "$0")/../e2e/lib.sh"
ONLY_EXPECTED=0
[ "${1:-}" = --expected-only ] && { ONLY_EXPECTED=1; shift; }
e2e_init pcapmk
OUT=$(cd "${1:-$E2E_ROOT/tests/pcap}" && pwd)

expected() {
	"$BUILD/pcap-craft" hostile "$OUT/hostile.pcap" --labels "$OUT/hostile.labels" || exit 1
	for c in hostile handshake sessions; do
		"$E2E_ROOT/tools/emse-replay" "$OUT/$c.pcap" --seed 7 --counters \
			--out "$TMP/$c.out.pcap" > "$OUT/$c.expected" || fail "expected report for $c"
		echo "$OUT/$c.expected: $(wc -l < "$OUT/$c.expected") counters"
	done
}
if [ $ONLY_EXPECTED -eq 1 ]; then
	expected
	e2e_done
fi
ID=e2m.ae47bf35@sensor-17@acme.example
KEY=48733b908aba6162f3cdb38d3055a6d7292367dda03e23fdae44e35c4e814dd6

emse_config "[keys]
source = file
file = $E2E_ROOT/conf/lab-keys.txt"
sed -i 's/^\[port\]$/[port]\nmac = 02:00:5e:00:00:01/' "$TMP/emse.conf"
emse_start || exit 1
# net_tap gives its kernel side the port's MAC too: the client side gets its own, so that the
# captured frames are addressed as on a real link (client 02:00:5e:00:00:02 -> emse :01).
in_ns ip link set "$TAPIF" address 02:00:5e:00:00:02
in_ns ip neigh flush dev "$TAPIF"

# capture NAME: tcpdump on the TAP while the commands that follow run (capture_end stops it)
capture() {
	# ip netns exec execs tcpdump: $! is tcpdump itself, which SIGINT stops cleanly
	ip netns exec "$NS" tcpdump -Z root -i "$TAPIF" --immediate-mode -U -s 0 -w "$TMP/$1.pcap" \
		'arp or icmp or udp port 5684' 2>"$TMP/tcpdump.err" &
	TCPDUMP_PID=$!
	E2E_PIDS+=("$TCPDUMP_PID")
	for _ in $(seq 1 50); do grep -q "listening on" "$TMP/tcpdump.err" && break; sleep 0.1; done
	CAPTURE=$1
}
capture_end() {
	sleep 0.5
	kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID"
	cp "$TMP/$CAPTURE.pcap" "$OUT/$CAPTURE.pcap"
	echo "$OUT/$CAPTURE.pcap: $(tcpdump -r "$OUT/$CAPTURE.pcap" 2>/dev/null | wc -l) frames"
}
# s_client SUITE LINE...: one session; each line is sent once the previous one came back (a
# FIFO paces it, however long the handshake takes), then EOF: close_notify. Prints the echoes.
s_client() {
	local suite=$1 l pid; shift
	rm -f "$TMP/in" "$TMP/out"; mkfifo "$TMP/in"; : > "$TMP/out"
	in_ns timeout 60 openssl s_client -dtls1_2 -connect 198.18.0.1:5684 -psk_identity "$ID" \
		-psk "$KEY" -cipher "$suite" -quiet -no_ign_eof < "$TMP/in" > "$TMP/out" \
		2>>"$TMP/s_client.err" &
	pid=$!
	exec 3>"$TMP/in"
	for l in "$@"; do
		echo "$l" >&3
		for _ in $(seq 1 300); do grep -q "^$l" "$TMP/out" && break; sleep 0.1; done
	done
	exec 3>&-
	wait $pid
	cat "$TMP/out"
}
trap '' PIPE # a dead s_client fails the checks, it does not kill the script

capture handshake
out=$(s_client PSK-AES128-CCM8 "hello-pcap-1")
check "handshake.pcap: s_client echo" grep -q hello-pcap-1 <<<"$out"
capture_end

capture sessions
n=0
for suite in PSK-AES128-CCM8 PSK-AES128-GCM-SHA256 PSK-AES128-CBC-SHA256; do
	n=$((n + 1))
	out=$(s_client "$suite" "line-$n-a" "line-$n-b")
	check "sessions.pcap: $suite echo" grep -q "line-$n-b" <<<"$out"
done
capture_end

check "emse exits 0" emse_stop
rm -rf "/var/run/dpdk/$E2E_PREFIX" # DPDK's runtime directory
expected
e2e_done
