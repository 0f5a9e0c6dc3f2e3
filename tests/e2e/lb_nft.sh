#!/usr/bin/env bash
# Issue 15, the balancer alone (no emse): tools/lb/emse-lb.sh in a balancer namespace in front of
# three stand-in nodes (a UDP echo answering with its node name), clients behind a carrier-NAT
# namespace (nftables masquerade). Checks: non-CID flows spread over every node; a tls12_cid
# record (byte 0 = 25) reaches the node named by byte 11 from any source port, also after the
# NAT's conntrack is flushed and the client moves to new ports; a node that fails its health
# check loses only its own buckets (no flow on another node moves) and takes an even share back
# when it returns. Prints the fraction of flows moved on leave and join, and the same for the
# naive bucket-mod-N assignment (docs/cluster.md). FLOWS=N sets the number of flows (1000).
source "$(dirname "$0")/lib.sh"
e2e_init lbnft
LB=$E2E_ROOT/tools/lb
FLOWS=${FLOWS:-1000} # up to 10000 (join(1) compares the ports as text)
export LC_ALL=C
id=$(( $$ % 10000 ))
C=lb$id-ue NAT=lb$id-nat L=lb$id-lb
N1=lb$id-n1 N2=lb$id-n2 N3=lb$id-n3
ALLNS=("$C" "$NAT" "$L" "$N1" "$N2" "$N3")
VIP=198.18.102.1 PORT=5684

E2E_LB_NS=$L # emse-lb.sh down on exit (lib.sh)

e2e_netns "${ALLNS[@]}" || exit 1
# UE (198.18.100.2) -> carrier NAT (masquerades to 198.18.101.1) -> balancer (VIP 198.18.102.1)
# -> bridge 198.18.103.0/24 -> nodes 198.18.103.11-13, whose next hop is the balancer.
e2e_veth "$C" eth0 "$NAT" in0 198.18.100.2/24 198.18.100.1/24 || exit 1
e2e_veth "$NAT" out0 "$L" up0 198.18.101.1/24 198.18.101.2/24 || exit 1
ip -n "$C" route add default via 198.18.100.1
ip -n "$NAT" route add 198.18.102.0/24 via 198.18.101.2
e2e_carrier_nat "$NAT" out0 || exit 1
ip -n "$L" link add br0 type bridge
ip -n "$L" addr add 198.18.103.1/24 dev br0
ip -n "$L" link set br0 up
k=0
for n in "$N1" "$N2" "$N3"; do
	k=$((k + 1))
	e2e_veth "$n" eth0 "$L" "nd$k" "198.18.103.1$k/24" || exit 1
	ip -n "$L" link set "nd$k" master br0
	ip -n "$n" route add default via 198.18.103.1
	ip netns exec "$n" python3 "$LB/lb-udp" echo --name "node$k" --port $PORT &
	E2E_PIDS+=($!)
done

NODES=(--node 1=198.18.103.11 --node 2=198.18.103.12 --node 3=198.18.103.13)
check "emse-lb.sh up: table and controller" \
	bash "$LB/emse-lb.sh" up --ns "$L" --vip $VIP --port $PORT "${NODES[@]}" --buckets 256
STATE=/run/emse-lb/$L/state.json
bash "$LB/emse-lb.sh" status --ns "$L"

# Bucket counts per node from the kernel's map, as "1:85 2:86 3:85".
buckets() {
	ip netns exec "$L" nft -j list map ip emse_lb buckets | python3 -c '
import json, sys, collections
els = [e for m in json.load(sys.stdin)["nftables"] for e in m.get("map", {}).get("elem", [])]
c = collections.Counter(v.rsplit(".", 1)[1][-1] for _, v in els)
print(" ".join("%s:%d" % kv for kv in sorted(c.items())))'
}
probe() { # out-file [probe args]: one flow per client source port
	local out=$1; shift
	ip netns exec "$C" python3 "$LB/lb-udp" probe --dst $VIP --port $PORT "$@" > "$out"
}
SPORTS=20000-$((20000 + FLOWS - 1))
share() { awk -v n="$2" '$2 == n' "$1" | wc -l; } # flows answered by node n
answered() { awk '$2 != "-"' "$1" | wc -l; }
# Flows whose node differs between two probes; an unanswered flow counts as moved, so that a
# comparison of two empty probes cannot pass.
moved() { join "$1" "$2" | awk '$2 != $3 || $2 == "-"' | wc -l; }
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
wait_buckets() { # want: wait until the kernel's map reads exactly this
	for _ in $(seq 1 100); do [ "$(buckets)" = "$1" ] && return 0; sleep 0.1; done
	echo "buckets: $(buckets), want $1"; return 1
}

even3() { # three nodes with 85 or 86 buckets each
	[ "$(buckets | tr ' ' '\n' | awk -F: '$2 == 85 || $2 == 86' | wc -l)" -eq 3 ]
}
check "256 buckets, an even share each (85/86): $(buckets)" even3
probe "$TMP/a" --sports "$SPORTS"
check "$FLOWS non-CID flows all answered" [ "$(answered "$TMP/a")" -eq "$FLOWS" ]
lo=$((FLOWS * 22 / 100)) hi=$((FLOWS * 45 / 100))
for k in 1 2 3; do
	check "non-CID flows on node$k: $(share "$TMP/a" node$k) of $FLOWS (even share 1/3)" \
		between "$(share "$TMP/a" node$k)" $lo $hi
done
probe "$TMP/a2" --sports "$SPORTS"
check "the same flows again: each meets the same node" [ "$(moved "$TMP/a" "$TMP/a2")" -eq 0 ]

# CID records: node k from 40 source ports, most of which hash to another node.
cid_all() { # label sports: the hash's node of each port first, then a CID record per node
	probe "$TMP/h" --sports "$2"
	for k in 1 2 3; do
		probe "$TMP/cid$k" --sports "$2" --cid $k
		check "$1: tls12_cid naming node $k from 40 ports: all answered by node$k" \
			[ "$(share "$TMP/cid$k" node$k)" -eq 40 ]
		check "$1: ... of which $(awk -v n=node$k '$2 != n' "$TMP/h" | wc -l) hash to another node" \
			[ "$(awk -v n=node$k '$2 != n' "$TMP/h" | wc -l)" -gt 0 ]
	done
}
cid_all "fresh ports" 30000-30039
# Content type 23 with the same byte 11 is not a CID record: hashed like any datagram.
probe "$TMP/t23" --sports 30000-30039 --cid 1 --type 23
check "byte 0 = 23: hashed, not steered by byte 11" [ "$(moved "$TMP/t23" "$TMP/h")" -eq 0 ]
# A CID naming a node id that is not in the cluster falls through to the hash.
probe "$TMP/c9" --sports 30000-30039 --cid 9
check "tls12_cid naming unknown node 9: hashed (same node as its flow's ClientHello)" \
	[ "$(moved "$TMP/c9" "$TMP/h")" -eq 0 ]
# The NAT forgets every binding; the UE comes back on other ports: CID steering holds.
ip netns exec "$NAT" conntrack -F >/dev/null 2>&1
check "carrier NAT conntrack flushed" [ "$(ip netns exec "$NAT" conntrack -C)" -eq 0 ]
cid_all "after the NAT flush, new ports" 31000-31039
check "the balancer keeps no conntrack entry for VIP traffic" \
	[ "$(ip netns exec "$L" conntrack -L -p udp --dport $PORT 2>/dev/null | wc -l)" -eq 0 ]

# Node 2 fails its health check (everything to it dropped: a dead box). The baseline is taken
# anew: the flush gave every flow a new (random) port on the NAT's outside.
probe "$TMP/a" --sports "$SPORTS"
check "baseline after the NAT flush: all flows answered" [ "$(answered "$TMP/a")" -eq "$FLOWS" ]
ip netns exec "$N2" nft -f - <<-EOF
	table inet dead {
		chain in { type filter hook input priority 0; policy drop; }
	}
EOF
check "node 2 down: its buckets go to nodes 1 and 3, 128 each" wait_buckets "1:128 3:128"
probe "$TMP/b" --sports "$SPORTS"
check "after node 2 left: all flows answered" [ "$(answered "$TMP/b")" -eq "$FLOWS" ]
stay=$(join "$TMP/a" "$TMP/b" | awk '$2 != "node2" && $2 != $3' | wc -l)
check "after node 2 left: no flow of node 1 or 3 moved ($stay)" [ "$stay" -eq 0 ]
orph=$(share "$TMP/a" node2)
to1=$(join "$TMP/a" "$TMP/b" | awk '$2 == "node2" && $3 == "node1"' | wc -l)
check "node 2's $orph flows spread evenly: $to1 to node1, $((orph - to1)) to node3" \
	between "$to1" $((orph * 30 / 100)) $((orph * 70 / 100))
leave=$(moved "$TMP/a" "$TMP/b")

# Node 2 returns: it takes back an even share, and only from the others' buckets.
ip netns exec "$N2" nft delete table inet dead
for _ in $(seq 1 100); do
	b=$(buckets); [ "$(wc -w <<<"$b")" -eq 3 ] && break; sleep 0.1
done
check "node 2 back: 85/86 buckets each ($(buckets))" even3
probe "$TMP/c" --sports "$SPORTS"
check "after node 2 joined: all flows answered" [ "$(answered "$TMP/c")" -eq "$FLOWS" ]
side=$(join "$TMP/b" "$TMP/c" | awk '$2 != $3 && $3 != "node2"' | wc -l)
check "after node 2 joined: every flow that moved, moved to node 2 ($side did not)" [ "$side" -eq 0 ]
check "node 2's share after joining: $(share "$TMP/c" node2) of $FLOWS" \
	between "$(share "$TMP/c" node2)" $lo $hi
join_=$(moved "$TMP/b" "$TMP/c")
back=$(join "$TMP/a" "$TMP/c" | awk '$2 != $3' | wc -l)
bash "$LB/emse-lb.sh" status --ns "$L"

# The naive spread for comparison: the controller stopped, maps written by --set-alive.
bash "$LB/emse-lb.sh" up --ns "$L" --vip $VIP --port $PORT "${NODES[@]}" --no-ctl >/dev/null
setalive() {
	ip netns exec "$L" python3 "$LB/emse-lb-ctl" "${NODES[@]}" --assign modulo --set-alive "$1" 2>/dev/null
}
setalive 1,2,3; probe "$TMP/ma" --sports "$SPORTS"
setalive 1,3;   probe "$TMP/mb" --sports "$SPORTS"
setalive 1,2,3; probe "$TMP/mc" --sports "$SPORTS"
check "modulo: all flows answered" [ "$(cat "$TMP/ma" "$TMP/mb" "$TMP/mc" | awk '$2 == "-"' | wc -l)" -eq 0 ]
mleave=$(moved "$TMP/ma" "$TMP/mb") mjoin=$(moved "$TMP/mb" "$TMP/mc")
pct() { awk -v a="$1" -v b="$FLOWS" 'BEGIN { printf "%.1f %%", 100 * a / b }'; }
echo "flows moved, of $FLOWS (3 nodes, 256 buckets; node 2 leaves, then joins):"
echo "  emse-lb-ctl (minimal moves): leave $leave ($(pct "$leave")), join $join_ ($(pct "$join_")), net after both $back ($(pct "$back"))"
echo "  bucket mod live nodes:       leave $mleave ($(pct "$mleave")), join $mjoin ($(pct "$mjoin"))"
check "minimal moves: moves on leave = node 2's flows exactly" [ "$leave" -eq "$orph" ]

check "emse-lb.sh down removes the table" bash "$LB/emse-lb.sh" down --ns "$L"
check "no table left" bash -c "! ip netns exec '$L' nft list table ip emse_lb >/dev/null 2>&1"
e2e_done
