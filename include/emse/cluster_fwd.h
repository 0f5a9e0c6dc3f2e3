/* Forwarding tls12_cid records between nodes (issue 15, docs/cluster.md "Forwarding between
 * nodes"). A balancer that cannot read a CID (cloud NLB, ECMP, tools/lb without its CID rule)
 * hands a record to any node. That node (the receiver) seals the UE's datagram into the cluster
 * envelope (cluster.h) and sends it to the owner's cluster port; the owner checks the envelope,
 * rebuilds the UE's frame in place (UE address and port -> our listener) and feeds it to its own
 * receive path, so the CID rules apply unchanged: only an authentic record newer than every one
 * before it moves the session to the UE's new address. The owner answers the UE itself, from its
 * own listener address, to the session's next hop (why: docs/cluster.md).
 *
 * The pure parts (decision, framing, opening) take no DPDK and are unit-tested
 * (tests/dataplane/test_cluster_fwd.c); emse_cfwd_out/emse_cfwd_in are the worker's two hooks.
 * Nothing here locks or allocates on the packet path. */
#ifndef EMSE_CLUSTER_FWD_H
#define EMSE_CLUSTER_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emse/cluster.h"
#include "emse/config.h"
#include "emse/net/forward.h"
#include "emse/net/net.h"

#define EMSE_CFWD_NO_PEER 0xff

/* The cluster as the workers see it: made once at start, read-only after (the key is secret). */
struct emse_cfwd {
	struct emse_cluster_key key;
	uint8_t node_id;
	uint16_t port;                     /* our cluster port, host order */
	unsigned n_peers;
	uint8_t peer_of[256];              /* node id -> index in peers, EMSE_CFWD_NO_PEER */
	struct emse_cfwd_peer {
		struct emse_addr addr;
		uint16_t port;
	} peers[EMSE_MAX_PEERS];
	/* the wall clock in ms from the TSC: envelopes carry it and the window compares it */
	uint64_t unix_ms0, tsc0, hz;
};

/* Per worker: when it last asked for each peer's MAC, by ARP or NS (a restarted peer may have a
 * new MAC). */
struct emse_cfwd_worker {
	uint64_t arp_at[EMSE_MAX_PEERS];
};

/* Loads [cluster] key_file and checks what the worker relies on (the cluster port is no
 * listener's port and outside the forward range). 0, or -1 with one line naming the setting in
 * err. tsc/hz: the TSC now and its rate (the clock origin). */
int emse_cfwd_setup(struct emse_cfwd *c, const struct emse_config *cfg, uint64_t tsc, uint64_t hz,
		    char *err, size_t err_size);
void emse_cfwd_fini(struct emse_cfwd *c);

uint64_t emse_cfwd_now_ms(const struct emse_cfwd *c, uint64_t tsc);

/* Which peer a record whose CID names node goes to: its index, or EMSE_CFWD_NO_PEER when node
 * is ours (caller: not for forwarding) or no configured peer. */
static inline unsigned emse_cfwd_peer(const struct emse_cfwd *c, uint8_t node)
{
	return node == c->node_id ? EMSE_CFWD_NO_PEER : c->peer_of[node];
}

/* Writes into frame the Ethernet/IP/UDP frame from us to peer p's cluster port carrying the
 * envelope of the UE's datagram dgram[n] (ue: the flow it arrived on). dgram may already sit at
 * frame + emse_cfwd_frame_hdr(..) + EMSE_CLUSTER_HDR (sealed in place). Checksums are left to
 * emse_net_fill_csum. Returns the frame's length, 0 if cap is short or no address of ours has
 * the peer's family. */
uint16_t emse_cfwd_wrap(const struct emse_cfwd *c, const struct emse_iface *ifc, unsigned p,
			const uint8_t peer_mac[6], const struct emse_flow *ue, uint64_t now_ms,
			const uint8_t *dgram, size_t n, uint8_t *frame, size_t cap);
/* The outer header's length towards peer p (Ethernet + IP + UDP). */
uint16_t emse_cfwd_frame_hdr(const struct emse_cfwd *c, unsigned p);

enum emse_cfwd_verdict {
	EMSE_CFWD_OK = 0,
	EMSE_CFWD_MALFORMED,   /* not an envelope, or from an unknown node or ourselves */
	EMSE_CFWD_BAD_AUTH,
	EMSE_CFWD_STALE,
};

/* Checks an envelope: EMSE_CFWD_OK fills m and points *dgram at the UE's datagram inside env. */
enum emse_cfwd_verdict emse_cfwd_open(const struct emse_cfwd *c, const uint8_t *env, size_t n,
				      uint64_t now_ms, struct emse_cluster_meta *m,
				      const uint8_t **dgram, size_t *dlen);

/* The frame the UE would have sent us: from m's source to (local, local_port), Ethernet source
 * via_mac, destination our_mac, written into the hl octets before the datagram of dlen octets at
 * hdr + hl, checksums filled (IPv4: none on UDP, which is optional there). Returns hl. */
uint16_t emse_cfwd_ue_frame(const struct emse_iface *ifc, const struct emse_cluster_meta *m,
			    const struct emse_addr *local, uint16_t local_port,
			    const uint8_t via_mac[6], uint8_t *hdr, uint16_t dlen);

struct emse_worker;
struct rte_mbuf;
/* The worker's hooks; both consume m. out: a tls12_cid datagram (UDP payload at off, plen) whose
 * CID names another node; udp: its UDP header if the checksum is still unverified. in: a
 * datagram to our cluster port. */
void emse_cfwd_out(struct emse_worker *w, struct rte_mbuf *m, const struct emse_flow *flow,
		   uint16_t off, uint16_t plen, const uint8_t *udp);
void emse_cfwd_in(struct emse_worker *w, struct rte_mbuf *m, uint16_t off, uint16_t plen,
		  bool may_steer);
/* On the worker's timer: asks for every peer's MAC (ARP for an IPv4 peer, a Neighbour
 * Solicitation for an IPv6 one) that is unknown (at most every 100 ms) or was last confirmed a
 * second ago (a restarted peer may come back with another MAC). */
void emse_cfwd_tick(struct emse_worker *w);
/* The tick's step for peer p over a worker's neighbour table nt (no DPDK, unit-tested): publishes
 * the peer's MAC for the other workers when nt has it; true when a request is due now, with
 * *asked_at set to now and *from our address to ask from (the first of the peer's family, the
 * one the envelopes come from). */
bool emse_cfwd_resolve(const struct emse_cfwd *c, const struct emse_iface *ifc,
		       struct emse_fwd *nt, unsigned p, uint64_t now, uint64_t *asked_at,
		       struct emse_addr *from);
/* Peer p's MAC: from nt, else as another worker published it. false while unknown. */
bool emse_cfwd_peer_mac(const struct emse_cfwd *c, struct emse_fwd *nt, unsigned p,
			uint64_t now, uint8_t mac[6]);

#endif
