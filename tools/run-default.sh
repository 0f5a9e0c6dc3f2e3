#!/usr/bin/env bash
# `make run`: the whole chain on one machine, no NIC. The reference EMKS on loopback, the HSS
# pushes keys for conf/population.txt, emse fetches them over HTTP/2 mTLS and terminates DTLS on
# a TAP port whose kernel side is in the namespace emse-run (198.18.0.2 <-> emse 198.18.0.1).
# Ctrl-C stops everything and removes the namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build C=build/certs RUN=build/run NS=emse-run IF=emserun0
mkdir -p "$RUN"
tools/make-certs.sh "$C" emse-1 emse-2 >/dev/null

pids=()
cleanup() {
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	echo "run: stopped"
}
trap cleanup EXIT INT TERM

rm -f "$RUN"/emks.db*
"$B/emks" --listen 127.0.0.1:0 --cert "$C/emks.pem" --key "$C/emks.key" --ca "$C/ca.pem" \
	--db "$RUN/emks.db" > "$RUN/emks.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q "listening on" "$RUN/emks.log" && break; sleep 0.1; done
port=$(grep -o "listening on [0-9.]*:[0-9]*" "$RUN/emks.log" | sed 's/.*://')
[ -n "$port" ] || { cat "$RUN/emks.log"; exit 1; }
echo "run: emks on 127.0.0.1:$port"
"$B/emks-hss" --population conf/population.txt --emks "https://127.0.0.1:$port" \
	--cert "$C/hss.pem" --key "$C/hss.key" --ca "$C/ca.pem" --out "$RUN/ue.jsonl" >/dev/null
echo "run: HSS pushed keys for $(wc -l < "$RUN/ue.jsonl") UEs (what each UE holds: $RUN/ue.jsonl)"

cat > "$RUN/emse.conf" <<CONF
[emse]
handshake_timeout_ms = 10000
[port]
address = 198.18.0.1
address = 2001:db8::1
[listener emse-1]
address = 198.18.0.1
port = 5684
emse_id = emse-1
emks_cert = $C/emse/emse-1.pem
emks_key = $C/emse/emse-1.key
[listener emse-2]
address = 198.18.0.1
port = 5685
emse_id = emse-2
emks_cert = $C/emse/emse-2.pem
emks_key = $C/emse/emse-2.key
[keys]
source = emks
[emks]
url = https://127.0.0.1:$port
ca = $C/ca.pem
[telemetry]
prometheus = 127.0.0.1:9464
CONF
ip netns del "$NS" 2>/dev/null || true
"$B/emse" -l 0-1 --no-huge --no-pci -m 512 --file-prefix emse-run --log-level=lib.eal:error \
	--vdev "net_tap0,iface=$IF" -- --config "$RUN/emse.conf" &
pids+=($!)
for _ in $(seq 100); do ip link show "$IF" >/dev/null 2>&1 && break; sleep 0.1; done
sleep 0.5
ip netns add "$NS"
ip link set "$IF" netns "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" addr add 198.18.0.2/24 dev "$IF"
ip -n "$NS" addr add 2001:db8::2/64 dev "$IF" nodad
ip -n "$NS" link set "$IF" up

id=$(jq -r 'select(.imsi=="001010000000001") | .emse["emse-1"].psk_identity' "$RUN/ue.jsonl")
key=$(jq -r 'select(.imsi=="001010000000001") | .emse["emse-1"].e2m_key' "$RUN/ue.jsonl")
cat <<MSG

run: emse is up. Connect as UE 001010000000001 to EMSE emse-1 (port 5684; emse-2 is 5685):
  ip netns exec $NS openssl s_client -dtls1_2 -connect 198.18.0.1:5684 \\
      -psk_identity '$id' -psk $key -cipher PSK-AES128-CCM8
  (type a line: it comes back echoed). Or the UE's own derivation:
  build/e2m-keytool psk --ck <ck> --ik <ik> --rand <rand> --app-id <app id> --emse-id emse-1
  with ck, ik, rand from $RUN/ue.jsonl.
Counters: curl -s 127.0.0.1:9464/metrics   DPDK telemetry: dpdk-telemetry.py -f emse-run
Ctrl-C to stop.
MSG
wait "${pids[1]}"
