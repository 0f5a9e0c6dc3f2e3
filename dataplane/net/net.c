/* L2/L3/L4 classification and in-place replies (include/emse/net/net.h). Runs per packet on the
 * worker: no allocation, no locks, every field read through bounds-checked byte accessors (frames
 * are untrusted and unaligned, so no casts to header structs). */
#include <arpa/inet.h>
#include <emmintrin.h>
#include <string.h>

#include "emse/net/net.h"

#define ETH_P_ARP_ 0x0806
#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86dd

#define IPPROTO_ICMP_ 1
#define IPPROTO_UDP_ 17
#define IPPROTO_ICMPV6_ 58

#define ARP_LEN 28
#define IP4_HLEN 20
#define IP6_HLEN 40
#define UDP_HLEN 8
#define ND_NS_LEN 24 /* type, code, csum, reserved, target */
#define ND_OPT_LLA_LEN 8
#define ND_NA_LEN (ND_NS_LEN + ND_OPT_LLA_LEN)

static const char *const drop_names[EMSE_DROP__COUNT] = {
	[EMSE_DROP_NONE] = "none",
	[EMSE_DROP_RUNT] = "runt",
	[EMSE_DROP_ETH_DST] = "eth_dst",
	[EMSE_DROP_ETHERTYPE] = "ethertype",
	[EMSE_DROP_ARP_MALFORMED] = "arp_malformed",
	[EMSE_DROP_ARP_NOT_OURS] = "arp_not_ours",
	[EMSE_DROP_IP_MALFORMED] = "ip_malformed",
	[EMSE_DROP_IP_CSUM] = "ip_csum",
	[EMSE_DROP_IP_OPTIONS] = "ip_options",
	[EMSE_DROP_IP_FRAGMENT] = "ip_fragment",
	[EMSE_DROP_IP_NOT_OURS] = "ip_not_ours",
	[EMSE_DROP_IP_SRC_BAD] = "ip_src_bad",
	[EMSE_DROP_PROTO] = "proto",
	[EMSE_DROP_ICMP_MALFORMED] = "icmp_malformed",
	[EMSE_DROP_ICMP_TYPE] = "icmp_type",
	[EMSE_DROP_ICMP_CSUM] = "icmp_csum",
	[EMSE_DROP_ND_MALFORMED] = "nd_malformed",
	[EMSE_DROP_ND_NOT_OURS] = "nd_not_ours",
	[EMSE_DROP_UDP_MALFORMED] = "udp_malformed",
	[EMSE_DROP_UDP_CSUM] = "udp_csum",
	[EMSE_DROP_ND_NO_LLA] = "nd_no_lla",
};

const char *emse_drop_name(enum emse_drop_reason r)
{
	if ((unsigned)r >= EMSE_DROP__COUNT || !drop_names[r])
		return "unknown";
	return drop_names[r];
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* One's complement sum (RFC 1071), kept in native byte order and not yet folded, so that
 * pseudo-headers can be chained in: the sum is byte-order independent up to a final swap (RFC 1071
 * 2.B), so 32-bit native loads into a 64-bit accumulator give the same result as 16-bit big-endian
 * words, ~4x faster. Only the last piece of a chain may have an odd length. */
static inline uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	uint64_t s2 = 0, s3 = 0, s4 = 0;
	uint32_t a, b;
	/* four independent sums: the adds of one 16-byte step do not wait on each other */
	for (; len >= 16; p += 16, len -= 16) {
		uint32_t c, d;
		memcpy(&a, p, 4);
		memcpy(&b, p + 4, 4);
		memcpy(&c, p + 8, 4);
		memcpy(&d, p + 12, 4);
		sum += a;
		s2 += b;
		s3 += c;
		s4 += d;
	}
	s2 += s3 + s4;
	while (len >= 8) {
		memcpy(&a, p, 4);
		memcpy(&b, p + 4, 4);
		sum += a;
		s2 += b;
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		memcpy(&a, p, 4);
		sum += a;
		p += 4;
		len -= 4;
	}
	uint16_t h = 0;
	if (len >= 2) {
		memcpy(&h, p, 2);
		sum += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		h = 0;
		memcpy(&h, p, 1); /* the odd byte is the high half of a big-endian word */
		sum += h;
	}
	return sum + s2;
}

/* A 16-bit value as it would be read big-endian from the wire, in the native sum's order. */
static inline uint64_t csum_word(uint16_t v)
{
	return htons(v);
}

static inline uint16_t csum_fold(uint64_t sum)
{
	/* 64 -> 33 -> 18 -> 17 -> 16 bits, without a data-dependent loop */
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~ntohs((uint16_t)sum);
}

uint16_t emse_ip4_csum(const void *hdr, size_t len)
{
	return csum_fold(csum_add(0, hdr, len));
}

/* Pseudo-header sum (RFC 768 / RFC 8200 8.1) followed by the L4 bytes. */
static uint16_t l4_csum(const struct emse_addr *src, const struct emse_addr *dst, uint8_t proto,
			const void *l4, size_t len)
{
	uint64_t sum = 0;
	size_t alen = src->family == 6 ? 16 : 4;
	sum = csum_add(sum, src->a, alen);
	sum = csum_add(sum, dst->a, alen);
	sum += csum_word(proto);
	sum += csum_word((uint16_t)len) + csum_word((uint16_t)(len >> 16));
	sum = csum_add(sum, l4, len);
	return csum_fold(sum);
}

uint16_t emse_udp_csum(const struct emse_addr *src, const struct emse_addr *dst, const void *udp,
		       size_t udp_len)
{
	return l4_csum(src, dst, IPPROTO_UDP_, udp, udp_len);
}

uint16_t emse_icmp6_csum(const struct emse_addr *src, const struct emse_addr *dst,
			 const void *icmp, size_t icmp_len)
{
	return l4_csum(src, dst, IPPROTO_ICMPV6_, icmp, icmp_len);
}

bool emse_net_udp_csum_ok(const struct emse_flow *flow, const uint8_t *udp)
{
	return emse_udp_csum(&flow->peer, &flow->local, udp, rd16(udp + 4)) == 0;
}

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* An address is written, and copied (copy_addr), as its first word (the family) and its 16
 * address bytes, one store each: the session key is then built from loads that each forward from
 * one store. Built with memset and memcpy, every datagram's key waited on failed forwards. */
static void set_addr(struct emse_addr *a, uint8_t family, const uint8_t *bytes)
{
	uint32_t head = family, v4;
	memcpy(a, &head, 4);
	__m128i b;
	if (family == 4) {
		memcpy(&v4, bytes, 4);
		b = _mm_cvtsi32_si128((int)v4);
	} else {
		b = _mm_loadu_si128((const __m128i *)(const void *)bytes);
	}
	_mm_storeu_si128((__m128i *)(void *)a->a, b);
}

static void copy_addr(struct emse_addr *to, const struct emse_addr *from)
{
	memcpy(to, from, 4);
	memcpy(to->a, from->a, 16);
}

static int own_ip4(const struct emse_iface *ifc, const uint8_t *ip)
{
	for (unsigned i = 0; i < ifc->n4 && i < EMSE_MAX_ADDRS; i++)
		if (memcmp(ifc->ip4[i], ip, 4) == 0)
			return 1;
	return 0;
}

static int own_ip6(const struct emse_iface *ifc, const uint8_t *ip)
{
	for (unsigned i = 0; i < ifc->n6 && i < EMSE_MAX_ADDRS; i++)
		if (memcmp(ifc->ip6[i], ip, 16) == 0)
			return 1;
	return 0;
}

/* ff02::1:ffXX:XXXX for one of our addresses (RFC 4291 2.7.1). */
static int own_solicited_node(const struct emse_iface *ifc, const uint8_t *ip)
{
	static const uint8_t pfx[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
	if (memcmp(ip, pfx, sizeof(pfx)) != 0)
		return 0;
	for (unsigned i = 0; i < ifc->n6 && i < EMSE_MAX_ADDRS; i++)
		if (memcmp(ifc->ip6[i] + 13, ip + 13, 3) == 0)
			return 1;
	return 0;
}

/* The only multicast MACs we listen to are our solicited-node groups: ND needs them, nothing
 * else we serve does, and accepting all of 33:33/16 would let any multicast flood reach L3. */
static int eth_dst_ok(const struct emse_iface *ifc, const uint8_t *dst)
{
	if (memcmp(dst, ifc->mac, 6) == 0 || memcmp(dst, bcast_mac, 6) == 0)
		return 1;
	if (dst[0] == 0x33 && dst[1] == 0x33 && dst[2] == 0xff)
		for (unsigned i = 0; i < ifc->n6 && i < EMSE_MAX_ADDRS; i++)
			if (memcmp(ifc->ip6[i] + 13, dst + 3, 3) == 0)
				return 1;
	return 0;
}

static uint8_t hop_limit(const struct emse_iface *ifc)
{
	return ifc->hop_limit ? ifc->hop_limit : 64;
}

/* Turns the Ethernet header around: the reply goes back to whoever sent the request. */
static void eth_reply(const struct emse_iface *ifc, uint8_t *eth, const uint8_t *to)
{
	uint8_t dst[6];
	memcpy(dst, to, 6);
	memcpy(eth, dst, 6);
	memcpy(eth + 6, ifc->mac, 6);
}

static enum emse_net_verdict drop(enum emse_drop_reason *reason, enum emse_drop_reason r)
{
	*reason = r;
	return EMSE_NET_DROP;
}

static enum emse_net_verdict do_arp(const struct emse_iface *ifc, uint8_t *frame, uint16_t *len,
				    struct emse_flow *flow, enum emse_drop_reason *reason)
{
	uint8_t *arp = frame + EMSE_ETH_HLEN;
	if (*len < EMSE_ETH_HLEN + ARP_LEN)
		return drop(reason, EMSE_DROP_ARP_MALFORMED);
	/* Ethernet/IPv4 only; a multicast sender hardware address cannot be answered. */
	if (rd16(arp) != 1 || rd16(arp + 2) != ETH_P_IP_ || arp[4] != 6 || arp[5] != 4 ||
	    (arp[8] & 1))
		return drop(reason, EMSE_DROP_ARP_MALFORMED);
	if (rd16(arp + 6) != 1 || !own_ip4(ifc, arp + 24))
		return drop(reason, EMSE_DROP_ARP_NOT_OURS);

	uint8_t sha[6], spa[4], tpa[4];
	memcpy(sha, arp + 8, 6);
	memcpy(spa, arp + 14, 4);
	memcpy(tpa, arp + 24, 4);
	wr16(arp + 6, 2);
	memcpy(arp + 8, ifc->mac, 6);
	memcpy(arp + 14, tpa, 4);
	memcpy(arp + 18, sha, 6);
	memcpy(arp + 24, spa, 4);
	eth_reply(ifc, frame, sha);
	*len = EMSE_ETH_HLEN + ARP_LEN; /* the NIC pads to the minimum frame */
	flow->peer.family = 0; /* the worker learns ARP senders itself (emse_arp_sender) */
	return EMSE_NET_REPLY;
}

static int ip4_src_bad(const uint8_t *s)
{
	/* 0/8 (this network), 127/8 (loopback), 224/4 multicast, 240/4 reserved + broadcast */
	return s[0] == 0 || s[0] == 127 || s[0] >= 224;
}

static int ip6_src_bad(const uint8_t *s)
{
	static const uint8_t zero[16];
	if (s[0] == 0xff)
		return 1;
	if (memcmp(s, zero, 15) == 0 && (s[15] == 0 || s[15] == 1)) /* :: and ::1 */
		return 1;
	/* ::ffff:0:0/96: an IPv4-mapped source on the wire is spoofed by construction. */
	if (memcmp(s, zero, 10) == 0 && s[10] == 0xff && s[11] == 0xff)
		return 1;
	return 0;
}

static enum emse_net_verdict do_udp(const struct emse_iface *ifc, uint8_t *frame,
				    const struct emse_addr *src, const struct emse_addr *dst,
				    uint16_t l4off, uint16_t l4len, struct emse_flow *flow,
				    uint16_t *off, uint16_t *payload_len,
				    enum emse_drop_reason *reason, bool *csum_pending)
{
	const uint8_t *udp = frame + l4off;
	if (l4len < UDP_HLEN || rd16(udp + 4) != l4len)
		return drop(reason, EMSE_DROP_UDP_MALFORMED);
	/* Port 0 cannot be answered (and is a classic scan/reflection marker). */
	if (rd16(udp) == 0 || rd16(udp + 2) == 0)
		return drop(reason, EMSE_DROP_UDP_MALFORMED);
	uint16_t c = rd16(udp + 6);
	if (c == 0) {
		if (src->family == 6) /* RFC 8200 8.1: mandatory over IPv6 */
			return drop(reason, EMSE_DROP_UDP_CSUM);
	} else if (csum_pending) {
		*csum_pending = true;
	} else if (emse_udp_csum(src, dst, udp, l4len) != 0) {
		return drop(reason, EMSE_DROP_UDP_CSUM);
	}
	copy_addr(&flow->peer, src);
	copy_addr(&flow->local, dst);
	flow->peer_port = rd16(udp);
	flow->local_port = rd16(udp + 2);
	memcpy(flow->peer_mac, frame + 6, 6);
	/* Our MAC, not the frame's destination: a broadcast-addressed datagram still gets a
	 * unicast reply from our own address. */
	memcpy(flow->local_mac, ifc->mac, 6);
	*off = (uint16_t)(l4off + UDP_HLEN);
	*payload_len = (uint16_t)(l4len - UDP_HLEN);
	*reason = EMSE_DROP_NONE;
	return EMSE_NET_UDP;
}

static enum emse_net_verdict do_ipv4(const struct emse_iface *ifc, uint8_t *frame, uint16_t *len,
				     struct emse_flow *flow, uint16_t *off, uint16_t *payload_len,
				     enum emse_drop_reason *reason, bool *csum_pending)
{
	uint8_t *ip = frame + EMSE_ETH_HLEN;
	uint16_t avail = (uint16_t)(*len - EMSE_ETH_HLEN);
	if (avail < IP4_HLEN || (ip[0] >> 4) != 4 || (ip[0] & 0xf) < 5)
		return drop(reason, EMSE_DROP_IP_MALFORMED);
	if ((ip[0] & 0xf) != 5)
		return drop(reason, EMSE_DROP_IP_OPTIONS);
	uint16_t tot = rd16(ip + 2);
	/* tot < avail is Ethernet padding (minimum frame 60): tolerated, and ignored below. */
	if (tot < IP4_HLEN || tot > avail)
		return drop(reason, EMSE_DROP_IP_MALFORMED);
	if (emse_ip4_csum(ip, IP4_HLEN) != 0)
		return drop(reason, EMSE_DROP_IP_CSUM);
	if (rd16(ip + 6) & 0x3fff) /* MF or a fragment offset: we never reassemble */
		return drop(reason, EMSE_DROP_IP_FRAGMENT);
	if (!own_ip4(ifc, ip + 16))
		return drop(reason, EMSE_DROP_IP_NOT_OURS);
	/* Our own address as source is a spoof (a reply would go to ourselves, LAND-style). */
	if (ip4_src_bad(ip + 12) || own_ip4(ifc, ip + 12) || (frame[6] & 1))
		return drop(reason, EMSE_DROP_IP_SRC_BAD);

	struct emse_addr src, dst;
	set_addr(&src, 4, ip + 12);
	set_addr(&dst, 4, ip + 16);
	uint16_t l4off = EMSE_ETH_HLEN + IP4_HLEN, l4len = (uint16_t)(tot - IP4_HLEN);

	if (ip[9] == IPPROTO_UDP_)
		return do_udp(ifc, frame, &src, &dst, l4off, l4len, flow, off, payload_len, reason,
			      csum_pending);
	if (ip[9] != IPPROTO_ICMP_)
		return drop(reason, EMSE_DROP_PROTO);

	uint8_t *icmp = frame + l4off;
	if (l4len < 8)
		return drop(reason, EMSE_DROP_ICMP_MALFORMED);
	if (emse_ip4_csum(icmp, l4len) != 0)
		return drop(reason, EMSE_DROP_ICMP_CSUM);
	if (icmp[0] != 8 || icmp[1] != 0)
		return drop(reason, EMSE_DROP_ICMP_TYPE);

	icmp[0] = 0;
	wr16(icmp + 2, 0);
	wr16(icmp + 2, emse_ip4_csum(icmp, l4len));
	memcpy(ip + 12, dst.a, 4);
	memcpy(ip + 16, src.a, 4);
	ip[8] = hop_limit(ifc);
	wr16(ip + 10, 0);
	wr16(ip + 10, emse_ip4_csum(ip, IP4_HLEN));
	uint8_t to[6];
	memcpy(to, frame + 6, 6);
	eth_reply(ifc, frame, to);
	*len = (uint16_t)(EMSE_ETH_HLEN + tot);
	flow->peer.family = 0;
	return EMSE_NET_REPLY;
}

/* Walks an NS's or NA's options (RFC 4861 4.6): every one inside the message and of non-zero
 * length. *lla: the one link-layer address option of type want (1 source, 2 target), or NULL.
 * -1 when malformed, a second such option included. */
static int nd_lla(const uint8_t *icmp, uint16_t l4len, uint8_t want, const uint8_t **lla)
{
	*lla = NULL;
	for (uint16_t o = ND_NS_LEN; o < l4len;) {
		if (l4len - o < 2)
			return -1;
		uint16_t olen = (uint16_t)(icmp[o + 1] * 8);
		if (olen == 0 || olen > l4len - o)
			return -1;
		if (icmp[o] == want) {
			if (olen != ND_OPT_LLA_LEN || *lla)
				return -1;
			*lla = icmp + o + 2;
		}
		o = (uint16_t)(o + olen);
	}
	return 0;
}

/* RFC 4861 7.1.1 validation of a Neighbour Solicitation, then the advertisement (7.2.4) written
 * over it. The NA is 32 bytes with its target link-layer option; it only ever takes the room
 * the NS frame already had, so nothing is written past *len. */
static enum emse_net_verdict do_ns(const struct emse_iface *ifc, uint8_t *frame, uint16_t *len,
				   int dst_multicast, uint16_t l4len, struct emse_flow *flow,
				   enum emse_drop_reason *reason)
{
	uint8_t *ip = frame + EMSE_ETH_HLEN;
	uint8_t *icmp = ip + IP6_HLEN;
	/* Hop limit 255 proves the NS was not forwarded by a router: an off-link host could
	 * otherwise poison our view of the link. */
	if (ip[7] != 255 || icmp[1] != 0 || l4len < ND_NS_LEN)
		return drop(reason, EMSE_DROP_ND_MALFORMED);
	const uint8_t *target = icmp + 8;
	if (target[0] == 0xff)
		return drop(reason, EMSE_DROP_ND_MALFORMED);

	const uint8_t *slla;
	if (nd_lla(icmp, l4len, 1, &slla) != 0)
		return drop(reason, EMSE_DROP_ND_MALFORMED);
	if (!own_ip6(ifc, target))
		return drop(reason, EMSE_DROP_ND_NOT_OURS);
	if (slla && (slla[0] & 1))
		return drop(reason, EMSE_DROP_ND_MALFORMED);

	/* RFC 4861 7.2.4: the option MUST be in answers to multicast solicitations; it may be
	 * left out of answers to unicast ones, which we do only when the frame has no room. */
	int with_opt = *len >= EMSE_ETH_HLEN + IP6_HLEN + ND_NA_LEN;
	if (!with_opt && dst_multicast)
		return drop(reason, EMSE_DROP_ND_MALFORMED);

	uint8_t to_mac[6], tgt[16];
	memcpy(to_mac, slla ? slla : frame + 6, 6);
	memcpy(tgt, target, 16);
	/* the solicitor told us its MAC: the caller may learn it (the frame is rewritten below) */
	if (slla) {
		set_addr(&flow->peer, 6, ip + 8);
		memcpy(flow->peer_mac, slla, 6);
	} else {
		flow->peer.family = 0;
	}
	uint16_t na_len = with_opt ? ND_NA_LEN : ND_NS_LEN;

	memcpy(ip + 24, ip + 8, 16); /* dst = the soliciting node */
	memcpy(ip + 8, tgt, 16);     /* src = the target: a solicited-node dst is not a source */
	wr16(ip + 4, na_len);
	ip[7] = 255;
	icmp[0] = 136;
	icmp[1] = 0;
	wr16(icmp + 2, 0);
	icmp[4] = 0x60; /* Solicited | Override; not a router */
	icmp[5] = icmp[6] = icmp[7] = 0;
	memcpy(icmp + 8, tgt, 16);
	if (with_opt) {
		icmp[24] = 2; /* target link-layer address */
		icmp[25] = 1;
		memcpy(icmp + 26, ifc->mac, 6);
	}
	struct emse_addr s, d;
	set_addr(&s, 6, ip + 8);
	set_addr(&d, 6, ip + 24);
	wr16(icmp + 2, l4_csum(&s, &d, IPPROTO_ICMPV6_, icmp, na_len));
	eth_reply(ifc, frame, to_mac);
	*len = (uint16_t)(EMSE_ETH_HLEN + IP6_HLEN + na_len);
	return EMSE_NET_REPLY;
}

/* RFC 4861 7.1.2 validation of a Neighbour Advertisement. Only one unicast to us is taken (the
 * answer to our own solicitation, forward.c's emse_ns_request): unsolicited ones go to all nodes,
 * whose MAC we do not listen to. What it says is the caller's to learn, which it does only for an
 * address it asked for. */
static enum emse_net_verdict do_na(const struct emse_iface *ifc, const uint8_t *frame,
				   int dst_multicast, uint16_t l4len, struct emse_flow *flow,
				   enum emse_drop_reason *reason)
{
	const uint8_t *ip = frame + EMSE_ETH_HLEN;
	const uint8_t *icmp = ip + IP6_HLEN;
	/* hop limit 255: sent on this link, not routed here from afar (as for an NS) */
	if (ip[7] != 255 || icmp[1] != 0 || l4len < ND_NS_LEN)
		return drop(reason, EMSE_DROP_ND_MALFORMED);
	const uint8_t *target = icmp + 8, *tlla;
	if (target[0] == 0xff || nd_lla(icmp, l4len, 2, &tlla) != 0)
		return drop(reason, EMSE_DROP_ND_MALFORMED);
	/* a neighbour claiming one of our addresses is not one to learn (a duplicate address) */
	if (dst_multicast || own_ip6(ifc, target))
		return drop(reason, EMSE_DROP_ND_NOT_OURS);
	if (!tlla)
		return drop(reason, EMSE_DROP_ND_NO_LLA);
	if (tlla[0] & 1)
		return drop(reason, EMSE_DROP_ND_MALFORMED);
	set_addr(&flow->peer, 6, target);
	memcpy(flow->peer_mac, tlla, 6);
	*reason = EMSE_DROP_NONE;
	return EMSE_NET_NEIGH;
}

static enum emse_net_verdict do_ipv6(const struct emse_iface *ifc, uint8_t *frame, uint16_t *len,
				     struct emse_flow *flow, uint16_t *off, uint16_t *payload_len,
				     enum emse_drop_reason *reason, bool *csum_pending)
{
	uint8_t *ip = frame + EMSE_ETH_HLEN;
	uint16_t avail = (uint16_t)(*len - EMSE_ETH_HLEN);
	if (avail < IP6_HLEN || (ip[0] >> 4) != 6)
		return drop(reason, EMSE_DROP_IP_MALFORMED);
	uint16_t plen = rd16(ip + 4);
	if (plen > avail - IP6_HLEN) /* also rejects jumbograms (plen 0 + hop-by-hop) */
		return drop(reason, EMSE_DROP_IP_MALFORMED);
	uint8_t nh = ip[6];
	switch (nh) {
	case IPPROTO_UDP_:
	case IPPROTO_ICMPV6_:
		break;
	case 44:
		return drop(reason, EMSE_DROP_IP_FRAGMENT);
	case 0:   /* hop-by-hop */
	case 43:  /* routing */
	case 60:  /* destination options */
	case 51:  /* AH */
	case 135: /* mobility */
	case 139: /* HIP */
	case 140: /* shim6 */
	case 253:
	case 254: /* experimental */
		return drop(reason, EMSE_DROP_IP_OPTIONS);
	default:
		return drop(reason, EMSE_DROP_PROTO);
	}
	const uint8_t *dsta = ip + 24;
	int dst_mcast = 0;
	if (!own_ip6(ifc, dsta)) {
		/* Solicited-node multicast is only good for a Neighbour Solicitation. */
		if (nh != IPPROTO_ICMPV6_ || !own_solicited_node(ifc, dsta))
			return drop(reason, EMSE_DROP_IP_NOT_OURS);
		dst_mcast = 1;
	}
	if (ip6_src_bad(ip + 8) || own_ip6(ifc, ip + 8) || (frame[6] & 1))
		return drop(reason, EMSE_DROP_IP_SRC_BAD);

	struct emse_addr src, dst;
	set_addr(&src, 6, ip + 8);
	set_addr(&dst, 6, dsta);
	uint16_t l4off = EMSE_ETH_HLEN + IP6_HLEN;

	if (nh == IPPROTO_UDP_)
		return do_udp(ifc, frame, &src, &dst, l4off, plen, flow, off, payload_len, reason,
			      csum_pending);

	uint8_t *icmp = frame + l4off;
	if (plen < 4)
		return drop(reason, EMSE_DROP_ICMP_MALFORMED);
	if (l4_csum(&src, &dst, IPPROTO_ICMPV6_, icmp, plen) != 0)
		return drop(reason, EMSE_DROP_ICMP_CSUM);
	if (icmp[0] == 135)
		return do_ns(ifc, frame, len, dst_mcast, plen, flow, reason);
	if (icmp[0] == 136)
		return do_na(ifc, frame, dst_mcast, plen, flow, reason);
	if (icmp[0] != 128 || icmp[1] != 0 || dst_mcast)
		return drop(reason, EMSE_DROP_ICMP_TYPE);
	if (plen < 8)
		return drop(reason, EMSE_DROP_ICMP_MALFORMED);

	icmp[0] = 129;
	memcpy(ip + 8, dst.a, 16);
	memcpy(ip + 24, src.a, 16);
	ip[7] = hop_limit(ifc);
	wr16(icmp + 2, 0);
	wr16(icmp + 2, l4_csum(&dst, &src, IPPROTO_ICMPV6_, icmp, plen));
	uint8_t to[6];
	memcpy(to, frame + 6, 6);
	eth_reply(ifc, frame, to);
	*len = (uint16_t)(EMSE_ETH_HLEN + IP6_HLEN + plen);
	flow->peer.family = 0;
	return EMSE_NET_REPLY;
}

enum emse_net_verdict emse_net_classify(const struct emse_iface *ifc, uint8_t *frame,
					uint16_t *len, struct emse_flow *flow,
					uint16_t *off, uint16_t *payload_len,
					enum emse_drop_reason *reason)
{
	return emse_net_classify_defer(ifc, frame, len, flow, off, payload_len, reason, NULL);
}

enum emse_net_verdict emse_net_classify_defer(const struct emse_iface *ifc, uint8_t *frame,
					      uint16_t *len, struct emse_flow *flow,
					      uint16_t *off, uint16_t *payload_len,
					      enum emse_drop_reason *reason, bool *csum_pending)
{
	if (csum_pending)
		*csum_pending = false;
	*reason = EMSE_DROP_NONE;
	if (*len < EMSE_ETH_HLEN)
		return drop(reason, EMSE_DROP_RUNT);
	if (!eth_dst_ok(ifc, frame))
		return drop(reason, EMSE_DROP_ETH_DST);
	/* VLAN tags (0x8100, 0x88a8) land here too: the port is expected to strip them. */
	switch (rd16(frame + 12)) {
	case ETH_P_ARP_:
		return do_arp(ifc, frame, len, flow, reason);
	case ETH_P_IP_:
		return do_ipv4(ifc, frame, len, flow, off, payload_len, reason, csum_pending);
	case ETH_P_IPV6_:
		return do_ipv6(ifc, frame, len, flow, off, payload_len, reason, csum_pending);
	default:
		return drop(reason, EMSE_DROP_ETHERTYPE);
	}
}

uint16_t emse_net_hdr_len(const struct emse_flow *flow)
{
	return flow->peer.family == 6 ? EMSE_ETH_HLEN + IP6_HLEN + UDP_HLEN
				      : EMSE_ETH_HLEN + IP4_HLEN + UDP_HLEN;
}

uint16_t emse_net_write_udp(const struct emse_iface *ifc, const struct emse_flow *flow,
			    uint8_t *hdr, uint16_t payload_len)
{
	uint16_t hl = emse_net_write_udp_nocsum(ifc, flow, hdr, payload_len);
	emse_net_fill_csum(hdr);
	return hl;
}

void emse_net_fill_csum(uint8_t *frame)
{
	uint8_t *ip = frame + EMSE_ETH_HLEN, *udp;
	const uint8_t *addrs;
	size_t alen2;
	if (rd16(frame + 12) == ETH_P_IPV6_) {
		udp = ip + IP6_HLEN;
		addrs = ip + 8;
		alen2 = 32;
	} else {
		wr16(ip + 10, emse_ip4_csum(ip, IP4_HLEN));
		udp = ip + IP4_HLEN;
		addrs = ip + 12;
		alen2 = 8;
	}
	uint16_t ulen = rd16(udp + 4);
	uint64_t sum = csum_add(0, addrs, alen2) + csum_word(IPPROTO_UDP_) + csum_word(ulen);
	uint16_t c = csum_fold(csum_add(sum, udp, ulen));
	wr16(udp + 6, c ? c : 0xffff); /* 0 means "no checksum" on the wire */
}

uint16_t emse_net_write_udp_nocsum(const struct emse_iface *ifc, const struct emse_flow *flow,
				   uint8_t *hdr, uint16_t payload_len)
{
	uint16_t hl = emse_net_hdr_len(flow);
	uint16_t ulen = (uint16_t)(UDP_HLEN + payload_len);
	memcpy(hdr, flow->peer_mac, 6);
	memcpy(hdr + 6, flow->local_mac, 6);
	uint8_t *ip = hdr + EMSE_ETH_HLEN;
	uint8_t *udp;
	if (flow->peer.family == 6) {
		wr16(hdr + 12, ETH_P_IPV6_);
		ip[0] = 0x60;
		ip[1] = ip[2] = ip[3] = 0;
		wr16(ip + 4, ulen);
		ip[6] = IPPROTO_UDP_;
		ip[7] = hop_limit(ifc);
		memcpy(ip + 8, flow->local.a, 16);
		memcpy(ip + 24, flow->peer.a, 16);
		udp = ip + IP6_HLEN;
	} else {
		wr16(hdr + 12, ETH_P_IP_);
		ip[0] = 0x45;
		ip[1] = 0;
		wr16(ip + 2, (uint16_t)(IP4_HLEN + ulen));
		wr16(ip + 4, 0);      /* ID 0 is fine with DF (RFC 6864) */
		wr16(ip + 6, 0x4000); /* DF */
		ip[8] = hop_limit(ifc);
		ip[9] = IPPROTO_UDP_;
		wr16(ip + 10, 0);
		memcpy(ip + 12, flow->local.a, 4);
		memcpy(ip + 16, flow->peer.a, 4);
		udp = ip + IP4_HLEN;
	}
	wr16(udp, flow->local_port);
	wr16(udp + 2, flow->peer_port);
	wr16(udp + 4, ulen);
	wr16(udp + 6, 0);
	return hl;
}

int emse_addr_parse(const char *s, struct emse_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = 6;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -1;
}

void emse_addr_format(const struct emse_addr *a, char *out, size_t out_size)
{
	if (!out_size)
		return;
	char tmp[INET6_ADDRSTRLEN];
	const char *r = NULL;
	if (a->family == 4)
		r = inet_ntop(AF_INET, a->a, tmp, sizeof(tmp));
	else if (a->family == 6)
		r = inet_ntop(AF_INET6, a->a, tmp, sizeof(tmp));
	if (!r)
		r = "?";
	size_t n = strlen(r);
	if (n >= out_size)
		n = out_size - 1;
	memcpy(out, r, n);
	out[n] = 0;
}

bool emse_addr_eq(const struct emse_addr *a, const struct emse_addr *b)
{
	if (a->family != b->family)
		return false;
	/* constant sizes: compiled inline (a variable size was a libc call per datagram) */
	return a->family == 4 ? memcmp(a->a, b->a, 4) == 0 : memcmp(a->a, b->a, 16) == 0;
}
