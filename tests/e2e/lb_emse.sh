#!/usr/bin/env bash
# Issue 15: a real emse node behind tools/lb/emse-lb.sh. A UE behind a carrier NAT (nftables
# masquerade) handshakes with the balancer's VIP and gets its data echoed by emse (CCM-8, GCM):
# the stateless rewrite leaves valid UDP checksums (emse verifies them on handshakes), and emse's
# answers reach the UE with the VIP as their source through the balancer (emse answers the MAC a
# datagram came from). The controller's ICMP check probes emse itself: emse stopped, its
# buckets are gone within the fall time. The balancer namespace is the one emse's TAP lives in.
source "$(dirname "$0")/lib.sh"
e2e_init lbemse
LB=$E2E_ROOT/tools/lb
id=$(( $$ % 10000 ))
C=lb$id-ue NAT=lb$id-nat VIP=198.18.102.1
E2E_LB_NS=$NS # emse-lb.sh down on exit (lib.sh)

ID=e2m.ae47bf35@sensor-17@acme.example
KEY=48733b908aba6162f3cdb38d3055a6d7292367dda03e23fdae44e35c4e814dd6
printf 'emse-1 %s %s\n' "$ID" "$KEY" > "$TMP/keys.txt"
emse_config "[keys]
source = file
file = $TMP/keys.txt"
emse_start || exit 1 # emse 198.18.0.1 on the TAP, whose kernel side (198.18.0.2) is in $NS

# UE 198.18.100.2 -> NAT (masquerade to 198.18.101.1) -> $NS (198.18.101.2, VIP) -> emse
e2e_netns "$C" "$NAT" || exit 1
e2e_veth "$C" eth0 "$NAT" in0 198.18.100.2/24 198.18.100.1/24 || exit 1
e2e_veth "$NAT" out0 "$NS" up0 198.18.101.1/24 198.18.101.2/24 || exit 1
ip -n "$C" route add default via 198.18.100.1
ip -n "$NAT" route add 198.18.102.0/24 via 198.18.101.2
e2e_carrier_nat "$NAT" out0 || exit 1
check "emse-lb.sh up with emse as node 1" \
	bash "$LB/emse-lb.sh" up --ns "$NS" --vip $VIP --node 1=198.18.0.1 --interval 0.5
lbcount() { # packets of one of the balancer's named counters
	ip netns exec "$NS" nft list counter ip emse_lb "$1" | awk '/packets/ { print $2 }'
}

for suite in PSK-AES128-CCM8 PSK-AES128-GCM-SHA256; do
	msg="hello-lb-$RANDOM"
	out=$( (echo "$msg"; sleep 2) | ip netns exec "$C" timeout 10 openssl s_client -dtls1_2 \
		-connect $VIP:5684 -psk_identity "$ID" -psk "$KEY" -cipher "$suite" -quiet 2>"$TMP/err")
	check "UE -> NAT -> VIP -> emse: $suite handshake and echo" grep -q "$msg" <<<"$out" ||
		tail -3 "$TMP/err"
done
check "both handshakes completed on emse" [ "$(metric hs_completed)" -ge 2 ]
check "no datagram dropped for its UDP checksum after the rewrite" [ "$(metric net_drop udp_csum)" -eq 0 ]
check "the balancer hashed the UE's datagrams ($(lbcount hashed))" [ "$(lbcount hashed)" -ge 8 ]
check "emse's answers left with the VIP ($(lbcount replies) rewritten)" [ "$(lbcount replies)" -ge 8 ]

check "emse stops (SIGTERM, exit 0)" emse_stop
# "absent" only from a listing that worked: a failed nft call must not pass for an empty map.
absent() { # map: emse's address is not in it
	local m
	m=$(ip netns exec "$NS" nft list map ip emse_lb "$1") && ! grep -q "198.18.0.1" <<<"$m"
}
for _ in $(seq 1 50); do absent buckets && break; sleep 0.1; done
check "the controller's ICMP check saw emse go: its buckets removed" absent buckets
check "and its CID entry" absent cid
e2e_done
