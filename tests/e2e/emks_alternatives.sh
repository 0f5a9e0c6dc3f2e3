#!/usr/bin/env bash
# Issue 16, SPEC.md section 6, with real processes: the reference EMKS (--imsi-emse emse-1),
# emks-hss with a population of a hash-mode UE and two rand-mode UEs, emse through a TAP port and
# openssl s_client in a namespace.
# Run 1, the EMSE translates ([keys] translate = emse, imsi_map): a hash-mode UE keyed by
# `e2m-keytool psk --key-id hash` and a rand-mode UE get keys by IMSI on emse-1; emse-2, not allowed
# IMSIs, gets 403 IMSI_NOT_ALLOWED and the handshake fails (key_forbidden); an identity missing
# from the map fails with unknown_psk_identity and no EMKS request; /emse/imsi_map/reload adds it
# without dropping the open session; a malformed map line stops emse with exit 2 naming file:line.
# Run 2, the EMKS translates, [emks] register_emse = yes on emse-3: registered once, then requests
# omit emseId and get keys, also after an EMKS restart (the binding and the hash mode are in its
# database); re-authentication in hash mode keeps the newest 4 keys: the newest and the oldest of
# them work, the one before fails (no_key). Run 3, all three at once: a hash-mode UE by IMSI from
# a registered EMSE without emseId. No log shows a full IMSI.
source "$(dirname "$0")/lib.sh"
e2e_init emksalt

for b in emks emks-hss emse e2m-keytool; do
	[ -x "$BUILD/$b" ] || { echo "emks_alternatives: $BUILD/$b is not built"; exit 1; }
done
for t in jq openssl curl python3; do
	command -v $t >/dev/null || { echo "emks_alternatives: $t is missing"; exit 1; }
done

C=$TMP/certs
"$E2E_ROOT/tools/make-certs.sh" "$C" emse-1 emse-2 emse-3 >/dev/null || { echo "make-certs failed"; exit 1; }

EMKS_DB=$TMP/emks.db
EMKS_ARGS=(--imsi-emse emse-1 --log-requests)
# EMSE-facing requests the EMKS has logged so far.
emks_retrievals() { grep -c 'POST /nemks-e2m/v1/retrieve-e2mkey' "$TMP/emks.err"; }

UEH=001010000000011 UER=001010000000012 UEX=001010000000013
cat >"$TMP/population" <<EOF
# imsi k opc app_ids emse_ids key_id_mode
$UEH 465b5ce8b199b49faa5f0a2ee238a6bc cd63cb71954a9f4e48a5994e37a02baf hash-1@acme.example emse-1,emse-2,emse-3 hash
$UER 0396eb317b6d1c36f19c1c84cd6ffd16 53c15671c60a4b731c55b4a441c0bde2 rand-2@acme.example emse-1,emse-2,emse-3 rand
$UEX fec86ba6eb707ed08905757b1bb44b8f 1006020f0a478bf6b699f15c062e42b3 late-3@acme.example emse-1
EOF
# The UE's side, from its CK/IK alone: e2m-keytool psk --key-id hash (line 1 identity, 2 key).
keytool_hash() { # IMSI EMSE_ID
	"$BUILD/e2m-keytool" psk --ck "$(ue "$1" .ck)" --ik "$(ue "$1" .ik)" \
		--app-id "$(ue "$1" .app_id)" --emse-id "$2" --key-id hash
}

fails() { metric hs_failed "$1"; }
# A DPDK telemetry command on emse's socket.
telemetry() {
	python3 - "/var/run/dpdk/$E2E_PREFIX/dpdk_telemetry.v2" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.recv(4096)
s.send(sys.argv[2].encode())
print(s.recv(65536).decode())
EOF
}

write_conf() { # write_conf KEYS-AND-EMKS-SECTION LISTENER...
	local keys=$1; shift
	{
		echo "[emse]"
		echo "handshake_timeout_ms = 5000"
		echo "parked_timeout_ms = 3000"
		echo "[port]"
		echo "address = 198.18.0.1"
		local port=5684
		for id in "$@"; do
			echo "[listener $id]"
			echo "address = 198.18.0.1"
			echo "port = $port"
			echo "emse_id = $id"
			echo "emks_cert = $C/emse/$id.pem"
			echo "emks_key = $C/emse/$id.key"
			port=$((port + 1))
		done
		echo "$keys"
		echo "[telemetry]"
		echo "prometheus = 127.0.0.1:$PROM_PORT"
	} >"$TMP/emse.conf"
}

start_emks || exit 1
hss || { echo "emks-hss failed:"; cat "$TMP/hss.out"; exit 1; }

echo "== the hash key id, from the UE's side"
mapfile -t H < <(keytool_hash $UEH emse-1)
check "e2m-keytool --key-id hash gives the identity emks-hss pushed for (hash mode)" \
	[ "${H[0]}" = "$(ident $UEH emse-1)" -a "${H[1]}" = "$(key $UEH emse-1)" ]
check "... and its key id is the SHA-256 of e2m_int_key, not RAND's last 4 octets" \
	[ "$(ue $UEH .key_id)" = "$(ue $UEH .e2m_int_key | xxd -r -p | openssl dgst -sha256 -r | cut -c1-8)" \
	  -a "$(ue $UEH .key_id)" != "$(ue $UEH .rand | cut -c25-32)" ]

echo "== run 1: the EMSE translates (emse-1 may send IMSIs, emse-2 may not)"
printf '# app id -> imsi\nhash-1@acme.example %s\nrand-2@acme.example\t%s\n' $UEH $UER >"$TMP/imsi.map"
write_conf "[keys]
source = emks
translate = emse
imsi_map = $TMP/imsi.map
[emks]
url = https://127.0.0.1:$EMKS_PORT
ca = $C/ca.pem" emse-1 emse-2
emse_start || exit 1
check "hash-mode UE keyed by e2m-keytool: handshake through the EMKS, by IMSI" \
	hs 5684 "${H[0]}" "${H[1]}"
check "rand-mode UE by IMSI" hs 5684 "$(ident $UER emse-1)" "$(key $UER emse-1)"
check "... both fetches went by IMSI (imsi_translated 2)" [ "$(metric imsi_translated)" -eq 2 ]
b=$(fails key_forbidden)
mapfile -t H2 < <(keytool_hash $UEH emse-2)
hs 5685 "${H2[0]}" "${H2[1]}"
check "emse-2, not allowed IMSIs: the handshake fails (unknown_psk_identity alert)" \
	grep -q "unknown psk identity" "$TMP/s_client.err"
check "... counted key_forbidden (EMKS 403 IMSI_NOT_ALLOWED)" \
	wait_metric hs_failed $((b + 1)) key_forbidden
b=$(fails no_key); r=$(emks_retrievals); k=$(metric keyprov_requests)
hs 5684 "$(ident $UEX emse-1)" "$(key $UEX emse-1)"
check "an identity missing from the map: unknown_psk_identity" \
	grep -q "unknown psk identity" "$TMP/s_client.err"
check "... counted (imsi_unmapped 1, hs_failed no_key +1)" \
	[ "$(metric imsi_unmapped)" -eq 1 -a "$(fails no_key)" -eq $((b + 1)) ]
check "... and no EMKS request (emse: keyprov_requests $k, emks log: $r retrievals)" \
	[ "$(metric keyprov_requests)" -eq "$k" -a "$(emks_retrievals)" -eq "$r" ]

# A session held open across the reload: it must keep working after it.
mkfifo "$TMP/held.in"
(in_ns timeout 30 openssl s_client -dtls1_2 -connect 198.18.0.1:5684 -psk_identity "${H[0]}" \
	-psk "${H[1]}" -cipher PSK-AES128-CCM8 -quiet <"$TMP/held.in" >"$TMP/held.out" 2>&1) &
exec 7>"$TMP/held.in"
echo "before-reload" >&7
for _ in $(seq 50); do grep -q before-reload "$TMP/held.out" && break; sleep 0.1; done
check "a session is open before the reload" grep -q before-reload "$TMP/held.out"
printf 'late-3@acme.example %s\n' $UEX >>"$TMP/imsi.map"
out=$(telemetry /emse/imsi_map/reload)
check "/emse/imsi_map/reload: ok, 3 entries ($out)" \
	grep -q '"ok":1,"entries":3' <<<"$out"
echo "after-reload" >&7
for _ in $(seq 50); do grep -q after-reload "$TMP/held.out" && break; sleep 0.1; done
check "... the open session still echoes after the reload" grep -q after-reload "$TMP/held.out"
exec 7>&-
check "... and the identity added to the map now gets its key" \
	hs 5684 "$(ident $UEX emse-1)" "$(key $UEX emse-1)"
echo "rand-2@acme.example 0010" >>"$TMP/imsi.map"
out=$(telemetry /emse/imsi_map/reload)
check "a broken map on reload is refused, naming file and line; the old table stays" \
	grep -q "imsi.map:5: imsi" <<<"$out" || echo "$out"
check "... (imsi_map_entries still 3)" [ "$(metric imsi_map_entries)" -eq 3 ]
check "SIGTERM: emse exits 0" emse_stop
ip netns del "$NS" 2>/dev/null

# Bad input at start-up: exit 2 and file:line.
"$EMSE_BIN" -l 0-1 --no-huge --no-pci -m 512 --file-prefix "$E2E_PREFIX" --log-level=lib.eal:error \
	--vdev "net_tap0,iface=$TAPIF" -- --config "$TMP/emse.conf" >"$TMP/emse-bad.log" 2>&1
rc=$?
exit2_named() { [ "$rc" -eq 2 ] && grep -q "\[keys\] imsi_map: $TMP/imsi.map:5: imsi" "$TMP/emse-bad.log"; }
check "a malformed map line at start-up: exit 2 ($rc) naming $TMP/imsi.map:5" exit2_named
cat "$TMP/emse-bad.log" >>"$TMP/emse.log.all"
cat "$TMP/emse.log" >>"$TMP/emse.log.all"

echo "== run 2: the EMKS translates, emse-3 registers its EMSE_Id once"
write_conf "[keys]
source = emks
[emks]
url = https://127.0.0.1:$EMKS_PORT
ca = $C/ca.pem
register_emse = yes" emse-3
emse_start || exit 1
check "emse registered emse-3 at start-up" grep -q "register_emse: emse-3 registered" "$TMP/emse.log"
check "... the EMKS logged one register-emse (204)" \
	[ "$(grep -c 'emse-3 POST /nemks-e2m/v1/register-emse -> 204' "$TMP/emks.err")" -eq 1 ]
mapfile -t H3 < <(keytool_hash $UEH emse-3)
check "hash-mode UE, EMKS translating, emseId omitted: handshake" hs 5684 "${H3[0]}" "${H3[1]}"
check "rand-mode UE, emseId omitted: handshake" \
	hs 5684 "$(ident $UER emse-3)" "$(key $UER emse-3)"
echo "-- EMKS restarted: binding and key id mode come back from its database"
stop_emks
start_emks || exit 1
# Five AKA runs: K0 (never used, so not in emse's cache), then the four the EMKS keeps with it.
declare -a IDS KEYS
for i in 0 1 2 3 4; do
	hss --only $UEH --keys-only || fail "emks-hss re-authentication $i"
	mapfile -t T < <(keytool_hash $UEH emse-3)
	IDS[$i]=${T[0]} KEYS[$i]=${T[1]}
done
check "each hash-mode re-authentication gave a new key id" \
	[ "${IDS[1]}" != "${IDS[0]}" -a "${IDS[4]}" != "${IDS[3]}" ]
check "newest key (hash mode, emseId omitted, after the EMKS restart)" hs 5684 "${IDS[4]}" "${KEYS[4]}"
check "the oldest of the last 4 still works" hs 5684 "${IDS[1]}" "${KEYS[1]}"
b=$(fails no_key)
hs 5684 "${IDS[0]}" "${KEYS[0]}"
check "the one before them does not (no_key)" wait_metric hs_failed $((b + 1)) no_key
check "SIGTERM: emse exits 0" emse_stop
stop_emks
line=$(grep '^emks: .* without emseId' "$TMP/emks.err" | tail -1)
echo "$line"
n=$(sed -n 's/.* \([0-9]*\) without emseId.*/\1/p' <<<"$line")
check "the EMKS served requests without emseId after its restart ($n)" [ "${n:-0}" -ge 2 ]
line1=$(grep '^emks: .* by imsi' "$TMP/emks.err" | head -1)
echo "$line1"
check "the first EMKS process (run 1 and run 2 before the restart): IMSI requests, emse-2's refused" \
	grep -qE '^emks: [1-9][0-9]* by imsi \([1-9][0-9]* refused\)' <<<"$line1"

echo "== run 3: all three alternatives at once (hash key id, the EMSE translates, registered)"
cat "$TMP/emse.log" >>"$TMP/emse.log.all"
ip netns del "$NS" 2>/dev/null
start_emks || exit 1
hss --only $UEH --keys-only || fail "emks-hss re-authentication for run 3"
mapfile -t H1 < <(keytool_hash $UEH emse-1)
write_conf "[keys]
source = emks
translate = emse
imsi_map = $TMP/imsi.map.ok
[emks]
url = https://127.0.0.1:$EMKS_PORT
ca = $C/ca.pem
register_emse = yes" emse-1
head -4 "$TMP/imsi.map" >"$TMP/imsi.map.ok"
emse_start || exit 1
check "emse-1 registered" grep -q "register_emse: emse-1 registered" "$TMP/emse.log"
check "hash-mode UE, by IMSI, emseId omitted: handshake" hs 5684 "${H1[0]}" "${H1[1]}"
check "SIGTERM: emse exits 0" emse_stop
stop_emks
line=$(grep '^emks: .* by imsi' "$TMP/emks.err" | tail -1)
echo "$line"
check "the EMKS: one register-emse, then the request by IMSI without emseId" \
	grep -qE '^emks: 1 by imsi \(0 refused\), 1 register-emse, 1 without emseId' <<<"$line"

echo "== no full IMSI in any log"
cat "$TMP/emse.log" >>"$TMP/emse.log.all"
leaks=0
for imsi in $UEH $UER $UEX; do
	for f in "$TMP/emse.log.all" "$TMP/emks.err" "$TMP/emks.out"; do
		grep -q "$imsi" "$f" && { echo "$imsi in $f"; leaks=$((leaks + 1)); }
	done
done
check "emse and emks logs: no IMSI in full" [ $leaks -eq 0 ]
check "... the EMKS request log shows the subscribers path masked" \
	grep -q "subscribers/\*\*\*\*\*\*\*\*\*\*\*0011 -> 204" "$TMP/emks.err"
e2e_done
