#!/usr/bin/env bash
# Every scenario once, briefly, into one table: build/bench/summary.md (markdown, for the README),
# the JSON of each run beside it, and the sweep plots. About 4 minutes; needs root.
#   bench/run-all.sh            DURATION (4) per run, SKIP_EMKS=1 skips the EMKS scenarios
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build/bench}
D=${DURATION:-4}
mkdir -p "$OUT"
SUM=$OUT/summary.md
{
	echo "| scenario | handshakes/s | p50 / p99 ms | failures | other | server per busy core-s |"
	echo "|---|---|---|---|---|---|"
} >"$SUM"

row() { # row NAME JSON [EXTRA]
	local j=$2
	if [ ! -s "$j" ]; then echo "| $1 | no result | | | | |" >>"$SUM"; return; fi
	jq -r --arg n "$1" --arg x "${3:-}" '"| \($n) | \(.handshakes_per_s|floor) | \((.handshake_latency_us.p50/1000*100|floor)/100) / \((.handshake_latency_us.p99/1000*100|floor)/100) | \(.failures) | \($x) | " +
		(if .server_handshakes_per_busy_core_s then "\(.server_handshakes_per_busy_core_s|floor) hs" else "" end) +
		(if .server_records_in_per_busy_core_s then ", \(.server_records_in_per_busy_core_s|floor) records" else "" end) + " |"' "$j" >>"$SUM"
}
peer_cpu() { jq -r '"peer: \(.handshakes_per_cpu_s) hs per CPU-s"' "$OUT/peer-$1.json" 2>/dev/null; }
dg() { jq -r '"\(.dgram_echoed) echoes, \((.dgram_echoed/.seconds)|floor)/s, rtt p50 \(.rtt_us.p50|floor) us"' "$1" 2>/dev/null; }
run() { # run NAME SCRIPT ARGS...: one scenario, its JSON in $OUT/all-NAME.json
	local name=$1 script=$2; shift 2
	echo "== $name" >&2
	rm -f "$OUT/all-$name.json"
	local warm=(--warmup 0.5)
	[ "${NOWARM:-0}" = 1 ] && warm=()   # the EMKS scenarios set their own warm-up
	"$script" "$@" --duration "$D" "${warm[@]}" --progress 0 --json "$OUT/all-$name.json" \
		>"$OUT/all-$name.txt" 2>&1 || echo "   (failed, see $OUT/all-$name.txt)" >&2
}

run tap-wolfssl bench/run-tap.sh wolfssl -- --concurrency 16
row "tap -> peer-wolfssl-server, C=16" "$OUT/all-tap-wolfssl.json" "$(peer_cpu wolfssl)"
run tap-coap bench/run-tap.sh coap -- --concurrency 16
row "tap -> coap-server-openssl, C=16" "$OUT/all-tap-coap.json"
for c in 1 16 64 256; do
	run memif-c$c bench/run-memif.sh --concurrency $c
	row "memif -> emse, warm, C=$c" "$OUT/all-memif-c$c.json"
done
EMSE_EXTRA="handshake_engine = wolfssl" run memif-wolfssl bench/run-memif.sh --concurrency 64
row "memif -> emse, warm, C=64, wolfSSL engine" "$OUT/all-memif-wolfssl.json"
run memif-gcm bench/run-memif.sh --concurrency 16 --suite gcm
row "memif -> emse, warm, C=16, GCM" "$OUT/all-memif-gcm.json"
run memif-v6 bench/run-memif.sh --concurrency 16 --server-ip 2001:db8::1
row "memif -> emse, IPv6, C=16" "$OUT/all-memif-v6.json"
run memif-open bench/run-memif.sh --rate 2000 --concurrency 4096
row "memif -> emse, open loop 2000/s" "$OUT/all-memif-open.json"
run memif-dgram bench/run-memif.sh --concurrency 16 --datagrams 1000 --window 16 --size 100
row "memif -> emse, 1000 x 100 B per session, window 16" "$OUT/all-memif-dgram.json" "$(dg "$OUT/all-memif-dgram.json")"
run memif-blast bench/run-memif.sh --concurrency 16 --datagrams 5000 --window 32 --size 100 --blast
row "memif -> emse, --blast 5000 x 100 B per session, window 32" "$OUT/all-memif-blast.json" "$(dg "$OUT/all-memif-blast.json")"
run memif-spoof bench/run-memif.sh --concurrency 16 --spoof-rate 20000
row "memif -> emse, C=16 + 20k/s spoofed ClientHellos" "$OUT/all-memif-spoof.json" \
	"$(jq -r '"\(.spoofed_client_hellos) spoofed"' "$OUT/all-memif-spoof.json" 2>/dev/null)"
if [ "${SKIP_EMKS:-0}" != 1 ]; then
	NOWARM=1 UES=2000 run emks-cold bench/run-emks.sh --concurrency 32
	row "memif -> emse <- EMKS, cold cache, C=32" "$OUT/all-emks-cold.json"
	NOWARM=1 SCENARIO=rotate UES=1000 WARM_S=3 ROTATE=100 run emks-rotate bench/run-emks.sh --concurrency 16
	row "memif -> emse <- EMKS, rotating 100 UEs every 2 s, C=16" "$OUT/all-emks-rotate.json" \
		"$(jq -r '"\(.population_reloads) reloads"' "$OUT/all-emks-rotate.json" 2>/dev/null)"
fi
build/bench-floor 100000 >"$OUT/floor.txt"
build/bench-inproc 10000 >"$OUT/inproc.txt"
# Ratios, CCM-8, per core-second: emse (busy worker) against the floor, wolfSSL's own loop
# (server share, pooled) and the kernel-socket peer (CPU time).
floor=$(awk '/^PSK-AES128-CCM-8:/ {print $6}' "$OUT/floor.txt")
inproc=$(awk '/^PSK-AES128-CCM-8 +pooled/ {print $4}' "$OUT/inproc.txt")
peer=$(jq -r '.handshakes_per_cpu_s // empty' "$OUT/peer-wolfssl.json" 2>/dev/null)
native=$(awk '/^PSK-AES128-CCM-8 +emse hs12/ {print $5}' "$OUT/inproc.txt")
emse=$(jq -r '.server_handshakes_per_busy_core_s // empty | floor' "$OUT/all-memif-c64.json" 2>/dev/null)
emse_w=$(jq -r '.server_handshakes_per_busy_core_s // empty | floor' "$OUT/all-memif-wolfssl.json" 2>/dev/null)
{
	echo
	echo "Handshakes per core-second, CCM-8: emse (C=64, busy worker) ${emse:-?}, with the wolfSSL"
	echo "engine ${emse_w:-?}; floor ${floor:-?}; in memory, no network: hs12.c ${native:-?}, wolfSSL's"
	echo "own loop (server share, pooled) ${inproc:-?}; kernel-socket peer-wolfssl-server ${peer:-?}."
	if [ -n "$emse" ] && [ -n "$floor" ] && [ -n "$inproc" ]; then
		echo "emse = $(echo "scale=2; $emse / $floor" | bc) x the floor, $(echo "scale=2; $emse / $inproc" | bc) x wolfSSL's own loop${peer:+, $(echo "scale=2; $emse / $peer" | bc) x the kernel-socket peer}."
	fi
} >>"$SUM"
{
	echo
	echo "Peers in the same run (CPU time):"
	echo '```'
	cat "$OUT/floor.txt" "$OUT/inproc.txt"
	echo '```'
	echo
	echo "Generated $(date -u +%FT%TZ) on $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)."
} >>"$SUM"
cat "$SUM"
