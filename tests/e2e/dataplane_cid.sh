#!/usr/bin/env bash
# Issue 13: a real RFC 9146 client (build/cid-client, mbedTLS 3.6) keeps its session when its
# address changes. With `cid = on` on the listeners: the handshake negotiates a CID (also when the
# client offers a zero-length one), records are echoed; the client then moves to a new source
# port (its own socket rebinding, and a carrier NAT - nftables masquerade in a NAT namespace - whose
# conntrack entries are flushed) and its next record is echoed to the new port with 0 new
# handshakes. A client that offers no CID works as before, and so does a CID offer that goes to
# wolfSSL (handshake_engine = wolfssl): answered without a CID.
#
# Topology: UE namespace (198.19.0.2) --veth-- NAT namespace (198.19.0.1 | 198.18.0.2 on the TAP,
# masquerade fully-random) --TAP-- emse (198.18.0.1). The direct checks run from the NAT namespace.
#
# Skips (exit 0, a "skip:" line) where cid-client is not built (make deps builds mbedTLS) or where
# emse's configuration does not know `cid` yet (the server side of issue 13 not merged).
source "$(dirname "$0")/lib.sh"
e2e_init cid
CID_CLIENT=${CID_CLIENT:-$BUILD/cid-client}
if [ ! -x "$CID_CLIENT" ]; then
	echo "skip: $CID_CLIENT not built (make deps builds mbedTLS 3.6, then make)"
	exit 0
fi
for tool in nft conntrack; do
	command -v "$tool" >/dev/null || { echo "skip: $tool missing (make deps installs it)"; exit 0; }
done

ID=e2m.ae47bf35@sensor-17@acme.example
KEY=48733b908aba6162f3cdb38d3055a6d7292367dda03e23fdae44e35c4e814dd6
printf '%s %s\n' "$ID" "$KEY" > "$TMP/keys.txt"
emse_config "[keys]
source = file
file = $TMP/keys.txt"
# CID on both listeners (a per-listener setting, issue 13).
sed -i 's/^emse_id = emse-1$/&\ncid = on/' "$TMP/emse.conf"
if ! "$EMSE_BIN" --no-huge --no-pci -m 64 --file-prefix "$E2E_PREFIX-chk" --log-level=lib.eal:error \
	-- --config "$TMP/emse.conf" --check > "$TMP/check.log" 2>&1; then
	rm -rf "/var/run/dpdk/$E2E_PREFIX-chk"
	if grep -q "cid" "$TMP/check.log"; then
		echo "skip: emse does not accept 'cid = on' yet: $(grep -m1 cid "$TMP/check.log")"
		exit 0
	fi
	echo "FAIL: the configuration is refused:"; cat "$TMP/check.log"; exit 1
fi
rm -rf "/var/run/dpdk/$E2E_PREFIX-chk"
emse_start || exit 1

client() { # namespace, then cid-client arguments; output in $TMP/client.out
	ip netns exec "$1" timeout 60 "$CID_CLIENT" --host 198.18.0.1 --port 5684 --psk-identity "$ID" \
		--psk-hex "$KEY" "${@:2}" > "$TMP/client.out" 2>&1
}
summary() { grep "^summary:" "$TMP/client.out"; }
wait_metric hs_started 0 || fail "the Prometheus endpoint does not answer"
hs0=$(metric hs_started); neg0=$(metric cid_negotiated); mv0=$(metric cid_addr_changes)
echo "before: hs_started $hs0, cid_negotiated $neg0, cid_addr_changes $mv0"

# 1. CID on, 4-octet client CID; the socket moves to a new port every 2 records. Captured, for
# the replay at the end (a real RFC 9146 client's session).
ip netns exec "$NS" tcpdump -Z root -i "$TAPIF" --immediate-mode -U -s 0 -w "$TMP/mbedtls-cid.pcap" \
	'udp dst port 5684' 2>"$TMP/tcpdump.err" &
TCPDUMP_PID=$!
E2E_PIDS+=("$TCPDUMP_PID")
for _ in $(seq 1 50); do grep -q "listening on" "$TMP/tcpdump.err" && break; sleep 0.1; done
check "cid-client --cid on --rebind-every 2: 6 records echoed over 3 ports" \
	client "$NS" --cid on --suite ccm8 --records 6 --rebind-every 2
sleep 0.5
kill "$TCPDUMP_PID" 2>/dev/null
wait "$TCPDUMP_PID" 2>/dev/null
CAPTURE_MAC=$EMSE_MAC
cat "$TMP/client.out"
check "a CID was negotiated (both directions)" grep -q "cid=yes peer_cid=[0-9a-f]\+ own_cid=[0-9a-f]\+ rebinds=2 handshakes=1" <(summary)
check "emse ran exactly 1 handshake for it" [ "$(metric hs_started)" -eq $((hs0 + 1)) ]
check "emse counted the CID (cid_negotiated)" [ "$(metric cid_negotiated)" -eq $((neg0 + 1)) ]
check "emse moved the session twice (cid_addr_changes)" [ "$(metric cid_addr_changes)" -eq $((mv0 + 2)) ]

# 2. A zero-length client CID (mbedTLS's default, nRF modems): emse still gives one.
hs0=$(metric hs_started); neg0=$(metric cid_negotiated)
check "cid-client --cid empty (GCM): echoed across a rebind" \
	client "$NS" --cid empty --suite gcm --records 4 --rebind-every 2
check "the server gave its CID to a client offering an empty one" grep -q "cid=yes peer_cid=[0-9a-f]\+ own_cid=- rebinds=1" <(summary)
check "1 handshake, with a CID" [ "$(metric hs_started)" -eq $((hs0 + 1)) -a "$(metric cid_negotiated)" -eq $((neg0 + 1)) ]

# 3. No CID offered: as today (no rebind: without a CID a new port is a new flow).
check "cid-client --cid off: handshake and echo as before" client "$NS" --cid off --records 3
check "no CID negotiated" grep -q "cid=no" <(summary)

# 4. Behind a carrier NAT whose binding is lost: conntrack flushed between two records.
UE=${NS:0:22}-ue
ip netns add "$UE"
ip link add "v$TAPIF" type veth peer name "u$TAPIF"
ip link set "v$TAPIF" netns "$NS"
ip link set "u$TAPIF" netns "$UE"
ip -n "$NS" addr add 198.19.0.1/24 dev "v$TAPIF"
ip -n "$NS" link set "v$TAPIF" up
ip -n "$UE" addr add 198.19.0.2/24 dev "u$TAPIF"
ip -n "$UE" link set "u$TAPIF" up
ip -n "$UE" link set lo up
ip -n "$UE" route add default via 198.19.0.1
in_ns sysctl -qw net.ipv4.ip_forward=1
# fully-random: every new mapping takes a random port, so the flush really moves the UE
in_ns nft -f - <<EOF
table ip cgnat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "$TAPIF" ip saddr 198.19.0.0/24 masquerade fully-random
	}
}
EOF
cleanup_ue() { ip netns pids "$UE" 2>/dev/null | xargs -r kill 2>/dev/null; ip netns del "$UE" 2>/dev/null; }
trap 'rc=$?; cleanup_ue; (exit $rc); e2e_cleanup' EXIT

hs0=$(metric hs_started); mv0=$(metric cid_addr_changes)
ip netns exec "$UE" timeout 60 "$CID_CLIENT" --host 198.18.0.1 --port 5684 --psk-identity "$ID" \
	--psk-hex "$KEY" --cid on --records 4 --interval-ms 1500 > "$TMP/nat.out" 2>&1 &
nat_pid=$!
for _ in $(seq 1 100); do grep -q "^echo 1:" "$TMP/nat.out" && break; sleep 0.1; done
in_ns conntrack -L -p udp --dport 5684 > "$TMP/ct.before" 2>/dev/null
in_ns conntrack -F 2>/dev/null
check "the NAT's conntrack entry is gone" [ "$(in_ns conntrack -L -p udp --dport 5684 2>/dev/null | wc -l)" -eq 0 ]
wait "$nat_pid"; nat_rc=$?
in_ns conntrack -L -p udp --dport 5684 > "$TMP/ct.after" 2>/dev/null
cat "$TMP/nat.out"
# the port emse sees is the reply direction's dport of the entry (the masqueraded source port)
nat_port() { grep -o "dport=[0-9]*" "$1" | sed -n 2p | cut -d= -f2; }
echo "NAT port before the flush: $(nat_port "$TMP/ct.before"), after: $(nat_port "$TMP/ct.after")"
check "behind the NAT: all 4 records echoed, the last 2 after the flush" [ "$nat_rc" -eq 0 ]
check "the NAT gave the UE a new port" [ "$(nat_port "$TMP/ct.before")" != "$(nat_port "$TMP/ct.after")" ]
check "0 new handshakes for the move (1 in all)" [ "$(metric hs_started)" -eq $((hs0 + 1)) ]
check "emse moved the session to the NAT's new port (cid_addr_changes)" [ "$(metric cid_addr_changes)" -eq $((mv0 + 1)) ]
check "no CID record dropped, no unknown CID" [ "$(metric cid_record_drop)" -eq 0 -a "$(metric cid_unknown)" -eq 0 ]

check "SIGTERM: emse exits 0" emse_stop

# 5. The wolfSSL path (docs/cid.md): wolfSSL 5.7.2 has no DTLS 1.2 CID, so a CID offer that goes
# to it (here handshake_engine = wolfssl, on a cid = on listener) is answered without the
# extension: the client runs without a CID, records echo as before, nothing is counted as a CID.
cleanup_ue
ip netns del "$NS" 2>/dev/null
sed -i 's/^\[emse\]$/&\nhandshake_engine = wolfssl/' "$TMP/emse.conf"
emse_start || exit 1
wait_metric hs_started 0 || fail "the Prometheus endpoint does not answer"
check "wolfSSL engine: cid-client --cid on: handshake and echo" \
	client "$NS" --cid on --suite ccm8 --records 3
cat "$TMP/client.out"
check "wolfSSL engine: the ServerHello had no connection_id (cid=no)" grep -q "cid=no" <(summary)
check "wolfSSL engine: the handshake was wolfSSL's (hs12_skip{engine_wolfssl})" \
	[ "$(metric hs12_skip engine_wolfssl)" -ge 1 ]
check "wolfSSL engine: no CID offer taken or answered" \
	[ "$(metric cid_offered)" -eq 0 -a "$(metric cid_negotiated)" -eq 0 -a "$(metric cid_sessions)" -eq 0 ]
check "SIGTERM: emse exits 0 (wolfSSL engine)" emse_stop

# The mbedTLS client's capture replayed (tools/emse-replay, a cid = on listener) twice under one
# seed: byte-identical output. Its cookies are stale in the replay, so no session is made and
# its tls12_cid records name none: each is cid_unknown, none answered.
printf 'emse-1 %s %s\n' "$ID" "$KEY" > "$TMP/replay-keys.txt"
sed 's/^emse_id = emse-1$/&\ncid = on/' "$E2E_ROOT/tests/pcap/replay.conf" |
	sed "s|^file = .*|file = $TMP/replay-keys.txt|" > "$TMP/replay.conf"
for run in a b; do
	"$E2E_ROOT/tools/emse-replay" "$TMP/mbedtls-cid.pcap" --config "$TMP/replay.conf" \
		--mac "$CAPTURE_MAC" --seed 7 --counters --out "$TMP/replay-$run.pcap" > "$TMP/replay-$run.counters"
	check "replay $run of the mbedTLS capture: emse replayed to the end (status $?)" [ -s "$TMP/replay-$run.counters" ]
done
check "replay: --seed 7 twice gives a byte-identical output" cmp "$TMP/replay-a.pcap" "$TMP/replay-b.pcap"
check "replay: the mbedTLS tls12_cid records are cid_unknown ($(grep '^cid_unknown ' "$TMP/replay-a.counters"))" \
	grep -q '^cid_unknown [1-9]' "$TMP/replay-a.counters"
e2e_done
