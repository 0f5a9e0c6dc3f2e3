/* L2/L3/L4 for the dataplane: classify a received frame, answer ARP / ND / ICMP echo in place,
 * hand over what a Neighbour Advertisement tells (forward.h keeps the neighbours), and write the
 * Ethernet/IP/UDP headers of a datagram we send. Pure functions over byte buffers, so they are
 * unit-tested and fuzzed without DPDK; every failure has a reason that is counted. */
#ifndef EMSE_NET_H
#define EMSE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EMSE_MAX_ADDRS 8
#define EMSE_ETH_HLEN 14
#define EMSE_HDR_ROOM 62 /* Ethernet + IPv6 + UDP: the most we prepend to a datagram */

struct emse_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t pad[3];
	uint8_t a[16];  /* IPv4 in a[0..3], the rest zero */
};

/* Our side of the link: the port's MAC and the addresses we own. */
struct emse_iface {
	uint8_t mac[6];
	uint8_t n4, n6;
	uint8_t ip4[EMSE_MAX_ADDRS][4];
	uint8_t ip6[EMSE_MAX_ADDRS][16];
	uint8_t hop_limit; /* TTL / hop limit of what we send, default 64 */
};

/* One UDP flow as seen from us: who sent it (peer) and where (local). MACs for the reply. */
struct emse_flow {
	struct emse_addr peer, local;
	uint16_t peer_port, local_port; /* host order */
	uint8_t peer_mac[6];
	uint8_t local_mac[6];
};

enum emse_net_verdict {
	EMSE_NET_UDP = 0, /* a UDP datagram for one of our addresses: payload at *off, *len */
	EMSE_NET_REPLY,   /* the frame was rewritten in place into a reply (ARP, NA, echo reply): send it */
	EMSE_NET_DROP,    /* see reason */
	EMSE_NET_NEIGH,   /* a Neighbour Advertisement to us (RFC 4861 7.1.2 valid): flow->peer (its
			   * target) is at flow->peer_mac; nothing to send (forward.h learns it) */
};

/* Drop reasons, one counter each. Keep EMSE_DROP__COUNT last and the names table in sync. */
enum emse_drop_reason {
	EMSE_DROP_NONE = 0,
	EMSE_DROP_RUNT,          /* shorter than an Ethernet header */
	EMSE_DROP_ETH_DST,       /* not our MAC, broadcast, or a multicast we listen to */
	EMSE_DROP_ETHERTYPE,     /* not ARP, IPv4, IPv6 */
	EMSE_DROP_ARP_MALFORMED,
	EMSE_DROP_ARP_NOT_OURS,  /* ARP for another address, or an ARP reply */
	EMSE_DROP_IP_MALFORMED,  /* bad version, header length, total length beyond the frame */
	EMSE_DROP_IP_CSUM,
	EMSE_DROP_IP_OPTIONS,    /* IPv4 options / IPv6 extension headers we do not parse */
	EMSE_DROP_IP_FRAGMENT,
	EMSE_DROP_IP_NOT_OURS,   /* destination is not one of our addresses */
	EMSE_DROP_IP_SRC_BAD,    /* multicast / broadcast / loopback / unspecified source */
	EMSE_DROP_PROTO,         /* not UDP / ICMP / ICMPv6 */
	EMSE_DROP_ICMP_MALFORMED,
	EMSE_DROP_ICMP_TYPE,     /* ICMP we do not take (only echo request, NS, NA) */
	EMSE_DROP_ICMP_CSUM,
	EMSE_DROP_ND_MALFORMED,  /* RFC 4861 7.1.1/7.1.2: hop limit not 255, code, size, options */
	EMSE_DROP_ND_NOT_OURS,   /* NS for another address; NA for one of ours, or to a group */
	EMSE_DROP_UDP_MALFORMED, /* UDP length disagrees with IP length, shorter than 8 */
	EMSE_DROP_UDP_CSUM,      /* wrong checksum; also zero checksum over IPv6 */
	EMSE_DROP_ND_NO_LLA,     /* NA without the target's link-layer address: nothing to learn */
	EMSE_DROP__COUNT
};
const char *emse_drop_name(enum emse_drop_reason r);

/* Classifies frame[0..len). On EMSE_NET_UDP fills flow (peer = sender, local = destination) and
 * the UDP payload's offset and length. On EMSE_NET_REPLY the frame was rewritten in place and
 * *len holds its new length; flow->peer.family is 6 when it answered a Neighbour Solicitation
 * that carried the solicitor's link-layer address (flow->peer at flow->peer_mac: a neighbour the
 * caller may learn, RFC 4861 7.2.3), 0 otherwise. On EMSE_NET_NEIGH flow->peer and peer_mac say
 * who advertised what. On EMSE_NET_DROP *reason says why. */
enum emse_net_verdict emse_net_classify(const struct emse_iface *ifc, uint8_t *frame,
					uint16_t *len, struct emse_flow *flow,
					uint16_t *off, uint16_t *payload_len,
					enum emse_drop_reason *reason);

/* The same, except that a non-zero UDP checksum is left unverified and *csum_pending set: the
 * caller verifies it (emse_net_udp_csum_ok) on every path but one whose payload authenticates
 * itself. Why: a DTLS record's AEAD tag covers every byte the checksum covers except the
 * addresses and ports, and those pick the session, hence the key; a corrupted datagram fails the
 * tag instead, and a record that passes it is intact. Summing the ~140 bytes of an echoed record's
 * datagram cost ~4 of its ~134 ns in the worker (paired runs). */
enum emse_net_verdict emse_net_classify_defer(const struct emse_iface *ifc, uint8_t *frame,
					      uint16_t *len, struct emse_flow *flow,
					      uint16_t *off, uint16_t *payload_len,
					      enum emse_drop_reason *reason, bool *csum_pending);

/* The pending check: udp is the datagram's UDP header, flow what classify filled. */
bool emse_net_udp_csum_ok(const struct emse_flow *flow, const uint8_t *udp);

/* Header room a datagram of this flow needs in front of its payload. */
uint16_t emse_net_hdr_len(const struct emse_flow *flow);

/* Writes Ethernet/IP/UDP headers for a datagram from flow->local to flow->peer into
 * hdr[0..emse_net_hdr_len(flow)), the payload following them contiguously (hdr + hdr_len), with
 * both checksums computed. Returns the header length. */
uint16_t emse_net_write_udp(const struct emse_iface *ifc, const struct emse_flow *flow,
			    uint8_t *hdr, uint16_t payload_len);
/* The same with both checksums left to emse_net_fill_csum. Why: right after the headers and the
 * payload were written, the checksum's loads wait on those stores (store-to-load forwarding fails
 * for a load that spans several stores, and after AVX-512 masked stores); a worker fills a whole
 * burst just before sending it, when the stores are long done. */
uint16_t emse_net_write_udp_nocsum(const struct emse_iface *ifc, const struct emse_flow *flow,
				   uint8_t *hdr, uint16_t payload_len);
/* Fills the IPv4 header checksum and the UDP checksum of a frame emse_net_write_udp_nocsum
 * wrote. */
void emse_net_fill_csum(uint8_t *frame);

/* Checksums: the 16-bit one's complement sum helpers the rest uses. */
uint16_t emse_ip4_csum(const void *hdr, size_t len);
uint16_t emse_udp_csum(const struct emse_addr *src, const struct emse_addr *dst,
		       const void *udp, size_t udp_len);
uint16_t emse_icmp6_csum(const struct emse_addr *src, const struct emse_addr *dst,
			 const void *icmp, size_t icmp_len);

/* Address helpers. */
int emse_addr_parse(const char *s, struct emse_addr *out); /* "198.18.0.1" or "2001:db8::1" */
void emse_addr_format(const struct emse_addr *a, char *out, size_t out_size);
bool emse_addr_eq(const struct emse_addr *a, const struct emse_addr *b);

#endif
