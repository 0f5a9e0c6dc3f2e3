/* Forward mode: each decrypted datagram goes to the listener's backend over UDP, prefixed by a
 * PROXY v2 header; the backend answers to the address and port emse used for that session, and
 * the answer is encrypted to the UE. A session's port comes from this worker's share of the
 * forward port range, so the port alone says which worker and which session an answer is for.
 * The backend's MAC comes from a small neighbour table fed by ARP (IPv4) and Neighbour Discovery
 * (IPv6, RFC 4861): we ask when we need it. Cluster peers' MACs (cluster_fwd.h) use it too. */
#ifndef EMSE_FORWARD_H
#define EMSE_FORWARD_H

#include <stdbool.h>
#include <stdint.h>
#include "emse/net/net.h"

#define EMSE_NEIGH_MAX 16
#define EMSE_FWD_NONE UINT32_MAX

struct emse_neigh {
	struct emse_addr addr;
	uint8_t mac[6];
	bool valid;
	uint64_t asked_at; /* tsc of our last ARP request / Neighbour Solicitation for it */
};

struct emse_fwd {
	uint16_t base, count;  /* this worker's ports: base .. base + count - 1 */
	uint32_t *sess;        /* port - base -> session index, or EMSE_FWD_NONE */
	uint16_t *free;        /* stack of free port offsets */
	uint16_t n_free;
	struct emse_neigh neigh[EMSE_NEIGH_MAX];
};

int emse_fwd_init(struct emse_fwd *f, uint16_t base, uint16_t count, int socket);
void emse_fwd_fini(struct emse_fwd *f);
/* A port for session idx, or 0 when this worker's range is used up. */
uint16_t emse_fwd_port_alloc(struct emse_fwd *f, uint32_t idx);
void emse_fwd_port_free(struct emse_fwd *f, uint16_t port);
/* The session a backend answer to port is for, or EMSE_FWD_NONE. */
uint32_t emse_fwd_port_session(const struct emse_fwd *f, uint16_t port);

/* Which worker owns port, given the whole range [first, first + total) split in n parts. */
unsigned emse_fwd_port_owner(uint16_t port, uint16_t first, uint16_t total, unsigned n_workers);

/* Sets a's MAC if a is in the table (we asked for it): true then, false when a is no neighbour
 * we asked for (nothing stored). */
bool emse_neigh_learn(struct emse_fwd *f, const struct emse_addr *a, const uint8_t mac[6]);
/* true and the MAC if known; false otherwise (*ask: a request is due, at most every 100 ms). */
bool emse_neigh_lookup(struct emse_fwd *f, const struct emse_addr *a, uint8_t mac[6],
		       uint64_t now, uint64_t hz, bool *ask);

/* Writes an ARP request "who has target? tell sender" into frame (42 bytes). */
uint16_t emse_arp_request(uint8_t *frame, const uint8_t our_mac[6], const uint8_t sender_ip[4],
			  const uint8_t target_ip[4]);
#define EMSE_NS_LEN 86 /* Ethernet + IPv6 + NS with its source link-layer address option */
#define EMSE_NEIGH_REQ_MAX EMSE_NS_LEN
/* Writes a Neighbour Solicitation "who has target? I am sender at our_mac" into frame
 * (EMSE_NS_LEN bytes): to target's solicited-node group (ff02::1:ffXX:XXXX, MAC 33:33:ff:XX:XX:XX),
 * hop limit 255, with the source link-layer address option so that the answer can come back
 * unicast, ICMPv6 checksum filled. sender: one of our addresses, the answer's destination. */
uint16_t emse_ns_request(uint8_t *frame, const uint8_t our_mac[6], const uint8_t sender_ip[16],
			 const uint8_t target_ip[16]);
/* The request for target's MAC by its family: ARP (IPv4) or NS (IPv6), from sender (ours, of
 * target's family). Returns the frame's length (at most EMSE_NEIGH_REQ_MAX). */
uint16_t emse_neigh_request(uint8_t *frame, const uint8_t our_mac[6],
			    const struct emse_addr *sender, const struct emse_addr *target);
/* If frame is an ARP packet (request or reply) whose target is one of our IPv4 addresses, the
 * sender's address and MAC: what we learn neighbours from. */
bool emse_arp_sender(const struct emse_iface *ifc, const uint8_t *frame, uint16_t len,
		     struct emse_addr *a, uint8_t mac[6]);

#endif
