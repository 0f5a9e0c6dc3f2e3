#!/usr/bin/env bash
# emse-lb.sh: a virtual address (VIP) in front of N emse nodes with Linux nftables (docs/cluster.md).
#
#   emse-lb.sh up --vip ADDR [--port 5684] --node ID=ADDR[@PROBE] [--node ...] [--ns NETNS]
#                 [--buckets 256] [--check icmp|tcp:PORT|http:PORT/PATH] [--interval 1]
#                 [--fall 2] [--rise 2] [--assign minmove|modulo] [--no-ctl]
#   emse-lb.sh down [--ns NETNS]
#   emse-lb.sh status [--ns NETNS]
#
# Datagrams to VIP:port are steered statelessly, per packet, before routing (no conntrack):
#   - a tls12_cid record (UDP payload byte 0 = 25) goes to the node whose id is the CID's first
#     octet (payload byte 11: type 1, version 2, epoch 2, sequence 6, then the CID);
#   - everything else to bucket jhash(source address . source port) mod B, whose node the
#     controller (emse-lb-ctl) keeps.
# Replies from the nodes (source node:port) leave with the VIP as their source; the balancer is
# the nodes' next hop (emse answers the MAC a datagram came from).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TABLE=emse_lb

die() { echo "emse-lb: $*" >&2; exit 2; }
usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

cmd=${1:-}; [ -n "$cmd" ] || usage; shift
NETNS="" VIP="" PORT=5684 BUCKETS=256 CHECK=icmp INTERVAL=1 FALL=2 RISE=2 ASSIGN=minmove CTL=1
NODES=()
while [ $# -gt 0 ]; do
	case $1 in
	--ns) NETNS=$2; shift ;;
	--vip) VIP=$2; shift ;;
	--port) PORT=$2; shift ;;
	--node) NODES+=("$2"); shift ;;
	--buckets) BUCKETS=$2; shift ;;
	--check) CHECK=$2; shift ;;
	--interval) INTERVAL=$2; shift ;;
	--fall) FALL=$2; shift ;;
	--rise) RISE=$2; shift ;;
	--assign) ASSIGN=$2; shift ;;
	--no-ctl) CTL=0 ;;
	*) usage ;;
	esac
	shift
done

in_ns() { if [ -n "$NETNS" ]; then ip netns exec "$NETNS" "$@"; else "$@"; fi; }
RUN=/run/emse-lb/${NETNS:-default}
is_v4() { [[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; }

ctl_stop() {
	local pid
	pid=$(cat "$RUN/ctl.pid" 2>/dev/null) || return 0
	# Only the controller we started: its pid and its command line, never by name.
	if grep -q emse-lb-ctl "/proc/$pid/cmdline" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -f "$RUN/ctl.pid"
}

up() {
	is_v4 "$VIP" || die "--vip: an IPv4 address is required (got '$VIP')"
	[[ $PORT =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "--port: 1..65535"
	[[ $BUCKETS =~ ^[0-9]+$ ]] && [ "$BUCKETS" -ge 1 ] && [ "$BUCKETS" -le 65536 ] ||
		die "--buckets: 1..65536"
	[ ${#NODES[@]} -ge 1 ] || die "--node ID=ADDR: at least one node"
	local addrs=() n
	for n in "${NODES[@]}"; do
		local a=${n#*=}; a=${a%%@*}
		[[ $n =~ ^([0-9]{1,3})=(.+)$ ]] && [ "${BASH_REMATCH[1]}" -le 255 ] && is_v4 "$a" ||
			die "--node: ID=IPV4ADDR[@PROBEADDR] with ID 0..255 (got '$n')"
		addrs+=("$a")
	done
	local naddrs; naddrs=$(IFS=,; echo "${addrs[*]}")
	mkdir -p "$RUN"
	ctl_stop
	in_ns sysctl -qw net.ipv4.ip_forward=1
	# The VIP is local so that the balancer answers ARP for it on the client side; the rewrite
	# happens in prerouting, before the route lookup would deliver it locally.
	in_ns ip addr replace "$VIP/32" dev lo
	in_ns ip link set lo up
	# One transaction: the table is replaced whole (delete of a missing table is tolerated by
	# creating it first). Counters per path for `status`.
	in_ns nft -f - <<-EOF
	table ip $TABLE
	delete table ip $TABLE
	table ip $TABLE {
		# CID octet -> node. Node ids of live nodes only: a CID naming a dead node falls through
		# to the hash (a live node then counts it as an unknown CID; the UE re-handshakes).
		map cid { typeof @th,152,8 : ip daddr; }
		# bucket -> node, kept by emse-lb-ctl. (typeof jhash would do without the mark, but
		# nft 1.0.6 crashes listing such a map.)
		map buckets { type mark : ipv4_addr; }
		set nodes { type ipv4_addr; elements = { $naddrs } }
		counter cid_steered {}
		counter hashed {}
		counter no_node {}
		counter replies {}
		chain pre {
			type filter hook prerouting priority raw; policy accept;
			# Stateless: each datagram is steered on its own, so a CID record always meets its
			# node whatever an earlier datagram with the same addresses did, and a bucket that
			# moves moves at once (docs/cluster.md, "Why no conntrack").
			ip daddr $VIP udp dport $PORT notrack goto steer
			ip saddr @nodes udp sport $PORT notrack
		}
		chain steer {
			@th,64,8 25 ip daddr set @th,152,8 map @cid counter name cid_steered accept
			meta mark set jhash ip saddr . udp sport mod $BUCKETS
			ip daddr set meta mark map @buckets counter name hashed accept
			counter name no_node drop
		}
		chain post {
			type filter hook postrouting priority raw; policy accept;
			ip saddr @nodes udp sport $PORT ip saddr set $VIP counter name replies
		}
	}
	EOF
	cat > "$RUN/config" <<-EOF
	VIP=$VIP
	PORT=$PORT
	BUCKETS=$BUCKETS
	NODES="${NODES[*]}"
	EOF
	local args=(--table "$TABLE" --buckets "$BUCKETS" --check "$CHECK" --interval "$INTERVAL"
		--fall "$FALL" --rise "$RISE" --assign "$ASSIGN" --state "$RUN/state.json")
	for n in "${NODES[@]}"; do args+=(--node "$n"); done
	# The first round fills the maps before `up` returns: traffic flows at once.
	if ! in_ns python3 "$HERE/emse-lb-ctl" "${args[@]}" --once 2>>"$RUN/ctl.log"; then
		tail -1 "$RUN/ctl.log" >&2
		in_ns nft delete table ip $TABLE 2>/dev/null || true
		die "the controller's first round failed (log: $RUN/ctl.log); table removed"
	fi
	if [ "$CTL" = 1 ]; then
		in_ns setsid python3 "$HERE/emse-lb-ctl" "${args[@]}" </dev/null >>"$RUN/ctl.log" 2>&1 &
		echo $! > "$RUN/ctl.pid"
	fi
	echo "emse-lb: VIP $VIP:$PORT -> ${#NODES[@]} nodes, $BUCKETS buckets${NETNS:+ in netns $NETNS}"
}

down() {
	ctl_stop
	in_ns nft delete table ip $TABLE 2>/dev/null || true
	if [ -f "$RUN/config" ]; then
		local vip; vip=$(sed -n 's/^VIP=//p' "$RUN/config")
		in_ns ip addr del "$vip/32" dev lo 2>/dev/null || true
	fi
	rm -rf "$RUN"
}

status() {
	in_ns nft list table ip $TABLE >/dev/null 2>&1 || { echo "emse-lb: no table${NETNS:+ in $NETNS}"; return 1; }
	local pid; pid=$(cat "$RUN/ctl.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "controller: pid $pid"
	else echo "controller: not running"; fi
	[ -f "$RUN/config" ] && sed 's/^/  /' "$RUN/config"
	in_ns nft -j list map ip $TABLE buckets | python3 -c '
import json, sys, collections
els = [e for m in json.load(sys.stdin)["nftables"] for e in m.get("map", {}).get("elem", [])]
c = collections.Counter(v for _, v in els)
print("buckets per node:", ", ".join("%s %d" % kv for kv in sorted(c.items())) or "none")'
	in_ns nft list map ip $TABLE cid | sed -n 's/^[[:space:]]*elements = /cid map: /p'
	in_ns nft list counters table ip $TABLE | awk '/counter/ {n=$2} /packets/ {print "counter " n ": " $2 " packets"}'
	[ -f "$RUN/state.json" ] && echo "state: $RUN/state.json"
	return 0
}

case $cmd in
up) up ;;
down) down ;;
status) status ;;
*) usage ;;
esac
