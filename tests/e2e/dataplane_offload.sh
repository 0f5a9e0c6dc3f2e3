#!/usr/bin/env bash
# Issue 18: checksum offload on a port that really negotiates it. net_tap offers RX and TX
# IPv4/UDP checksum offload in rte_eth_dev_info; with it configured the PMD checks what it receives
# and marks the mbuf (RTE_MBUF_F_RX_L4_CKSUM_GOOD/BAD), and fills the checksums of mbufs flagged
# RTE_MBUF_F_TX_*_CKSUM: the work is done in software inside the PMD, but emse's side (the
# negotiation, the flags, l2/l3 lengths and the pseudo-header seed) is what a NIC sees.
# A real client (openssl s_client) handshakes and echoes through it:
#   offloads = auto: rx_csum_hw_good and tx_csum_hw count, the software counters stay 0; a
#     datagram with a wrong UDP checksum is refused by the port's verdict (rx_csum_hw_bad); the
#     echo reaching the client proves the checksums the port filled (its kernel drops bad ones);
#   offloads = off: the same exchange moves rx_csum_sw and tx_csum_sw, the hw counters stay 0,
#     and the wrong checksum is caught in software.
source "$(dirname "$0")/lib.sh"
e2e_init offload

ID=e2m.ae47bf35@sensor-17@acme.example
KEY=48733b908aba6162f3cdb38d3055a6d7292367dda03e23fdae44e35c4e814dd6
printf 'emse-1 %s %s\n' "$ID" "$KEY" > "$TMP/keys.txt"
KEYS="[keys]
source = file
file = $TMP/keys.txt"

s_client() { # suite addr msg
	(echo "$3"; sleep 1) | in_ns timeout 10 openssl s_client -dtls1_2 -connect "$2" \
		-psk_identity "$ID" -psk "$KEY" -cipher "$1" -quiet 2>"$TMP/s_client.err"
}
# One UDP datagram to the listener with its checksum off by one (a raw socket: the kernel would
# fill a right one).
bad_csum() {
	in_ns python3 - <<'EOF'
import socket, struct
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
src, dst, payload = socket.inet_aton("198.18.0.2"), socket.inet_aton("198.18.0.1"), b"\x16" * 40
udp = struct.pack("!HHHH", 40000, 5684, 8 + len(payload), 0) + payload
c = csum(src + dst + struct.pack("!BBH", 0, 17, len(udp)) + udp)
c = (c + 1) & 0xffff or 1
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
s.sendto(udp[:6] + struct.pack("!H", c) + udp[8:], ("198.18.0.1", 0))
EOF
}

# exchange NAME: two handshakes and echoes (IPv4 GCM, IPv6 CCM-8) and a wrong checksum.
exchange() {
	local name=$1 msg
	msg="hello-$name-$RANDOM"
	check "$name: openssl s_client GCM over IPv4: handshake and echo" \
		grep -q "$msg" <<<"$(s_client PSK-AES128-GCM-SHA256 198.18.0.1:5684 "$msg")"
	msg="hello-$name-v6-$RANDOM"
	check "$name: openssl s_client CCM-8 over IPv6: handshake and echo" \
		grep -q "$msg" <<<"$(s_client PSK-AES128-CCM8 "[2001:db8::1]:5684" "$msg")"
	check "$name: both sessions went compact" [ "$(metric compacted)" -ge 2 ]
	local drops
	drops=$(metric net_drop udp_csum)
	bad_csum
	check "$name: a wrong UDP checksum is dropped (net_drop{udp_csum})" \
		wait_metric net_drop $((drops + 1)) udp_csum
	for m in rx_csum_hw_good rx_csum_hw_bad rx_csum_sw tx_csum_hw tx_csum_sw; do
		echo "$name: $m = $(metric $m)"
	done
}

# ---- offloads = auto (the default) -----------------------------------------------------------
emse_config "$KEYS"
emse_start || exit 1
check "auto: the port negotiated RX and TX checksum offload" \
	grep -q "rx checksum offloaded, tx checksum offloaded" "$TMP/emse.log" ||
	grep "emse: port" "$TMP/emse.log"
exchange auto
check "auto: the port said good for received datagrams (rx_csum_hw_good > 0)" \
	[ "$(metric rx_csum_hw_good)" -gt 0 ]
check "auto: the port refused the wrong checksum (rx_csum_hw_bad = 1)" \
	[ "$(metric rx_csum_hw_bad)" -eq 1 ]
check "auto: no UDP checksum verified in software (rx_csum_sw = 0)" [ "$(metric rx_csum_sw)" -eq 0 ]
check "auto: the port filled what emse sent (tx_csum_hw > 0)" [ "$(metric tx_csum_hw)" -gt 0 ]
check "auto: no checksum filled in software (tx_csum_sw = 0)" [ "$(metric tx_csum_sw)" -eq 0 ]
check "auto: SIGTERM exits 0" emse_stop

# ---- offloads = off: the same exchange on the software path ------------------------------------
EMSE_PORT_CONF="offloads = off" emse_config "$KEYS"
ip netns del "$NS"
emse_start || exit 1
check "off: checksums in software" \
	grep -q "rx checksum software, tx checksum software" "$TMP/emse.log"
exchange off
check "off: software verified the handshakes' datagrams (rx_csum_sw > 0)" \
	[ "$(metric rx_csum_sw)" -gt 0 ]
check "off: software filled what emse sent (tx_csum_sw > 0)" [ "$(metric tx_csum_sw)" -gt 0 ]
check "off: no port verdict counted (rx_csum_hw_good + rx_csum_hw_bad = 0)" \
	[ $(( $(metric rx_csum_hw_good) + $(metric rx_csum_hw_bad) )) -eq 0 ]
check "off: nothing left to the port (tx_csum_hw = 0)" [ "$(metric tx_csum_hw)" -eq 0 ]
check "off: SIGTERM exits 0" emse_stop
e2e_done
