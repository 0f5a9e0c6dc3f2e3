#!/usr/bin/env bash
# An IPv6 cluster peer's MAC by emse's own Neighbour Solicitation (docs/cluster.md "The peer's
# MAC"), without the two-node set-up of cluster.sh (IPv4, behind tools/lb): one emse with two
# IPv6 peers, the namespace's kernel (2001:db8::2, which answers the solicitation) and an address
# nobody has. The worker's timer asks for both; the kernel's advertisement is learnt (nd_learnt),
# and the kernel learnt emse's MAC from the solicitation's source link-layer address option.
# Forwarding itself is cluster.sh's; the resolution path is unit-tested in test_cluster_fwd.c.
source "$(dirname "$0")/lib.sh"
e2e_init clusternd
ID=e2m.ae47bf35@sensor-17@acme.example
KEY=48733b908aba6162f3cdb38d3055a6d7292367dda03e23fdae44e35c4e814dd6
printf '%s %s\n' "$ID" "$KEY" > "$TMP/keys.txt"
head -c 32 /dev/urandom > "$TMP/cluster.key"
cat > "$TMP/emse.conf" <<CONF
[port]
address = 198.18.0.1
address = 2001:db8::1
[listener v6]
address = 2001:db8::1
port = 5684
emse_id = emse-1
cid = on
[keys]
source = file
file = $TMP/keys.txt
[cluster]
node_id = 1
cluster_port = 7946
key_file = $TMP/cluster.key
peer = 2 2001:db8::2 7946
peer = 3 2001:db8::99 7946
[telemetry]
prometheus = 127.0.0.1:$PROM_PORT
CONF
emse_start || exit 1

check "the timer solicited both IPv6 peers (nd_requests)" wait_metric nd_requests 2
check "the kernel's advertisement was learnt (nd_learnt)" wait_metric nd_learnt 1
check "no ARP for IPv6 peers" [ "$(metric arp_requests)" -eq 0 ]
ip -n "$NS" -6 neigh show 2001:db8::1 dev "$TAPIF"
check "the kernel learnt emse's MAC from the solicitation's option" \
	grep -qi "lladdr $EMSE_MAC" <<<"$(ip -n "$NS" -6 neigh show 2001:db8::1 dev "$TAPIF")"
# the peer nobody answers for is asked again (at most every 100 ms), the known one every second
before=$(metric nd_requests)
sleep 2
check "unanswered and known peers asked again ($before -> $(metric nd_requests))" \
	[ "$(metric nd_requests)" -ge $((before + 3)) ]
check "no advertisement refused" \
	[ "$(( $(metric net_drop nd_malformed) + $(metric net_drop nd_no_lla) ))" -eq 0 ]
curl -s "http://127.0.0.1:$PROM_PORT/metrics" | grep -E "nd_|arp_|net_drop" | grep -v " 0$"
check "SIGTERM: emse exits 0" emse_stop
e2e_done
