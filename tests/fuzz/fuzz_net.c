/* libFuzzer: emse_net_classify on arbitrary frames. Each input runs twice: as given, and with
 * its IPv4 header and L4 checksums made correct first, so mutations get past the checksum
 * gates into ARP/ICMP/ND/UDP handling. Besides "never crash", it checks the contract: verdicts
 * and reasons agree, payloads and replies stay inside the frame, a neighbour to learn (from an
 * advertisement or a solicitation) is an IPv6 unicast address at a unicast MAC that the frame
 * carried, and every accepted datagram answered with emse_net_write_udp parses back as the same
 * flow at the peer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emse/net/net.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static struct emse_iface ifc = {
	.mac = {0x02, 0, 0, 0, 0, 0x01},
	.n4 = 2,
	.n6 = 2,
	.ip4 = {{198, 18, 0, 1}, {10, 0, 0, 1}},
	.ip6 = {{0x20, 0x01, 0x0d, 0xb8, [15] = 1}, {0xfe, 0x80, [15] = 1}},
	.hop_limit = 64,
};

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* One's complement over a pseudo-header (proto) and data: enough to make any checksum right. */
static uint16_t l4sum(const uint8_t *s, const uint8_t *d, size_t alen, uint8_t proto,
		      const uint8_t *p, size_t n)
{
	uint32_t sum = proto + (uint32_t)n;
	for (size_t i = 0; i < alen; i += 2)
		sum += rd16(s + i) + rd16(d + i);
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += rd16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void fix_checksums(uint8_t *f, size_t len)
{
	if (len < 14)
		return;
	uint16_t et = rd16(f + 12);
	if (et == 0x0800 && len >= 34 && (f[14] & 0xf) == 5) {
		uint8_t *ip = f + 14;
		wr16(ip + 10, 0);
		wr16(ip + 10, emse_ip4_csum(ip, 20));
		size_t tot = rd16(ip + 2);
		if (tot < 20 || tot > len - 14)
			return;
		uint8_t *l4 = ip + 20;
		size_t n = tot - 20;
		if (ip[9] == 17 && n >= 8) {
			wr16(l4 + 6, 0);
			uint16_t c = l4sum(ip + 12, ip + 16, 4, 17, l4, n);
			wr16(l4 + 6, c ? c : 0xffff);
		} else if (ip[9] == 1 && n >= 4) {
			wr16(l4 + 2, 0);
			wr16(l4 + 2, emse_ip4_csum(l4, n));
		}
	} else if (et == 0x86dd && len >= 54) {
		uint8_t *ip = f + 14, *l4 = ip + 40;
		size_t n = rd16(ip + 4);
		if (n > len - 54)
			return;
		if (ip[6] == 17 && n >= 8) {
			wr16(l4 + 6, 0);
			uint16_t c = l4sum(ip + 8, ip + 24, 16, 17, l4, n);
			wr16(l4 + 6, c ? c : 0xffff);
		} else if (ip[6] == 58 && n >= 4) {
			wr16(l4 + 2, 0);
			wr16(l4 + 2, l4sum(ip + 8, ip + 24, 16, 58, l4, n));
		}
	}
}

static void roundtrip(const struct emse_flow *fl, const uint8_t *payload, uint16_t plen)
{
	static uint8_t out[EMSE_HDR_ROOM + 65536];
	uint16_t hl = emse_net_hdr_len(fl);
	CHECK(hl <= EMSE_HDR_ROOM);
	if ((size_t)hl + plen > 65535)
		return;
	memcpy(out + hl, payload, plen);
	CHECK(emse_net_write_udp(&ifc, fl, out, plen) == hl);
	struct emse_iface peer;
	memset(&peer, 0, sizeof(peer));
	memcpy(peer.mac, fl->peer_mac, 6);
	if (fl->peer.family == 4) {
		peer.n4 = 1;
		memcpy(peer.ip4[0], fl->peer.a, 4);
	} else {
		peer.n6 = 1;
		memcpy(peer.ip6[0], fl->peer.a, 16);
	}
	uint16_t len = (uint16_t)(hl + plen), off = 0, pl = 0;
	struct emse_flow back;
	enum emse_drop_reason r;
	CHECK(emse_net_classify(&peer, out, &len, &back, &off, &pl, &r) == EMSE_NET_UDP);
	CHECK(off == hl && pl == plen && memcmp(out + off, payload, plen) == 0);
	CHECK(emse_addr_eq(&back.peer, &fl->local) && emse_addr_eq(&back.local, &fl->peer));
	CHECK(back.peer_port == fl->local_port && back.local_port == fl->peer_port);
}

/* classify_defer agrees with classify: the same verdict and flow, except that a datagram classify
 * drops for its UDP checksum is a UDP one with the check pending, which emse_net_udp_csum_ok
 * then fails; a pending check on a datagram classify accepts passes. Run before classify, which
 * may rewrite the frame into a reply. */
static void deferred(const uint8_t *data, size_t size)
{
	uint8_t *f = malloc(size ? size : 1), *g = malloc(size ? size : 1);
	memcpy(f, data, size);
	memcpy(g, data, size);
	uint16_t len = (uint16_t)size, off = 0, plen = 0, len2 = (uint16_t)size, off2 = 0, plen2 = 0;
	struct emse_flow flow, flow2;
	enum emse_drop_reason r = EMSE_DROP__COUNT, r2 = EMSE_DROP__COUNT;
	bool pending = true;
	enum emse_net_verdict v = emse_net_classify_defer(&ifc, f, &len, &flow, &off, &plen, &r,
							  &pending);
	enum emse_net_verdict v2 = emse_net_classify(&ifc, g, &len2, &flow2, &off2, &plen2, &r2);
	CHECK(v != EMSE_NET_UDP ? !pending : 1);
	if (v2 == EMSE_NET_DROP && r2 == EMSE_DROP_UDP_CSUM && v == EMSE_NET_UDP) {
		CHECK(pending && !emse_net_udp_csum_ok(&flow, f + off - 8));
	} else {
		CHECK(v == v2 && (v != EMSE_NET_DROP || r == r2));
		if (v == EMSE_NET_UDP) {
			CHECK(off == off2 && plen == plen2 && memcmp(&flow, &flow2, sizeof(flow)) == 0);
			CHECK(!pending || emse_net_udp_csum_ok(&flow, f + off - 8));
		}
	}
	free(f);
	free(g);
}

/* A neighbour to learn: unicast, not ours, and its MAC unicast and inside the frame. */
static void neighbour_ok(const struct emse_flow *fl, const uint8_t *f, uint16_t len)
{
	CHECK(fl->peer.a[0] != 0xff && !(fl->peer_mac[0] & 1));
	for (unsigned i = 0; i < ifc.n6; i++)
		CHECK(memcmp(fl->peer.a, ifc.ip6[i], 16) != 0);
	int seen = 0;
	for (uint16_t i = 0; i + 6 <= len && !seen; i++)
		seen = memcmp(f + i, fl->peer_mac, 6) == 0;
	CHECK(seen);
}

static void one(const uint8_t *data, size_t size)
{
	deferred(data, size);
	/* exact-size copy: classify rewrites replies in place, and ASan sees any overread */
	uint8_t *f = malloc(size ? size : 1);
	memcpy(f, data, size);
	uint16_t len = (uint16_t)size, off = 0xffff, plen = 0xffff;
	struct emse_flow flow;
	memset(&flow, 0xa5, sizeof(flow));
	enum emse_drop_reason r = EMSE_DROP__COUNT;
	enum emse_net_verdict v = emse_net_classify(&ifc, f, &len, &flow, &off, &plen, &r);
	switch (v) {
	case EMSE_NET_UDP:
		CHECK(r == EMSE_DROP_NONE);
		CHECK((size_t)off + plen <= size && len == size);
		roundtrip(&flow, f + off, plen);
		break;
	case EMSE_NET_REPLY:
		CHECK(r == EMSE_DROP_NONE);
		CHECK(len >= EMSE_ETH_HLEN && len <= size);
		CHECK(memcmp(f + 6, ifc.mac, 6) == 0); /* replies come from our MAC */
		CHECK(flow.peer.family == 0 || flow.peer.family == 6);
		if (flow.peer.family == 6) /* answered an NS: the solicitor, now the reply's dst */
			neighbour_ok(&flow, f, len);
		break;
	case EMSE_NET_NEIGH:
		CHECK(r == EMSE_DROP_NONE && len == size && memcmp(f, data, size) == 0);
		CHECK(flow.peer.family == 6);
		neighbour_ok(&flow, f, len);
		break;
	case EMSE_NET_DROP:
		CHECK(r > EMSE_DROP_NONE && r < EMSE_DROP__COUNT);
		CHECK(strcmp(emse_drop_name(r), "unknown") != 0);
		break;
	default:
		CHECK(0);
	}
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65535)
		return 0;
	one(data, size);
	uint8_t *fixed = malloc(size ? size : 1);
	memcpy(fixed, data, size);
	fix_checksums(fixed, size);
	one(fixed, size);
	free(fixed);
	return 0;
}
