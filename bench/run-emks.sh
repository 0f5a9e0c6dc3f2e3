#!/usr/bin/env bash
# emse fetching keys from the reference EMKS over HTTP/2 mTLS, the UEs provisioned by emks-hss
# (Milenage AKA, pushes to the EMKS) exactly as the generator then plays them.
#   bench/run-emks.sh [emse-bench options]
# Scenarios (SCENARIO):
#   cold (default)  emse's key cache holds 256 keys (CACHE), the population cycles through 2000:
#                   every handshake misses and waits for a fetch from the EMKS (keep the
#                   concurrency well below CACHE: a key evicted before its parked handshake
#                   resumes fails that handshake)
#   warm            a first pass over the population fills emse's cache, then the measured run
#   rotate          warm, then during the measured run emks-hss re-authenticates the first ROTATE
#                   UEs (new RAND, key_id and e2m_key pushed to the EMKS) every ROTATE_EVERY s; the
#                   generator picks the new keys up from emks-hss's output (--reload-keys), so
#                   emse sees new key ids: cache misses and fetches under load
# Environment: UES (2000), CACHE (emse's cache_capacity: 256 cold, else 65536), OUT (build/bench),
# and those of
# bench/run-memif.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
UES=${UES:-2000}
OUT=${OUT:-build/bench}
SCENARIO=${SCENARIO:-cold}
T=$(mktemp -d /tmp/emse-bench-emks.XXXXXX)
EMKS_PID= ROT_PID=
cleanup() {
	if [ -n "$ROT_PID" ]; then kill "$ROT_PID" 2>/dev/null; wait "$ROT_PID" 2>/dev/null || true; fi
	if [ -n "$EMKS_PID" ]; then kill "$EMKS_PID" 2>/dev/null; wait "$EMKS_PID" 2>/dev/null || true; fi
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$OUT"
tools/make-certs.sh "$T/certs" emse-1 >/dev/null
build/emks --listen 127.0.0.1:0 --cert "$T/certs/emks.pem" --key "$T/certs/emks.key" \
	--ca "$T/certs/ca.pem" --db "$T/emks.db" --keys-per-ue 4 --expiry-s 3600 >"$T/emks.out" 2>"$T/emks.err" &
EMKS_PID=$!
for _ in $(seq 100); do grep -q 'emks: listening on' "$T/emks.out" && break; sleep 0.1; done
PORT=$(sed -n 's/^emks: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/emks.out")
[ -n "$PORT" ] || { echo "emks did not start:" >&2; cat "$T/emks.err" >&2; exit 1; }
URL=https://127.0.0.1:$PORT

# The population: IMSI, K, OPc, application id, EMSE_Id per line, reproducible.
python3 - "$UES" >"$T/population" <<'PY'
import hashlib, sys
for i in range(int(sys.argv[1])):
    h = hashlib.sha256(b"emse-bench-ue-%d" % i).hexdigest()
    print("00101%010d %s %s ue%07d@bench.example emse-1" % (i, h[:32], h[32:], i))
PY
t0=$(date +%s.%N)
build/emks-hss --population "$T/population" --emks "$URL" --cert "$T/certs/hss.pem" \
	--key "$T/certs/hss.key" --ca "$T/certs/ca.pem" --out "$T/ues.jsonl" >/dev/null
echo "emks-hss: $UES UEs provisioned in $(echo "$(date +%s.%N) - $t0" | bc) s" >&2

export POP=$T/ues.jsonl
export KEYS_CONF="[keys]
source = emks
cache_capacity = ${CACHE:-$([ "$SCENARIO" = cold ] && echo 256 || echo 65536)}
[emks]
url = $URL
cert = $T/certs/emse/emse-1.pem
key = $T/certs/emse/emse-1.key
ca = $T/certs/ca.pem"
hss() {
	build/emks-hss --population "$1" --emks "$URL" --cert "$T/certs/hss.pem" \
		--key "$T/certs/hss.key" --ca "$T/certs/ca.pem" --out "$T/ues.jsonl" "${@:2}" >/dev/null
}
if [ "$SCENARIO" = rotate ]; then
	head -n "${ROTATE:-200}" "$T/population" >"$T/rotating"
	(
		sleep "${WARM_S:-5}"
		while :; do
			hss "$T/rotating" --keys-only && echo "rotation: ${ROTATE:-200} UEs re-keyed at $(date +%T.%N)" >&2
			sleep "${ROTATE_EVERY:-2}"
		done
	) &
	ROT_PID=$!
	bench/run-memif.sh --warmup "${WARM_S:-5}" --reload-keys 0.2 "$@"
elif [ "$SCENARIO" = warm ]; then
	# one pass over every UE first, inside the same emse run: --warmup covers it
	bench/run-memif.sh --warmup "${WARM_S:-5}" "$@"
else
	bench/run-memif.sh "$@"
fi
