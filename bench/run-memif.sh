#!/usr/bin/env bash
# The generator against emse over a memif link (two DPDK processes, no kernel in the path).
#   bench/run-memif.sh [emse-bench options]
# Environment: UES (population, 1000), OUT (build/bench), EMSE_LCORES (0-1), GEN_LCORE (0),
#   EMSE_BIN (build/emse: another build to compare), EMSE_EXTRA (lines for emse's [emse] section), LISTENER_EXTRA (lines for each [listener], e.g. "cid = on"), KEEP=1 keeps emse's log,
#   POP (the generator's population file instead of a synthetic one) with KEYS_CONF (emse's
#   [keys] and later sections instead of the lab key file; bench/run-emks.sh sets both).
# emse serves 198.18.0.1 and 2001:db8::1 port 5684 with the lab key file; the generator's UEs are
# 198.19.0.0/16 (or 2001:db8:1::/96 with --server-ip 2001:db8::1).
set -euo pipefail
cd "$(dirname "$0")/.."
UES=${UES:-1000}
OUT=${OUT:-build/bench}
PE=emse-bench-srv$$
PG=emse-bench-gen$$
SOCK=/tmp/emse-bench-$$.memif
TMP=$(mktemp -d)
mkdir -p "$OUT"
KEYS=${POP:-$OUT/keys-$UES.txt}
[ -n "${POP:-}" ] || build/emse-bench -- --synthetic "$UES" --seed 1 --emse-id emse-1 --dump-keys "$KEYS"
{
	echo "[emse]"
	[ -n "${EMSE_EXTRA:-}" ] && printf '%s\n' "$EMSE_EXTRA"
	echo "[port]"
	echo "address = 198.18.0.1"
	echo "address = 2001:db8::1"
	echo "[listener v4]"
	echo "address = 198.18.0.1"
	echo "port = 5684"
	echo "emse_id = emse-1"
	[ -n "${LISTENER_EXTRA:-}" ] && printf '%s\n' "$LISTENER_EXTRA"
	echo "[listener v6]"
	echo "address = 2001:db8::1"
	echo "port = 5684"
	echo "emse_id = emse-1"
	[ -n "${LISTENER_EXTRA:-}" ] && printf '%s\n' "$LISTENER_EXTRA"
	if [ -n "${KEYS_CONF:-}" ]; then
		printf '%s\n' "$KEYS_CONF"
	else
		printf '[keys]\nsource = file\nfile = %s\n' "$KEYS"
	fi
} >"$TMP/emse.conf"

EMSE_PID=
cleanup() {
	if [ -n "$EMSE_PID" ]; then
		kill -TERM "$EMSE_PID" 2>/dev/null || true
		wait "$EMSE_PID" 2>/dev/null || true
	fi
	[ "${KEEP:-0}" = 1 ] && cp "$TMP/emse.log" "$OUT/emse-memif.log" 2>/dev/null
	rm -rf "$TMP" "$SOCK" "/var/run/dpdk/$PE" "/var/run/dpdk/$PG"
}
trap cleanup EXIT

# emse is the memif server and starts first.
"${EMSE_BIN:-build/emse}" -l "${EMSE_LCORES:-0-1}" --no-huge --no-pci -m 512 --file-prefix "$PE" \
	--log-level=lib.eal:error \
	--vdev "net_memif0,role=server,socket=$SOCK,socket-abstract=no" \
	-- --config "$TMP/emse.conf" >"$TMP/emse.log" 2>&1 &
EMSE_PID=$!
for _ in $(seq 300); do
	grep -q "emse: running" "$TMP/emse.log" && break
	kill -0 "$EMSE_PID" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q "emse: running" "$TMP/emse.log"; then
	echo "emse did not start:" >&2; cat "$TMP/emse.log" >&2; exit 1
fi

build/emse-bench -l "${GEN_LCORE:-0}" --no-huge --no-pci -m 256 --file-prefix "$PG" \
	--log-level=lib.eal:error \
	--vdev "net_memif0,role=client,socket=$SOCK,socket-abstract=no" \
	-- --server-port 5684 --keys "$KEYS" --emse-id emse-1 \
	--server-telemetry "/var/run/dpdk/$PE/dpdk_telemetry.v2" "$@"
