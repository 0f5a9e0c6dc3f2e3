#!/usr/bin/env bash
# Issue 13: RFC 9146 Connection IDs on emse's own engine. cid-probe (tools/cid_probe.c, a client
# written from the RFCs) offers a zero-length CID and gets emse's; its records carry that CID.
# When its source port changes the session follows with 0 new handshakes; a replayed, a forged and
# an older authentic record from another port, and a record to an unknown CID, are answered
# nowhere and move nothing; each is counted. A client without a CID offer still works as before.
source "$(dirname "$0")/lib.sh"
e2e_init cid

ID=e2m.ae47bf35@sensor-17@acme.example
KEY=48733b908aba6162f3cdb38d3055a6d7292367dda03e23fdae44e35c4e814dd6
printf 'emse-1 %s %s\n' "$ID" "$KEY" > "$TMP/keys.txt"
emse_config "[keys]
source = file
file = $TMP/keys.txt"
sed -i '/^emse_id = emse-1$/a cid = on' "$TMP/emse.conf"
emse_start || exit 1

# what the client sends, for the replay below
ip netns exec "$NS" tcpdump -Z root -i "$TAPIF" --immediate-mode -U -s 0 -w "$TMP/cid.pcap" \
	'udp dst port 5684' 2>"$TMP/tcpdump.err" &
TCPDUMP_PID=$!
E2E_PIDS+=("$TCPDUMP_PID")
for _ in $(seq 1 50); do grep -q "listening on" "$TMP/tcpdump.err" && break; sleep 0.1; done
out=$(in_ns timeout 60 "$BUILD/cid-probe" --dst 198.18.0.1 --port 5684 --identity "$ID" --psk "$KEY")
sleep 0.5
kill "$TCPDUMP_PID" 2>/dev/null
wait "$TCPDUMP_PID" 2>/dev/null
echo "$out" | sed 's/^/  probe: /'
check "cid-probe: every step as expected" grep -q "cid-probe: 0 failed" <<<"$out"
check "one handshake, answered with our CID" [ "$(metric cid_negotiated)" -eq 1 ]
check "  and only one handshake for the rebinding" [ "$(metric hs_started)" -eq 1 ]
check "a CID session is counted" [ "$(metric cid_sessions)" -eq 1 ]
check "one address change (the rebind)" [ "$(metric cid_addr_changes)" -eq 1 ]
check "the replayed record: cid_record_drop{replay}" [ "$(metric cid_record_drop replay)" -ge 1 ]
check "the forged record: cid_record_drop{bad_tag}" [ "$(metric cid_record_drop bad_tag)" -ge 1 ]
check "the older record: cid_addr_refused" [ "$(metric cid_addr_refused)" -ge 1 ]
check "the unknown CID: cid_unknown" [ "$(metric cid_unknown)" -ge 1 ]

# A client without a CID offer: as before, on a cid = on listener.
msg="hello-nocid-$RANDOM"
out=$( (echo "$msg"; sleep 2) | in_ns timeout 10 openssl s_client -dtls1_2 -connect 198.18.0.1:5684 \
	-psk_identity "$ID" -psk "$KEY" -cipher PSK-AES128-CCM8 -quiet 2>/dev/null)
check "openssl s_client without CID: handshake and echo" grep -q "$msg" <<<"$out"
# (-1: the endpoint did not answer in time on a loaded machine: ask again)
for _ in $(seq 1 20); do v=$(metric cid_negotiated) && [ "$v" -ge 0 ] && break; sleep 0.2; done
check "  no CID for it (cid_negotiated $v)" [ "$v" -eq 1 ]

check "SIGTERM: emse exits 0" emse_stop

# The capture replayed (tools/emse-replay, a cid = on listener): deterministic under a seed. Its
# cookies are stale in the replay, so no session is made and the tls12_cid records name no live
# session of the replaying emse: every one is cid_unknown, none is answered.
sed 's/^emse_id = emse-1$/&\ncid = on/' "$E2E_ROOT/tests/pcap/replay.conf" |
	sed "s|^file = .*|file = $TMP/keys.txt|" > "$TMP/replay.conf"
for run in 7a 7b 8; do
	"$E2E_ROOT/tools/emse-replay" "$TMP/cid.pcap" --config "$TMP/replay.conf" --mac "$EMSE_MAC" \
		--seed "${run%[ab]}" --counters --out "$TMP/cid-$run.out.pcap" > "$TMP/cid-$run.counters"
	check "replay $run: emse replayed to the end (status $?)" [ -s "$TMP/cid-$run.counters" ]
done
check "replay: --seed 7 twice gives a byte-identical output" cmp "$TMP/cid-7a.out.pcap" "$TMP/cid-7b.out.pcap"
check "replay: the tls12_cid records are cid_unknown ($(grep '^cid_unknown ' "$TMP/cid-7a.counters"))" \
	grep -q '^cid_unknown [1-9]' "$TMP/cid-7a.counters"
check "replay: no session" bash -c "! grep -q '^hs_completed [1-9]' '$TMP/cid-7a.counters'"

# Two workers: a CID names its session's worker, so a UE whose new port hashes to the other
# worker is steered back by its CID (4 probes, 4 rebinds to random ports).
ip netns del "$NS" 2>/dev/null
EMSE_LCORES="--lcores 0@0,1@1,2@1" emse_start || exit 1
ok=0
for i in 1 2 3 4; do
	in_ns timeout 60 "$BUILD/cid-probe" --dst 198.18.0.1 --port 5684 --identity "$ID" --psk "$KEY" \
		| grep -q "cid-probe: 0 failed" && ok=$((ok + 1))
done
check "two workers: 4 probes, every step as expected ($ok)" [ "$ok" -eq 4 ]
check "two workers: 4 address changes" [ "$(metric cid_addr_changes)" -eq 4 ]
check "two workers: datagrams steered between them" [ "$(metric steered_in)" -gt 0 ]
check "SIGTERM: emse exits 0 (two workers)" emse_stop
e2e_done
