#!/usr/bin/env bash
# The generator against a kernel-socket DTLS-PSK peer over net_tap: the tap's kernel side is moved
# into a network namespace of its own (198.18.0.1/24, UEs routed via the generator at 198.18.0.2),
# so nothing touches the host's network. Needs root.
#   bench/run-tap.sh [peer] -- [emse-bench options]
#   peer: wolfssl (build/peer-wolfssl-server, default) | coap (coap-server-openssl)
# Environment: NS (namespace, emb$$), UES (population, 1000), OUT (build/bench), PEER_ARGS (more
# peer options, e.g. --pool). The namespace also has 2001:db8::1/64 (UEs 2001:db8:1::/64 via
# 2001:db8::2): pass --server-ip 2001:db8::1 to the generator for IPv6.
set -euo pipefail
cd "$(dirname "$0")/.."
PEER=${1:-wolfssl}; shift || true
[ "${1:-}" = "--" ] && shift
NS=${NS:-emb$$}
TAP=embt$$
UES=${UES:-1000}
OUT=${OUT:-build/bench}
PREFIX=gen$$
mkdir -p "$OUT"
KEYS=$OUT/keys-$UES.txt
build/emse-bench -- --synthetic "$UES" --seed 1 --emse-id emse-1 --dump-keys "$KEYS"

PEER_PID= GEN_PID=
cleanup() {
	[ -n "$GEN_PID" ] && kill "$GEN_PID" 2>/dev/null && wait "$GEN_PID" 2>/dev/null || true
	[ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null && wait "$PEER_PID" 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "/var/run/dpdk/$PREFIX"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up

case $PEER in
wolfssl)
	PORT=4433
	ip netns exec "$NS" build/peer-wolfssl-server --listen :: --port $PORT --keys "$KEYS" \
		${PEER_ARGS:-} >"$OUT/peer-$PEER.json" 2>"$OUT/peer-$PEER.log" &
	PEER_PID=$!;;
coap)
	# libcoap takes one ASCII PSK for every identity (-k): give all UEs that key
	PORT=5684
	PSK=e2m-bench-psk-0123456789abcdef01
	HEX=$(printf %s "$PSK" | od -An -tx1 | tr -d ' \n')
	awk -v k="$HEX" '{print $1, k}' "$KEYS" >"$OUT/keys-coap.txt"
	KEYS=$OUT/keys-coap.txt
	ip netns exec "$NS" coap-server-openssl -A 0.0.0.0 -p 5683 -k "$PSK" -h e2m -v 0 \
		${PEER_ARGS:-} >"$OUT/peer-$PEER.log" 2>&1 &
	PEER_PID=$!;;
*) echo "peer: wolfssl or coap" >&2; exit 2;;
esac

# The tap appears when the generator's EAL starts; the PMD opens its queues by the interface's
# name, so it may only leave our namespace once the port is started (--ready-file); then the
# generator waits for ARP while we move and configure it.
READY=$(mktemp -u /tmp/emse-bench-ready.XXXXXX)
build/emse-bench --no-huge -m 256 --file-prefix "$PREFIX" -l 0 --no-pci --log-level=warning \
	--vdev "net_tap0,iface=$TAP" -- --server-port $PORT --keys "$KEYS" --arp-timeout 20 \
	--ready-file "$READY" "$@" &
GEN_PID=$!
for _ in $(seq 300); do [ -e "$READY" ] && break; kill -0 "$GEN_PID" 2>/dev/null || break; sleep 0.1; done
rm -f "$READY"
ip link set "$TAP" netns "$NS"
ip -n "$NS" addr add 198.18.0.1/24 dev "$TAP"
ip -n "$NS" link set "$TAP" up
ip -n "$NS" route add 198.19.0.0/16 via 198.18.0.2 dev "$TAP"
ip -n "$NS" addr add 2001:db8::1/64 dev "$TAP" nodad
ip -n "$NS" route add 2001:db8:1::/64 via 2001:db8::2 dev "$TAP"
wait "$GEN_PID"; rc=$?; GEN_PID=
kill -INT "$PEER_PID" 2>/dev/null; wait "$PEER_PID" 2>/dev/null || true; PEER_PID=
exit $rc
