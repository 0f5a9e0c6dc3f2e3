#!/usr/bin/env bash
# Issue 6 forward mode: a backend in the namespace (proxy-v2-sink, with its own PROXY v2 parser)
# receives each decrypted datagram behind a PROXY v2 header carrying the UE's address and port
# and its PSK identity (TLV 0xE0 app id, 0xE1 key id); its answer reaches the UE through the
# DTLS session. The backend's MAC is resolved by ARP (IPv4) and by emse's own Neighbour
# Solicitation, which the namespace's kernel answers (IPv6; no backend_mac configured). A backend
# that is down: counted, not fatal.
source "$(dirname "$0")/lib.sh"
e2e_init forward
ID=e2m.ae47bf35@sensor-17@acme.example
KEY=48733b908aba6162f3cdb38d3055a6d7292367dda03e23fdae44e35c4e814dd6
printf '%s %s\n' "$ID" "$KEY" > "$TMP/keys.txt"
cat > "$TMP/emse.conf" <<CONF
[port]
address = 198.18.0.1
address = 2001:db8::1
[listener v4]
address = 198.18.0.1
port = 5684
emse_id = emse-1
mode = forward
backend = 198.18.0.2
backend_port = 7000
[listener v6]
address = 2001:db8::1
port = 5684
emse_id = emse-1
mode = forward
backend = 2001:db8::2
backend_port = 7000
[listener nobody]
address = 198.18.0.1
port = 5685
emse_id = emse-1
mode = forward
backend = 198.18.0.9
backend_port = 7000
[keys]
source = file
file = $TMP/keys.txt
[telemetry]
prometheus = 127.0.0.1:$PROM_PORT
CONF
emse_start || exit 1

# started with ip netns exec directly (not through a shell function) so that $! is the sink
ip netns exec "$NS" "$BUILD/proxy-v2-sink" --listen 198.18.0.2:7000 > "$TMP/sink4.out" 2>"$TMP/sink4.err" &
E2E_PIDS+=($!)
ip netns exec "$NS" "$BUILD/proxy-v2-sink" --listen "[2001:db8::2]:7000" > "$TMP/sink6.out" 2>"$TMP/sink6.err" &
E2E_PIDS+=($!)
sleep 0.5

talk() { # addr msg...: one DTLS session sending each message, a second apart
	local addr=$1; shift
	( for m in "$@"; do echo "$m"; sleep 1; done; sleep 1 ) | in_ns timeout 15 openssl s_client \
		-dtls1_2 -connect "$addr" -psk_identity "$ID" -psk "$KEY" -cipher PSK-AES128-CCM8 \
		-quiet 2>/dev/null
}
# The first datagram may find the backend's MAC unknown (ARP asked, datagram dropped, counted).
out=$(talk 198.18.0.1:5684 first-v4 second-v4)
cat "$TMP/sink4.out"
line=$(grep 'payload="second-v4' "$TMP/sink4.out" | head -1)
check "backend got the plaintext behind a PROXY v2 DGRAM header" grep -q '^PROXY DGRAM ' <<<"$line"
check "PROXY v2 source is the UE (198.18.0.2, its port)" grep -Eq ' src=198\.18\.0\.2:[0-9]+ ' <<<"$line"
check "PROXY v2 destination is the listener" grep -q ' dst=198.18.0.1:5684 ' <<<"$line"
check "TLV 0xE0 carries the app id" grep -q 'tlv=e0:"sensor-17@acme.example"' <<<"$line"
check "TLV 0xE1 carries the key id" grep -q 'tlv=e1:ae47bf35' <<<"$line"
check "the backend's answer reached the UE through DTLS" grep -q "ACK:second-v4" <<<"$out"
check "ARP resolved the backend" [ "$(metric arp_requests)" -ge 1 ]
check "forwarded and answered datagrams counted" [ "$(metric fwd_rx)" -ge 1 ]

# The same over IPv6: the first datagram may find the backend's MAC unknown (NS sent, dropped).
check "IPv6: no Neighbour Solicitation before a datagram needs one" \
	[ "$(metric nd_requests)" -eq 0 ]
out=$(talk "[2001:db8::1]:5684" one-v6 two-v6)
cat "$TMP/sink6.out"
line=$(grep 'payload="two-v6' "$TMP/sink6.out" | head -1)
check "IPv6: backend got the PROXY v2 DGRAM header and plaintext" grep -q '^PROXY DGRAM ' <<<"$line"
check "IPv6: PROXY v2 with the UE's IPv6 address" grep -Eq ' src=\[2001:db8::2\]:[0-9]+ dst=\[2001:db8::1\]:5684 ' <<<"$line"
check "IPv6: the answer reached the UE" grep -q "ACK:two-v6" <<<"$out"
check "IPv6: emse solicited the backend's MAC (NS)" [ "$(metric nd_requests)" -ge 1 ]
check "IPv6: the kernel's advertisement was learnt (NA)" [ "$(metric nd_learnt)" -ge 1 ]
check "IPv6: no advertisement refused" \
	[ "$(( $(metric net_drop nd_malformed) + $(metric net_drop nd_no_lla) ))" -eq 0 ]

# A backend host that is down (198.18.0.9 answers no ARP): each datagram is counted and
# dropped; the session and emse go on, and ARP is asked again at most every 100 ms.
before=$(metric dp_drop backend_unresolved)
out=$(talk 198.18.0.1:5685 to-nobody-1 to-nobody-2 to-nobody-3)
check "unreachable backend: datagrams counted as backend_unresolved" \
	[ "$(metric dp_drop backend_unresolved)" -ge $((before + 3)) ]
check "unreachable backend: the session itself completed" [ "$(metric hs_failed)" -eq 0 ]
# The backend process gone (its port closed): forwarded, nothing comes back, nothing breaks.
kill "${E2E_PIDS[0]}"; sleep 0.3
before=$(metric fwd_tx)
out=$(talk 198.18.0.1:5684 to-closed-port)
check "backend port closed: forwarded anyway, no answer" [ "$(metric fwd_tx)" -gt "$before" ]
check "emse still answers after the backend went away" in_ns ping -c1 -W2 198.18.0.1
curl -s "http://127.0.0.1:$PROM_PORT/metrics" | grep -E "net_drop|dp_drop" | grep -v " 0$"
check "SIGTERM: emse exits 0" emse_stop
e2e_done
